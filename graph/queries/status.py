"""Liveness and what the graph holds."""

from __future__ import annotations

from pmlkg.graph.queries.catalogue import query, run
from pmlkg.graph.stores import GraphStore

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


FACETS = query("facets", """
MATCH (a:Publication)
WITH min(a.year) AS year_min, max(a.year) AS year_max, count(a) AS articles
OPTIONAL MATCH (x:Disease)<-[h:HAS_DISEASE]-(:Case)
WHERE h.negated = false
RETURN year_min, year_max, articles, collect(DISTINCT x.iuis_category) AS categories
""")


def facets(store: GraphStore) -> dict[str, object]:
    """What the graph's filters can take: the year range and the defect categories present."""
    row = run(store, FACETS)[0]
    return {"year_min": row["year_min"], "year_max": row["year_max"], "articles": row["articles"],
            "categories": sorted(c for c in row["categories"] if c)}
