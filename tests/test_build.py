"""The build job end to end on a real FalkorDB server: demo corpus facts, idempotency, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pmlkg.extraction.extractor import Extractor
from pmlkg.graph.queries import entities, status
from pmlkg.graph.queries.associations import AssociationQuery, associations
from pmlkg.graph.stores import GraphStore
from pmlkg.ingest.files import DEMO_CORPUS
from pmlkg.build import build_graph
from pmlkg.testing.eutils import PUBMED_DOCTYPE, make_record
from pmlkg.testing.graph_dump import dump

EXPECTATIONS = json.loads((Path(__file__).parent / "data" / "demo_expectations.json").read_text())


@pytest.fixture
def store(any_store: GraphStore) -> GraphStore:
    """This module's loader tests run on every backend (FalkorDB embedded, the local Neo4j)."""
    return any_store


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def _counts(store: GraphStore) -> dict[str, dict[str, int]]:
    return status.stats(store)


def test_demo_build_is_idempotent(store: GraphStore, data_dir: Path, extractor: Extractor) -> None:
    first = build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor)
    assert first.articles_loaded == len(EXPECTATIONS) and not first.file_errors
    counts, snapshot = _counts(store), dump(store)
    assert counts["nodes"]["Publication"] == len(EXPECTATIONS)

    second = build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor)
    assert second.articles_unchanged == len(EXPECTATIONS) and second.articles_loaded == 0
    forced = build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor, force=True)
    assert forced.articles_loaded == len(EXPECTATIONS)
    assert _counts(store) == counts
    assert dump(store) == snapshot


def test_rituximab_exposures_match_the_corpus(store: GraphStore, data_dir: Path, extractor: Extractor) -> None:
    build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor)
    expected: dict[str, set[str]] = {}
    mixed = None
    for rec in EXPECTATIONS:
        for p in rec["patients"]:
            if "rituximab" in p["exposures"]:
                expected.setdefault(rec["pmid"], set()).add(p["defect"])
        series = rec.get("series")
        if series and series["drug_counts"].get("rituximab"):
            if len(series["defects"]) == 1:
                expected.setdefault(rec["pmid"], set())
            else:  # a mixed-defect series cannot attribute its rituximab count to any defect
                mixed = rec["pmid"]
    rows = associations(store, AssociationQuery(role="exposure", row_keys=["rituximab"])).rows
    found_pmids = {p for r in rows for p in r["pmids"]}
    assert set(expected) <= found_pmids, (set(expected) - found_pmids)
    assert mixed not in found_pmids
    assert len(rows) >= 4  # at least four defects carry rituximab exposures


def test_series_facts_reach_the_graph(store: GraphStore, data_dir: Path, extractor: Extractor) -> None:
    """Each demo series is one Case with its stated size and deaths, the sentence of its deaths
    marked as such on SUPPORTS, and its drug counts on RECEIVED."""
    build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor)
    series = [rec for rec in EXPECTATIONS if rec.get("series")]
    assert series
    for rec in series:
        expected = rec["series"]
        rows = store.read("MATCH (c:Case {pmid: $pmid}) RETURN c.cohort_size AS n, c.deaths AS deaths",
                          {"pmid": rec["pmid"]})
        assert rows == [{"n": expected["n_patients"], "deaths": expected["deaths"]}], rec["pmid"]
        facts = {f for r in store.read("MATCH (:Evidence)-[s:SUPPORTS]->(:Case {pmid: $pmid}) RETURN s.facts AS facts",
                                       {"pmid": rec["pmid"]}) for f in r["facts"]}
        assert "died" in facts and f"defect:{_defect_id(store, rec['pmid'])}" in facts, (rec["pmid"], facts)
        counts = {r["drug"]: r["n"] for r in store.read(
            "MATCH (:Case {pmid: $pmid})-[r:RECEIVED {role: 'exposure'}]->(d:Drug) WHERE r.negated = false "
            "RETURN d.display AS drug, r.n_patients AS n", {"pmid": rec["pmid"]})}
        for drug, n in expected["drug_counts"].items():
            if drug.lower() in {d.lower() for d in counts}:
                assert {d.lower(): v for d, v in counts.items()}[drug.lower()] == n, (rec["pmid"], drug)


def _defect_id(store: GraphStore, pmid: str) -> str:
    return store.read("MATCH (:Case {pmid: $pmid})-[:HAS_DISEASE]->(x:Disease) RETURN x.id AS id ORDER BY id LIMIT 1",
                      {"pmid": pmid})[0]["id"]


def _find(rec_pmid: str) -> dict[str, Any]:
    return next(r for r in EXPECTATIONS if r["pmid"] == rec_pmid)


