"""A node's neighbourhood as nodes and edges, for visualisation (breadth first, capped).

Nodes are named ``<Label>:<key>`` (``Gene:CD40LG``, ``Case:90000001:0``): backends share no
element id (FalkorDB has no ``elementId()``), and the key is what the rest of the API uses.
One query per label and direction, so every lookup goes through the label's key index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pmlkg.graph.queries.catalogue import props, query, run
from pmlkg.schema import SCHEMA
from pmlkg.graph.stores import GraphStore

MAX_DEPTH = 3
_EDGE_PROPS = ("role", "negated", "pmid", "n_patients", "months", "count", "facts")


def _neighbours(label: str, outgoing: bool) -> str:
    key = SCHEMA.key_of(label)
    pattern = f"(n:{label} {{{key}: k}})-[r]->(m)" if outgoing else f"(m)-[r]->(n:{label} {{{key}: k}})"
    return f"""
UNWIND $keys AS k
MATCH {pattern}
RETURN k AS key, type(r) AS type, r AS rel, m AS node, labels(m)[0] AS label
LIMIT $limit"""


# A node of each label in the demo graph, for the catalogue's examples.
_EXAMPLE_KEYS = {"Publication": "90000001", "Case": "90000001:0", "Disease": "iuis:cd40-ligand-deficiency",
                 "Gene": "CD40LG", "Drug": "rituximab", "DrugClass": "anti-cd20", "ChemicalEntity": "cryptosporidium",
                 "Outcome": "died", "Evidence": "90000001:1058-1126"}
NEIGHBOURS = {(label, out): query(f"neighbours_{'out' if out else 'in'}_{label.lower()}", _neighbours(label, out),
                                  keys=[_EXAMPLE_KEYS[label]], limit=10)
              for label in SCHEMA.nodes for out in (True, False)}
NODE = {label: query(f"node_{label.lower()}", f"MATCH (n:{label} {{{SCHEMA.key_of(label)}: $key}}) RETURN n AS node",
                     key=_EXAMPLE_KEYS[label])
        for label in SCHEMA.nodes}


def parse_node_id(node_id: str) -> tuple[str, str] | None:
    label, sep, key = node_id.partition(":")
    return (label, key) if sep and key and label in SCHEMA.nodes else None


def node_view(label: str, node: dict[str, Any]) -> dict[str, Any]:
    """What a graph view draws: id, label, a caption (schema.yaml's caption property) and props."""
    p = props(node)
    key = p.get(SCHEMA.key_of(label))
    caption = p.get(SCHEMA.nodes[label].caption) or key
    if isinstance(caption, str) and len(caption) > 80:
        caption = caption[:77] + "..."
    return {"id": f"{label}:{key}", "label": label, "key": key, "caption": caption, "properties": p}


@dataclass(slots=True)
class Neighbourhood:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    truncated: bool = False


def neighbourhood(store: GraphStore, node_id: str, depth: int, max_nodes: int) -> Neighbourhood | None:
    parsed = parse_node_id(node_id)
    if parsed is None:
        return None
    label, key = parsed
    rows = run(store, NODE[label], key=key)
    if not rows:
        return None
    out = Neighbourhood()
    start = node_view(label, rows[0]["node"])
    out.nodes[start["id"]] = start
    frontier = {start["id"]}
    for _ in range(min(depth, MAX_DEPTH)):
        by_label: dict[str, list[str]] = defaultdict(list)
        for nid in sorted(frontier):
            lab, k = nid.split(":", 1)
            by_label[lab].append(k)
        reached: set[str] = set()
        for lab, keys in by_label.items():
            for outgoing in (True, False):
                budget = max_nodes - len(out.nodes) + 1
                for r in run(store, NEIGHBOURS[(lab, outgoing)], keys=keys, limit=budget * 4):
                    other = node_view(r["label"], r["node"])
                    here = f"{lab}:{r['key']}"
                    if other["id"] not in out.nodes:
                        if len(out.nodes) >= max_nodes:
                            out.truncated = True
                            continue
                        out.nodes[other["id"]] = other
                        reached.add(other["id"])
                    source, target = (here, other["id"]) if outgoing else (other["id"], here)
                    rel = props(r["rel"])
                    edge_props = {k: rel[k] for k in _EDGE_PROPS if rel.get(k) is not None}
                    edge_key = (source, r["type"], target, str(rel.get("role") or rel.get("pmid") or ""))
                    out.edges[edge_key] = {"id": "|".join(edge_key), "source": source, "target": target,
                                           "type": r["type"], "properties": edge_props}
        frontier = reached
        if not frontier or out.truncated:
            break
    return out
