"""The graph in two exchange formats: KGX JSON Lines (Biolink) and CSV for ``neo4j-admin import``.

KGX (the Knowledge Graph Exchange format of the Biolink community): one JSON object per line,
nodes with ``id`` (a CURIE), ``category`` (Biolink classes from schema.yaml), ``name``; edges
with ``subject``, ``predicate``, ``object``, ``publications`` and ``supporting_text``, plus every
pmlkg property. CURIEs as schema.yaml's ``curies``/``id_prefix`` say: PMID:, HGNC:/NCBIGene: for
genes, DRUGBANK:/MESH: for drugs, the lexicon ids for defects (iuis:, pmlkg:), ``pmlkg.*:`` for what
has no public id.

CSV: a ZIP with a node file per label and a relationship file per (type, source label, target
label), headers typed for ``neo4j-admin database import full`` (an ID space per label, since keys
of different labels may coincide), arrays ``;``-separated, and ``import.sh`` with the command.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pmlkg.graph.queries import export
from pmlkg.schema import SCHEMA
from pmlkg.graph.stores import GraphStore

ARRAY_DELIMITER = ";"
_RESERVED = frozenset({"id", "category", "name", "subject", "object", "predicate"})  # KGX's own fields


def _name(label: str, node: dict[str, Any]) -> Any:
    return node.get("display") or node.get("name") or node.get("title") or node.get(SCHEMA.key_of(label))


def kgx_nodes(store: GraphStore) -> Iterator[str]:
    for label, node in export.nodes(store):
        record = {**{k: v for k, v in node.items() if v is not None and k not in _RESERVED},
                  "id": SCHEMA.nodes[label].curie(node), "category": [SCHEMA.nodes[label].biolink], "name": _name(label, node),
                  "provided_by": ["pmlkg"], "pmlkg_label": label, "pmlkg_key": node.get(SCHEMA.key_of(label))}
        if label == "Disease" and node.get("omim"):
            record["xref"] = [f"OMIM:{o}" for o in node["omim"]]
        yield json.dumps(record, ensure_ascii=False, default=str) + "\n"


def kgx_edges(store: GraphStore) -> Iterator[str]:
    curies = {(label, node.get(SCHEMA.key_of(label))): SCHEMA.nodes[label].curie(node) for label, node in export.nodes(store)}
    for rel, source, props, target in export.edges(store):
        subject = curies.get(source) or SCHEMA.nodes[source[0]].key_curie(source[1])
        obj = curies.get(target) or SCHEMA.nodes[target[0]].key_curie(target[1])
        qualifier = str(props.get("role") or props.get("pmid") or "")
        record = {
            "id": "pmlkg:" + hashlib.sha1(f"{subject}|{rel}|{obj}|{qualifier}".encode()).hexdigest()[:16],
            "subject": subject, "predicate": SCHEMA.relationships[rel].biolink, "object": obj,
            "category": ["biolink:Association"], "relation": rel, "knowledge_level": "not_provided",
            "agent_type": "text_mining_agent", "primary_knowledge_source": "infores:pmlkg",
            **({"publications": [f"PMID:{props['pmid']}"]} if props.get("pmid") else {}),
            **({"supporting_text": [props["sentence"]]} if props.get("sentence") else {}),
            **{k: v for k, v in props.items() if v is not None and k not in _RESERVED},
        }
        yield json.dumps(record, ensure_ascii=False, default=str) + "\n"


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


def neo4j_csv_zip(store: GraphStore) -> bytes:
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for label, node in export.nodes(store):
        key = SCHEMA.key_of(label)
        nodes[label].append({**node, "__id": node[key], "__label": label})
    rels: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for rel, source, props, target in export.edges(store):
        rels[(rel, source[0], target[0])].append({**props, "__start": source[1], "__end": target[1], "__type": rel})
    buf = io.BytesIO()
    args = []
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for label, rows in sorted(nodes.items()):
            name = f"nodes_{label}.csv"
            key = SCHEMA.key_of(label)
            for r in rows:
                r.pop(key, None)
            z.writestr(name, _table(rows, ["__id"], {"__id": f"{key}:ID({label})", "__label": ":LABEL"}))
            args.append(f"--nodes={label}=/import/{name}")
        for (rel, src, dst), rows in sorted(rels.items()):
            name = f"rels_{rel}_{src}_{dst}.csv"
            z.writestr(name, _table(rows, ["__start", "__end"], {"__start": f":START_ID({src})",
                                                                   "__end": f":END_ID({dst})", "__type": ":TYPE"}))
            args.append(f"--relationships={rel}=/import/{name}")
        script = ("#!/bin/sh\n# Copy these files to Neo4j's import directory, stop the database, then:\n"
                  "neo4j-admin database import full --overwrite-destination "
                  f"--array-delimiter='{ARRAY_DELIMITER}' " + " ".join(args) + " neo4j\n")
        z.writestr("import.sh", script)
    return buf.getvalue()
