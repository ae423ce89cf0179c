"""The KGX export checked as another knowledge-graph team would: with the Biolink Model Toolkit
(bmt 1.5.0) and the model of the biolink-model 4.4.6 package, offline, on the demo graph of each
backend; and the validator itself shown to find each kind of fault it names."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pmlkg import __version__
from pmlkg.graph.exports import kgx_graph, neo4j_csv_zip, write_kgx
from pmlkg.graph.kgx_validation import KINDS, BiolinkModel, Validator, read_export, summary
from pmlkg.graph.stores import GraphStore
from pmlkg.schema import SCHEMA
from pmlkg.settings import Settings

REGISTERED = {"PMID", "HGNC", "NCBIGene", "DRUGBANK", "MESH", "OMIM", "ORDO"}
NO_FINDINGS = dict.fromkeys(KINDS, 0)


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(BiolinkModel())


@pytest.fixture(scope="module")
def exported(demo_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    out = tmp_path_factory.mktemp("kgx")
    write_kgx(demo_store, out, __version__)
    return read_export(out)


def test_the_model_is_the_pinned_one(validator: Validator) -> None:
    assert validator.model.version == SCHEMA.kgx.biolink_version == "4.4.6"


def test_demo_export_has_no_findings(validator: Validator, exported: tuple[list, list, dict]) -> None:
    nodes, edges, metadata = exported
    findings = validator.validate(nodes, edges, metadata)
    assert summary(findings) == NO_FINDINGS, [f"{f.kind} {f.where}: {f.detail}" for f in findings[:10]]
    # 377 graph nodes - 3 Outcome + PML; 1,022 edges - 53 HAD_OUTCOME + 102 drug -> PML + 46 case -> PML
    assert (len(nodes), len(edges)) == (375, 1117)


def test_the_issue_table_is_empty(exported: tuple[list, list, dict]) -> None:
    """Each finding of issue 14's table, counted the way the issue counted it: all 0."""
    nodes, edges, _ = exported
    category = {n["id"]: n["category"][0] for n in nodes}
    assert not [n for n in nodes if set(n["category"]) & {"biolink:TextMiningResult", "biolink:Outcome"}]
    assert not [e for e in edges if e["predicate"] in {"biolink:supports", "biolink:exposed_to", "biolink:has_outcome",
                                                       "biolink:has_gene", "biolink:subclass_of"}]
    assert not [e for e in edges if e["predicate"] == "biolink:gene_associated_with_condition"
                and category[e["subject"]] != "biolink:Gene"]
    assert not [e for e in edges if e["predicate"] == "biolink:has_phenotype"]
    assert not [n for n in nodes if n["id"].split(":")[0] in {"iuis", "pmlkg.gene", "pmlkg.drug", "pmlkg.disease"}]
    assert {n["id"].split(":")[0] for n in nodes} <= REGISTERED | {"pmlkg"}


def test_registered_ids_wherever_the_lexicons_have_one(exported: tuple[list, list, dict]) -> None:
    """A defect, gene, drug or class is under pmlkg: only when its lexicon entry has no registered id."""
    from pmlkg.extraction.lexicons import load_lexicons

    lex = load_lexicons()
    nodes, _, _ = exported
    by_key = {(n.get("pmlkg_label"), n.get("pmlkg_key")): n["id"] for n in nodes}
    diseases = {k: v for (label, k), v in by_key.items() if label == "Disease"}
    expected = {k: (lex.defects[k].curie if k in lex.defects and lex.defects[k].curie else f"pmlkg:disease/{k}")
                for k in diseases}
    assert diseases == expected
    assert sum(v.startswith(("OMIM:", "ORDO:")) for v in diseases.values()) == 6
    assert by_key[("Disease", "iuis:cd40-ligand-deficiency")] == "OMIM:308230"
    assert by_key[("Disease", "iuis:btk-deficiency-x-linked-agammaglobulinemia")] == "ORDO:Orphanet_47"
    assert by_key[("DrugClass", "corticosteroid")] == "MESH:D000305"
    assert by_key[("Drug", "rituximab")] == "DRUGBANK:DB00073" and by_key[("Gene", "CD40LG")] == "HGNC:11935"
    # what stays local has no registered id in the lexicons
    assert [k for (label, k), v in by_key.items() if label == "Gene" and v.startswith("pmlkg:")] == \
        [k for (label, k) in by_key if label == "Gene" and k not in lex.hgnc and k not in lex.genes]


