"""The graph in two exchange formats: KGX (Biolink) and CSV for ``neo4j-admin import``.

KGX (the Knowledge Graph Exchange format of the Biolink community): JSON Lines of nodes and of
edges, and a graph-metadata JSON (sources, Biolink version, prefix map, counts). Everything Biolink
needs is read from schema.yaml: each label's class, each relationship's predicate, direction and
association class, which properties go to which Biolink slots, the CURIE rules, the prefix map, and
what Biolink models otherwise (outcomes as Case attributes; a drug's role as a drug -> PML
statement beside the case's edge). ``tests/test_kgx.py`` validates the demo export with the Biolink
Model Toolkit.

CSV: a ZIP with a node file per label and a relationship file per (type, source label, target
label), headers typed for ``neo4j-admin database import full`` (an ID space per label, since keys
of different labels may coincide), arrays ``;``-separated (an empty array is written as no value:
neo4j-admin cannot express one), ``manifest.json`` (which file holds which label or type) and
``import.sh`` with the command; ``pmlkg db import`` loads it into the local Neo4j. The
labels and types are the graph's; each node carries its KGX ``category`` and each relationship its
KGX ``predicate``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shlex
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmlkg.graph.queries import export
from pmlkg.graph.stores import GraphStore
from pmlkg.schema import LOCAL_PREFIX, SCHEMA, RelationshipType, Statement

ARRAY_DELIMITER = ";"
_RESERVED = frozenset({"id", "category", "name", "subject", "object", "predicate"})  # KGX's own fields
KGX = SCHEMA.kgx
NodeRef = tuple[str, Any]  # (label, key)


def _name(label: str, node: Mapping[str, Any]) -> Any:
    return node.get("display") or node.get("name") or node.get("title") or node.get(SCHEMA.key_of(label))


def _biolink_properties(props: Mapping[str, Any], declared: Mapping[str, Any], mention_side: str,
                        own_names: tuple[str, ...] = ()) -> dict[str, Any]:
    """pmlkg properties as KGX fields: Biolink slots where schema.yaml names one, else their own names."""
    out: dict[str, Any] = {}
    location: dict[str, int] = {}
    for name, value in props.items():
        if value is None or name in _RESERVED:
            continue
        slot = declared[name].biolink if name in declared else None
        if name in own_names:
            out[f"pmlkg_{name}"] = value
        elif slot is None:
            out[name] = value
        elif slot.location:
            location[slot.location] = value - (props.get("sentence_start") or 0)
        else:
            out[slot.slot] = slot.value(value, SCHEMA.nodes)  # type: ignore[index]
    if {"start", "end"} <= location.keys():
        out[f"{mention_side}_location_in_text"] = [location["start"], location["end"]]
    return out


def kgx_node(label: str, node: Mapping[str, Any]) -> dict[str, Any]:
    spec = SCHEMA.nodes[label]
    record = {**_biolink_properties(node, spec.properties, "object"),
              "id": spec.curie(node), "category": [spec.category(node)], "name": _name(label, node),
              "provided_by": [KGX.knowledge_source], "pmlkg_label": label, "pmlkg_key": node.get(spec.key)}
    own = spec.key_curie(node.get(spec.key))
    if record["id"] != own:
        record["xref"] = [own]  # the way back to the pmlkg node
    return record


def condition_node() -> dict[str, Any]:
    c = KGX.condition
    return {"id": c["id"], "category": [c["category"]], "name": c["name"], "xref": list(c.get("xref", [])),
            "provided_by": [KGX.knowledge_source]}


@dataclass(frozen=True, slots=True)
class End:
    """One end of a pmlkg edge as the export sees it: its label and key (what edge ids hash, so they
    stay when a node gains a registered id), its KGX id, and its group rule's association class."""
    label: str
    key: Any
    id: str
    group_association: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.label}:{self.key}"


def _edge(rel: RelationshipType, subject: str, obj: str, statement: Statement, props: Mapping[str, Any],
          mention_side: str, identity: str) -> dict[str, Any]:
    digest = hashlib.sha1(f"{identity}|{statement.predicate}".encode()).hexdigest()[:16]
    return {
        **_biolink_properties(props, SCHEMA.edge_properties(rel.type), mention_side, rel.kgx.own_names),
        "id": f"{LOCAL_PREFIX}:edge/{digest}", "subject": subject, "predicate": statement.predicate, "object": obj,
        "category": [statement.category],
        "knowledge_level": statement.knowledge_level or rel.kgx.knowledge_level or KGX.knowledge_level,
        "agent_type": rel.kgx.agent_type or KGX.agent_type, "primary_knowledge_source": KGX.knowledge_source,
        "pmlkg_relation": rel.type}


