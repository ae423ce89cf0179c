"""Surface patterns for patient facts, outcomes and PML itself, with their value parsers.

Numbers with units are easier to get right with regular expressions than with token patterns;
the spaCy component (:mod:`extraction.components`) turns each match into a labelled span, and
case assembly reads the value back with :func:`parse_value` from the same pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
}
_NUMBER = r"\d{1,3}(?:\.\d+)?|" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True))
_NUM = rf"(?P<num>{_NUMBER})"
_DASH = r"[-\u2010-\u2013 ]"
_UNIT = r"(?P<unit>day|week|month|year)s?"
_UNIT2 = r"(?P<unit2>day|week|month|year)s?"

JC_VIRUS = r"\bJC\s?(?:poly[o]?mavirus|virus)\b|\bJCP?yV\b|\bJCV\b"

PATTERNS: dict[str, re.Pattern[str]] = {
    # "a 34-year-old man", "a 15-month-old girl", "aged 7 years"
    "AGE": re.compile(
        rf"\b{_NUM}{_DASH}{_UNIT}{_DASH}old\b|\baged\s+(?P<num2>{_NUMBER})\s+{_UNIT2}\b", re.IGNORECASE),
    # "a 44-year-old woman": an age that introduces a person, the cue for a new patient
    "INTRO": re.compile(
        rf"\b{_NUM}{_DASH}{_UNIT}{_DASH}old\s+(?:\w+\s+){{0,2}}?(?:man|woman|boy|girl|male|female|gentleman|lady|infant|"
        r"child|patient|son|daughter|brother|sister)\b", re.IGNORECASE),
    "SEX": re.compile(
        r"\b(?P<sex>man|woman|boy|girl|male|female|gentleman|lady|son|daughter|brothers?|sisters?|"
        r"mother|father|husband|wife)\b", re.IGNORECASE),
    # "CD4+ T-cell count of 112 cells/µL", "CD4 count 45/mm3", "CD4 cells: 80 /µl"
    "CD4": re.compile(
        r"\bCD4(?!\d)\+?(?:\s*\+)?(?:[\s-]*T)?(?:[\s-]*(?:cell|lymphocyte)s?)?(?:\s+(?:count|counts|level|number))?"
        r"(?:\s+(?:was|were|of|at|that|the|time|diagnosis|presentation|admission|baseline|initially|then|had|"
        r"fallen|dropped|decreased|to|remained|below|:|=))*\s*(?:only\s+|approximately\s+|about\s+)?"
        r"(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>cells?\s*/\s*(?:µ|u|μ)[lL]|cells?\s*/\s*mm(?:3|³)|"
        r"/\s*(?:µ|u|μ)[lL]|/\s*mm(?:3|³)|cells?\s+per\s+(?:µ|u|μ)[lL]|cells?\s+per\s+(?:cubic\s+)?mm)?"),
    "PML": re.compile(
        r"\bprogressive multifocal leu[ck]oencephalopathy\b|\bPML\b(?![- ]?(?:RAR|nuclear|bod|protein|gene))"
        rf"|{JC_VIRUS}", re.IGNORECASE),
    "DIED": re.compile(
        r"\b(?:died|death|deceased|succumbed|passed away|fatal outcome|expired|was fatal|proved fatal)\b",
        re.IGNORECASE),
    "SURVIVED": re.compile(
        r"\b(?:alive|survived|survives|surviving|survival|stable|stabili[sz](?:ed|ation)|improved|"
        r"recovered|recovery|remission|cleared|clearance)\b", re.IGNORECASE),
    "IRIS": re.compile(r"\bimmune reconstitution inflammatory syndrome\b|\bIRIS\b"),
    # "two brothers", "three patients", "11 patients"
    "PATIENT_COUNT": re.compile(
        rf"\b{_NUM}\s+(?:(?:unrelated|related|consecutive|additional|male|female|pediatric|paediatric|"
        r"adult|young|family)\s+)*(?P<who>patients|cases|brothers|sisters|siblings|children|adults|men|women|boys|girls|members)\b",
        re.IGNORECASE),
}
# "8 months after", "after 3 months", "at 2-year follow-up", "within 6 weeks"
TIME = re.compile(
    rf"\b(?:after|within|at|for|over)?\s*{_NUM}{_DASH}?{_UNIT}(?:\s+(?:after|later|from|following|of|since))?",
    re.IGNORECASE)

_MALE = {"man", "boy", "male", "gentleman", "son", "brother", "brothers", "father", "husband"}
_FEMALE = {"woman", "girl", "female", "lady", "daughter", "sister", "sisters", "mother", "wife"}
_MONTHS_PER = {"day": 1 / 30.44, "week": 7 / 30.44, "month": 1.0, "year": 12.0}


@dataclass(frozen=True, slots=True)
class FactMatch:
    label: str
    start: int
    end: int
    groups: dict[str, str | None]


def find_facts(text: str) -> Iterator[FactMatch]:
    for label, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            yield FactMatch(label, m.start(), m.end(), m.groupdict())


def number(value: str | None) -> float | None:
    if value is None:
        return None
    v = value.strip().lower().replace(",", ".")
    if v in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[v])
    try:
        return float(v)
    except ValueError:
        return None


def parse_value(label: str, text: str) -> float | str | None:
    """The value a fact span states: age in years, sex, CD4 cells/µL, patient count."""
    m = PATTERNS[label].search(text)
    if not m:
        return None
    g = m.groupdict()
    if label == "AGE":
        n = number(g.get("num") or g.get("num2"))
        unit = (g.get("unit") or g.get("unit2") or "year").lower()
        return None if n is None else round(n * _MONTHS_PER[unit] / 12.0, 2)
    if label == "SEX":
        word = (g.get("sex") or "").lower()
        return "male" if word in _MALE else "female" if word in _FEMALE else None
    if label == "CD4":
        n = number(g.get("num"))
        return None if n is None else int(round(n))
    if label == "PATIENT_COUNT":
        n = number(g.get("num"))
        return None if n is None else int(n)
    return text


def months_in(text: str) -> float | None:
    """The first duration in a sentence, in months ("8 months after" -> 8.0, "2-year" -> 24.0)."""
    for m in TIME.finditer(text):
        n, unit = number(m.group("num")), m.group("unit")
        if n is not None and unit:
            return round(n * _MONTHS_PER[unit.lower()], 1)
    return None
