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
from urllib.parse import quote
from dataclasses import dataclass, field
from importlib.resources import files
from types import MappingProxyType
from typing import Any, Literal

import yaml

SCHEMA_RESOURCE = files("pmlkg") / "schema.yaml"
SCALARS: Mapping[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}


@dataclass(frozen=True, slots=True)
class BiolinkSlot:
    """Where the KGX export writes a pmlkg property: a Biolink slot, as a list or a CURIE, or a text location."""
    slot: str | None = None
    list: bool = False  # the slot is multivalued: write [value]
    curie: str | None = None  # write "<curie>:<value>"
    location: str | None = None  # start | end of the mention: into subject_/object_location_in_text
    node: str | None = None  # the value is the key of a node of this label: write that node's CURIE

    def value(self, value: Any, nodes: Mapping[str, NodeType] | None = None) -> Any:
        if self.node and nodes is not None:
            value = nodes[self.node].key_curie(value)
        value = f"{self.curie}:{value}" if self.curie else value
        return [value] if self.list and not isinstance(value, list) else value


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    type: str  # str | int | float | bool | list[<type>] | enum:<name>
    doc: str
    biolink: BiolinkSlot | None = None


@dataclass(frozen=True, slots=True)
class CurieRule:
    property: str
    prefix: str | None = None  # None: the property holds a CURIE already


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """Another Biolink class for the nodes whose ``property`` exceeds ``greater_than`` (a series is a
    Cohort), and the association class of their edges (``association``)."""
    property: str
    greater_than: float
    category: str
    association: str = "biolink:Association"


@dataclass(frozen=True, slots=True)
class Statement:
    """A Biolink predicate with its association class (and knowledge level, when not the default)."""
    predicate: str
    category: str
    knowledge_level: str | None = None


LOCAL_PREFIX = "pmlkg"  # the CURIE prefix of what has no registered identifier


@dataclass(frozen=True, slots=True)
class NodeType:
    label: str
    key: str
    biolink: str
    local_id: str  # pmlkg:<local_id>/<key> when no `curies` rule applies
    caption: str
    input_label: str | None  # the extraction label (enums.entity_label) this node is made from
    indexed: tuple[str, ...]
    properties: Mapping[str, Property]
    curies: tuple[CurieRule, ...] = ()
    kgx_omit: str | None = None  # why the KGX export leaves these nodes out
    category_if: CategoryRule | None = None
    condition: Statement | None = None  # each node's edge to the graph's disease (kgx.condition)

    def curie(self, node: Mapping[str, Any]) -> str:
        """The node's id outside pmlkg: its preferred registered identifier, else ``pmlkg:<local_id>/<key>``."""
        for rule in self.curies:
            value = node.get(rule.property)
            if value not in (None, ""):
                return f"{rule.prefix}:{value}" if rule.prefix else str(value)
        return self.key_curie(node.get(self.key))

    def key_curie(self, key: Any) -> str:
        return f"{LOCAL_PREFIX}:{self.local_id}/{quote(str(key), safe=':-._~')}"

    def group_rule(self, node: Mapping[str, Any]) -> CategoryRule | None:
        """The rule that makes this node another class (a series: a Cohort), if one applies."""
        rule = self.category_if
        value = node.get(rule.property) if rule else None
        return rule if rule and isinstance(value, (int, float)) and value > rule.greater_than else None

    def category(self, node: Mapping[str, Any]) -> str:
        rule = self.group_rule(node)
        return rule.category if rule else self.biolink


@dataclass(frozen=True, slots=True)
class FactRefs:
    """Items ``<prefix>:<key>`` of a list property that name nodes of ``labels[prefix]``."""
    property: str
    labels: Mapping[str, tuple[str, ...]]

    def target(self, item: str) -> tuple[tuple[str, ...], str] | None:
        prefix, sep, key = item.partition(":")
        return (self.labels[prefix], key) if sep and prefix in self.labels else None


