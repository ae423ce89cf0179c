"""The whole graph, page by page, for the KGX and neo4j-admin exports (``graph/exports.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pmlkg.graph.queries.catalogue import props, query, run
from pmlkg.schema import SCHEMA
from pmlkg.graph.stores import GraphStore

PAGE = 2000


def _key_expr(var: str) -> str:
    """The key of a node of any label, in Cypher (schema.yaml: pmid, symbol, name or id)."""
    by_prop: dict[str, list[str]] = {}
    for node in SCHEMA.nodes.values():
        by_prop.setdefault(node.key, []).append(node.label)
    branches = [f"WHEN {' OR '.join(f'{var}:{lab}' for lab in labels)} THEN {var}.{prop}"
                for prop, labels in by_prop.items() if prop != "id"]
    return f"CASE {' '.join(branches)} ELSE {var}.id END"


EXPORT_NODES = {label: query(f"export_nodes_{label.lower()}", f"""
MATCH (n:{label})
RETURN n AS node
ORDER BY n.{node.key}
SKIP $skip LIMIT $limit
""", skip=0, limit=10) for label, node in SCHEMA.nodes.items()}
EXPORT_EDGES = {rel: query(f"export_edges_{rel.lower()}", f"""
MATCH (a)-[r:{rel}]->(b)
WITH labels(a)[0] AS source_label, {_key_expr("a")} AS source_key, r, labels(b)[0] AS target_label,
     {_key_expr("b")} AS target_key
RETURN source_label, source_key, r AS rel, target_label, target_key
ORDER BY source_key, target_key, r.role, r.pmid
SKIP $skip LIMIT $limit
""", skip=0, limit=10) for rel in SCHEMA.relationships}


def _pages(store: GraphStore, q: Any) -> Iterator[dict[str, Any]]:
    skip = 0
    while True:
        rows = run(store, q, skip=skip, limit=PAGE, timeout_ms=60_000)
        yield from rows
        if len(rows) < PAGE:
            return
        skip += PAGE


def nodes(store: GraphStore) -> Iterator[tuple[str, dict[str, Any]]]:
    for label, q in EXPORT_NODES.items():
        for row in _pages(store, q):
            yield label, props(row["node"])


def edges(store: GraphStore) -> Iterator[tuple[str, tuple[str, str], dict[str, Any], tuple[str, str]]]:
    for rel, q in EXPORT_EDGES.items():
        for row in _pages(store, q):
            yield (rel, (row["source_label"], row["source_key"]), props(row["rel"]),
                   (row["target_label"], row["target_key"]))
