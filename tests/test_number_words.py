"""Number words ("two", "thirteen", "twenty") read the same in every count the extraction takes:
patient counts (extraction/facts.py) and a series' per-drug counts (extraction/series.py) share
one table and one parser. The sentences are written for these tests."""

from __future__ import annotations

import dataclasses

import pytest

from pmlkg.extraction.extractor import Extractor, article_from_text
from pmlkg.extraction.facts import number, parse_value
from pmlkg.extraction.series import DrugMention, Sentence, series_facts

WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]


@pytest.mark.parametrize("word, value", [
    ("thirteen", 13.0), ("Thirteen", 13.0), ("THIRTEEN", 13.0), (" twelve ", 12.0), ("twenty", 20.0),
    ("thirty", 30.0), ("eighty", 80.0), ("13", 13.0), ("2.5", 2.5), ("several", None), (None, None),
])
def test_the_parser(word: str | None, value: float | None) -> None:
    assert number(word) == value


@pytest.mark.parametrize("n, word", list(enumerate(WORDS, start=1)))
def test_patient_count_words(n: int, word: str) -> None:
    assert parse_value("PATIENT_COUNT", f"{word.capitalize()} unrelated patients developed PML.") == n
    assert parse_value("PATIENT_COUNT", f"We describe {word} patients.") == n


def drug_sentence(text: str, drug: str) -> Sentence:
    start = text.lower().index(drug)
    return Sentence(text=text, start=0, drugs=(DrugMention(drug, start, start + len(drug)),))


@pytest.mark.parametrize("n, word", list(enumerate(WORDS, start=1)))
def test_series_drug_count_words(n: int, word: str) -> None:
    before = drug_sentence(f"{word.capitalize()} of the 20 patients had received natalizumab before PML.", "natalizumab")
    assert series_facts([before], 20).drug_counts == {"natalizumab": n}
    after = drug_sentence(f"Rituximab had been given in {word} patients.", "rituximab")
    assert series_facts([after], 20).drug_counts == {"rituximab": n}


def test_thirteen_through_the_pipeline() -> None:
    text = ("PML in common variable immunodeficiency: a series\n\nWe describe fourteen patients with common "
            "variable immunodeficiency who developed PML. Thirteen of the 14 patients had received rituximab "
            "and twelve had received cyclophosphamide.")
    article = dataclasses.replace(article_from_text(text), publication_types=("Journal Article",))
    ex = Extractor().extract(article)
    assert len(ex.patients) == 1
    p = ex.patients[0]
    assert p.cohort_size == 14 and p.series is not None
    assert p.series.drug_counts == {"rituximab": 13, "cyclophosphamide": 12}
