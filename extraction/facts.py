"""Surface patterns for patient facts, outcomes and PML itself, with their value parsers.

Numbers with units are easier to get right with regular expressions than with token patterns;
the spaCy component (:mod:`extraction.components`) turns each match into a labelled span, and
case assembly reads the value back with :func:`parse_value` from the same pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WORDNUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
}
# a count or value as written: digits or an English number word (the one list every pattern uses)
NUMBER = r"\d{1,3}(?:\.\d+)?|" + "|".join(sorted(_WORDNUMBERS, key=len, reverse=True))
_NUM = rf"(?P<num>{NUMBER})"
_DASH = r"[-\u2010-\u2013 ]"
_UNIT = r"(?P<unit>day|week|month|year|mo|wk|yr)s?\b"
_UNIT2 = r"(?P<unit2>day|week|month|year|mo|wk|yr)s?\b"

_RANGE_DASH = r"(?:-|\u2010|\u2011|\u2012|\u2013|\u2014|to)"
_CD4_WORDS = (r"\bCD4(?!\d)\+?(?:\s*\+)?(?:[\s-]*T)?(?:[\s-]*(?:cell|lymphocyte)s?)?"
              r"(?:\s+(?:count|counts|level|number|cell\s+count))?")
# the number and its unit: cells/µL (= /mm3), or x 10^9/L (x1000), "0.09 G/L"
_CD4_VALUE = (r"(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:[.,]\d+)?)(?!\s*%|\d)\s*(?P<unit>cells?\s*/\s*(?:µ|u|μ)[lL]|cells?\s*/\s*mm(?:3|³)|"
              r"/\s*(?:µ|u|μ)[lL]|/\s*mm(?:3|³)|cells?\s+per\s+(?:µ|u|μ)[lL]|cells?\s+per\s+(?:cubic\s+)?mm|"
              r"(?:cells?\s*)?(?:x|×|\*)\s*10\s*(?:\^|E)?\s*\(?[69]\)?\s*(?:cells?\s*)?/\s*L|G\s*/\s*L)?")
JC_VIRUS = r"\bJC\s?(?:poly[o]?mavirus|virus)\b|\bJCP?yV\b|\bJCV\b"

PATTERNS: dict[str, re.Pattern[str]] = {
    # "a 34-year-old man", "a 15-month-old girl", "aged 7 years"
    # telegraphic notes: "M, 12 y", "22 y/o F" (the sex letter next to it says it is an age)
    "AGE": re.compile(
        rf"\b{_NUM}{_DASH}{_UNIT}{_DASH}old\b|\baged\s+(?P<num2>{NUMBER})(?:\s+{_UNIT2})?\b(?!\s*(?:and|-|to)\s*\d)"
        r"|(?-i:\b[MF]),\s*(?P<num3>\d{1,3})\s*(?:y|yo|y/o|yrs?|years?)\b|\b(?P<num4>\d{1,3})\s*(?:y/o|yo)\s+(?-i:[MF]\b)",
        re.IGNORECASE),
    # "a 44-year-old woman": an age that introduces a person, the cue for a new patient
    "INTRO": re.compile(
        rf"\b{_NUM}{_DASH}{_UNIT}{_DASH}old\s+(?:\w+\s+){{0,2}}?(?:man|woman|boy|girl|male|female|gentleman|lady|infant|"
        r"child|patient|son|daughter|brother|sister)\b", re.IGNORECASE),
    "SEX": re.compile(
        r"\b(?P<sex>man|woman|boy|girl|male|female|gentleman|lady|son|daughter|brothers?|sisters?|"
        r"mother|father|husband|wife)\b"
        r"|(?-i:\b(?P<abbr>[MF])),\s*\d{1,3}\s*(?:y|yo|y/o|yrs?|years?)\b|\b\d{1,3}\s*(?:y/o|yo)\s+(?-i:(?P<abbr2>[MF])\b)",
        re.IGNORECASE),
    # "CD4+ T-cell count of 112 cells/µL", "CD4 count 45/mm3", "CD4 cells: 80 /µl", "CD4+ T-cell count
    # decreased to 68/µL", "CD4 lymphopenia (140/µL)", "0.09 x 10^9/L CD4+ cells", "180-150 CD4+ cells/µL"
    "CD4": re.compile(
        rf"{_CD4_WORDS}(?:\s*[:=(,]|\s+(?:was|were|of|at|that|the|time|diagnosis|presentation|admission|baseline|initially|then|"
        r"had|has|fallen|fell|dropped|decreased|declined|increased|rose|risen|recovered|improved|to|from|remained|below|"
        r"only|approximately|about|around|low|reduced|"
        r"markedly|severely|depressed|very|"
        r"lymphopenia|lymphocytopenia|count|counts))*\s*"
        rf"{_CD4_VALUE}"
        rf"|(?<![\d.,])(?P<num_b>\d+(?:[.,]\d+)?)(?:\s*{_RANGE_DASH}\s*\d+(?:[.,]\d+)?)?\s*(?P<unit_b>x\s*10\s*\^?\s*\(?[69]\)?\s*/\s*L\s+)?"
        r"CD4(?!\d)\+?(?:[\s-]*T)?[\s-]*(?:cells?|lymphocytes?)(?:\s*(?P<unit_c>/\s*(?:µ|u|μ)[lL]|/\s*mm(?:3|³)|"
        r"per\s+(?:µ|u|μ)[lL]|per\s+(?:cubic\s+)?mm))?"
        # "(the CD4 count increased to 400/µL,) from 75/µL at PML diagnosis": a value anchored to the diagnosis
        r"|\bfrom\s+(?P<num_d>\d+)\s*(?:cells?\s*)?/\s*(?:(?:µ|u|μ)[lL]|mm(?:3|³))\s+at\s+(?:the\s+time\s+of\s+)?(?:PML\s+)?"
        r"(?:diagnosis|presentation|onset)"),
    "PML": re.compile(
        r"\bprogressive multifocal leu[ck]oencephalopathy\b|\bPML\b(?![- ]?(?:RAR|nuclear|bod|protein|gene))"
        rf"|{JC_VIRUS}", re.IGNORECASE),
    # death, or what only follows it (an autopsy)
    "DIED": re.compile(
        r"\b(?:died|dies|death|dead|deceased|succumbed|passed away|fatal outcome|expired|(?:was|proved|were) fatal|"
        r"autops(?:y|ies)|post[- ]?mortem|necropsy|(?<!potentially )(?<!often )(?<!usually )(?<!frequently )(?<!be )fatal)\b",
        re.IGNORECASE),
    # the patient's own survival: these words say it of a person
    "SURVIVED": re.compile(
        r"\b(?:alive|survived|survives|surviving|(?:was|were) discharged(?: home)?|long[- ]term survivors?)\b",
        re.IGNORECASE),
    # words that say survival only when their subject is the patient or the PML ("MRI remained stable",
    # "she improved"), not another disease ("the lymphadenopathy remained stable", "HLH improved")
    "STABLE": re.compile(
        r"\b(?:stable|stabili[sz](?:ed|ation)|improved|improvement|recovered|recovery|remission|cleared|clearance|"
        r"resolved|resolution)\b", re.IGNORECASE),
    # the outcome is not known from the text (palliative transfer, lost to follow-up)
    "NO_OUTCOME": re.compile(
        r"\b(?:hospice|palliative care|comfort care|best supportive care|lost to follow[- ]up|end[- ]of[- ]life care)\b",
        re.IGNORECASE),
    "IRIS": re.compile(r"\bimmune reconstitution inflammatory syndrome\b|\bIRIS\b"),
    # "two brothers", "three patients", "11 patients"
    "PATIENT_COUNT": re.compile(
        rf"\b{_NUM}\s+(?:(?:unrelated|related|consecutive|additional|new|male|female|pediatric|paediatric|"
        r"adult|young|family)\s+|(?!(?:of|with|and|in|were|had|patients|cases)\b)(?-i:[A-Z])[\w-]*\s+){0,2}"
        r"(?P<who>patients|pts|cases|brothers|sisters|siblings|children|adults|men|women|boys|girls|members)\b",
        re.IGNORECASE),
}
# "8 months after", "after 3 months", "at 2-year follow-up", "within 6 weeks"
TIME = re.compile(
    rf"\b(?:after|within|at|for|over)?\s*{_NUM}{_DASH}?{_UNIT}(?:\s+(?:after|later|from|following|of|since))?",
    re.IGNORECASE)

_MALE = {"man", "boy", "male", "gentleman", "son", "brother", "brothers", "father", "husband"}
_FEMALE = {"woman", "girl", "female", "lady", "daughter", "sister", "sisters", "mother", "wife"}
_MONTHS_PER = {"day": 1 / 30.44, "week": 7 / 30.44, "month": 1.0, "year": 12.0, "mo": 1.0, "wk": 7 / 30.44,
               "yr": 12.0}


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
    if v in _WORDNUMBERS:
        return float(_WORDNUMBERS[v])
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
        n = number(g.get("num") or g.get("num2") or g.get("num3") or g.get("num4"))
        unit = (g.get("unit") or g.get("unit2") or "year").lower()
        return None if n is None else round(n * _MONTHS_PER[unit] / 12.0, 2)
    if label == "SEX":
        abbr = g.get("abbr") or g.get("abbr2")
        if abbr:
            return "male" if abbr == "M" else "female"
        word = (g.get("sex") or "").lower()
        return "male" if word in _MALE else "female" if word in _FEMALE else None
    if label == "CD4":
        raw = g.get("num") or g.get("num_b") or g.get("num_d") or ""
        n = number(raw.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw) else raw)
        if n is None:
            return None
        unit = (g.get("unit") or g.get("unit_b") or "").replace(" ", "")
        if "10" in unit or unit.upper().startswith("G/"):
            n *= 1000  # 10^9/L -> /µL
        return int(round(n))
    if label == "PATIENT_COUNT":
        n = number(g.get("num"))
        return None if n is None else int(n)
    return text


def months_per(unit: str) -> float:
    """Months in one ``unit`` as written ("weeks", "mo", "yr", "y"): the one unit table."""
    u = unit.lower().rstrip("s") or "month"
    return _MONTHS_PER.get(u) or _MONTHS_PER[{"d": "day", "w": "week", "m": "month", "y": "year"}[u[0]]]


def months_in(text: str) -> float | None:
    """The first duration in a sentence, in months ("8 months after" -> 8.0, "2-year" -> 24.0)."""
    for m in TIME.finditer(text):
        n, unit = number(m.group("num")), m.group("unit")
        if n is not None and unit:
            return round(n * _MONTHS_PER[unit.lower()], 1)
    return None
