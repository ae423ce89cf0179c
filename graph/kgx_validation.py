"""Validate a KGX export against the Biolink model, offline, as another knowledge-graph team would.

``kgx validate`` cannot start without network (its toolkit fetches the model and a predicate map at
import), so this asks the Biolink Model Toolkit (``bmt``) directly, loaded from the schema file the
``biolink-model`` package ships. Both come with ``pip install 'pmlkg[biolink]'`` (and the test
extra); pmlkg itself never needs them. The checks, each a finding kind:

- ``version``: the metadata's ``biolink_version`` is not the installed model's;
- ``category``: a node category that is not a ``biolink:`` CURIE of a Biolink class, or is abstract
  or a mixin;
- ``predicate``: an edge predicate that is not a ``biolink:`` CURIE of a Biolink predicate, or is
  abstract or a mixin;
- ``domain`` / ``range``: the subject's / object's category is not the predicate's domain / range
  or a descendant of it (mixins count; the nearest ancestor predicate that states one applies);
- ``association``: the edge category is not a concrete association class, or the subject, object
  or predicate break what that class (with its ancestors and mixins) says of them;
- ``required``: a slot the node's class or the edge's association class requires is missing (or
  the record lacks id, category, subject, predicate or object);
- ``slot``: a field named like a Biolink slot whose value does not fit the slot: a list where it is
  multivalued and a single value where not, values of its type (string, integer, float, boolean,
  CURIE, enum value), and a node of the export of the slot's class where the range is a class;
- ``id_prefix``: a node id whose prefix the Biolink class does not list among its id prefixes
  (pmlkg's own prefix is allowed: the ids of what has no registered identifier);
- ``curie_map``: a CURIE (node and edge ids, subjects, objects, xrefs, publications, evidence,
  knowledge sources) whose prefix the metadata's ``curie_map`` lacks, or a ``curie_map`` expansion
  that differs from the Biolink model's prefix map;
- ``source``: a knowledge source that is not an ``infores:`` id;
- ``enum``: a knowledge_level or agent_type that is not a value of its Biolink enum;
- ``canonical``: a predicate whose inverse is the canonical one (Biolink asks for the canonical
  direction);
- ``duplicate``: two nodes or two edges with the same id;
- ``dangling``: an edge end (or its evidence) that is not a node of the export.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pmlkg.graph.exports import kgx_files
from pmlkg.schema import LOCAL_PREFIX

KINDS = ("version", "category", "predicate", "domain", "range", "association", "required", "slot", "id_prefix",
         "curie_map", "source", "enum", "canonical", "duplicate", "dangling")
NOT_IN_BIOLINK_MAP = frozenset({LOCAL_PREFIX, "infores"})  # ours and the registry's: the model's map has neither
CORE = frozenset({"id", "category", "subject", "predicate", "object", "knowledge_level", "agent_type"})  # own checks
STRINGS = frozenset({"string", "label type", "narrative text", "symbol type", "iri type", "date", "time",
                     "frequency value", "time type"})


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    where: str  # node or edge id
    detail: str


class BiolinkModel:
    """The Biolink model of the installed ``biolink-model`` package, with the lookups validation needs."""

    def __init__(self) -> None:
        try:
            from bmt import Toolkit
            import biolink_model
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("validating needs the Biolink Model Toolkit: pip install 'pmlkg[biolink]' "
                               f"(bmt and biolink-model; {exc})") from exc
        root = resources.files(biolink_model)
        # A predicate map is only needed for mapping other vocabularies; an empty one keeps bmt offline.
        self.toolkit = Toolkit(schema=str(root / "schema" / "biolink_model.yaml"),
                               predicate_map={"predicate mappings": []})
        self.prefix_map: dict[str, str] = json.loads(
            (root / "prefixmaps" / "biolink_model_prefix_map.json").read_text(encoding="utf-8"))
        self.version = self.toolkit.get_model_version()

    def element(self, curie: str) -> Any:
        return self.toolkit.get_element(curie)

    @functools.lru_cache(maxsize=None)
    def name(self, curie: str) -> str | None:
        """The model's name of a ``biolink:`` CURIE (bare names are not CURIEs: None)."""
        if not isinstance(curie, str) or not curie.startswith("biolink:"):
            return None
        e = self.element(curie)
        return e.name if e is not None else None

    @functools.lru_cache(maxsize=None)
    def ancestors(self, name: str) -> frozenset[str]:
        """The element, its is_a ancestors and their mixins (Biolink names, unformatted)."""
        return frozenset(self.toolkit.get_ancestors(name, reflexive=True, mixin=True, formatted=False))

    def is_a(self, name: str, ancestor: str) -> bool:
        return ancestor in self.ancestors(name)

    def _problem(self, curie: Any, what: str, known: bool) -> str | None:
        if self.name(curie) is None:
            return f"{curie!r} is not a biolink: CURIE of a Biolink {what}"
        e = self.element(curie)
        if not known:
            return f"{curie} is not a Biolink {what}"
        if e.abstract or e.mixin:
            return f"{curie} is {'abstract' if e.abstract else 'a mixin'}: not a {what} to use"
        return None

    @functools.lru_cache(maxsize=None)
    def class_problem(self, curie: Any) -> str | None:
        return self._problem(curie, "class", self.name(curie) is not None and self.toolkit.is_category(curie))

    @functools.lru_cache(maxsize=None)
    def predicate_problem(self, curie: Any) -> str | None:
        return self._problem(curie, "predicate", self.name(curie) is not None and self.toolkit.is_predicate(curie))

    @functools.lru_cache(maxsize=None)
    def association_problem(self, curie: Any) -> str | None:
        name = self.name(curie)
        return self._problem(curie, "association class", name is not None and self.is_a(name, "association"))

    @functools.lru_cache(maxsize=None)
    def slot_end(self, predicate: str, end: str) -> str | None:
        """The domain (``end='domain'``) or range of a predicate: its own, else its nearest ancestor's."""
        name = self.name(predicate)
        for ancestor in [name, *self.toolkit.get_ancestors(name, reflexive=False, mixin=False, formatted=False)]:
            value = getattr(self.element(ancestor), end, None)
            if value:
                return str(value)
        return None

    @functools.lru_cache(maxsize=None)
    def canonical_inverse(self, predicate: str) -> str | None:
        """The predicate's inverse when that inverse, not the predicate, is marked canonical."""
        e = self.element(predicate)
        if e is None or "canonical_predicate" in (e.annotations or {}) or not e.inverse:
            return None
        inverse = self.element(e.inverse)
        return inverse.name if inverse is not None and "canonical_predicate" in (inverse.annotations or {}) else None

    @functools.lru_cache(maxsize=None)
    def id_prefixes(self, category: str) -> tuple[str, ...]:
        e = self.element(category)
        return tuple(e.id_prefixes or ()) if e is not None else ()

    @functools.lru_cache(maxsize=None)
    def slot_usage(self, association: str) -> Mapping[str, Mapping[str, Any]]:
        """What an association class and its ancestors and mixins say of subject, object and predicate (nearest first)."""
        name = self.name(association)
        said: dict[str, dict[str, Any]] = {}
        for ancestor in self.toolkit.get_ancestors(name, reflexive=True, mixin=True, formatted=False):
            for slot, usage in (getattr(self.element(ancestor), "slot_usage", None) or {}).items():
                if slot in ("subject", "object", "predicate"):
                    for key in ("range", "subproperty_of"):
                        value = getattr(usage, key, None)
                        if value and key not in said.setdefault(slot, {}):
                            said[slot][key] = str(value)
        return said

    @functools.lru_cache(maxsize=None)
    def required(self, category: str) -> tuple[str, ...]:
        """The slots a class requires, as KGX field names (``publication type`` -> ``publication_type``)."""
        name = self.name(category)
        if name is None:
            return ()
        return tuple(s.name.replace(" ", "_") for s in self.toolkit.view.class_induced_slots(name) if s.required)

    @functools.lru_cache(maxsize=None)
    def slot(self, field: str) -> Any:
        """The Biolink slot a KGX field names (``supporting_text`` -> ``supporting text``), or None."""
        e = self.toolkit.get_element(field.replace("_", " "))
        return e if e is not None and type(e).__name__ == "SlotDefinition" else None

    @functools.lru_cache(maxsize=None)
    def enum_values(self, enum: str) -> frozenset[str]:
        found = self.toolkit.view.get_enum(enum)
        return frozenset(found.permissible_values) if found is not None else frozenset()

    @functools.lru_cache(maxsize=None)
    def is_class(self, name: str) -> bool:
        return self.toolkit.view.get_class(name) is not None