def kgx_edge_records(rel_type: str, source: End, props: Mapping[str, Any], target: End) -> list[dict[str, Any]]:
    """The KGX edges of one pmlkg edge: the edge as Biolink states it, and for a drug's role the drug ->
    PML statement too (not for a denied one: "never received rituximab" says nothing of rituximab and PML)."""
    rel = SCHEMA.relationships[rel_type]
    if rel.kgx.omit:
        return []
    identity = f"{rel_type}|{source.ref}|{target.ref}|{props.get('role') or ''}|{props.get('pmid') or ''}"
    statement = rel.kgx.statement(rel, props)
    if source.group_association:
        statement = Statement(statement.predicate, source.group_association, statement.knowledge_level)
    subject, obj = (target.id, source.id) if rel.kgx.reverse else (source.id, target.id)
    records = [_edge(rel, subject, obj, statement, props, "subject" if rel.kgx.reverse else "object", identity)]
    role = rel.kgx.by_role.get(props.get("role") or "")
    if role is not None and not props.get("negated"):
        extra = _edge(rel, target.id, KGX.condition["id"], role, props, "subject", identity + "|role")
        extra["pmlkg_case"] = source.id
        records.append(extra)
    return records


def condition_edge(label: str, node: Mapping[str, Any], end: End) -> dict[str, Any] | None:
    """A node's edge to the graph's disease (a Case is a case of PML), from the article that reports it."""
    statement = SCHEMA.nodes[label].condition
    if statement is None:
        return None
    digest = hashlib.sha1(f"condition|{end.ref}".encode()).hexdigest()[:16]
    return {"id": f"{LOCAL_PREFIX}:edge/{digest}", "subject": end.id, "predicate": statement.predicate,
            "object": KGX.condition["id"], "category": [end.group_association or statement.category],
            "knowledge_level": statement.knowledge_level or KGX.knowledge_level, "agent_type": KGX.agent_type,
            "primary_knowledge_source": KGX.knowledge_source,
            **({"publications": [f"PMID:{node['pmid']}"]} if node.get("pmid") else {})}


def _referred(target: tuple[tuple[str, ...], str] | None, ends: Mapping[NodeRef, End]) -> str | None:
    if target is None:
        return None
    labels, key = target
    return next((ends[(label, key)].id for label in labels if (label, key) in ends), None)


@dataclass
class KgxGraph:
    """The export in memory (edges need every node's KGX id; the demo's is under a megabyte)."""
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    omitted: Counter[str] = field(default_factory=Counter)  # label or type -> how many left out
    id_fallbacks: int = 0  # nodes whose registered id another node already had (they keep their pmlkg id)


def kgx_graph(store: GraphStore) -> KgxGraph:
    graph = KgxGraph()
    ends: dict[NodeRef, End] = {}
    taken: set[str] = set()
    for label, node in export.nodes(store):
        spec = SCHEMA.nodes[label]
        if spec.kgx_omit:
            graph.omitted[label] += 1
            continue
        record = kgx_node(label, node)
        if record["id"] in taken:  # two pmlkg nodes, one registered id: the later keeps its own id
            record["xref"] = [record["id"]]
            record["id"] = spec.key_curie(node.get(spec.key))
            graph.id_fallbacks += 1
        taken.add(record["id"])
        rule = spec.group_rule(node)
        end = End(label, node.get(spec.key), record["id"], rule.association if rule else None)
        ends[(label, end.key)] = end
        graph.nodes.append(record)
        if (edge := condition_edge(label, node, end)) is not None:
            graph.edges.append(edge)
    for rel, source, props, target in export.edges(store):
        if source not in ends or target not in ends or SCHEMA.relationships[rel].kgx.omit:
            graph.omitted[rel] += 1
            continue
        records = kgx_edge_records(rel, ends[source], props, ends[target])
        refers = SCHEMA.relationships[rel].kgx.refers
        if refers and records and isinstance(props.get(refers.property), list):
            records[0][f"{refers.property}_ids"] = [_referred(refers.target(item), ends) for item in props[refers.property]]
        graph.edges.extend(records)
    evidence_slot = SCHEMA.evidence_properties["evidence"].biolink.slot  # type: ignore[union-attr]
    for edge in graph.edges:  # an edge's sentence is an Evidence node only when it states a case fact
        if edge.get(evidence_slot) and not set(edge[evidence_slot]) <= taken:
            del edge[evidence_slot]
    if any(e["object"] == KGX.condition["id"] for e in graph.edges):
        graph.nodes.append(condition_node())
    return graph


def kgx_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False, default=str, sort_keys=True) + "\n"


def _prefix(curie: str) -> str:
    return curie.split(":", 1)[0]