@dataclass(frozen=True, slots=True)
class KgxEdge:
    """How the KGX export writes one relationship type (schema.yaml ``relationships.<type>.kgx``)."""
    reverse: bool = False  # the Biolink statement reads target -> source
    category: str = "biolink:Association"
    knowledge_level: str | None = None  # None: the kgx section's default
    agent_type: str | None = None
    omit: str | None = None  # why the export leaves these edges out
    inverse: str | None = None  # the predicate read in pmlkg's direction, when the statement is reversed
    own_names: tuple[str, ...] = ()  # properties written as pmlkg_<name>, not as their Biolink slot
    # the drug's role as Biolink states it between the drug and the graph's disease (RECEIVED)
    by_role: Mapping[str, Statement] = field(default_factory=lambda: MappingProxyType({}))
    # property -> value -> the statement edges with that value make instead
    when: Mapping[str, Mapping[str, Statement]] = field(default_factory=lambda: MappingProxyType({}))
    refers: FactRefs | None = None  # a list property whose items name nodes (SUPPORTS.facts)

    def statement(self, rel: RelationshipType, props: Mapping[str, Any]) -> Statement:
        for prop, values in self.when.items():
            chosen = values.get(str(props.get(prop)))
            if chosen is not None:
                return chosen
        return Statement(rel.biolink, self.category, self.knowledge_level)

    def pmlkg_direction(self, rel: RelationshipType) -> str:
        """The predicate as the stored edge reads (source -> target)."""
        return (self.inverse or rel.biolink) if self.reverse else rel.biolink


@dataclass(frozen=True, slots=True)
class KgxExport:
    """The export's targets and declarations (schema.yaml ``kgx``)."""
    biolink_version: str
    knowledge_source: str
    knowledge_level: str
    agent_type: str
    condition: Mapping[str, Any]  # the disease node every case has (id, name, category, xref)
    curie_map: Mapping[str, str]
    sources: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class RelationshipType:
    type: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    biolink: str
    evidence: bool  # carries the evidence properties too
    properties: Mapping[str, Property]
    kgx: KgxEdge = field(default_factory=KgxEdge)


@dataclass(frozen=True, slots=True)
class Schema:
    version: int
    enums: Mapping[str, Mapping[str, str]]  # name -> value -> description
    nodes: Mapping[str, NodeType]
    relationships: Mapping[str, RelationshipType]
    evidence_properties: Mapping[str, Property]
    kgx: KgxExport

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
        slot = spec.get("biolink")
        props[name] = Property(name, typ, spec.get("doc", ""),
                               BiolinkSlot(slot=slot) if isinstance(slot, str) else BiolinkSlot(**slot) if slot else None)
    return MappingProxyType(props)


def _node_kgx(raw: Mapping[str, Any], label: str) -> dict[str, Any]:
    unknown = set(raw) - {"omit", "category_if", "condition"}
    if unknown:
        raise ValueError(f"schema.yaml: {label}'s kgx has unknown keys {sorted(unknown)}")
    return {"kgx_omit": raw.get("omit"),
            "category_if": CategoryRule(**raw["category_if"]) if raw.get("category_if") else None,
            "condition": Statement(**raw["condition"]) if raw.get("condition") else None}


def _kgx_edge(raw: Mapping[str, Any] | None) -> KgxEdge:
    raw = dict(raw or {})
    by_role = MappingProxyType({role: Statement(**spec) for role, spec in (raw.pop("by_role", None) or {}).items()})
    when = MappingProxyType({prop: MappingProxyType({str(v): Statement(**spec) for v, spec in values.items()})
                             for prop, values in (raw.pop("when", None) or {}).items()})
    refers = raw.pop("refers", None)
    refs = FactRefs(refers["property"], MappingProxyType({k: tuple(v) for k, v in refers["labels"].items()})) if refers else None
    return KgxEdge(**{**raw, "own_names": tuple(raw.get("own_names") or ())}, by_role=by_role, when=when, refers=refs)


