"""PubMed XML -> Article records, through Biopython's parser, offline."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from ingest.files import DEMO_CORPUS, read_file, read_files
from ingest.pubmed import PubmedParseError, parse_pubmed_xml

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
