"""Every endpoint of the real FastAPI app, served by uvicorn over HTTP, on the demo graph in a real
FalkorDB server; write endpoints and failure modes on graphs of their own."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.graph.stores import GraphStore, open_store
from pmlkg.ingest.files import DEMO_CORPUS
from pmlkg.settings import Settings
from pmlkg.testing.eutils import PUBMED_DOCTYPE, make_record
from pmlkg.testing.live_server import serve

EXPECTATIONS = json.loads((Path(__file__).parent / "data" / "demo_expectations.json").read_text())
SERIES = {r["pmid"]: r["series"] for r in EXPECTATIONS if r.get("series")}  # the demo's series, as written


@pytest.fixture(scope="module")
def api(demo_settings: Settings) -> Iterator[httpx.Client]:
    """The API over the demo graph, on each backend (FalkorDB embedded, the local Neo4j)."""
    with serve(demo_settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def _error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


def _stats(api: httpx.Client) -> dict:
    return api.get("/stats").json()


# ------------------------------------------------------------------ status

def test_health_and_stats(api: httpx.Client, demo_settings: Settings) -> None:
    backend = "falkordb" if demo_settings.graph_uri.startswith("falkordb") else "neo4j"
    assert api.get("/health").json() == {"status": "ok", "store": backend, "reachable": True}
    stats = _stats(api)
    articles = DEMO_CORPUS.read_text(encoding="utf-8").count("<PubmedArticle>")
    assert stats["articles"] == articles  # every article of the demo corpus
    assert stats["cases"] == api.get("/patients", params={"limit": 1}).json()["total_cases"] > 0  # two paths agree
    for label in ("Case", "Disease", "Gene", "Drug", "DrugClass", "Outcome", "Evidence"):
        assert stats["nodes"][label] > 0, label
    for edge in ("REPORTS", "HAS_DISEASE", "HAS_GENE", "CAUSED_BY", "RECEIVED", "HAD_OUTCOME", "MENTIONS",
                 "MEMBER_OF", "SUPPORTS", "FROM_PUBLICATION"):
        assert stats["edges"][edge] > 0, edge


def test_openapi_lists_every_endpoint(api: httpx.Client) -> None:
    assert api.get("/docs").status_code == 200
    paths = set(api.get("/openapi.json").json()["paths"])
    assert paths == {"/health", "/stats", "/facets", "/associations", "/patients", "/patients/{case_id}",
                     "/genes/{symbol}", "/drugs/{name}", "/defects/{key}", "/articles/{pmid}", "/search",
                     "/graph/neighborhood", "/export", "/query", "/ingest", "/survival", "/neo4j/{name}"}


# ------------------------------------------------------------------ associations

def test_rituximab_exposure_rows_carry_counts_statistics_and_evidence(api: httpx.Client) -> None:
    page = api.get("/associations", params={"role": "exposure", "drug": "rituximab"}).json()
    assert "not incidence" in page["denominator"] and page["universe_cases"] == 54
    assert page["total"] == len(page["items"]) == 6
    assert sorted((i["col_key"], i["patients"]) for i in page["items"]) == [
        ("iuis:common-variable-immune-deficiency-with-no-gene-defect-specified", 3), ("iuis:gata2-deficiency", 1),
        ("iuis:magt1-deficiency", 1), ("iuis:pik3cd-mutation-apds1", 1), ("iuis:wiskott-aldrich-syndrome", 1),
        ("pmlkg:idiopathic-cd4-lymphopenia", 6)]
    for item in page["items"]:
        assert item["row_key"] == "rituximab"
        assert item["deaths"] + item["survivors"] + item["unknown_outcome"] == item["patients"]
        t = item["table"]
        assert t["a"] == item["patients"] and sum(t.values()) == page["universe_cases"]
        assert 0 < item["fisher_p"] <= 1 and item["ror"] > 0 and item["ror_ci_low"] < item["ror"] < item["ror_ci_high"]
        assert item["haldane_corrected"] == (0 in t.values())
        assert item["evidence"] and item["n_evidence"] >= len(item["evidence"])
        for ev in item["evidence"]:
            assert ev["pmid"] in item["pmids"] and ev["text"].lower() == "rituximab"
            assert ev["sentence"][ev["start"] - ev["sentence_start"]: ev["end"] - ev["sentence_start"]] == ev["text"]
    icl = next(i for i in page["items"] if i["col_key"] == "pmlkg:idiopathic-cd4-lymphopenia")
    assert icl["patients"] == 6  # one case report + "five had received rituximab" of an 11-patient series
    # 7 of the 11 died: which of the 5 given rituximab is not known, so those 5 are outcome unknown
    assert icl["unknown_outcome"] == 5 and icl["deaths"] + icl["survivors"] == 1
    assert [(s["case"], s["cohort_size"], s["patients"], s["deaths"]) for s in icl["series"]] == [
        ("90000011:0", 11, 5, SERIES["90000011"]["deaths"])]
    assert icl["timed_deaths"] <= icl["deaths"]  # the median is over individual times only


def test_negated_exposures_are_never_counted(api: httpx.Client) -> None:
    """90000031 says none of its CD40L-deficient series had received rituximab."""
    page = api.get("/associations", params={"drug": "rituximab", "defect": "iuis:cd40-ligand-deficiency"}).json()
    assert page["total"] == 0 and page["universe_cases"] == 54
    exposed = api.get("/patients", params={"drug": "rituximab", "role": "exposure", "limit": 200}).json()["items"]
    assert exposed and all(c["pmid"] != "90000031" for c in exposed)
    cd40l = api.get("/patients", params={"defect": "iuis:cd40-ligand-deficiency", "limit": 200}).json()["items"]
    assert "90000031" in {c["pmid"] for c in cd40l}  # the series is in the graph, only its exposure is denied
    rows = api.post("/query", json={"cypher": "MATCH (c:Case {pmid: '90000031'})-[r:RECEIVED]->(d:Drug) "
                                              "RETURN d.name AS drug, r.negated AS negated"}).json()["rows"]
    assert {"drug": "rituximab", "negated": True} in rows  # stored, as the text says, and flagged


def test_axes_roles_and_filters(api: httpx.Client) -> None:
    classes = api.get("/associations", params={"rows": "drug_class"}).json()
    assert any(i["row_key"] == "anti-cd20" for i in classes["items"])
    genes = api.get("/associations", params={"cols": "gene", "drug": "rituximab"}).json()
    assert genes["items"] and all(i["category"] is None for i in genes["items"])
    treat = api.get("/associations", params={"role": "treatment"}).json()
    assert {"mefloquine", "mirtazapine"} <= {i["row_key"] for i in treat["items"]}
    every = api.get("/associations", params={"limit": 1000}).json()
    many = api.get("/associations", params={"min_patients": 3, "limit": 1000}).json()
    assert 0 < many["total"] < every["total"] and all(i["patients"] >= 3 for i in many["items"])
    cat = "Predominantly Antibody Deficiencies"
    only = api.get("/associations", params={"category": cat, "limit": 1000}).json()
    assert only["items"] and all(i["category"] == cat for i in only["items"])
    assert only["universe_cases"] == every["universe_cases"]  # the comparison is never narrowed
    by_p = api.get("/associations", params={"sort": "p", "limit": 1000}).json()["items"]
    assert [i["fisher_p"] for i in by_p] == sorted(i["fisher_p"] for i in by_p)
    parts = []
    for offset in range(0, every["total"], 7):
        parts += api.get("/associations", params={"limit": 7, "offset": offset}).json()["items"]
    assert parts == every["items"]


# ------------------------------------------------------------------ cases and entities

def test_patients_filters(api: httpx.Client) -> None:
    died = api.get("/patients", params={"gene": "CD40LG", "outcome": "died"}).json()
    assert died["total_cases"] == 6 and all(c["outcome"] == "died" for c in died["items"])
    assert all(any(g["symbol"] == "CD40LG" for g in c["genes"]) for c in died["items"])
    women = api.get("/patients", params={"sex": "female", "age_min": 30, "age_max": 60, "limit": 200}).json()
    assert women["items"] and all(c["sex"] == "female" and 30 <= c["age_years"] <= 60 for c in women["items"])
    anti = api.get("/patients", params={"drug": "anti-cd20", "role": "exposure"}).json()
    ritux = api.get("/patients", params={"drug": "rituximab", "role": "exposure", "limit": 200}).json()
    assert anti["total_cases"] == ritux["total_cases"] > 0  # a class covers its member drugs
    # weighted as /associations weighs them: a series counts the patients it says received the drug
    uses = [(c, d) for c in ritux["items"] for d in c["drugs"] if d["key"] == "rituximab" and d["role"] == "exposure"]
    assert all(d["patients"] == ((d["n_patients"] or 1) if c["cohort_size"] > 1 else 1) for c, d in uses)
    assert ritux["patients_given_drug"] == sum(d["patients"] for _, d in uses) < ritux["total_patients"]
    assert api.get("/patients", params={"limit": 1}).json()["patients_given_drug"] is None  # no drug filter
    cvid = api.get("/patients", params={"defect": "Common variable immunodeficiency", "limit": 200}).json()
    assert cvid["items"] and all(any(d["name"] == "Common variable immunodeficiency" for d in c["diseases"])
                                 for c in cvid["items"])
    first = api.get("/patients", params={"limit": 3}).json()
    second = api.get("/patients", params={"limit": 3, "offset": 3}).json()
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}


def test_patient_with_evidence(api: httpx.Client) -> None:
    case = api.get("/patients/90000001:0").json()
    assert case["publication"]["pmid"] == "90000001" and case["outcome"] == "died" and case["sex"] == "male"
    assert case["diseases"][0]["id"] == "iuis:cd40-ligand-deficiency"
    treatments = {d["key"] for d in case["drugs"] if d["role"] == "treatment"}
    assert {"mefloquine", "mirtazapine"} <= treatments
    for assertion in case["diseases"] + case["drugs"] + case["genes"]:
        ev = assertion["evidence"]
        assert ev["pmid"] == "90000001" and ev["text"] in ev["sentence"] and 0 < ev["confidence"] <= 1
    assert case["sentences"] and all(s["id"].startswith("90000001:") for s in case["sentences"])
    assert case["series"] is None and (case["deaths"], case["survivors"]) == (1, 0)
    assert all(s["facts"] for s in case["sentences"])  # each sentence says what of the case it states
    assert {"outcome", "defect:iuis:cd40-ligand-deficiency"} <= {f for s in case["sentences"] for f in s["facts"]}
    _error(api.get("/patients/90000001:99"), 404, "not_found")
    _error(api.get("/patients/not-a-case"), 422, "invalid_parameter")


def test_a_series_returns_its_group_facts_and_their_sentences(api: httpx.Client) -> None:
    """90000011: 11 patients with ICL, "Five had received rituximab", "Seven patients died"."""
    case = api.get("/patients/90000011:0").json()
    expected = SERIES["90000011"]
    series = case["series"]
    assert case["cohort_size"] == series["cohort_size"] == expected["n_patients"]
    assert series["deaths"] == case["deaths"] == expected["deaths"]
    known = (series["deaths"] or 0) + (series["survivors"] or 0)
    assert series["unknown_outcome"] == expected["n_patients"] - known
    drugs = {d["key"]: d for d in series["drugs"]}
    assert drugs["rituximab"]["n_patients"] == drugs["rituximab"]["patients"] == expected["drug_counts"]["rituximab"]
    died = series["evidence"]["died"]
    assert died["fact"] == "died" and "died" in died["sentence"] and died["pmid"] == "90000011"
    assert died["sentence"][died["start"] - died["sentence_start"]: died["end"] - died["sentence_start"]]
    sentences = {s["id"]: s for s in case["sentences"]}
    assert "died" in sentences[died["id"]]["facts"]  # the same sentence, as the case's sentences list it
    listed = api.get("/patients", params={"pmid": "90000011"}).json()["items"]
    assert listed[0]["series"] == series


def test_gene_drug_defect_article(api: httpx.Client) -> None:
    gene = api.get("/genes/cd40lg").json()
    assert gene["symbol"] == "CD40LG" and gene["ncbi_gene_id"] == 959 and gene["hgnc_id"] == "HGNC:11935"
    assert any(d["id"] == "iuis:cd40-ligand-deficiency" for d in gene["diseases"])
    assert (gene["cases"], gene["patients"], gene["articles"]) == (8, 6, 5)
    drug = api.get("/drugs/RITUXIMAB").json()
    assert drug["drugbank_id"] == "DB00073" and drug["classes"] == ["anti-cd20"]
    assert (drug["by_role"]["exposure"]["cases"], len(drug["defects"]), drug["articles"]) == (10, 6, 18)
    klass = api.get("/drugs/anti-cd20").json()
    assert klass["kind"] == "drug_class" and "rituximab" in klass["members"]
    assert klass["by_role"]["exposure"]["cases"] == 10  # every anti-CD20 exposure in the demo is rituximab
    assert all(r["deaths"] + r["survivors"] + r["unknown_outcome"] == r["patients"]
               for r in [*drug["by_role"].values(), *drug["defects"]])
    defect = api.get("/defects/iuis:cd40-ligand-deficiency").json()
    assert defect["genes"] == ["CD40LG"] and defect["omim"] == ["300386"]
    assert (defect["cases"], defect["patients"]) == (8, 6)
    for page in (gene, defect):
        assert page["deaths"] + page["survivors"] + page["unknown_outcome"] == page["patients"]
    # 90000042's 14 patients span five defects: the page lists the series but cannot count its patients
    cvid = api.get("/defects/iuis:common-variable-immune-deficiency-with-no-gene-defect-specified").json()
    assert cvid["mixed_series"] == 1 and "90000042" in cvid["pmids"]
    assert api.get("/defects/CD40 LIGAND DEFICIENCY").json()["id"] == defect["id"]
    article = api.get("/articles/90000001").json()
    assert article["cases"][0]["id"] == "90000001:0" and article["n_cases"] == 1
    assert {"Drug", "Disease", "Gene"} <= {m["label"] for m in article["mentions"]}
    for path in ("/articles/99999999", "/drugs/notadrug", "/genes/NOTAGENE1", "/defects/no-such-defect",
                 "/no/such/path"):
        _error(api.get(path), 404, "not_found")


def test_search(api: httpx.Client) -> None:
    hits = api.get("/search", params={"q": "CD40"}).json()["items"]
    assert {"Gene:CD40LG", "Disease:iuis:cd40-ligand-deficiency"} <= {h["id"] for h in hits}
    assert api.get("/search", params={"q": "hyper-igm"}).json()["items"][0]["id"] == "Disease:iuis:cd40-ligand-deficiency"
    assert api.get("/search", params={"q": "DB00073"}).json()["items"][0]["id"] == "Drug:rituximab"
    assert api.get("/search", params={"q": "90000001"}).json()["items"][0]["id"] == "Publication:90000001"
    assert api.get("/search", params={"q": "mabthera"}).json()["items"][0]["key"] == "rituximab"  # a synonym
    _error(api.get("/search", params={"q": "x"}), 422, "invalid_parameter")


def test_neighborhood(api: httpx.Client) -> None:
    view = api.get("/graph/neighborhood", params={"id": "Gene:CD40LG"}).json()
    ids = {n["id"] for n in view["nodes"]}
    assert "Gene:CD40LG" in ids and "Disease:iuis:cd40-ligand-deficiency" in ids and not view["truncated"]
    assert all(e["source"] in ids and e["target"] in ids for e in view["edges"])
    assert any(e["type"] == "CAUSED_BY" and e["target"] == "Gene:CD40LG" for e in view["edges"])
    capped = api.get("/graph/neighborhood", params={"id": "Gene:CD40LG", "depth": 3, "max_nodes": 10}).json()
    assert capped["truncated"] and len(capped["nodes"]) == 10 and "capped" in capped["note"]
    case = api.get("/graph/neighborhood", params={"id": "Case:90000001:0"}).json()
    assert any(e["type"] == "RECEIVED" and e["properties"]["role"] == "treatment" for e in case["edges"])
    _error(api.get("/graph/neighborhood", params={"id": "Gene:NOPE1"}), 404, "not_found")
    _error(api.get("/graph/neighborhood", params={"id": "Planet:Mars"}), 422, "invalid_parameter")
    _error(api.get("/graph/neighborhood", params={"id": "Gene:CD40LG", "depth": 9}), 422, "invalid_parameter")


def test_exports(api: httpx.Client) -> None:
    nodes = [json.loads(line) for line in api.get("/export", params={"format": "kgx"}).text.splitlines()]
    edges = [json.loads(line) for line in
             api.get("/export", params={"format": "kgx", "part": "edges"}).text.splitlines()]
    metadata = api.get("/export", params={"format": "kgx", "part": "metadata"}).json()
    stats = _stats(api)
    # the graph less what Biolink models as attributes (Outcome nodes, HAD_OUTCOME edges), plus the PML
    # node, one drug -> PML statement per exposure (38) or treatment (64) not denied, and one
    # case -> PML edge per case (tests/test_kgx.py validates them)
    assert len(nodes) == sum(stats["nodes"].values()) - stats["nodes"]["Outcome"] + 1 == 375
    assert len(edges) == sum(stats["edges"].values()) - stats["edges"]["HAD_OUTCOME"] + 38 + 64 + stats["nodes"]["Case"] == 1117
    assert (metadata["node_stats"]["total_nodes"], metadata["edge_stats"]["total_edges"]) == (375, 1117)
    ids = {n["id"] for n in nodes}
    assert {"PMID:90000001", "HGNC:11935", "DRUGBANK:DB00073", "ORDO:Orphanet_217260"} <= ids
    assert all(n["category"][0].startswith("biolink:") for n in nodes)
    assert all(e["subject"] in ids and e["object"] in ids and e["predicate"].startswith("biolink:") for e in edges)
    received = [e for e in edges if e.get("pmlkg_relation") == "RECEIVED" and "DRUGBANK:DB00073" in (e["subject"], e["object"])]
    assert received and all(e["publications"][0].startswith("PMID:") and e["supporting_text"] for e in received)
    z = zipfile.ZipFile(io.BytesIO(api.get("/export", params={"format": "csv"}).content))
    assert "import.sh" in z.namelist() and "neo4j-admin database import full" in z.read("import.sh").decode()
    header = z.read("nodes_Case.csv").decode().splitlines()[0].split(",")
    assert header[0] == "id:ID(Case)" and header[-1] == ":LABEL" and "cohort_size:long" in header
    rel = z.read("rels_RECEIVED_Case_Drug.csv").decode().splitlines()
    assert rel[0].startswith(":START_ID(Case),:END_ID(Drug),") and rel[0].endswith(":TYPE") and len(rel) > 1
    _error(api.get("/export", params={"format": "xml"}), 422, "invalid_parameter")


# ------------------------------------------------------------------ read-only Cypher

def test_query_reads_with_parameters_and_limits_rows(api: httpx.Client) -> None:
    out = api.post("/query", json={"cypher": "MATCH (g:Gene {symbol: $s}) RETURN g.symbol AS symbol, g.ncbi_gene_id AS id",
                                   "params": {"s": "BTK"}}).json()
    assert out["rows"] == [{"symbol": "BTK", "id": 695}] and out["columns"] == ["symbol", "id"] and not out["truncated"]
    cut = api.post("/query", json={"cypher": "MATCH (e:Evidence) RETURN e.id AS id", "max_rows": 5}).json()
    assert len(cut["rows"]) == 5 and cut["truncated"]


@pytest.mark.parametrize("cypher", [
    "CREATE (:Gene {symbol: 'EVIL'})",
    "MATCH (n) DETACH DELETE n",
    "MATCH (g:Gene) SET g.symbol = 'EVIL' RETURN g",
    "MERGE (x:Drug {name: 'evil'}) RETURN x",
    "MATCH (n) /* harmless? */ DETACH DELETE n",
    "MaTcH (n) dElEtE n",
    "RETURN 1; MATCH (n) DETACH DELETE n",
    "RETURN 'it''s' AS x UNION MATCH (n) REMOVE n.name RETURN 1 AS x",
    "CALL db.idx.fulltext.createNodeIndex('Gene', 'symbol')",
    "CALL dbms.procedures()",
    "CALL apoc.periodic.iterate('MATCH (n) RETURN n', 'DETACH DELETE n', {})",
    "CALL { MATCH (n) DETACH DELETE n } RETURN 1",
    "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "FOREACH (x IN [1] | CREATE (:Gene {symbol: 'EVIL'}))",
    "ＣＲＥＡＴＥ (:Gene {symbol: 'EVIL'})",
    "CRE\u200bATE (:Gene {symbol: 'EVIL'})",
    "MATCH (n) WHERE n.name = 'x' // comment\nDELETE n",
    "MATCH (n) RETURN n\x00 CREATE (:Gene {symbol: 'EVIL'})",
])
def test_query_refuses_writes_and_the_graph_is_unchanged(api: httpx.Client, cypher: str) -> None:
    before = _stats(api)
    resp = api.post("/query", json={"cypher": cypher})
    assert resp.status_code in (403, 422), resp.text
    assert resp.json()["error"]["code"] in ("query_refused", "query_unsupported")
    assert _stats(api) == before


def test_query_bounds_parse_cost_and_reports_errors(api: httpx.Client) -> None:
    deep = "RETURN " + "(" * 40 + "1" + ")" * 40 + " AS x"
    t0 = time.monotonic()
    _error(api.post("/query", json={"cypher": deep}), 422, "query_too_complex")
    chain = "RETURN " + " OR ".join(["1"] * 3000) + " AS x"
    _error(api.post("/query", json={"cypher": chain}), 422, "query_too_complex")
    assert time.monotonic() - t0 < 5
    assert api.post("/query", json={"cypher": "RETURN 1 AS one"}).json()["rows"] == [{"one": 1}]  # still answering
    _error(api.post("/query", json={"cypher": "MATCH (n RETURN n"}), 400, "query_error")
    _error(api.post("/query", json={"cypher": "RETURN $x AS x"}), 422, "invalid_parameter")  # missing parameter
    _error(api.post("/query", json={"cypher": "RETURN 1", "unknown": 1}), 422, "invalid_parameter")
    slow = "UNWIND range(1, 3000) AS x UNWIND range(1, 3000) AS y RETURN count(*) AS n"
    _error(api.post("/query", json={"cypher": slow, "timeout_ms": 20}), 504, "query_timeout")
    assert api.post("/query", json={"cypher": "RETURN 2 AS two"}).json()["rows"] == [{"two": 2}]


def test_injection_strings_in_parameters_are_just_values(api: httpx.Client) -> None:
    before = _stats(api)
    evil = "x' }) MATCH (n) DETACH DELETE n RETURN 1 ; CALL db.labels() --"
    _error(api.get(f"/drugs/{evil}"), 404, "not_found")
    assert api.get("/associations", params={"defect": evil}).json()["total"] == 0
    assert api.get("/patients", params={"drug": evil}).json()["total_cases"] == 0
    assert api.get("/search", params={"q": evil[:100]}).json()["items"] == []
    assert api.post("/query", json={"cypher": "MATCH (g:Gene {symbol: $s}) RETURN g", "params": {"s": evil}}
                    ).json()["rows"] == []
    assert _stats(api) == before


def test_bad_parameters_are_422_naming_the_field(api: httpx.Client) -> None:
    err = _error(api.get("/associations", params={"limit": 0}), 422, "invalid_parameter")
    assert err["details"][0]["field"] == "limit" and "limit" in err["message"]
    err = _error(api.get("/associations", params={"role": "cause"}), 422, "invalid_parameter")
    assert err["details"][0]["field"] == "role"
    assert _error(api.get("/associations", params={"cols": "gene", "category": "x"}), 422,
                  "invalid_parameter")["details"][0]["field"] == "category"
    assert _error(api.get("/patients", params={"role": "exposure"}), 422, "invalid_parameter")["details"][0]["field"] == "role"
    assert _error(api.get("/patients", params={"age_min": 50, "age_max": 10}), 422,
                  "invalid_parameter")["details"][0]["field"] == "age_min"
    for path in ("/associations", "/patients", "/survival"):  # one range rule for every route with years
        assert _error(api.get(path, params={"year_min": 2020, "year_max": 2010}), 422,
                      "invalid_parameter")["details"][0]["field"] == "year_min"
    _error(api.get("/articles/not-a-pmid"), 422, "invalid_parameter")


# ------------------------------------------------------------------ writes and failures (own graphs)

@pytest.fixture
def writable(falkordb_server: EmbeddedFalkorDB, store: GraphStore) -> Iterator[tuple]:
    settings = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name=store.graph_name,
                        api_key="test-key-123", max_body_bytes=2_000_000)
    with serve(settings) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client, store


def test_ingest_needs_the_api_key_and_loads_idempotently(writable: tuple) -> None:
    client, graph = writable
    xml = DEMO_CORPUS.read_bytes()
    _error(client.post("/ingest", content=xml), 401, "unauthorized")
    _error(client.post("/ingest", content=xml, headers={"X-API-Key": "wrong"}), 401, "unauthorized")
    assert client.get("/stats").json()["articles"] == 0
    first = client.post("/ingest", content=xml, headers={"X-API-Key": "test-key-123"})
    assert first.status_code == 200, first.text
    assert first.json()["articles_loaded"] == first.json()["articles_parsed"] >= 40
    again = client.post("/ingest", content=xml, headers={"X-API-Key": "test-key-123"}).json()
    assert again["articles_loaded"] == 0 and again["articles_unchanged"] == first.json()["articles_parsed"]
    _error(client.post("/ingest", content=b"<PubmedArticleSet><PubmedArticle>", headers={"X-API-Key": "test-key-123"}),
           422, "invalid_xml")
    _error(client.post("/ingest", content=b"x" * 2_500_000, headers={"X-API-Key": "test-key-123"}), 413,
           "payload_too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b"y" * 100_000

    _error(client.post("/ingest", content=chunks(), headers={"X-API-Key": "test-key-123"}), 413, "payload_too_large")
    assert client.get("/health").status_code == 200


def test_ingest_of_an_empty_body_is_422(writable: tuple) -> None:
    client, _ = writable
    for body in (b"", b"   \n\t  "):
        err = _error(client.post("/ingest", content=body, headers={"X-API-Key": "test-key-123"}), 422,
                     "invalid_parameter")
        assert err["details"] == [{"field": "body", "location": "body", "problem": "empty"}]
    err = _error(client.post("/ingest", headers={"X-API-Key": "test-key-123"}), 422, "invalid_parameter")
    assert err["details"][0]["field"] == "body"
    assert client.get("/stats").json()["articles"] == 0


def _pmid_record(pmid: str, version: int = 1, title: str | None = None) -> str:
    """A synthetic record whose <PMID> says ``pmid`` verbatim (make_record only writes good ones)."""
    xml = make_record(95000999, title=title).xml
    return xml.replace('<PMID Version="1">95000999</PMID>', f'<PMID Version="{version}">{pmid}</PMID>', 1)


def test_ingest_refuses_bad_pmids_by_position_and_reports_duplicates(writable: tuple) -> None:
    client, graph = writable
    records = [_pmid_record("95000101"), _pmid_record("abc' OR 1=1 //"), _pmid_record("../../etc"),
               _pmid_record("95000102", title="PML, first version."), _pmid_record("-5"), _pmid_record(""),
               _pmid_record("95000102", version=2, title="PML, revised version."),
               _pmid_record("95000102", title="PML, a stray copy of version 1.")]
    body = f'<?xml version="1.0" ?>\n{PUBMED_DOCTYPE}\n<PubmedArticleSet>\n{"".join(records)}</PubmedArticleSet>'
    resp = client.post("/ingest", content=body.encode(), headers={"X-API-Key": "test-key-123"})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["articles_parsed"] == out["articles_loaded"] == 2
    skipped = out["skipped_records"]
    assert [s.split(" refused")[0] for s in skipped] == [f"POST /ingest: PubmedArticle #{i}" for i in (2, 3, 5, 6)]
    assert all("is not a PubMed id" in s for s in skipped)
    assert out["duplicates"] == [{"source": "POST /ingest", "pmid": "95000102", "records": [4, 7, 8],
                                  "versions": [1, 2, 1], "kept": 7, "message": out["duplicates"][0]["message"]}]
    assert "kept #7" in out["duplicates"][0]["message"]
    rows = graph.read("MATCH (p:Publication) RETURN p.pmid AS pmid, p.title AS title ORDER BY pmid")
    assert rows == [{"pmid": "95000101", "title": rows[0]["title"]},
                    {"pmid": "95000102", "title": "PML, revised version."}]


def test_writes_are_disabled_without_a_key(falkordb_server: EmbeddedFalkorDB) -> None:
    settings = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name="nokey")
    with serve(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        _error(client.post("/ingest", content=b"<x/>", headers={"X-API-Key": "anything"}), 403, "writes_disabled")


def test_store_down_gives_503_and_api_keeps_running(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, graph_uri="falkordb:", graph_name="none")  # no server there
    with serve(settings) as url, httpx.Client(base_url=url, timeout=10) as client:
        for path in ("/health", "/stats", "/articles/90000001", "/associations", "/patients", "/search?q=cd40",
                     "/graph/neighborhood?id=Gene:BTK", "/export?format=kgx"):
            _error(client.get(path), 503, "store_unavailable")
        _error(client.post("/query", json={"cypher": "RETURN 1"}), 503, "store_unavailable")
        assert client.get("/openapi.json").status_code == 200


def test_store_restarted_under_the_api_is_picked_up_again(tmp_path: Path) -> None:
    server = EmbeddedFalkorDB(tmp_path)
    server.start()
    settings = Settings(data_dir=tmp_path, graph_uri="falkordb:", graph_name="restart")
    with serve(settings) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/health").status_code == 200
        server.stop()
        _error(client.get("/stats"), 503, "store_unavailable")
        server.start()
        assert client.get("/health").status_code == 200
    server.stop()


def test_store_killed_while_requests_run_gives_json_503s_then_recovers(tmp_path: Path) -> None:
    """SIGKILL the embedded FalkorDB, three times, under six clients: every answer is 200 or the
    JSON 503, never a plain-text 500 (closing the store under requests still using it made redis-py
    raise "I/O operation on closed file"), no connection is dropped, and the API comes back."""
    server = EmbeddedFalkorDB(tmp_path)
    server.start()
    seed = open_store("falkordb:", tmp_path, graph_name="dying", start=False)
    seed.write("UNWIND range(1, 2000) AS i CREATE (:Publication {pmid: toString(i), year: 2000 + i % 20})")
    seed.close()
    settings = Settings(data_dir=tmp_path, graph_uri="falkordb:", graph_name="dying")
    slow = {"cypher": "UNWIND range(1, 1500) AS x UNWIND range(1, 1500) AS y RETURN count(*) AS n"}
    calls = [("GET", "/stats", None), ("GET", "/facets", None), ("GET", "/search?q=12", None),
             ("GET", "/health", None), ("POST", "/query", slow), ("POST", "/query", slow)]
    seen: Counter = Counter()
    bad: list = []
    stop = threading.Event()

    def hammer(url: str, method: str, path: str, body: dict | None) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set():
                try:
                    r = c.request(method, path, json=body)
                except httpx.HTTPError as exc:
                    bad.append((path, type(exc).__name__))
                    continue
                seen[r.status_code] += 1
                json_body = r.headers.get("content-type", "").startswith("application/json")
                if r.status_code not in (200, 503) or not json_body or (
                        r.status_code == 503 and r.json()["error"]["code"] not in ("store_unavailable", "store_busy")):
                    bad.append((path, r.status_code, r.text[:200]))

    try:
        with serve(settings) as url:
            threads = [threading.Thread(target=hammer, args=(url, *call)) for call in calls]
            for t in threads:
                t.start()
            for _ in range(3):
                time.sleep(1.0)
                os.kill(server.status().pid, signal.SIGKILL)
                time.sleep(0.7)
                server.start()
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join(60)
            assert not bad, bad[:10]
            assert seen[200] > 0 and seen[503] > 0, seen
            assert httpx.get(f"{url}/health").status_code == 200
    finally:
        stop.set()
        server.stop()


def test_cors_is_off_by_default_and_configurable(falkordb_server: EmbeddedFalkorDB, demo_graph: str) -> None:
    origin = {"Origin": "http://example.org"}
    base = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name=demo_graph)
    with serve(base) as url:
        assert "access-control-allow-origin" not in httpx.get(f"{url}/health", headers=origin).headers
        guide = httpx.get(f"{url}/neo4j/guide.html")
        assert guide.status_code == 200 and guide.headers["access-control-allow-origin"] == "*"
    with serve(base.model_copy(update={"cors_origins": ["http://example.org"]})) as url:
        assert httpx.get(f"{url}/health", headers=origin).headers["access-control-allow-origin"] == "http://example.org"


def test_survival_curves(api: httpx.Client) -> None:
    out = api.get("/survival", params={"group_by": "exposure", "drug": "rituximab"}).json()
    assert "not a cohort" in out["note"] and out["logrank"]["groups"] == 2
    names = {g["name"] for g in out["groups"]}
    assert names == {"exposed to rituximab", "not exposed to rituximab"}
    exposed = next(g for g in out["groups"] if g["name"] == "exposed to rituximab")
    patients = api.get("/patients", params={"drug": "rituximab", "role": "exposure", "limit": 200}).json()["items"]
    timed = {c["id"] for c in patients if c["cohort_size"] == 1 and c["months_to_outcome"] is not None
             and c["outcome"] in ("died", "survived")}
    assert set(exposed["cases"]) == timed and exposed["patients"] == len(timed)
    died = {c["id"] for c in patients if c["id"] in timed and c["outcome"] == "died"}
    assert exposed["deaths"] == len(died) > 0 and len(exposed["censored"]) == len(timed) - len(died)
    for g in out["groups"]:
        assert g["at_risk"][0] == g["patients"] and g["at_risk"] == sorted(g["at_risk"], reverse=True)
        s = [step["survival"] for step in g["steps"]]
        assert s[0] == 1.0 and s == sorted(s, reverse=True) and g["deaths"] + len(g["censored"]) == g["patients"]
        assert all(step["ci_low"] <= step["survival"] <= step["ci_high"] for step in g["steps"])
    # no demo series states a time per patient: each is left out, and said to be
    assert out["series_considered"] == out["series_left_out"] == len(SERIES)
    assert out["series_patients_left_out"] == sum(s["n_patients"] for s in SERIES.values())
    assert all(s["contributed"] == 0 and s["reason"] for s in out["series"])
    by_category = api.get("/survival", params={"group_by": "category"}).json()
    assert len(by_category["groups"]) >= 3
    assert sum(1 for _ in api.get("/survival", params={"group_by": "none"}).json()["groups"]) == 1
    _error(api.get("/survival", params={"group_by": "exposure"}), 422, "invalid_parameter")


def test_facets(api: httpx.Client) -> None:
    facets = api.get("/facets").json()
    assert facets["year_min"] <= facets["year_max"] and facets["articles"] >= 40
    assert "Predominantly Antibody Deficiencies" in facets["categories"]
