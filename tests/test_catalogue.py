"""Every query of the catalogue runs on a real FalkorDB (the demo graph), with its example
parameters; and each one passes the read-only guard of POST /query (they are all reads)."""

from __future__ import annotations

import pytest

from graph.cypher_guard import check_user_query
from graph.embedded import EmbeddedFalkorDB
from graph.queries import CATALOGUE
from graph.schema import SCHEMA
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


def _has_edges(label: str, outgoing: bool) -> bool:
    """Whether the model lets a node of ``label`` have edges in that direction (schema.yaml)."""
    return any(label in (r.sources if outgoing else r.targets) for r in SCHEMA.relationships.values())


# Example queries with nothing to find by construction: a direction the model gives no edges.
EMPTY_BY_MODEL = {f"neighbours_{'out' if out else 'in'}_{label.lower()}"
                  for label in SCHEMA.nodes for out in (True, False) if not _has_edges(label, out)}


@pytest.mark.parametrize("name", NAMES)
def test_query_runs_on_falkordb_and_finds_its_example(demo: GraphStore, name: str) -> None:
    """Every example names demo data, so a wrong label, property or join shows as no rows."""
    q = CATALOGUE[name]
    rows = demo.read(q.cypher, q.example, timeout_ms=20_000)
    assert bool(rows) != (name in EMPTY_BY_MODEL), (name, rows[:1])


@pytest.mark.parametrize("name", NAMES)
def test_query_passes_the_read_only_guard(name: str) -> None:
    q = CATALOGUE[name]
    guarded = check_user_query(q.cypher, q.example)
    assert guarded.params == q.example
