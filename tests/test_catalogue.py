"""Every query of the catalogue runs on a real FalkorDB (the demo graph), with its example
parameters; and each one passes the read-only guard of POST /query (they are all reads)."""

from __future__ import annotations

import pytest

from pmlkg.api.cypher_guard import check_user_query
from pmlkg.graph.queries import CATALOGUE
from pmlkg.schema import SCHEMA
from pmlkg.graph.stores import GraphStore

NAMES = sorted(CATALOGUE)


@pytest.fixture(scope="module")
def demo(demo_store: GraphStore) -> GraphStore:
    return demo_store


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


def _label_of(name: str) -> str | None:
    """The node label a per-label example is about (``node_<label>``, ``neighbours_<dir>_<label>``,
    ``export_nodes_<label>``)."""
    suffix = name.rsplit("_", 1)[-1]
    return next((label for label in SCHEMA.nodes if label.lower() == suffix), None) \
        if name.startswith(("node_", "neighbours_", "export_nodes_")) else None


@pytest.mark.parametrize("name", NAMES)
def test_query_runs_on_falkordb_and_finds_its_example(demo: GraphStore, name: str) -> None:
    """Every example names demo data, so a wrong label, property or join shows as no rows.

    Two kinds of example find nothing by construction: a direction the model gives no edges, and a
    label the demo graph has no node of (ChemicalEntity: the demo's chemicals all normalise); the
    second is checked to be really absent, so an example must be named once the demo has one."""
    q = CATALOGUE[name]
    rows = demo.read(q.cypher, q.example, timeout_ms=20_000)
    label = _label_of(name)
    absent = label is not None and demo.read(f"MATCH (n:{label}) RETURN count(n) AS n")[0]["n"] == 0
    assert bool(rows) != (name in EMPTY_BY_MODEL or absent), (name, rows[:1])


@pytest.mark.parametrize("name", NAMES)
def test_query_passes_the_read_only_guard(name: str) -> None:
    q = CATALOGUE[name]
    guarded = check_user_query(q.cypher, q.example)
    assert guarded.params == q.example