def test_bad_file_loads_nothing_partial_and_others_load(store: GraphStore, data_dir: Path, tmp_path: Path,
                                                        extractor: Extractor) -> None:
    good = tmp_path / "in" / "good.xml"
    good.parent.mkdir()
    shutil.copy(DEMO_CORPUS, good)
    data = DEMO_CORPUS.read_bytes()
    (tmp_path / "in" / "truncated.xml").write_bytes(data[: len(data) // 2])
    report = build_graph([good.parent], store, data_dir, extractor=extractor)
    assert len(report.file_errors) == 1 and "truncated.xml" in report.file_errors[0]
    assert _counts(store)["nodes"]["Publication"] == len(EXPECTATIONS)


class _DyingStore:
    """A real store that dies after N writes, as a killed process would."""

    def __init__(self, inner: GraphStore, writes: int):
        self._inner, self._left = inner, writes

    def write(self, cypher: str, params: dict | None = None) -> list[dict]:
        if self._left == 0:
            raise KeyboardInterrupt("killed")
        self._left -= 1
        return self._inner.write(cypher, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("writes", [1, 6, 12])
def test_killed_build_converges(store: GraphStore, data_dir: Path, extractor: Extractor, writes: int) -> None:
    build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor)
    clean = dump(store)
    store.clear()
    with pytest.raises(KeyboardInterrupt):
        build_graph([DEMO_CORPUS], _DyingStore(store, writes), data_dir, extractor=extractor)  # type: ignore[arg-type]
    assert dump(store) != clean
    build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor)
    assert dump(store) == clean


def test_non_pubmed_file_is_named_and_delete_citations_are_honoured(store: GraphStore, data_dir: Path,
                                                                      tmp_path: Path, extractor: Extractor) -> None:
    folder = tmp_path / "baseline"
    folder.mkdir()
    shutil.copy(DEMO_CORPUS, folder / "pubmed26n0001.xml")
    (folder / "pubmed26n0002.xml").write_text('<?xml version="1.0"?><rss><channel>not PubMed</channel></rss>')
    (folder / "pubmed26n0003.xml").write_text(
        '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
        '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet><DeleteCitation>'
        '<PMID Version="1">90000004</PMID></DeleteCitation></PubmedArticleSet>')
    build_graph([DEMO_CORPUS], store, data_dir, extractor=extractor)
    assert entities.publication(store, "90000004") is not None
    report = build_graph([folder], store, data_dir, extractor=extractor)
    assert len(report.file_errors) == 1 and "pubmed26n0002.xml" in report.file_errors[0]
    assert report.articles_deleted == 1 and entities.publication(store, "90000004") is None
    assert _counts(store)["nodes"]["Publication"] == len(EXPECTATIONS) - 1
    assert not store.read("MATCH (c:Case {pmid: '90000004'}) RETURN c")
    assert not store.read("MATCH (e:Evidence {pmid: '90000004'}) RETURN e")


def _pmid_record(pmid: str, version: int = 1, title: str | None = None) -> str:
    """A synthetic record whose <PMID> says ``pmid`` verbatim (make_record only writes good ones)."""
    xml = make_record(95000999, title=title).xml
    return xml.replace('<PMID Version="1">95000999</PMID>', f'<PMID Version="{version}">{pmid}</PMID>', 1)


def _write_doc(path: Path, *records: str) -> Path:
    path.write_text(f'<?xml version="1.0" ?>\n{PUBMED_DOCTYPE}\n<PubmedArticleSet>\n' + "\n".join(records)
                    + "\n</PubmedArticleSet>\n")
    return path


def test_bad_pmids_are_refused_by_file_and_position_and_duplicates_reported(
        store: GraphStore, data_dir: Path, tmp_path: Path, extractor: Extractor) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    mixed = _write_doc(folder / "a_mixed.xml", _pmid_record("95000201"), _pmid_record("abc' OR 1=1 //"),
                       _pmid_record(""), _pmid_record("95000202", title="PML, kept."), _pmid_record("../../etc"),
                       _pmid_record("-5"), _pmid_record("95000202", title="PML, the last copy."))
    _write_doc(folder / "b_good.xml", _pmid_record("95000203"))
    report = build_graph([folder], store, data_dir, extractor=extractor)
    assert report.file_errors == [] and report.articles_loaded == 3
    assert [r.split(" refused")[0] for r in report.skipped_records] == [
        f"{mixed}: PubmedArticle #{i}" for i in (2, 3, 5, 6)]
    assert [(d.source, d.pmid, d.records, d.kept) for d in report.duplicates] == [(str(mixed), "95000202", (4, 7), 7)]
    pmids = [r["pmid"] for r in store.read("MATCH (p:Publication) RETURN p.pmid AS pmid ORDER BY pmid")]
    assert pmids == ["95000201", "95000202", "95000203"]  # nothing under a bad key
    assert entities.publication(store, "95000202")["title"] == "PML, the last copy."
