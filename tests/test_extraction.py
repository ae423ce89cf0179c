"""The shipped rules pipeline on the demo corpus, field by field against the facts it encodes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pmlkg.extraction.extractor import Extractor
from pmlkg.extraction.records import ArticleExtraction, Patient
from pmlkg.ingest.files import DEMO_CORPUS, read_file
from pmlkg.ingest.records import AbstractSection, Article

EXPECTATIONS = {r["pmid"]: r for r in json.loads((Path(__file__).parent / "data" / "demo_expectations.json").read_text())}
FIELDS = ("defect", "gene", "exposures", "treatments", "outcome", "sex", "age_years", "cd4_per_ul")


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


@pytest.fixture(scope="module")
def results(extractor: Extractor) -> dict[str, tuple[Article, ArticleExtraction]]:
    batch = read_file(DEMO_CORPUS).batch
    assert batch is not None
    return {a.pmid: (a, ex) for a, ex in zip(batch.articles, extractor.extract_many(batch.articles), strict=True)}


def _defect_id(extractor: Extractor, name: str) -> str | None:
    hit = extractor.nlp.get_pipe("pmlkg_lexicon_ner").lookup(name)
    return hit[1] if hit and hit[0] == "DEFECT" else None


def test_gene_mentions_normalise_to_hgnc_symbols_and_safe_aliases(extractor: Extractor) -> None:
    """The shipped pipeline's normaliser (lexicons + every HGNC symbol and unambiguous alias)."""
    lexicon = extractor.nlp.get_pipe("pmlkg_lexicon_ner")

    def gene(text: str) -> str | None:
        hit = lexicon.normalise(text)
        return hit[1] if hit and hit[0] == "GENE" else None

    assert gene("PAX5") == gene("PAX-5") == "PAX5"  # approved, and written with a hyphen
    assert gene("TP53") == "TP53" and gene("tp53") is None  # any approved symbol, in its exact case
    assert gene("CD40L") == "CD40LG"  # an alias naming one gene
    assert gene("XLA") is None  # HGNC lists it for BTK as a phenotype symbol: a disease name
    assert gene("AT") is None  # alias of more than one gene (BTK, ATM)
    assert gene("IRIS") is None and gene("MRI") is None  # clinical abbreviations (curated)
    assert gene("CVID") is None  # an immune defect's abbreviation, not TNFRSF13B


def _ents(extractor: Extractor, text: str) -> list[tuple[str, str, str]]:
    return [(e.text, e.label_, e.kb_id_) for e in extractor.nlp(text).ents]


def test_a_defined_short_form_takes_its_long_forms_entity(extractor: Extractor) -> None:
    """The chemdis model splits this long form in two and the gene model reads IRIS as BRCA1's
    alias: the definition joins the long form and the short form follows it everywhere."""
    ents = _ents(extractor, "After antiretroviral therapy she developed immune reconstitution inflammatory "
                            "syndrome (IRIS). IRIS resolved with steroids.")
    assert ("immune reconstitution inflammatory syndrome", "DISEASE", "") in ents
    assert [e for e in ents if e[0] == "IRIS"] == [("IRIS", "DISEASE", "")] * 2
    ents = _ents(extractor, "A boy with X-linked agammaglobulinemia (XLA) developed PML; XLA was known.")
    assert [e[1:] for e in ents if e[0] == "XLA"] == [("DEFECT", "iuis:btk-deficiency-x-linked-agammaglobulinemia")] * 2


def test_cd_markers_in_cell_counts_and_genes_inside_disease_names_are_no_genes(extractor: Extractor) -> None:
    ents = _ents(extractor, "Her CD4+ T cells were 150/uL and the CD4/CD8 ratio was low; CD40LG was mutated.")
    assert [e for e in ents if e[1] == "GENE"] == [("CD40LG", "GENE", "CD40LG")]
    ents = _ents(extractor, "An HPRT-deficient patient and a child with ADA deficiency were reported.")
    assert not [e for e in ents if e[1] == "GENE"]
    assert ("ADA deficiency", "DEFECT", "iuis:adenosine-deaminase-deficiency") in ents


def _drug_id(extractor: Extractor, name: str) -> str:
    """Expectations name drugs as written ("corticosteroids"); the pipeline reports lexicon ids."""
    hit = extractor.nlp.get_pipe("pmlkg_lexicon_ner").lookup(name)
    return hit[1] if hit and hit[0] in ("DRUG", "DRUG_CLASS") else name


def _observed(p: Patient) -> dict[str, Any]:
    return {
        "defects": {d.id for d in p.defects},
        "genes": {g.id for g in p.genes},
        "exposures": {d.drug for d in p.exposures},
        "treatments": {d.drug for d in p.treatments},
        "outcome": p.outcome, "sex": p.sex, "age_years": p.age_years, "cd4_per_ul": p.cd4_per_ul,
    }