def test_drug_roles_are_biolink_predicates(demo_store: GraphStore, exported: tuple[list, list, dict]) -> None:
    """Given before PML: the drug has_adverse_event PML; given for it: applied_to_treat; one each per case edge."""
    _, edges, _ = exported
    roles = Counter((r["role"], r["negated"]) for r in demo_store.read(
        "MATCH ()-[r:RECEIVED]->() RETURN r.role AS role, coalesce(r.negated, false) AS negated"))
    assert roles == {("exposure", False): 38, ("exposure", True): 5, ("treatment", False): 64, ("treatment", True): 4,
                     ("other", False): 4}
    by_predicate = Counter((e["predicate"], e["role"], e["negated"]) for e in edges
                           if e["object"] == "ORDO:Orphanet_217260" and "pmlkg_case" in e)
    # a denied drug ("had never received rituximab") says nothing of the drug and PML: no statement
    assert by_predicate == {("biolink:has_adverse_event", "exposure", False): 38,
                            ("biolink:applied_to_treat", "treatment", False): 64}
    case_level = Counter(e["predicate"] for e in edges if e.get("pmlkg_relation") == "RECEIVED" and "pmlkg_case" not in e)
    assert case_level == {"biolink:associated_with": 115}
    rituximab = [e for e in edges if e["subject"] == "DRUGBANK:DB00073" and e["predicate"] == "biolink:has_adverse_event"]
    assert rituximab and all(e["publications"][0].startswith("PMID:") and e["supporting_text"][0] and
                             e["pmlkg_case"].startswith("pmlkg:case/") for e in rituximab)
    # the mention offsets are the drug's, within the sentence that supports the edge
    for e in rituximab:
        start, end = e["subject_location_in_text"]
        assert e["supporting_text"][0][start:end].lower() == e["text"].lower()


def test_outcomes_and_evidence_survive_as_biolink(exported: tuple[list, list, dict]) -> None:
    nodes, edges, _ = exported
    case = next(n for n in nodes if n["id"] == "pmlkg:case/90000001:0")
    assert case["category"] == ["biolink:Case"] and case["outcome"] in SCHEMA.values("outcome")
    said = [e for e in edges if e["object"] == case["id"] and e["predicate"] == "biolink:mentions"
            and e["subject"].startswith("pmlkg:evidence/")]
    evidence = {n["id"]: n for n in nodes if n["category"] == ["biolink:Evidence"]}
    assert said and all(e["subject"] in evidence for e in said)
    if case["outcome"] != "unknown":
        assert any("outcome" in e["facts"] for e in said)
    # each fact that names a node gives that node's KGX id (facts_ids, parallel to facts)
    ids = {n["id"] for n in nodes}
    supports = [e for e in edges if e.get("pmlkg_relation") == "SUPPORTS"]
    named = [(f, i) for e in supports for f, i in zip(e["facts"], e["facts_ids"], strict=True)]
    assert len(supports) == 202 and all(i in ids for f, i in named if f.split(":")[0] in
                                        {"defect", "gene", "exposure", "treatment", "other", "drug"})
    assert all(i is None for f, i in named if ":" not in f)
    assert ("defect:iuis:cd40-ligand-deficiency", "OMIM:308230") in named and ("exposure:rituximab", "DRUGBANK:DB00073") in named
    cohorts = [n for n in nodes if n["category"] == ["biolink:Cohort"]]
    assert len(cohorts) == 3 and all(n["cohort_size"] > 1 for n in cohorts)
    # every case is a case of PML, from its article; a series' edge is a plain Association
    to_pml = {e["subject"]: e for e in edges if e["object"] == "ORDO:Orphanet_217260" and "pmlkg_case" not in e}
    cases = {n["id"]: n for n in nodes if n.get("pmlkg_label") == "Case"}
    assert set(to_pml) == set(cases) and len(cases) == 46
    assert all(e["predicate"] == "biolink:associated_with" and e["publications"] == [f"PMID:{cases[c]['pmid']}"]
               and e["category"] == (["biolink:Association"] if cases[c]["category"] == ["biolink:Cohort"]
                                     else ["biolink:CaseToDiseaseAssociation"]) for c, e in to_pml.items())
    # a denied mention is still a mention: its negation is the sentence's (pmlkg_negated)
    mentions = [e for e in edges if e.get("pmlkg_relation") == "MENTIONS"]
    assert not [e for e in mentions if "negated" in e] and sum(e["pmlkg_negated"] for e in mentions) == 8
    # a defect the IUIS tables give no gene, linked by one case naming one gene: an observation, not a cause
    caused = Counter((e["predicate"], e["knowledge_level"]) for e in edges if e.get("pmlkg_relation") == "CAUSED_BY")
    assert caused == {("biolink:causes", "knowledge_assertion"): 29, ("biolink:associated_with", "observation"): 4}


