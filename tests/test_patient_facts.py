"""Patient facts from the right subject, through the shipped pipeline (issue: real case reports).

Each text is written for this test in one shape real case reports use; none is a development
text (bench/dev_texts) or a real abstract. Exact values are asserted.
"""

from __future__ import annotations

import dataclasses

import pytest

from pmlkg.extraction.extractor import Extractor, article_from_text
from pmlkg.extraction.records import ArticleExtraction, Patient


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def extract(extractor: Extractor, text: str, *, pubtypes: tuple[str, ...] = ("Case Reports",),
            mesh: tuple[str, ...] = ()) -> ArticleExtraction:
    article = dataclasses.replace(article_from_text(text), publication_types=pubtypes)
    if mesh:
        from pmlkg.ingest.records import MeshHeading
        article = dataclasses.replace(article, mesh=tuple(MeshHeading(m) for m in mesh))
    return extractor.extract(article)


def only(ex: ArticleExtraction) -> Patient:
    assert len(ex.patients) == 1, ex.patients
    return ex.patients[0]


@pytest.mark.parametrize("text, outcome, months", [
    # another disease is what "remained stable"; the patient went to a hospice
    ("PML in a man with CVID\n\nA 58-year-old man with CVID and lymphoma developed PML. "
     "The lymphadenopathy remained stable on imaging. He was moved to a hospice.", "unknown", None),
    ("PML in WAS\n\nA boy with Wiskott-Aldrich syndrome developed PML after HLH. "
     "The HLH improved with etoposide. He was pronounced dead two months later.", "died", 2.0),
    ("JC virus in XLA\n\nA 30-year-old man with XLA was diagnosed with PML. Survival from PML "
     "onset was 7 months. Autopsy confirmed demyelination.", "died", 7.0),
    ("PML in ICL\n\nA 41-year-old woman with idiopathic CD4 lymphopenia had PML. "
     "Her neurological condition stabilised and she remains alive 14 months later.", "survived", 14.0),
    ("PML in GATA2 deficiency\n\nA 25-year-old woman with GATA2 deficiency developed PML. "
     "She was transferred abroad and lost to follow-up.", "unknown", None),
])
def test_outcome_is_said_of_the_patient(extractor: Extractor, text: str, outcome: str, months: float | None) -> None:
    p = only(extract(extractor, text))
    assert (p.outcome, p.months_to_outcome) == (outcome, months)


@pytest.mark.parametrize("sentence, cd4", [
    ("Her CD4+ T-cell count fell to 52/µL.", 52),
    ("Marked CD4 lymphopenia (95/µL) was found.", 95),
    ("Flow cytometry showed 210 CD4+ cells/µL.", 210),
    ("CD4 lymphocytes were 0.04 x 10^9/L.", 40),
    ("At diagnosis the CD4 count was 130 cells/mm3; after IL-7 it rose to 420 cells/mm3.", 130),
    ("After IL-7 the CD4 count increased to 400/µL, from 75/µL at PML diagnosis.", 75),
])
def test_cd4_shapes_and_the_count_at_diagnosis(extractor: Extractor, sentence: str, cd4: int) -> None:
    text = f"PML in idiopathic CD4 lymphopenia\n\nA 50-year-old woman with idiopathic CD4 lymphopenia developed PML. {sentence}"
    assert only(extract(extractor, text)).cd4_per_ul == cd4


@pytest.mark.parametrize("text, sex", [
    ("PML in CVID\n\nAn adult with CVID developed PML. She had received rituximab; her symptoms progressed.", "female"),
    ("PML in CVID\n\nA patient with CVID developed PML. His MRI showed white matter lesions.", "male"),
    ("PML in CVID\n\nA patient with CVID developed PML. The MRI showed white matter lesions.", None),
])
def test_sex_from_pronouns_when_no_noun_says_it(extractor: Extractor, text: str, sex: str | None) -> None:
    assert only(extract(extractor, text)).sex == sex


def test_bare_pml_is_pml_in_context_but_never_the_leukaemia(extractor: Extractor) -> None:
    pml = extract(extractor, "PML in a girl with DOCK8 deficiency\n\nA 9-year-old girl with DOCK8 deficiency "
                             "developed PML; MRI showed white matter lesions and CSF PCR was positive.")
    assert pml.about_pml and len(pml.patients) == 1
    leukaemia = extract(extractor, "PML-RARA in acute promyelocytic leukemia\n\nA 40-year-old man had "
                                   "acute promyelocytic leukemia with the PML-RARA fusion; PML bodies were disrupted.")
    assert not leukaemia.about_pml and leukaemia.patients == []


def test_a_headed_abstract_gives_its_patient(extractor: Extractor) -> None:
    text = ("PML in STAT1 gain of function\n\nBackground: PML is a JC virus infection of the brain.\n"
            "Case presentation: A 19-year-old man with STAT1 gain-of-function received ruxolitinib for two "
            "years. He developed aphasia and PML was diagnosed. Ruxolitinib was stopped and mefloquine was "
            "started. He died 5 months later.\nConclusions: JAK inhibition may predispose to PML.")
    p = only(extract(extractor, text))
    roles = {u.drug: u.role for u in p.drugs}
    assert roles == {"ruxolitinib": "exposure", "mefloquine": "treatment"}
    assert (p.age_years, p.sex, p.outcome, p.months_to_outcome) == (19.0, "male", "died", 5.0)


def test_a_series_yields_its_group_facts(extractor: Extractor) -> None:
    text = ("PML in CTLA4 haploinsufficiency: a series\n\nWe describe 9 patients with CTLA4 haploinsufficiency "
            "who developed PML. Abatacept had been given in 6 patients, sirolimus in 4, and rituximab and "
            "mycophenolate mofetil in one patient each. All but two patients died, after a median of 6 months "
            "(range 2-19). Seven were male. We also reviewed 12 previously published cases.")
    ex = extract(extractor, text, pubtypes=("Journal Article",))
    p = only(ex)
    assert p.cohort_size == 9 and p.series is not None
    assert p.series.drug_counts == {"abatacept": 6, "sirolimus": 4, "rituximab": 1, "mycophenolate mofetil": 1}
    assert (p.series.died, p.series.sex, p.series.previously_published) == (7, {"male": 7, "female": 2}, 12)
    assert p.series.months_to_outcome is not None
    assert (p.series.months_to_outcome.median, p.series.months_to_outcome.low, p.series.months_to_outcome.high) == (
        6.0, 2.0, 19.0)
    assert {u.drug: u.role for u in p.drugs} == {"abatacept": "exposure", "sirolimus": "exposure",
                                                 "rituximab": "exposure", "mycophenolate mofetil": "exposure"}
