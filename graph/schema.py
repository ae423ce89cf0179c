"""The graph model, read from ``graph/schema.yaml``: node labels, keys, indexes, relationship types.

The YAML is the single description of the model (README, Neo4j Browser style, KGX export and
the loader all follow it); this module types it and creates each backend's indexes. Keys are
what MERGE matches on, so a re-run converges to the same graph. Without an index on the MERGE
key FalkorDB loads quadratically (measured: 474 rels/s at 20k rows), so every key is indexed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from pmlkg.graph.stores import GraphStore

SCHEMA_FILE = Path(__file__).with_name("schema.yaml")


@dataclass(frozen=True, slots=True)
class NodeType:
    label: str
    key: str
    biolink: str
    id_prefix: str
    caption: str
    indexed: tuple[str, ...]
    properties: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RelationshipType:
    type: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    biolink: str
    evidence: bool
    properties: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Schema:
    version: int
    nodes: Mapping[str, NodeType]
    relationships: Mapping[str, RelationshipType]
    evidence_properties: Mapping[str, str]

    def key_of(self, label: str) -> str:
        return self.nodes[label].key


def _labels(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


@functools.lru_cache(maxsize=1)
def load_schema(path: Path = SCHEMA_FILE) -> Schema:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    nodes = {label: NodeType(label=label, key=n["key"], biolink=n["biolink"], id_prefix=n.get("id_prefix", ""),
                             caption=n.get("caption", n["key"]), indexed=tuple(n.get("indexed") or ()),
                             properties=MappingProxyType(dict(n.get("properties") or {})))
             for label, n in raw["nodes"].items()}
    rels = {}
    for name, r in raw["relationships"].items():
        rel = RelationshipType(type=name, sources=_labels(r["from"]), targets=_labels(r["to"]), biolink=r["biolink"],
                               evidence=bool(r.get("evidence")),
                               properties=MappingProxyType(dict(r.get("properties") or {})))
        unknown = [lab for lab in rel.sources + rel.targets if lab not in nodes]
        if unknown:
            raise ValueError(f"{path}: relationship {name} names unknown labels {unknown}")
        rels[name] = rel
    return Schema(version=int(raw["version"]), nodes=MappingProxyType(nodes), relationships=MappingProxyType(rels),
                  evidence_properties=MappingProxyType(dict(raw["evidence_properties"])))


SCHEMA = load_schema()
NODES: tuple[NodeType, ...] = tuple(SCHEMA.nodes.values())
OUTCOMES = {"died": "Died", "survived": "Survived", "iris": "Immune reconstitution inflammatory syndrome"}
# A series' stated summaries (extraction's SeriesFacts fields) -> the prefix of their Case properties
# (<prefix>_median, _low, _high, _kind in schema.yaml).
SERIES_SUMMARIES = {"months_to_outcome": "months", "age_years": "age", "cd4_per_ul": "cd4"}


def create_schema(store: GraphStore) -> None:
    """Idempotent: unique constraints on Neo4j, exact-match indexes on FalkorDB.

    FalkorDB 4.16.3 can segfault replaying its append-only file when a unique constraint
    exists (FalkorDB issue #1642), and then on every start; MERGE on the indexed key already
    keeps keys unique there, so the embedded store gets the index alone.
    """
    for node in NODES:
        if store.backend == "neo4j":
            store.create_unique(node.label, node.key)
        else:
            store.create_index(node.label, node.key)
        for prop in node.indexed:
            store.create_index(node.label, prop)
