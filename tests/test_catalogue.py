"""Every query of the catalogue runs on a real FalkorDB (the demo graph), with its example
parameters; and each one passes the read-only guard of POST /query (they are all reads)."""

from __future__ import annotations

import pytest

from graph.cypher_guard import check_user_query
from graph.embedded import EmbeddedFalkorDB
from graph.queries import CATALOGUE
from graph.store import GraphStore, open_store

NAMES = sorted(CATALOGUE)


@pytest.fixture(scope="module")
def demo(falkordb_server: EmbeddedFalkorDB, demo_graph: str) -> GraphStore:
    return open_store("falkordb:", falkordb_server.data_dir, graph_name=demo_graph, start=False)


def test_the_catalogue_covers_every_topic() -> None:
    prefixes = {"associations_", "case_", "drug", "gene", "defect", "publication", "search", "neighbours_",
                "export_", "node_counts"}
    assert all(any(n.startswith(p) for n in NAMES) for p in prefixes)
    assert len(NAMES) >= 60


@pytest.mark.parametrize("name", NAMES)
def test_query_runs_on_falkordb(demo: GraphStore, name: str) -> None:
    q = CATALOGUE[name]
    rows = demo.read(q.cypher, q.example, timeout_ms=20_000)
    assert isinstance(rows, list)


@pytest.mark.parametrize("name", NAMES)
def test_query_passes_the_read_only_guard(name: str) -> None:
    q = CATALOGUE[name]
    guarded = check_user_query(q.cypher, q.example)
    assert guarded.params == q.example


def test_examples_find_demo_data(demo: GraphStore) -> None:
    """The examples are not vacuous: the main ones return rows on the demo graph."""
    for name in ("associations_drug_defect", "case_details", "drug", "drug_use", "gene", "defect", "search",
                 "publication", "neighbours_in_gene"):
        q = CATALOGUE[name]
        assert demo.read(q.cypher, q.example), name
