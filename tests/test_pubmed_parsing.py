"""PubMed XML -> Article records, through Biopython's parser, offline."""

from __future__ import annotations

import gzip
import io
import shutil
from pathlib import Path

import pytest
from Bio.Entrez.Parser import DataHandler

from pmlkg.ingest.files import DEMO_CORPUS, read_file, read_files
from pmlkg.ingest.pubmed import PubmedParseError, parse_pubmed_xml
from pmlkg.ingest.records import BadPmid, valid_pmid
from pmlkg.testing.eutils import PUBMED_DOCTYPE, make_record

SAMPLE = Path(__file__).parent / "data" / "pubmed_sample.xml"


def test_full_record_fields() -> None:
    with SAMPLE.open("rb") as f:
        batch = parse_pubmed_xml(f, "sample")
    assert [a.pmid for a in batch.articles] == ["91000001", "91000002"]
    a = batch.articles[0]
    assert a.version == 2
    assert a.title == "Fixture: PML in CD40LG deficiency."  # inline <i> markup dropped
    assert [s.label for s in a.abstract] == ["BACKGROUND", "CASE PRESENTATION"]
    assert a.abstract[0].text == "A fixture sentence & another."
    assert a.abstract[1].text == "A 3-year-old boy with CD4+ lymphopenia."
    assert a.journal == "Test Fixture J Immunol"
    assert (a.year, a.pub_date) == (2019, "2019-01")  # MedlineDate fallback
    assert a.doi == "10.5555/fixture.1" and a.pmcid == "PMC9100001"
    assert a.authors[0].orcid == "0000-0000-0000-0001"
    assert a.authors[0].affiliations == ("Test Hospital",)
    assert a.authors[1].display == "Fixture Study Group"
    assert a.mesh[0].ui == "D007968" and a.mesh[0].major_topic and a.mesh[0].qualifiers == ("diagnosis",)
    assert "Male" in a.mesh_descriptors
    assert a.publication_types == ("Case Reports", "Journal Article")
    assert a.chemicals[0].name == "Rituximab" and a.chemicals[0].ui == "D000074322"
    assert a.keywords == ("JC virus",)
    assert a.notices == ("ErratumIn:91000009",) and not a.retracted
    assert a.text().splitlines() == [a.title, a.abstract[0].text, a.abstract[1].text]
    b = batch.articles[1]
    assert (b.year, b.pub_date, b.abstract) == (2021, "2021-03-07", ())


def test_digest_changes_with_content() -> None:
    with SAMPLE.open("rb") as f:
        a, b = parse_pubmed_xml(f).articles
    assert a.digest() != b.digest()
    with SAMPLE.open("rb") as f:
        assert parse_pubmed_xml(f).articles[0].digest() == a.digest()


def test_truncated_file_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.xml"
    bad.write_bytes(SAMPLE.read_bytes()[:2500])
    result = read_file(bad)
    assert result.batch is None
    assert "truncated.xml" in (result.error or "")