def test_metadata_counts_sources_and_prefixes(exported: tuple[list, list, dict], validator: Validator) -> None:
    nodes, edges, metadata = exported
    assert metadata["biolink_version"] == "4.4.6" and metadata["version"] == __version__
    assert metadata["node_stats"]["total_nodes"] == len(nodes) and metadata["edge_stats"]["total_edges"] == len(edges)
    assert metadata["node_stats"]["count_by_category"] == {
        c: {"count": n} for c, n in Counter(n["category"][0] for n in nodes).items()}
    assert metadata["edge_stats"]["count_by_predicates"] == {
        "biolink:applied_to_treat": {"count": 64}, "biolink:associated_with": {"count": 253},
        "biolink:causes": {"count": 29}, "biolink:has_adverse_event": {"count": 38}, "biolink:has_part": {"count": 202},
        "biolink:member_of": {"count": 22}, "biolink:mentions": {"count": 509}}
    assert metadata["omitted"]["counts"] == {"HAD_OUTCOME": 53, "Outcome": 3} and metadata["id_fallbacks"] == 0
    assert metadata["primary_knowledge_source"] == "infores:pmlkg"
    sources = metadata["knowledge_source"]
    assert [s.get("id") for s in sources] == ["infores:pmlkg", "infores:pubmed", None, "infores:hpo-annotations",
                                              "infores:hgnc", "infores:drugbank"]
    for source in sources:  # every entry whole: no key split off a name by YAML
        assert set(source) in ({"id", "name", "role", "description"}, {"name", "role", "description", "publications"})
        assert all(isinstance(v, (str, list)) and v for v in source.values())
    biolink_map = validator.model.prefix_map
    for prefix, expansion in metadata["curie_map"].items():
        assert prefix in {"pmlkg", "infores"} or biolink_map[prefix] == expansion


def _column(header: list[str], name: str) -> int:
    return next(i for i, h in enumerate(header) if h.split(":")[0] == name)


