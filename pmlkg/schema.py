"""The pmlkg model, read from ``schema.yaml``: the one vocabulary every layer uses.

Extraction takes its entity labels, roles and outcomes from here; the loader its node keys and
Outcome names; the queries their MERGE/MATCH keys; the API its enums; the exports their Biolink
classes, predicates and CURIE prefixes. Nothing here imports the rest of pmlkg, so every layer
may import it. The enums become ``Literal`` types built from the YAML, so pydantic (and FastAPI's
OpenAPI) validate and document exactly the values the YAML lists, and the values stay plain
strings everywhere (JSON, Cypher parameters, comparisons).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType
from typing import Any, Literal

import yaml

SCHEMA_RESOURCE = files("pmlkg") / "schema.yaml"
SCALARS: Mapping[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    type: str  # str | int | float | bool | list[<type>] | enum:<name>
    doc: str


@dataclass(frozen=True, slots=True)
class CurieRule:
    property: str
    prefix: str | None = None  # None: the property holds a CURIE already
    accept: tuple[str, ...] = ()  # the value as it is, when it starts with one of these prefixes


@dataclass(frozen=True, slots=True)
class NodeType:
    label: str
    key: str
    biolink: str
    id_prefix: str  # the CURIE prefix of the key, when no `curies` rule applies
    caption: str
    input_label: str | None  # the extraction label (enums.entity_label) this node is made from
    indexed: tuple[str, ...]
    properties: Mapping[str, Property]
    curies: tuple[CurieRule, ...] = ()

    def curie(self, node: Mapping[str, Any]) -> str:
        """The node's id outside pmlkg: its preferred public identifier, else ``id_prefix:key``."""
        for rule in self.curies:
            value = node.get(rule.property)
            if value in (None, ""):
                continue
            if rule.accept:
                if str(value).startswith(tuple(f"{p}:" for p in rule.accept)):
                    return str(value)
            else:
                return f"{rule.prefix}:{value}" if rule.prefix else str(value)
        return self.key_curie(node.get(self.key))

    def key_curie(self, key: Any) -> str:
        return f"{self.id_prefix}:{key}"


@dataclass(frozen=True, slots=True)
class RelationshipType:
    type: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    biolink: str
    evidence: bool  # carries the evidence properties too
    properties: Mapping[str, Property]


