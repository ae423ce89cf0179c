"""The rules pipeline's components on sentences written for these tests."""

from __future__ import annotations

import pytest
from spacy.language import Language

from extraction.abbreviations import find_abbreviations
from extraction.facts import months_in, parse_value
from extraction.pipeline import load_pipeline
from extraction.roles import RoleContext, classify_role


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_pipeline("pmlkg_rules")


def test_schwartz_hearst_pairs() -> None:
    text = ("A man with idiopathic CD4 lymphopenia (ICL) had JC virus (JCV) in the cerebrospinal fluid (CSF); "
            "the promyelocytic leukemia (PML) protein is unrelated (p < 0.05).")
    pairs = {(a.short, a.long) for a in find_abbreviations(text)}
    assert pairs == {("ICL", "idiopathic CD4 lymphopenia"), ("JCV", "JC virus"), ("CSF", "cerebrospinal fluid"),
                     ("PML", "promyelocytic leukemia")}


def test_short_forms_inherit_the_long_forms_entity(nlp: Language) -> None:
    doc = nlp("We describe activated phosphoinositide 3-kinase delta syndrome (APDSX) in a boy. "
              "Later the APDSX worsened after rituximab.")
    assert not [e for e in doc.ents if e.text == "APDSX"]  # not a lexicon long form: nothing to inherit
    doc = nlp("Idiopathic CD4 lymphopenia (ICDL) was diagnosed. ICDL progressed.")
    icl = [e for e in doc.ents if e.text == "ICDL"]
    assert len(icl) == 2 and all(e.label_ == "DEFECT" and e.kb_id_ == "pmlkg:idiopathic-cd4-lymphopenia" for e in icl)


@pytest.mark.parametrize("sentence, drug, negated, hedged", [
    ("He had never received rituximab.", "rituximab", True, False),
    ("She had no prior rituximab or azathioprine therapy.", "azathioprine", True, False),
    ("None had received rituximab.", "rituximab", True, False),
    ("Rituximab was not given.", "rituximab", True, False),
    ("Possible rituximab exposure was reported.", "rituximab", False, True),
    ("He received rituximab but no corticosteroids.", "rituximab", False, False),
])
def test_negation_and_hedging(nlp: Language, sentence: str, drug: str, negated: bool, hedged: bool) -> None:
    ent = next(e for e in nlp(sentence).ents if e.kb_id_ == drug)
    assert (ent._.negated, ent._.hedged) == (negated, hedged)


@pytest.mark.parametrize("sentence, drug, role", [
    ("She had received rituximab for immune thrombocytopenia.", "rituximab", "exposure"),
    ("Rituximab and azathioprine had been given for two years.", "azathioprine", "exposure"),
    ("He was treated with mefloquine and mirtazapine.", "mirtazapine", "treatment"),
    ("Azathioprine was withdrawn and cytarabine was administered.", "azathioprine", "exposure"),
    ("Azathioprine was withdrawn and cytarabine was administered.", "cytarabine", "treatment"),
    ("PML after rituximab.", "rituximab", "exposure"),
    ("Cyclosporine was given as prophylaxis against graft-versus-host disease.", "cyclosporine", "exposure"),
    ("Pembrolizumab was started for PML.", "pembrolizumab", "treatment"),
])
def test_roles(nlp: Language, sentence: str, drug: str, role: str) -> None:
    doc = nlp(sentence)
    ent = next(e for e in doc.ents if e.kb_id_ == drug)
    ctx = RoleContext(sentence=doc.text, mention_start=ent.start_char, mention_end=ent.end_char,
                      before_diagnosis=False, classes=frozenset())
    previous = [e for e in doc.ents if e.end_char <= ent.start_char]
    if previous:
        prev_ctx = RoleContext(sentence=doc.text, mention_start=previous[-1].start_char,
                               mention_end=previous[-1].end_char, before_diagnosis=False, classes=frozenset())
        ctx = RoleContext(ctx.sentence, ctx.mention_start, ctx.mention_end, False, frozenset(),
                          previous=(previous[-1].end_char, classify_role(prev_ctx)))
    assert classify_role(ctx) == role


@pytest.mark.parametrize("label, text, value", [
    ("AGE", "a 34-year-old man", 34.0),
    ("AGE", "a 15-month-old girl", 1.25),
    ("AGE", "aged 7 years", 7.0),
    ("CD4", "CD4+ T-cell count of 112 cells/µL", 112),
    ("CD4", "CD4 count 45/mm3", 45),
    ("CD4", "CD4+ T-cell count at that time was 96 cells/µL", 96),
    ("SEX", "a 34-year-old woman", "female"),
    ("PATIENT_COUNT", "two brothers", 2),
])
def test_fact_values(label: str, text: str, value: object) -> None:
    assert parse_value(label, text) == value


def test_cd4_never_reads_cd40() -> None:
    assert parse_value("CD4", "CD40 ligand deficiency") is None


@pytest.mark.parametrize("text, months", [
    ("He died 8 months after diagnosis.", 8.0),
    ("She was alive at 2-year follow-up.", 24.0),
    ("He died three weeks later.", 0.7),
])
def test_time_to_outcome(text: str, months: float) -> None:
    assert months_in(text) == months