def test_csv_carries_the_graphs_labels_and_the_kgx_classes(demo_store: GraphStore) -> None:
    graph = kgx_graph(demo_store)
    kgx_category = {(n["pmlkg_label"], str(n["pmlkg_key"])): n["category"] for n in graph.nodes if "pmlkg_label" in n}
    z = zipfile.ZipFile(io.BytesIO(neo4j_csv_zip(demo_store)))
    labels, types, checked = set(), set(), 0
    predicates: dict[str, set[str]] = {}
    for name in z.namelist():
        if not name.endswith(".csv"):
            continue
        rows = list(csv.reader(io.StringIO(z.read(name).decode())))
        header, body = rows[0], rows[1:]
        if name.startswith("nodes_"):
            label = body[0][header.index(":LABEL")]
            labels.add(label)
            for row in body:
                category = row[_column(header, "category")]
                expected = kgx_category.get((label, row[0]))
                assert (category.split(";") if category else None) == expected, (label, row[0])
                checked += 1
        else:
            rel = body[0][header.index(":TYPE")]
            types.add(rel)
            predicates[rel] = predicates.get(rel, set()) | {row[_column(header, "predicate")] for row in body}
    counts = demo_store.read("MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n")
    assert labels == {r["label"] for r in counts} and checked == sum(r["n"] for r in counts)
    assert types == {r["t"] for r in demo_store.read("MATCH ()-[r]->() RETURN DISTINCT type(r) AS t")}
    # each read in the stored direction: Disease caused_by Gene, Evidence part_of Publication
    assert predicates == {
        "REPORTS": {"biolink:mentions"}, "HAS_DISEASE": {"biolink:associated_with"}, "HAS_GENE": {"biolink:associated_with"},
        "RECEIVED": {"biolink:associated_with"}, "HAD_OUTCOME": {""}, "MEMBER_OF": {"biolink:member_of"},
        "CAUSED_BY": {"biolink:caused_by", "biolink:associated_with"}, "MENTIONS": {"biolink:mentions"},
        "SUPPORTS": {"biolink:mentions"}, "FROM_PUBLICATION": {"biolink:part_of"}}