def _prefix(curie: Any) -> str | None:
    return curie.split(":", 1)[0] if isinstance(curie, str) and ":" in curie else None


def _curies_of_node(node: Mapping[str, Any]) -> Iterable[str]:
    yield node["id"]
    yield from node.get("xref") or ()
    yield from node.get("provided_by") or ()


def _curies_of_edge(edge: Mapping[str, Any]) -> Iterable[str]:
    yield from (edge["id"], edge["subject"], edge["object"])
    yield from edge.get("publications") or ()
    yield from edge.get("has_evidence") or ()
    if edge.get("primary_knowledge_source"):
        yield edge["primary_knowledge_source"]


class Validator:
    def __init__(self, model: BiolinkModel | None = None) -> None:
        self.model = model or BiolinkModel()

    def validate(self, nodes: list[Mapping[str, Any]], edges: list[Mapping[str, Any]],
                 metadata: Mapping[str, Any]) -> list[Finding]:
        m = self.model
        found: list[Finding] = []
        if metadata.get("biolink_version") != m.version:
            found.append(Finding("version", "metadata", f"biolink_version {metadata.get('biolink_version')!r}; "
                                                          f"the installed model is {m.version}"))
        curie_map = metadata.get("curie_map") or {}
        for prefix, expansion in curie_map.items():
            theirs = m.prefix_map.get(prefix)
            if prefix not in NOT_IN_BIOLINK_MAP and theirs != expansion:
                found.append(Finding("curie_map", prefix, f"expands to {expansion!r}; the Biolink model's map: {theirs!r}"))
        for source in metadata.get("knowledge_source") or ():
            if "id" in source and _prefix(source["id"]) != "infores":
                found.append(Finding("source", "metadata", f"knowledge source {source['id']!r} is not an infores: id"))
        categories: dict[str, list[str]] = {}
        for node in nodes:
            if not node.get("id") or not node.get("category"):
                found.append(Finding("required", str(node.get("id")), "a node needs an id and a category"))
                continue
            nid = node["id"]
            if nid in categories:
                found.append(Finding("duplicate", nid, "a second node with this id"))
            categories[nid] = list(node["category"])
            for category in categories[nid]:
                if (problem := m.class_problem(category)) is not None:
                    found.append(Finding("category", nid, problem))
                    continue
                allowed = m.id_prefixes(category)
                if allowed and _prefix(nid) not in allowed and _prefix(nid) != LOCAL_PREFIX:
                    found.append(Finding("id_prefix", nid, f"{_prefix(nid)} is not an id prefix of {category}"))
                found.extend(Finding("required", nid, f"{category} requires {slot}")
                             for slot in m.required(category) if slot not in node)
            found.extend(Finding("curie_map", nid, f"{c}: prefix not in the curie_map")
                         for c in _curies_of_node(node) if _prefix(c) not in curie_map)
        edge_ids: set[str] = set()
        for edge in edges:
            if any(not edge.get(k) for k in ("id", "subject", "predicate", "object")):
                found.append(Finding("required", str(edge.get("id")), "an edge needs id, subject, predicate and object"))
                continue
            if edge["id"] in edge_ids:
                found.append(Finding("duplicate", edge["id"], "a second edge with this id"))
            edge_ids.add(edge["id"])
            found.extend(self._edge(edge, categories, curie_map))
        for record in [*nodes, *edges]:
            found.extend(self._slots(record, categories))
        return found

    def _edge(self, edge: Mapping[str, Any], categories: Mapping[str, list[str]],
              curie_map: Mapping[str, str]) -> list[Finding]:
        m = self.model
        eid, predicate = edge["id"], edge["predicate"]
        found = [Finding("curie_map", eid, f"{c}: prefix not in the curie_map")
                 for c in _curies_of_edge(edge) if _prefix(c) not in curie_map]
        if edge.get("primary_knowledge_source") and _prefix(edge["primary_knowledge_source"]) != "infores":
            found.append(Finding("source", eid, f"primary_knowledge_source {edge['primary_knowledge_source']!r}"))
        if not edge.get("primary_knowledge_source"):
            found.append(Finding("source", eid, "no primary_knowledge_source"))
        for field, enum in (("knowledge_level", "KnowledgeLevelEnum"), ("agent_type", "AgentTypeEnum")):
            if edge.get(field) not in m.enum_values(enum):
                found.append(Finding("enum", eid, f"{field} {edge.get(field)!r}"))
        ends = {}
        for end in ("subject", "object"):
            if edge[end] not in categories:
                found.append(Finding("dangling", eid, f"{end} {edge[end]} is not a node of the export"))
            ends[end] = [m.name(c) for c in categories.get(edge[end], []) if m.class_problem(c) is None]
        found.extend(Finding("dangling", eid, f"has_evidence {e} is not a node of the export")
                     for e in edge.get("has_evidence") or () if e not in categories)
        if (problem := m.predicate_problem(predicate)) is not None:
            return [*found, Finding("predicate", eid, problem)]
        if (inverse := m.canonical_inverse(predicate)) is not None:
            found.append(Finding("canonical", eid, f"{predicate}: Biolink's canonical direction is its inverse {inverse!r}"))
        for end, slot in (("subject", "domain"), ("object", "range")):
            want = m.slot_end(predicate, slot)
            if want and ends[end] and not any(m.is_a(c, want) for c in ends[end]):
                found.append(Finding(slot, eid, f"{predicate}: {end} {edge[end]} is {ends[end]}, not a {want}"))
        if not edge.get("category"):
            found.append(Finding("association", eid, "no association class (category)"))
        for association in edge.get("category") or ():
            if (problem := m.association_problem(association)) is not None:
                found.append(Finding("association", eid, problem))
                continue
            usage = m.slot_usage(association)
            for end in ("subject", "object"):
                want = usage.get(end, {}).get("range")
                if want and ends[end] and not any(m.is_a(c, want) for c in ends[end]):
                    found.append(Finding("association", eid, f"{association}: {end} must be a {want}, is {ends[end]}"))
            parent = usage.get("predicate", {}).get("subproperty_of")
            if parent and not m.is_a(m.name(predicate) or "", parent):
                found.append(Finding("association", eid, f"{association}: predicate must be under {parent!r}"))
            enum = usage.get("predicate", {}).get("range")
            if enum and m.toolkit.view.get_enum(enum) is not None and predicate not in m.enum_values(enum):
                found.append(Finding("association", eid, f"{association}: predicate must be one of {enum}"))
            found.extend(Finding("required", eid, f"{association} requires {slot}")
                         for slot in m.required(association) if slot not in edge)
        return found

    def _slots(self, record: Mapping[str, Any], categories: Mapping[str, list[str]]) -> list[Finding]:
        """Every field named like a Biolink slot holds what that slot holds."""
        m = self.model
        found = []
        for field, value in record.items():
            slot = None if field in CORE else m.slot(field)
            if slot is None or value is None:
                continue
            where = str(record.get("id"))
            if bool(slot.multivalued) != isinstance(value, list):
                found.append(Finding("slot", where, f"{field} must be {'a list' if slot.multivalued else 'one value'}"))
                continue
            for item in value if isinstance(value, list) else [value]:
                if (problem := self._value(str(slot.range) if slot.range else None, item, categories)) is not None:
                    found.append(Finding("slot", where, f"{field}: {item!r} {problem}"))
        return found

    def _value(self, rng: str | None, item: Any, categories: Mapping[str, list[str]]) -> str | None:
        m = self.model
        if rng is None:
            return None
        if rng in STRINGS:
            return None if isinstance(item, str) else f"is not a {rng}"
        if rng == "integer":
            return None if isinstance(item, int) and not isinstance(item, bool) else "is not an integer"
        if rng in ("float", "double"):
            return None if isinstance(item, (int, float)) and not isinstance(item, bool) else "is not a number"
        if rng == "boolean":
            return None if isinstance(item, bool) else "is not a boolean"
        if rng in ("uriorcurie", "uri"):
            return None if _prefix(item) else "is not a CURIE"
        if m.enum_values(rng):
            return None if item in m.enum_values(rng) else f"is not a value of {rng}"
        if m.is_class(rng):
            if not _prefix(item):
                return f"is not the CURIE of a {rng}"
            if item in categories and not any(m.is_a(m.name(c) or "", rng) for c in categories[item]):
                return f"is a node of {categories[item]}, not a {rng}"
        return None


def read_export(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """The three files ``pmlkg export --format kgx`` writes."""
    files = kgx_files(folder)

    def lines(part: str) -> list[dict[str, Any]]:
        with files[part].open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    return lines("nodes"), lines("edges"), json.loads(files["metadata"].read_text(encoding="utf-8"))


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per kind, every kind listed (0 included)."""
    counts = Counter(f.kind for f in findings)
    return {kind: counts.get(kind, 0) for kind in KINDS}
