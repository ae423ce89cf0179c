"""Series group facts read off sentences (extraction/series.py), one shape per case.

The sentences are written for these tests (not development texts, not real abstracts); drug
mentions are given with their offsets, as the pipeline's normalised entities would be.
"""

from __future__ import annotations

import re

import pytest

from pmlkg.extraction.records import Summary
from pmlkg.extraction.series import DrugMention, Sentence, series_facts


def sentence(text: str, *drugs: str, start: int = 0) -> Sentence:
    mentions = []
    for drug in drugs:
        m = re.search(re.escape(drug), text, re.IGNORECASE)
        assert m, drug
        mentions.append(DrugMention(drug.lower(), start + m.start(), start + m.end()))
    return Sentence(text=text, start=start, drugs=tuple(mentions))


def test_distributive_counts_carry_back_over_a_list() -> None:
    s = sentence("Natalizumab had been given in 4 patients, fingolimod in 2, and ocrelizumab and "
                 "cladribine in one patient each.", "natalizumab", "fingolimod", "ocrelizumab", "cladribine")
    facts = series_facts([s], 9)
    assert facts.drug_counts == {"natalizumab": 4, "fingolimod": 2, "ocrelizumab": 1, "cladribine": 1}
    assert facts.evidence["drug:cladribine"].sentence == s.text


@pytest.mark.parametrize("text, drugs, expected", [
    ("Four of 12 (33%) had received tacrolimus.", ("tacrolimus",), {"tacrolimus": 4}),
    ("Seven patients were treated with fludarabine and bendamustine.", ("fludarabine", "bendamustine"),
     {"fludarabine": 7, "bendamustine": 7}),
    ("Ibrutinib (n = 3) and idelalisib (n = 2) preceded the diagnosis.", ("ibrutinib", "idelalisib"),
     {"ibrutinib": 3, "idelalisib": 2}),
    ("Both had received belatacept.", ("belatacept",), {"belatacept": 2}),
    ("Five had received alemtuzumab and two cyclophosphamide.", ("alemtuzumab", "cyclophosphamide"),
     {"alemtuzumab": 5, "cyclophosphamide": 2}),
    ("Cidofovir with mefloquine in four patients.", ("cidofovir", "mefloquine"), {"cidofovir": 4, "mefloquine": 4}),
    ("Tocilizumab was used in 20 patients.", ("tocilizumab",), {}),  # more than the series: not its count
])
def test_drug_count_shapes(text: str, drugs: tuple[str, ...], expected: dict[str, int]) -> None:
    size = 2 if text.startswith("Both") else 12
    assert series_facts([sentence(text, *drugs)], size).drug_counts == expected


@pytest.mark.parametrize("text, size, died, survived", [
    ("All but two patients died.", 9, 7, 2),
    ("Six (55%) died within a year.", 11, 6, None),
    ("Three of the 8 patients died; the remaining patients survived.", 8, 3, 5),
    ("Ultimately all survived.", 5, 0, 5),
    ("None of the patients died.", 4, 0, 4),
    ("There were 3 deaths.", 6, 3, None),
    ("Mortality was 75%.", 8, 6, None),
    ("Mortality was 70%.", 8, None, None),  # not a whole number of patients: not a count
    ("Death occurred in 4 of 9 patients.", 9, 4, None),
    ("Two patients stabilised.", 5, None, 2),
    ("Both patients died.", 2, 2, None),
    ("All three survivors remain disabled.", 7, None, 3),
    ("The sole survivor had a transplant.", 7, None, 1),
    ("The survivors were younger.", 7, None, None),
    ("Outcome: 5 deaths, 3 survivors.", 8, 5, 3),
    ("Patients who died (n = 4) were older.", 9, 4, None),
    ("The mortality was 62.5% (5/8).", 8, 5, None),
])
def test_outcome_shapes(text: str, size: int, died: int | None, survived: int | None) -> None:
    facts = series_facts([sentence(text)], size)
    assert (facts.died, facts.survived) == (died, survived)


def test_medians_with_ranges_by_what_they_measure() -> None:
    facts = series_facts([
        sentence("The median age at PML diagnosis was 38 years (range, 22-71 years)."),
        sentence("Median CD4 count was 160 cells/µL (range 35–410)."),
        sentence("Death occurred after a median of 4 weeks (range 1–10 weeks)."),
    ], 10)
    assert facts.age_years == Summary(38.0, 22.0, 71.0, "median")
    assert facts.cd4_per_ul == Summary(160.0, 35.0, 410.0, "median")
    assert facts.months_to_outcome == Summary(0.9, 0.2, 2.3, "median")  # weeks in months


@pytest.mark.parametrize("text, size, sex", [
    ("All patients were male.", 6, {"male": 6, "female": 0}),
    ("Eight men and three women were included.", 11, {"male": 8, "female": 3}),
    ("The male:female ratio was 5:2.", 7, {"male": 5, "female": 2}),
    ("Four were female.", 10, {"female": 4, "male": 6}),
    ("Two men were included.", 10, {"male": 2}),  # what is stated: the rest's sex is not said
    ("The sex ratio was 3:1.", 4, {"male": 3, "female": 1}),
    ("The M:F ratio was 2:1.", 12, {}),  # a ratio of 12 patients, not counts
    ("There was a male predominance.", 12, {}),
    ("Patients: 5 M, 3 F.", 8, {"male": 5, "female": 3}),
    ("Of them, 75% were male.", 8, {"male": 6, "female": 2}),
])
def test_sex_counts(text: str, size: int, sex: dict[str, int]) -> None:
    assert series_facts([sentence(text)], size).sex == sex


@pytest.mark.parametrize("text, n", [
    ("We also reviewed 31 previously published patients.", 31),
    ("Together with 9 cases previously reported in the literature, this suggests a risk.", 9),
    ("A review of the literature identified 17 additional cases.", 17),
    ("Fourteen further patients from the literature were analysed.", 14),
])
def test_previously_published_patients_are_not_the_series(text: str, n: int) -> None:
    facts = series_facts([sentence(text)], 4)
    assert facts.previously_published == n
    assert facts.drug_counts == {} and facts.died is None


def test_unstated_facts_stay_unknown() -> None:
    facts = series_facts([sentence("Patients were followed at three centres.")], 5)
    assert (facts.died, facts.survived, facts.months_to_outcome, facts.age_years, facts.cd4_per_ul) == (
        None, None, None, None, None)
    assert facts.sex == {} and facts.evidence == {}


def test_evidence_offsets_index_the_document() -> None:
    text = "All but one died."
    facts = series_facts([sentence(text, start=500)], 3)
    ev = facts.evidence["died"]
    assert (ev.sentence_start, ev.start, ev.end) == (500, 500, 500 + len("All but one died"))


def test_a_regimen_mention_counts_for_each_component() -> None:
    text = "R-CHOP had been given in 5 patients."
    mentions = tuple(DrugMention(d, 0, 6) for d in ("rituximab", "cyclophosphamide", "doxorubicin"))
    facts = series_facts([Sentence(text=text, start=0, drugs=mentions)], 8)
    assert facts.drug_counts == {"rituximab": 5, "cyclophosphamide": 5, "doxorubicin": 5}