def kgx_metadata(graph: KgxGraph, version: str) -> dict[str, Any]:
    """KGX graph metadata: what the export is, where its knowledge comes from, and its counts."""
    categories = {n["id"]: n["category"][0] for n in graph.nodes}
    by_category = Counter(c for n in graph.nodes for c in n["category"])
    by_prefix = Counter(_prefix(n["id"]) for n in graph.nodes)
    by_predicate = Counter(e["predicate"] for e in graph.edges)
    by_spo = Counter(f"{categories[e['subject']]}-{e['predicate']}-{categories[e['object']]}" for e in graph.edges)
    return {
        "name": "pmlkg", "description": "PML in inborn errors of immunity: case reports text-mined from PubMed",
        "version": version, "schema_version": SCHEMA.version, "biolink_version": KGX.biolink_version,
        "date": dt.datetime.now(dt.timezone.utc).date().isoformat(), "format": "jsonl",
        "primary_knowledge_source": KGX.knowledge_source, "knowledge_source": [dict(s) for s in KGX.sources],
        "curie_map": dict(KGX.curie_map),
        "node_stats": {"total_nodes": len(graph.nodes), "node_categories": sorted(by_category),
                       "count_by_category": {c: {"count": n} for c, n in sorted(by_category.items())},
                       "node_id_prefixes": sorted(by_prefix),
                       "count_by_id_prefixes": dict(sorted(by_prefix.items()))},
        "edge_stats": {"total_edges": len(graph.edges), "predicates": sorted(by_predicate),
                       "count_by_predicates": {p: {"count": n} for p, n in sorted(by_predicate.items())},
                       "count_by_spo": {k: {"count": n} for k, n in sorted(by_spo.items())}},
        "id_fallbacks": graph.id_fallbacks,
        "omitted": {"counts": dict(sorted(graph.omitted.items())),
                    "why": {**{lab: n.kgx_omit for lab, n in SCHEMA.nodes.items() if n.kgx_omit},
                            **{t: r.kgx.omit for t, r in SCHEMA.relationships.items() if r.kgx.omit}}},
    }


KGX_NAME = "pmlkg"  # the files' stem: <name>_nodes.jsonl, <name>_edges.jsonl, <name>_graph_metadata.json


def kgx_files(out_dir: Path, name: str = KGX_NAME) -> dict[str, Path]:
    return {"nodes": out_dir / f"{name}_nodes.jsonl", "edges": out_dir / f"{name}_edges.jsonl",
            "metadata": out_dir / f"{name}_graph_metadata.json"}