def test_cli_export_writes_and_validates(demo_settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "PMLKG_DATA_DIR": str(demo_settings.data_dir), "PMLKG_GRAPH_URI": demo_settings.graph_uri,
           "PMLKG_GRAPH_NAME": demo_settings.graph_name}
    pmlkg = [sys.executable, "-m", "pmlkg", "export"]
    proc = subprocess.run([*pmlkg, "--format", "kgx", "--out", str(tmp_path), "--validate"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"biolink_version": "4.4.6", "findings": NO_FINDINGS}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pmlkg_edges.jsonl", "pmlkg_graph_metadata.json",
                                                          "pmlkg_nodes.jsonl"]
    meta = json.loads((tmp_path / "pmlkg_graph_metadata.json").read_text())
    assert meta["node_stats"]["total_nodes"] == len((tmp_path / "pmlkg_nodes.jsonl").read_text().splitlines()) == 375
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    proc = subprocess.run([*pmlkg, "--format", "csv", "--out", str(tmp_path / "csv")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and "import.sh" in zipfile.ZipFile(tmp_path / "csv" / "pmlkg-neo4j-import.zip").namelist()
    proc = subprocess.run([*pmlkg, "--format", "csv", "--validate", "--out", str(tmp_path / "x")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "use it with --format kgx" in proc.stderr
    proc = subprocess.run([*pmlkg, "--format", "xml", "--out", str(tmp_path / "x")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "--format must be kgx or csv" in proc.stderr and not (tmp_path / "x").exists()
    (tmp_path / "a-file").write_text("")
    proc = subprocess.run([*pmlkg, "--out", str(tmp_path / "a-file")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "cannot write the export into" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ the validator can fail

def _bad_export() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """An export with one fault of each kind, the kinds issue 14 found in the first export."""
    nodes = [
        {"id": "pmlkg:case/1:0", "category": ["biolink:Case"]},
        {"id": "pmlkg:evidence/1:0-9", "category": ["biolink:TextMiningResult"]},  # category
        {"id": "iuis:x-linked-hyper-igm", "category": ["biolink:Disease"]},  # id_prefix + curie_map
        {"id": "HGNC:11935", "category": ["biolink:Gene"]},
        {"id": "DRUGBANK:DB00073", "category": ["biolink:Drug"]},
        {"id": "OMIM:308230", "category": ["biolink:Disease"]},
        {"id": "OMIM:308230", "category": ["biolink:Disease"]},  # duplicate
        {"id": "NCBIGene:959", "category": ["Gene"]},  # category: a bare name is not a biolink: CURIE
        {"id": "PMID:1", "category": ["biolink:Publication"], "name": 7},  # required (publication_type) + slot (name)
    ]
    edge = {"knowledge_level": "observation", "agent_type": "text_mining_agent", "primary_knowledge_source": "infores:pmlkg",
            "category": ["biolink:Association"]}
    edges = [
        {**edge, "id": "pmlkg:edge/1", "subject": "pmlkg:case/1:0", "predicate": "biolink:has_outcome",  # predicate
         "object": "OMIM:308230"},
        {**edge, "id": "pmlkg:edge/2", "subject": "OMIM:308230", "predicate": "biolink:gene_associated_with_condition",
         "object": "HGNC:11935"},  # domain + range (subject and object swapped)
        {**edge, "id": "pmlkg:edge/3", "subject": "pmlkg:case/1:0", "predicate": "biolink:has_phenotype",
         "object": "OMIM:308230"},  # range
        {**edge, "id": "pmlkg:edge/4", "subject": "HGNC:11935", "predicate": "biolink:causes", "object": "OMIM:308230",
         "category": ["biolink:CaseToDiseaseAssociation"]},  # association: subject must be a case
        {**edge, "id": "pmlkg:edge/5", "subject": "DRUGBANK:DB00073", "predicate": "biolink:treats",  # predicate: a mixin
         "object": "OMIM:308230"},
        {**edge, "id": "pmlkg:edge/6", "subject": "OMIM:308230", "predicate": "biolink:condition_associated_with_gene",
         "object": "HGNC:11935", "knowledge_level": "hearsay"},  # canonical + enum
        {**edge, "id": "pmlkg:edge/7", "subject": "pmlkg:case/1:0", "predicate": "biolink:associated_with",
         "object": "PMID:404"},  # dangling
        {**edge, "id": "pmlkg:edge/8", "subject": "pmlkg:case/1:0", "predicate": "biolink:associated_with",
         "object": "OMIM:308230", "negated": "yes", "primary_knowledge_source": "pmlkg",  # slot + source
         "has_evidence": ["HGNC:11935"]},  # slot: has_evidence must be an information content entity
    ]
    curie_map = {**SCHEMA.kgx.curie_map, "MESH": "http://example.org/mesh/"}  # curie_map: not Biolink's expansion
    return nodes, edges, {"curie_map": curie_map}  # version: no biolink_version


def test_validator_finds_each_kind(validator: Validator) -> None:
    findings = validator.validate(*_bad_export())
    assert summary(findings) == {"version": 1, "category": 2, "predicate": 2, "domain": 1, "range": 2, "association": 1,
                                 "required": 1, "slot": 3, "id_prefix": 1, "curie_map": 3, "source": 1, "enum": 1,
                                 "canonical": 1, "duplicate": 1, "dangling": 1}, [f"{f.kind} {f.where}: {f.detail}" for f in findings]
    by_edge = {(f.kind, f.where) for f in findings}
    assert {("domain", "pmlkg:edge/2"), ("range", "pmlkg:edge/2"), ("range", "pmlkg:edge/3"),
            ("association", "pmlkg:edge/4"), ("predicate", "pmlkg:edge/1"), ("predicate", "pmlkg:edge/5"),
            ("canonical", "pmlkg:edge/6"), ("enum", "pmlkg:edge/6"), ("dangling", "pmlkg:edge/7"),
            ("category", "pmlkg:evidence/1:0-9"), ("id_prefix", "iuis:x-linked-hyper-igm"), ("category", "NCBIGene:959"),
            ("duplicate", "OMIM:308230"), ("required", "PMID:1"), ("slot", "PMID:1"), ("slot", "pmlkg:edge/8"),
            ("source", "pmlkg:edge/8"), ("version", "metadata")} <= by_edge


# ------------------------------------------------------------------ the CSV bundle, imported by neo4j-admin

def test_csv_bundle_imports_into_neo4j_as_the_same_graph(demo_graph: str, falkordb_server: Any, tmp_path: Path,
                                                         neo4j_auth_env: str) -> None:
    """`pmlkg export --format csv` then `pmlkg db import` (neo4j-admin database import full, real Neo4j
    5.26): the graph that comes back is the demo graph, every node, edge and property, plus the KGX
    category and predicate the bundle carries."""
    from tests.conftest import neo4j_missing

    from pmlkg.graph.stores import open_store
    from pmlkg.testing.graph_dump import dump

    if (missing := neo4j_missing()) is not None:
        pytest.skip(missing)
    source = open_store("falkordb:", falkordb_server.data_dir, graph_name=demo_graph, start=False)
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(neo4j_csv_zip(source))
    data = tmp_path / "neo4j-import"
    cli = [sys.executable, "-m", "pmlkg", "db"]
    proc = subprocess.run([*cli, "import", str(bundle), "--data-dir", str(data), "--json"], capture_output=True,
                          text=True, timeout=600)
    try:
        assert proc.returncode == 0, proc.stderr[-2000:]
        uri = json.loads(proc.stdout.strip().splitlines()[-1])["uri"]
        imported = open_store(uri, data, start=False)
        try:
            nodes, edges = dump(imported)
            annotations = Counter(bool(json.loads(n).get("category")) for n in nodes)
            edge_annotations = Counter(bool(json.loads(e)[3].get("predicate")) for e in edges)

            def plain(props: dict[str, Any], added: str) -> dict[str, Any]:
                # neo4j-admin cannot tell an empty array from no value: both arrive as no property
                return {k: v for k, v in props.items() if k != added and v != []}

            def plain_nodes(lines: list[str]) -> list[str]:
                return sorted(json.dumps(plain(json.loads(n), "category"), sort_keys=True) for n in lines)

            def plain_edges(lines: list[str]) -> list[str]:
                out = []
                for line in lines:
                    a, t, b, props = json.loads(line)
                    out.append(json.dumps([a, t, b, plain(props, "predicate")], sort_keys=True))
                return sorted(out)

            want_nodes, want_edges = dump(source)
            assert plain_nodes(nodes) == plain_nodes(want_nodes)
            assert plain_edges(edges) == plain_edges(want_edges)
            assert annotations == {True: 374, False: 3}  # Outcome nodes have no KGX category
            assert edge_annotations == {True: 969, False: 53}  # HAD_OUTCOME has no KGX predicate
            # the constraints pmlkg creates came with it: a second Case with the same id is refused
            constraints = imported.read("SHOW CONSTRAINTS YIELD labelsOrTypes RETURN labelsOrTypes[0] AS label")
            assert {r["label"] for r in constraints} == set(SCHEMA.nodes)
        finally:
            imported.close()
        again = subprocess.run([*cli, "import", str(bundle), "--data-dir", str(data)], capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 2 and "stop it first" in again.stderr
    finally:
        subprocess.run([*cli, "stop", "--backend", "neo4j", "--data-dir", str(data)], capture_output=True, timeout=120)
        source.close()
    bad = tmp_path / "not-a-bundle.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    proc = subprocess.run([*cli, "import", str(bad), "--data-dir", str(data)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is not a pmlkg CSV bundle" in proc.stderr
    with zipfile.ZipFile(bad, "w") as z:  # a manifest pointing outside the bundle is refused before neo4j-admin runs
        z.writestr("manifest.json", json.dumps({"array_delimiter": ";", "nodes": {"Case": ["../../../etc/passwd"]},
                                                "relationships": {}}))
    proc = subprocess.run([*cli, "import", str(bad), "--data-dir", str(data)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not plain .csv files of the bundle" in proc.stderr