@functools.lru_cache(maxsize=1)
def load_schema(text: str | None = None) -> Schema:
    raw = yaml.safe_load(text if text is not None else SCHEMA_RESOURCE.read_text(encoding="utf-8"))
    enums = MappingProxyType({name: MappingProxyType(dict(values)) for name, values in raw["enums"].items()})
    nodes = {label: NodeType(label=label, key=n["key"], biolink=n["biolink"], local_id=n.get("local_id", label.lower()),
                             caption=n.get("caption", n["key"]), input_label=n.get("input_label"),
                             indexed=tuple(n.get("indexed") or ()),
                             properties=_properties(n.get("properties"), label, enums),
                             curies=tuple(CurieRule(c["property"], c.get("prefix")) for c in n.get("curies") or ()),
                             **_node_kgx(n.get("kgx") or {}, label))
             for label, n in raw["nodes"].items()}
    for node in nodes.values():
        if node.key not in node.properties:
            raise ValueError(f"schema.yaml: {node.label}'s key {node.key!r} is not one of its properties")
        unknown = [c.property for c in node.curies if c.property not in node.properties]
        if unknown:
            raise ValueError(f"schema.yaml: {node.label}'s curies name unknown properties {unknown}")
        if node.input_label is not None and node.input_label not in enums["entity_label"]:
            raise ValueError(f"schema.yaml: {node.label}'s input_label {node.input_label!r} is not an entity_label")
    evidence = _properties(raw["evidence_properties"], "evidence", enums)
    for where, props in [("evidence", evidence), *((n.label, n.properties) for n in nodes.values())]:
        for prop in props.values():
            slot = prop.biolink
            if slot and (bool(slot.slot) == bool(slot.location) or (slot.node and slot.node not in nodes)):
                raise ValueError(f"schema.yaml: {where}.{prop.name}'s biolink names a slot or a location, not both, "
                                 "and node: a known label")
    rels = {}
    for name, r in raw["relationships"].items():
        rel = RelationshipType(type=name, sources=_labels(r["from"]), targets=_labels(r["to"]), biolink=r["biolink"],
                               evidence=bool(r.get("evidence")), properties=_properties(r.get("properties"), name, enums),
                               kgx=_kgx_edge(r.get("kgx")))
        unknown = [lab for lab in rel.sources + rel.targets if lab not in nodes]
        if unknown:
            raise ValueError(f"schema.yaml: relationship {name} names unknown labels {unknown}")
        unknown_roles = set(rel.kgx.by_role) - set(enums.get("role", {}))
        if unknown_roles:
            raise ValueError(f"schema.yaml: relationship {name}'s kgx.by_role names unknown roles {sorted(unknown_roles)}")
        declared = {**rel.properties, **(evidence if rel.evidence else {})}
        refers = (rel.kgx.refers.property,) if rel.kgx.refers else ()
        unknown = [p for p in (*rel.kgx.when, *rel.kgx.own_names, *refers) if p not in declared]
        unknown += [lab for labs in (rel.kgx.refers.labels.values() if rel.kgx.refers else ()) for lab in labs
                    if lab not in nodes]
        if unknown:
            raise ValueError(f"schema.yaml: relationship {name}'s kgx names unknown properties {unknown}")
        rels[name] = rel
    k = raw.get("kgx") or {}  # a schema without an export section (tests' small ones) exports nothing Biolink-specific
    kgx = KgxExport(biolink_version=str(k.get("biolink_version", "")), knowledge_source=k.get("knowledge_source", ""),
                    knowledge_level=k.get("knowledge_level", "not_provided"), agent_type=k.get("agent_type", "not_provided"),
                    condition=MappingProxyType(dict(k.get("condition") or {})),
                    curie_map=MappingProxyType(dict(k.get("curie_map") or {})),
                    sources=tuple(MappingProxyType(dict(x)) for x in k.get("sources") or ()))
    return Schema(version=int(raw["version"]), enums=enums, nodes=MappingProxyType(nodes),
                  relationships=MappingProxyType(rels),
                  evidence_properties=evidence, kgx=kgx)


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