def write_kgx(store: GraphStore, out_dir: Path, version: str) -> dict[str, Any]:
    """The three KGX files (KGX's naming); each replaced whole, so a killed export leaves the previous one."""
    graph = kgx_graph(store)
    metadata = kgx_metadata(graph, version)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = kgx_files(out_dir)
    texts = {"nodes": kgx_lines(graph.nodes), "edges": kgx_lines(graph.edges),
             "metadata": [json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"]}
    for part, lines in texts.items():
        tmp = files[part].with_name(f".{files[part].name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(lines)
        tmp.replace(files[part])
    return metadata


def _csv_type(values: list[Any]) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {bool} and kinds:
        return "boolean"
    if kinds <= {int} and kinds:
        return "long"
    if kinds <= {int, float} and kinds:
        return "double"
    if kinds <= {list} and kinds:
        inner = {type(x) for v in values if isinstance(v, list) for x in v}
        return "long[]" if inner and inner <= {int} else "string[]"
    return "string"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ARRAY_DELIMITER.join(str(x).replace(ARRAY_DELIMITER, ",") for x in value)
    return value


def _table(rows: list[dict[str, Any]], id_columns: list[str], fixed: dict[str, str]) -> str:
    props = sorted({k for r in rows for k in r} - set(fixed) - set(id_columns))
    types = {p: _csv_type([r.get(p) for r in rows]) for p in props}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*(fixed[c] for c in id_columns), *(f"{p}:{types[p]}" for p in props),
                     *(fixed[c] for c in fixed if c not in id_columns)])
    for r in rows:
        writer.writerow([*(r[c] for c in id_columns), *(_cell(r.get(p)) for p in props),
                         *(r[c] for c in fixed if c not in id_columns)])
    return out.getvalue()


CSV_BUNDLE = "pmlkg-neo4j-import.zip"  # what `pmlkg export --format csv` and GET /export?format=csv name it
MANIFEST = "manifest.json"  # which file holds which label or type: what import.sh and `pmlkg db import` pass


MAX_BUNDLE_BYTES = 2 << 30  # what `pmlkg db import` unpacks at most (2 GiB)


def bundle_manifest(bundle: zipfile.ZipFile) -> dict[str, Any]:
    """A CSV bundle's manifest, refused (ValueError) unless it is pmlkg's: its labels and types the
    schema's, every file it names a plain .csv name in the bundle, one array delimiter that is not the
    field separator, and the files under MAX_BUNDLE_BYTES unpacked."""
    manifest = json.loads(bundle.read(MANIFEST))
    if not isinstance(manifest, dict) or not {"array_delimiter", "nodes", "relationships"} <= manifest.keys():
        raise ValueError("the manifest is not a pmlkg bundle manifest")
    known = {"nodes": SCHEMA.nodes, "relationships": SCHEMA.relationships}
    names = {info.filename: info.file_size for info in bundle.infolist()}
    for group, declared in known.items():
        unknown = set(manifest[group]) - set(declared)
        if unknown:
            raise ValueError(f"the manifest names {group} the schema does not declare: {sorted(unknown)}")
        for files in manifest[group].values():
            bad = [f for f in files if f not in names or "/" in f or "\\" in f or not f.endswith(".csv")]
            if bad:
                raise ValueError(f"the manifest names files that are not plain .csv files of the bundle: {bad}")
    delimiter = manifest["array_delimiter"]
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in ',"\n':
        raise ValueError("the manifest's array_delimiter must be one character other than , \" and newline")
    if sum(names[f] for f in bundle_members(manifest)) > MAX_BUNDLE_BYTES:
        raise ValueError(f"the bundle unpacks to more than {MAX_BUNDLE_BYTES >> 30} GiB")
    return manifest


def bundle_members(manifest: Mapping[str, Any]) -> list[str]:
    return [f for group in ("nodes", "relationships") for files in manifest[group].values() for f in files]


def neo4j_import_arguments(manifest: Mapping[str, Any], folder: str | Path) -> list[str]:
    """The ``neo4j-admin database import full <database>`` options for a bundle's files, found in ``folder``
    (they go after the database name: --nodes and --relationships take several files, and would take it too)."""
    return [f"--array-delimiter={manifest['array_delimiter']}",
            *(f"--nodes={label}={Path(folder) / name}" for label, names in manifest["nodes"].items() for name in names),
            *(f"--relationships={rel}={Path(folder) / name}" for rel, names in manifest["relationships"].items()
              for name in names)]


def _stored_direction(rel: RelationshipType, props: Mapping[str, Any]) -> str:
    """The KGX predicate as the stored edge reads (source -> target): a reversed statement's inverse
    (schema.yaml kgx.inverse); the `when` predicates of a reversed relationship are symmetric."""
    statement = rel.kgx.statement(rel, props)
    return rel.kgx.pmlkg_direction(rel) if statement.predicate == rel.biolink else statement.predicate


def neo4j_csv_zip(store: GraphStore) -> bytes:
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for label, node in export.nodes(store):
        spec = SCHEMA.nodes[label]
        category = None if spec.kgx_omit else [spec.category(node)]
        nodes[label].append({**node, "category": category, "__id": node[spec.key], "__label": label})
    rels: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for rel, source, props, target in export.edges(store):
        spec_rel = SCHEMA.relationships[rel]
        predicate = None if spec_rel.kgx.omit else _stored_direction(spec_rel, props)
        rels[(rel, source[0], target[0])].append({**props, "predicate": predicate, "__start": source[1],
                                                  "__end": target[1], "__type": rel})
    buf = io.BytesIO()
    manifest: dict[str, Any] = {"array_delimiter": ARRAY_DELIMITER, "nodes": {}, "relationships": {}}
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for label, rows in sorted(nodes.items()):
            name = f"nodes_{label}.csv"
            key = SCHEMA.key_of(label)
            for r in rows:
                r.pop(key, None)
            z.writestr(name, _table(rows, ["__id"], {"__id": f"{key}:ID({label})", "__label": ":LABEL"}))
            manifest["nodes"].setdefault(label, []).append(name)
        for (rel, src, dst), rows in sorted(rels.items()):
            name = f"rels_{rel}_{src}_{dst}.csv"
            z.writestr(name, _table(rows, ["__start", "__end"], {"__start": f":START_ID({src})",
                                                                   "__end": f":END_ID({dst})", "__type": ":TYPE"}))
            manifest["relationships"].setdefault(rel, []).append(name)
        script = ("#!/bin/sh\n# Copy these files to Neo4j's import directory, stop the database, then:\n"
                  "neo4j-admin database import full neo4j --overwrite-destination "
                  + shlex.join(neo4j_import_arguments(manifest, "/import")) + "\n")
        z.writestr("import.sh", script)
        z.writestr(MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return buf.getvalue()