def _field_hits(extractor: Extractor, expected: dict[str, Any], p: Patient) -> dict[str, bool]:
    got = _observed(p)
    return {
        "defect": _defect_id(extractor, expected["defect"]) in got["defects"],
        "gene": expected["gene"] is None or expected["gene"] in got["genes"],
        "exposures": {_drug_id(extractor, d) for d in expected["exposures"]} == got["exposures"],
        "treatments": {_drug_id(extractor, d) for d in expected["treatments"]} <= got["treatments"],
        "outcome": expected["outcome"] == got["outcome"],
        "sex": expected["sex"] == got["sex"],
        "age_years": expected["age_years"] is None or abs((got["age_years"] or -9) - expected["age_years"]) < 0.1,
        "cd4_per_ul": expected["cd4_per_ul"] is None or expected["cd4_per_ul"] == got["cd4_per_ul"],
    }


def test_every_expected_defect_name_is_in_the_lexicon(extractor: Extractor) -> None:
    names = {p["defect"] for r in EXPECTATIONS.values() for p in r["patients"]}
    assert {n for n in names if _defect_id(extractor, n) is None} == set()


def test_case_layout(results: dict[str, tuple[Article, ArticleExtraction]]) -> None:
    wrong = []
    for pmid, rec in EXPECTATIONS.items():
        _, ex = results[pmid]
        if rec["kind"] in ("review", "non_pml"):
            ok = not ex.patients
        elif rec["kind"] == "series":
            ok = len(ex.patients) == 1 and ex.patients[0].cohort_size == rec["series"]["n_patients"]
        else:
            ok = len(ex.patients) == len(rec["patients"])
        if not ok:
            wrong.append((pmid, rec["kind"], [p.cohort_size for p in ex.patients]))
    assert wrong == []


def test_non_pml_abbreviation_clash_is_not_about_pml(results: dict[str, tuple[Article, ArticleExtraction]]) -> None:
    clashes = [p for p, r in EXPECTATIONS.items() if r["kind"] == "non_pml"]
    assert clashes and all(not results[p][1].about_pml for p in clashes)


def test_negated_exposures_are_never_exposures(extractor: Extractor,
                                               results: dict[str, tuple[Article, ArticleExtraction]]) -> None:
    checked = 0
    for pmid, rec in EXPECTATIONS.items():
        _, ex = results[pmid]
        for expected, got in zip(rec["patients"], ex.patients, strict=False):
            for drug in expected.get("negated_exposures", []):
                checked += 1
                assert _drug_id(extractor, drug) not in {d.drug for d in got.exposures}, (pmid, drug)
    assert checked >= 4


def test_field_accuracy_on_the_demo_corpus(extractor: Extractor,
                                           results: dict[str, tuple[Article, ArticleExtraction]]) -> None:
    """Every field right for at least 90% of the individually described patients."""
    hits: Counter[str] = Counter()
    misses: dict[str, list[str]] = {f: [] for f in FIELDS}
    total = 0
    for pmid, rec in EXPECTATIONS.items():
        if rec["kind"] not in ("case_report", "multi_case"):
            continue
        _, ex = results[pmid]
        for expected, got in zip(rec["patients"], ex.patients, strict=False):
            total += 1
            for name, ok in _field_hits(extractor, expected, got).items():
                hits[name] += ok
                if not ok:
                    misses[name].append(pmid)
    assert total >= 30
    report = {f: round(hits[f] / total, 3) for f in FIELDS}
    print("field accuracy:", report)
    assert all(v >= 0.9 for v in report.values()), (report, {f: m for f, m in misses.items() if m})


def test_series_counts(extractor: Extractor, results: dict[str, tuple[Article, ArticleExtraction]]) -> None:
    for pmid, rec in EXPECTATIONS.items():
        if rec["kind"] != "series":
            continue
        cohort = results[pmid][1].patients[0]
        for drug, n in rec["series"]["drug_counts"].items():
            assert cohort.series.drug_counts.get(_drug_id(extractor, drug)) == n, (pmid, drug, cohort.series)
        if rec["series"].get("deaths") is not None:
            assert cohort.series.died == rec["series"]["deaths"], (pmid, cohort.series)


def test_entities_carry_offsets_into_the_article_text(results: dict[str, tuple[Article, ArticleExtraction]]) -> None:
    for article, ex in results.values():
        text = article.text()
        for ent in ex.entities:
            assert text[ent.start:ent.end] == ent.text
            assert ent.evidence is not None and ent.text in ent.evidence.sentence


def test_bad_text_gives_no_crash(extractor: Extractor) -> None:
    for title, abstract in (("", ""), ("\x00\x01\x02", "\x1b[31m"), ("Progressive multifocal leukoencephalopathy",
                                                                       "Ceci n'est pas un résumé. 这不是摘要。"),
                            ("PML", "rituximab " * 50_000)):
        ex = extractor.extract(Article(pmid="1", title=title,
                                       abstract=(AbstractSection(abstract),)))
        assert isinstance(ex.entities, list)


def test_mesh_is_a_second_signal(results: dict[str, tuple[Article, ArticleExtraction]]) -> None:
    """MeSH confirms text facts (sex, fatal outcome, drugs) and never adds one the text lacks."""
    confirmed = 0
    for article, ex in results.values():
        for p in ex.patients:
            for fact in p.mesh_support:
                confirmed += 1
                if fact == "sex":
                    assert p.sex and p.sex.capitalize() in article.mesh_descriptors
                elif fact == "outcome":
                    assert p.outcome == "died" and "Fatal Outcome" in article.mesh_descriptors
                else:
                    assert fact.removeprefix("drug:") in {u.drug for u in p.drugs}
    assert confirmed >= 30
