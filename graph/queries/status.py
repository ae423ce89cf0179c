"""Liveness and what the graph holds."""

from __future__ import annotations

from graph.queries.catalogue import query, run
from graph.store import GraphStore

PING = query("ping", "RETURN 1 AS ok")
NODE_COUNTS = query("node_counts", """
MATCH (n)
RETURN labels(n)[0] AS label, count(n) AS count
ORDER BY label
""")
EDGE_COUNTS = query("edge_counts", """
MATCH ()-[r]->()
RETURN type(r) AS type, count(r) AS count
ORDER BY type
""")


def stats(store: GraphStore) -> dict[str, dict[str, int]]:
    return {
        "nodes": {r["label"]: r["count"] for r in run(store, NODE_COUNTS)},
        "edges": {r["type"]: r["count"] for r in run(store, EDGE_COUNTS)},
    }