def test_non_pubmed_xml_is_an_error(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><html><body>not pubmed</body></html>')
    with pytest.raises(PubmedParseError, match="other"):
        parse_pubmed_xml(other.open("rb"), str(other))


def test_folder_with_gzip_and_a_bad_file(tmp_path: Path) -> None:
    with SAMPLE.open("rb") as src, gzip.open(tmp_path / "a.xml.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    (tmp_path / "b.xml").write_text("<PubmedArticleSet><PubmedArticle>")
    (tmp_path / "notes.txt").write_text("ignored")
    results = list(read_files([tmp_path]))
    assert [r.path.name for r in results] == ["a.xml.gz", "b.xml"]
    assert results[0].batch is not None and len(results[0].batch.articles) == 2
    assert results[1].error and "b.xml" in results[1].error


def test_missing_path_is_reported() -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list(read_files([Path("/nowhere/at/all.xml")]))


def test_demo_corpus_parses_offline() -> None:
    result = read_file(DEMO_CORPUS)
    assert result.error is None and result.batch is not None
    pmids = [a.pmid for a in result.batch.articles]
    assert len(pmids) >= 40 and len(set(pmids)) == len(pmids)
    assert all(int(p) >= 90000001 for p in pmids)  # synthetic PMIDs only
    assert all(a.title and a.abstract for a in result.batch.articles)


def test_delete_citations_are_read(tmp_path: Path) -> None:
    update = tmp_path / "pubmed26n0001.xml"
    update.write_text(
        '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
        '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet><DeleteCitation>'
        '<PMID Version="1">90000003</PMID><PMID Version="1">90000019</PMID></DeleteCitation></PubmedArticleSet>')
    result = read_file(update)
    assert result.batch is not None and result.batch.deleted_pmids == ["90000003", "90000019"]


def test_a_dtd_newer_than_biopython_parses_offline(tmp_path: Path) -> None:
    future = tmp_path / "future.xml"
    future.write_bytes(SAMPLE.read_bytes().replace(b"pubmed_250101.dtd", b"pubmed_990101.dtd")
                       .replace(b"1st January 2025", b"1st January 2099"))
    result = read_file(future)
    assert result.error is None and result.batch is not None
    assert [a.pmid for a in result.batch.articles] == ["91000001", "91000002"]


# ------------------------------------------------------------------ PMIDs, duplicates, entities

def _record(pmid: str, version: int = 1, title: str | None = None) -> str:
    """A synthetic record whose <PMID> says ``pmid`` verbatim."""
    xml = make_record(95000999, title=title).xml
    return xml.replace('<PMID Version="1">95000999</PMID>', f'<PMID Version="{version}">{pmid}</PMID>', 1)


def _doc(*records: str, doctype: str = PUBMED_DOCTYPE, tail: str = "") -> bytes:
    return (f'<?xml version="1.0" ?>\n{doctype}\n<PubmedArticleSet>\n' + "\n".join(records) + tail
            + "\n</PubmedArticleSet>\n").encode()


BAD_PMIDS = ["abc' OR 1=1 //", "../../etc", "-5", "", "   ", "0", "0123", "+123", "12 34", "1e5", "1234567890",
             "\uff11\uff12\uff13", "\u0661\u0662", "123abc"]


def test_a_pmid_is_1_to_9_digits_without_a_leading_zero() -> None:
    assert [valid_pmid(p) for p in ("1", "95000001", "999999999", " 42\n")] == ["1", "95000001", "999999999", "42"]
    for bad in BAD_PMIDS:
        with pytest.raises(BadPmid, match="not a PubMed id"):
            valid_pmid(bad)


def test_records_with_bad_pmids_are_refused_by_position_and_the_others_load() -> None:
    records = [_record("95000001")] + [_record(p) for p in BAD_PMIDS] + [_record("95000002")]
    batch = parse_pubmed_xml(io.BytesIO(_doc(*records)), "upload.xml")
    assert [a.pmid for a in batch.articles] == ["95000001", "95000002"]
    assert len(batch.skipped) == len(BAD_PMIDS)
    for position, reason in enumerate(batch.skipped, start=2):
        assert reason.startswith(f"upload.xml: PubmedArticle #{position} refused (PMID ")
        assert "not a PubMed id" in reason


def test_bad_delete_citation_pmids_are_refused() -> None:
    batch = parse_pubmed_xml(io.BytesIO(_doc(tail='<DeleteCitation><PMID Version="1">90000003</PMID>'
                                                  '<PMID Version="1">../x</PMID><PMID Version="1">7</PMID>'
                                                  '</DeleteCitation>')), "update.xml")
    assert batch.deleted_pmids == ["90000003", "7"]
    assert batch.skipped == [("update.xml: DeleteCitation PMID #2 refused (PMID '../x' is not a PubMed id "
                              "(1 to 9 digits, no leading zero))")]


def test_a_pmid_given_twice_keeps_its_highest_version_then_its_last_record() -> None:
    batch = parse_pubmed_xml(io.BytesIO(_doc(
        _record("95000001", title="A, first."), _record("95000002", version=2, title="B, revised."),
        _record("95000001", title="A, second."), _record("95000002", title="B, old."), _record("95000003"),
        _record("95000001", title="A, third."))), "dups.xml")
    assert [(a.pmid, a.version, a.title) for a in batch.articles] == [
        ("95000002", 2, "B, revised."), ("95000003", 1, batch.articles[1].title), ("95000001", 1, "A, third.")]
    assert [(d.source, d.pmid, d.records, d.versions, d.kept) for d in batch.duplicates] == [
        ("dups.xml", "95000001", (1, 3, 6), (1, 1, 1), 6), ("dups.xml", "95000002", (2, 4), (2, 1), 2)]
    assert batch.duplicates[0].message() == ("dups.xml: PMID 95000001 is given by 3 records (#1 (version 1), "
                                             "#3 (version 1), #6 (version 1)); kept #6")
    many = parse_pubmed_xml(io.BytesIO(_doc(*[_record("95000001")] * 50)), "many.xml").duplicates[0]
    assert many.kept == 50 and len(many.records) == 50
    assert many.message().endswith("#10 (version 1) and 40 more); kept #50")


def _declaring(declaration: str, use: str = "") -> bytes:
    record = make_record(95000001).xml.replace("<AbstractText>", f"<AbstractText>{use}")
    return _doc(record, doctype=PUBMED_DOCTYPE.replace('.dtd">', f'.dtd" [{declaration}]>'))


@pytest.mark.parametrize("declaration,use", [
    ('<!ENTITY x SYSTEM "x.ent">', "&x;"),
    ('<!ENTITY x SYSTEM "file:///etc/passwd">', "&x;"),
    ('<!ENTITY x SYSTEM "/etc/passwd">', "&x;"),
    ('<!ENTITY x SYSTEM "https://www.ncbi.nlm.nih.gov/dtd/x.ent">', "&x;"),
    ('<!ENTITY x SYSTEM "x.ent">', ""),  # declared, never used
    ('<!ENTITY % p SYSTEM "pubmed_250101.dtd"> %p;', ""),
    ('<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">', "&b;"),  # expansion
])
def test_entities_declared_by_the_document_are_refused(declaration: str, use: str) -> None:
    with pytest.raises(PubmedParseError, match="refused"):
        parse_pubmed_xml(io.BytesIO(_declaring(declaration, use)), "evil.xml")


def test_the_dtd_comes_from_the_bundle_whatever_the_system_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    public = '"-//NLM//DTD PubMedArticle, 1st January 2025//EN"'
    record = make_record(95000001).xml
    for system_id in ("http://127.0.0.1:9/dtd/pubmed_250101.dtd", "file:///nowhere/pubmed_250101.dtd",
                      "pubmed_250101.dtd", "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_990101.dtd"):
        doc = _doc(record, doctype=f'<!DOCTYPE PubmedArticleSet PUBLIC {public} "{system_id}">')
        assert [a.pmid for a in parse_pubmed_xml(io.BytesIO(doc)).articles] == ["95000001"], system_id
    for system_id in ("file:///etc/passwd", "https://dtd.nlm.nih.gov/ncbi/pubmed/out/other.dtd"):
        doc = _doc(record, doctype=f'<!DOCTYPE PubmedArticleSet PUBLIC {public} "{system_id}">')
        with pytest.raises(PubmedParseError, match="refused"):
            parse_pubmed_xml(io.BytesIO(doc))
    # a DTD newer than the bundle, placed in PMLKG_DTD_DIR, is read from there (no substitution)
    bundled = Path(DataHandler.global_dtd_dir) / "pubmed_250101.dtd"
    shutil.copy(bundled, tmp_path / "pubmed_990101.dtd")
    monkeypatch.setenv("PMLKG_DTD_DIR", str(tmp_path))
    newer = _doc(record, doctype=f'<!DOCTYPE PubmedArticleSet PUBLIC {public} "pubmed_990101.dtd">')
    caplog.clear()
    with caplog.at_level("WARNING", logger="pmlkg.ingest.pubmed"):
        assert [a.pmid for a in parse_pubmed_xml(io.BytesIO(newer)).articles] == ["95000001"]
    assert "not bundled" not in caplog.text