@dataclass(frozen=True, slots=True)
class Schema:
    version: int
    enums: Mapping[str, Mapping[str, str]]  # name -> value -> description
    nodes: Mapping[str, NodeType]
    relationships: Mapping[str, RelationshipType]
    evidence_properties: Mapping[str, Property]

    def key_of(self, label: str) -> str:
        return self.nodes[label].key

    def values(self, enum: str) -> tuple[str, ...]:
        return tuple(self.enums[enum])

    def edge_properties(self, rel: str) -> Mapping[str, Property]:
        r = self.relationships[rel]
        return {**r.properties, **(self.evidence_properties if r.evidence else {})}

    def problems(self, props: Mapping[str, Any], declared: Mapping[str, Property], where: str) -> list[str]:
        """What of ``props`` the schema does not declare, or declares with another type (null is always allowed)."""
        found = []
        for name, value in props.items():
            if name.startswith("_"):
                continue  # the stores' own annotations (_labels, _type)
            prop = declared.get(name)
            if prop is None:
                found.append(f"{where}.{name}: not in schema.yaml")
            elif value is not None and not self._fits(value, prop.type):
                found.append(f"{where}.{name}: {value!r} is not {prop.type}")
        return found

    def _fits(self, value: Any, typ: str) -> bool:
        if typ.startswith("list[") and typ.endswith("]"):
            return isinstance(value, list) and all(self._fits(v, typ[5:-1]) for v in value)
        if typ.startswith("enum:"):
            return isinstance(value, str) and value in self.enums[typ[5:]]
        kinds = SCALARS[typ]
        return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def _labels(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def _properties(raw: Mapping[str, Any] | None, where: str, enums: Mapping[str, Any]) -> Mapping[str, Property]:
    props = {}
    for name, spec in (raw or {}).items():
        typ = spec["type"]
        base = typ[5:-1] if typ.startswith("list[") else typ
        if not (base in SCALARS or (base.startswith("enum:") and base[5:] in enums)):
            raise ValueError(f"schema.yaml: {where}.{name} has unknown type {typ!r}")
        props[name] = Property(name, typ, spec.get("doc", ""))
    return MappingProxyType(props)


@functools.lru_cache(maxsize=1)
def load_schema(text: str | None = None) -> Schema:
    raw = yaml.safe_load(text if text is not None else SCHEMA_RESOURCE.read_text(encoding="utf-8"))
    enums = MappingProxyType({name: MappingProxyType(dict(values)) for name, values in raw["enums"].items()})
    nodes = {label: NodeType(label=label, key=n["key"], biolink=n["biolink"], id_prefix=n.get("id_prefix", ""),
                             caption=n.get("caption", n["key"]), input_label=n.get("input_label"),
                             indexed=tuple(n.get("indexed") or ()),
                             properties=_properties(n.get("properties"), label, enums),
                             curies=tuple(CurieRule(c["property"], c.get("prefix"), tuple(c.get("accept") or ()))
                                          for c in n.get("curies") or ()))
             for label, n in raw["nodes"].items()}
    for node in nodes.values():
        if node.key not in node.properties:
            raise ValueError(f"schema.yaml: {node.label}'s key {node.key!r} is not one of its properties")
        unknown = [c.property for c in node.curies if c.property not in node.properties]
        if unknown:
            raise ValueError(f"schema.yaml: {node.label}'s curies name unknown properties {unknown}")
        if node.input_label is not None and node.input_label not in enums["entity_label"]:
            raise ValueError(f"schema.yaml: {node.label}'s input_label {node.input_label!r} is not an entity_label")
    rels = {}
    for name, r in raw["relationships"].items():
        rel = RelationshipType(type=name, sources=_labels(r["from"]), targets=_labels(r["to"]), biolink=r["biolink"],
                               evidence=bool(r.get("evidence")), properties=_properties(r.get("properties"), name, enums))
        unknown = [lab for lab in rel.sources + rel.targets if lab not in nodes]
        if unknown:
            raise ValueError(f"schema.yaml: relationship {name} names unknown labels {unknown}")
        rels[name] = rel
    return Schema(version=int(raw["version"]), enums=enums, nodes=MappingProxyType(nodes),
                  relationships=MappingProxyType(rels),
                  evidence_properties=_properties(raw["evidence_properties"], "evidence", enums))


SCHEMA = load_schema()

# The closed vocabularies as types (values from schema.yaml's enums).
EntityLabel = Literal[SCHEMA.values("entity_label")]  # type: ignore[valid-type]
Role = Literal[SCHEMA.values("role")]  # type: ignore[valid-type]
Outcome = Literal[SCHEMA.values("outcome")]  # type: ignore[valid-type]
OutcomeEvent = Literal[SCHEMA.values("outcome_event")]  # type: ignore[valid-type]
Sex = Literal[SCHEMA.values("sex")]  # type: ignore[valid-type]
SummaryKind = Literal[SCHEMA.values("summary_kind")]  # type: ignore[valid-type]
ROLES: tuple[str, ...] = SCHEMA.values("role")
OUTCOMES: tuple[str, ...] = SCHEMA.values("outcome")
OUTCOME_NAMES: Mapping[str, str] = SCHEMA.enums["outcome_event"]  # Outcome node id -> display name
# A series' stated summaries (extraction's SeriesFacts fields) -> the prefix of their Case
# properties (<prefix>_median, _low, _high, _kind).
SERIES_SUMMARIES: Mapping[str, str] = MappingProxyType(
    {"months_to_outcome": "months", "age_years": "age", "cd4_per_ul": "cd4"})
