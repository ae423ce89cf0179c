"""A canonical, order-free dump of a graph, so two builds can be compared for equality."""

from __future__ import annotations

import json
from typing import Any

from pmlkg.schema import SCHEMA
from pmlkg.graph.stores import GraphStore


def _key(node: dict[str, Any]) -> str:
    label = node["_labels"][0]
    return f"{label}:{node[SCHEMA.key_of(label)]}"


def dump(store: GraphStore) -> tuple[list[str], list[str]]:
    nodes = sorted(json.dumps(n["n"], sort_keys=True, default=str) for n in store.read("MATCH (n) RETURN n"))
    edges = sorted(
        json.dumps([_key(r["a"]), r["t"], _key(r["b"]), {k: v for k, v in r["r"].items() if k != "_type"}],
                   sort_keys=True, default=str)
        for r in store.read("MATCH (a)-[r]->(b) RETURN a, type(r) AS t, r, b"))
    return nodes, edges
