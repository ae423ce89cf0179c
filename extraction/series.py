"""A series' group facts: how many patients got each drug, died or survived, medians and ranges.

A series abstract states its facts about groups, in shapes a case report never uses: distributive
counts ("rituximab in 3 patients, cyclophosphamide in 5, methotrexate and azathioprine in one
patient each"), "all but one patient died", "7 (64%) died", "median 8 months (range 2-30)", "all
were male", "9 men and 2 women". Each shape below reads one of them off a sentence; every fact
keeps the sentence it came from. Counts are patients, never mentions; a fact the abstract does
not state stays ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pmlkg.extraction.facts import NUMBER, months_per, number
from pmlkg.extraction.records import Evidence, SeriesFacts, Summary


def _k(name: str = "k") -> str:
    """A count as a named group (a regex may name each group once, so alternatives take their own)."""
    return rf"(?P<{name}>{NUMBER}|an?|a single|both|all)"


_K = _k()
_PCT = r"(?:\s*\(\s*\d+(?:\.\d+)?\s*%\s*\))?"
_OF_M = rf"(?:\s*(?:of|/|out of)\s*(?:the\s+|these\s+)?(?:{NUMBER}))?"
_WHO = r"(?:\s+(?:patients?|cases?|subjects?|individuals?|children|adults|men|women))?"
_DASH = r"\s*(?:-|\u2010|\u2011|\u2012|\u2013|\u2014|to)\s*"
_VALUE = r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w+])"
_RANGE = rf"(?:range[:,]?\s*|ranging from\s*|from\s*)?(?P<lo>{_VALUE}){_DASH}(?P<hi>{_VALUE})"
_UNIT = r"(?P<unit>days?|weeks?|months?|years?|mo\b|yrs?\b|y\b)"
_OTHER_UNIT = r"(?:cells?\s*)?/\s*(?:µ|u|μ)[lL]|(?:cells?\s*)?/\s*mm(?:3|³)|cells?(?:\s+per\s+\S+)?"

# a count right after a drug mention: "in 3 patients", "in 3 of 11", "(n = 3)", "(3/11)", "(27%) ... in 3"
_COUNT_AFTER = re.compile(
    rf"^\s*(?:\(\s*(?:n\s*=\s*)?(?P<paren>\d{{1,3}})(?:\s*/\s*\d+)?(?:\s*[,;]\s*\d+(?:\.\d+)?\s*%)?\s*\)"
    rf"|(?:,\s*)?(?:(?:had\s+been|was|were|has\s+been)\s+(?:given|used|administered|received|prescribed)\s+)?"
    rf"(?:in|to|for)\s+{_K}{_PCT}{_OF_M}{_PCT}{_WHO}(?P<each>\s+each)?\b)",
    re.IGNORECASE)
# a count before the drug: "3 patients had received", "3 of 11 (27%) were treated with", "six had received"
_COUNT_BEFORE = re.compile(
    rf"\b{_K}{_OF_M}{_PCT}{_WHO}\s+(?:had\s+)?(?:previously\s+|also\s+|all\s+)?"
    r"(?:received|been\s+(?:treated|exposed|given)|were\s+(?:treated|exposed|receiving|given|on|started\s+on|switched\s+to)|"
    r"had\s+been\s+(?:treated|exposed|given)|were\s+taking|took|used)(?:\s+with)?\s+(?:[\w-]+\s+){0,3}$",
    re.IGNORECASE)
# a list that carries a count forward to the drug named just before: "X and Y in one patient each"
_JOINED = re.compile(r"^\s*(?:,|and|or|,\s*and|\+|/|plus|with|together with|combined with|and/or)\s*$", re.IGNORECASE)
# "six had received rituximab and three cyclophosphamide": an ellipsis in a list of counts
_ELLIPSIS = re.compile(rf"(?:\band|,)\s+{_K}{_OF_M}{_PCT}{_WHO}\s+$", re.IGNORECASE)

_DIED = re.compile(
    rf"\b(?:(?P<all_but>all\s+but\s+{_k('k_but')}){_WHO}|(?P<all>all|every|both)(?:\s+(?:of\s+)?(?:the|these|our))?{_WHO}"
    rf"|(?P<none>none|no)(?:\s+(?:of\s+)?(?:the|these|our))?{_WHO}|{_K}{_OF_M}{_PCT}{_WHO}{_PCT})"
    r"(?:\s+(?:patients?|cases?))?\s+(?:\w+\s+){0,2}?(?:died|succumbed|deceased|had died|were dead|have died)\b",
    re.IGNORECASE)
_DEATHS = re.compile(rf"\b{_K}{_PCT}\s+(?:deaths|fatalities|fatal cases)\b"
                     rf"|\b(?:death|fatal outcome)s?\s+(?:occurred\s+)?in\s+{_k('k_in')}{_OF_M}{_PCT}{_WHO}"
                     rf"|\bwas\s+fatal\s+in\s+{_k('k_f')}{_OF_M}{_WHO}"
                     r"|\b(?:died|deaths?)\s*\(\s*n\s*=\s*(?P<k_eq>\d+)\s*\)", re.IGNORECASE)
# "mortality was 75%": a share of the series, a count only when it is a whole number of patients
_MORTALITY = re.compile(r"\bmortality(?:\s+rate)?(?:\s+(?:was|of|reached|:))?\s*(?P<pct>\d+(?:\.\d+)?)\s*%", re.IGNORECASE)
_SURVIVED = re.compile(
    rf"\b(?:(?P<all_but>all\s+but\s+{_k('k_but')}){_WHO}|(?P<all>all|every|both)(?:\s+(?:of\s+)?(?:the|these|our))?{_WHO}"
    rf"|(?P<none>none|no)(?:\s+(?:of\s+)?(?:the|these|our))?{_WHO}|{_K}{_OF_M}{_PCT}{_WHO}{_PCT}"
    r"|(?P<rest>the\s+(?:remaining|other|rest)(?:\s+\w+)?|the\s+others))"
    r"(?:\s+(?:patients?|cases?))?\s+(?:\w+\s+){0,2}?(?:survived|(?:were\s+|are\s+|remain(?:ed)?\s+|still\s+)?alive|"
    r"were\s+survivors|recovered|stabili[sz]ed|improved)\b",
    re.IGNORECASE)
# "the survivor underwent HSCT", "the two survivors": the survivors named as such
_SURVIVORS = re.compile(rf"\b(?:the|all(?:\s+the)?)\s+(?:(?P<one>sole|only|single|one)\s+)?(?:{_k('k_s')}\s+)?survivors?\b"
                        rf"|\b{_k('k_n')}{_PCT}\s+(?:long[- ]term\s+)?survivors\b|\bsurvivors\s*\(\s*n\s*=\s*(?P<k_eq>\d+)\s*\)",
                        re.IGNORECASE)
_OUTCOME_TIME = re.compile(r"\b(?:surviv\w*|death|died|follow[- ]up|outcome|fatal|mortality)\b", re.IGNORECASE)
_MEDIAN = re.compile(
    rf"\b(?P<kind>median|mean|average)\b[^.;()]{{0,60}}?(?P<value>{_VALUE})\s*(?:{_UNIT}|{_OTHER_UNIT})?"
    rf"(?:\s*(?:\(|,|;)\s*(?:{_RANGE})\s*{_UNIT.replace('unit', 'unit2')}?\s*\)?)?",
    re.IGNORECASE)
_AGE = re.compile(r"\b(?:age[sd]?|years? old)\b", re.IGNORECASE)
# a range without a median ("CD4 counts ranged from 60 to 290 cells/µL"), or the two values of a
# series of two ("aged 48 and 66 years", "CD4 counts were 85 and 130 cells/µL")
_SPAN_ONLY = re.compile(
    rf"\b(?:(?:ranged?|ranging)\s+(?:from\s+|between\s+)?|(?:were|of|aged)\s+)(?P<lo>{_VALUE})\s*"
    rf"(?:-|\u2013|\u2014|to|and)\s*(?P<hi>{_VALUE})\s*(?:{_UNIT}|{_OTHER_UNIT})?", re.IGNORECASE)
_CD4 = re.compile(r"\bCD4", re.IGNORECASE)
_ALL_SEX = re.compile(
    r"\b(?:all(?:\s+(?:of\s+)?(?:the|these|our))?(?:\s+(?:patients|cases|subjects))?\s+(?:were|are)\s+"
    r"(?P<sex>male|female|men|women|boys|girls)|all\s+(?P<sex2>male|female)\b(?:\s+patients)?)",
    re.IGNORECASE)
_SEX_COUNT = re.compile(
    rf"\b(?P<k>{NUMBER}){_PCT}\s+(?P<were>(?:patients\s+)?were\s+)?(?P<sex>males?|females?|men|women|boys|girls)\b", re.IGNORECASE)
# "(3 F, 1 M)": the letters of a telegraphic note
# "two cases of PML in HIV-negative women": the series' own noun says the sex of all
_SEX_OF_ALL = re.compile(r"\b(?:cases?|patients)\s+of\s+(?:\w+\s+){0,3}?in\s+(?:[\w-]+\s+){0,2}"
                         r"(?P<sex>women|men|boys|girls|females|males)\b", re.IGNORECASE)
_SEX_LETTERS = re.compile(r"(?<![\w.])(?P<a>\d+)\s*(?-i:(?P<sa>[MF]))\s*[,/;:]\s*(?P<b>\d+)\s*(?-i:(?P<sb>[MF]))\b")
# "63% were male": a share, a count only when it is a whole number of patients
_SEX_SHARE = re.compile(r"\b(?P<pct>\d+(?:\.\d+)?)\s*%\s+(?:(?:of\s+)?(?:the\s+)?patients\s+)?(?:were\s+)?"
                        r"(?P<sex>male|female|men|women)\b", re.IGNORECASE)
_SEX_RATIO = re.compile(
    r"\b(?:male\s*(?::|/|to)\s*female|M\s*(?::|/)\s*F|sex)(?:\s+ratio)?(?:\s+(?:of|was|=))?\s*(?P<m>\d+)\s*(?::|/)\s*(?P<f>\d+)",
    re.IGNORECASE)
_PUBLISHED = re.compile(
    rf"\b{_K}\s+(?:(?:additional|other|further)\s+)?(?:previously\s+(?:published|reported|described)|published|reported|"
    r"literature)\s+(?:patients|cases)\b"
    rf"|\b{_k('k2')}\s+(?:(?:additional|other|further)\s+)?(?:patients|cases)\s+(?:(?:have\s+been|were|had\s+been)\s+)?"
    r"(?:previously\s+)?(?:published|reported|described)(?:\s+(?:in|from)\s+the\s+literature)?\b"
    rf"|\b{_k('k3')}\s+(?:(?:additional|other|further)\s+)?(?:patients|cases)\s+(?:from|in)\s+the\s+literature\b"
    rf"|\breview\s+of\s+(?:the\s+)?(?:literature|published\s+(?:cases|reports))\s+(?:identified|found|yielded|revealed)\s+"
    rf"{_k('k4')}\s+(?:(?:additional|other|further)\s+)?(?:patients|cases)\b",
    re.IGNORECASE)
_MALE = {"male", "males", "men", "boys"}


@dataclass(frozen=True, slots=True)
class DrugMention:
    """A normalised drug mention in a sentence: its key and character offsets in the document."""

    drug: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: int  # document offset of text[0]
    drugs: tuple[DrugMention, ...] = ()


def _count(value: str | None, size: int | None = None) -> int | None:
    """A count as written; "both" and "all" are the whole series (``size``)."""
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("a", "an", "a single"):
        return 1
    if v in ("both", "all"):
        return size
    n = number(v)
    return None if n is None else int(n)


EVIDENCE_CHARS = 1000  # as extraction.cases: a longer "sentence" is cut to a window around the fact


def _evidence(sent: Sentence, start: int, end: int) -> Evidence:
    """The fact's sentence (a window of it when over EVIDENCE_CHARS) with document offsets."""
    lo, hi = 0, len(sent.text)
    if hi > EVIDENCE_CHARS:
        lo = max(0, start - EVIDENCE_CHARS // 2)
        hi = min(len(sent.text), lo + EVIDENCE_CHARS)
    window = sent.text[lo:hi]
    text = window.strip()
    return Evidence(sentence=text, sentence_start=sent.start + lo + len(window) - len(window.lstrip()),
                    start=sent.start + start, end=sent.start + end)


def series_facts(sentences: Sequence[Sentence], size: int) -> SeriesFacts:
    """Read the group facts of a series of ``size`` patients off its sentences (title first)."""
    facts = SeriesFacts()
    for sent in sentences:
        _drug_counts(sent, facts, size)
        _outcomes(sent, facts, size)
        _summaries(sent, facts)
        _sex(sent, facts, size)
        m = _PUBLISHED.search(sent.text)
        if m and facts.previously_published is None:
            facts.previously_published = _count(m.group("k") or m.group("k2") or m.group("k3") or m.group("k4"))
            facts.evidence["previously_published"] = _evidence(sent, m.start(), m.end())
    if facts.died is not None and facts.survived is None and facts.died == 0 and "died" in facts.evidence:
        facts.survived = size  # "none died"
    return facts


def _drug_counts(sent: Sentence, facts: SeriesFacts, size: int) -> None:
    """Per-drug patient counts. A count after a drug also belongs to the drugs listed just before
    it ("methotrexate and azathioprine in one patient each"); a count before a drug ("3 patients
    had received") covers it and the drugs joined to it."""
    drugs = sorted(sent.drugs, key=lambda d: d.start)
    counts: list[int | None] = [None] * len(drugs)
    for i, d in enumerate(drugs):
        lo = d.end - sent.start
        hi = drugs[i + 1].start - sent.start if i + 1 < len(drugs) else len(sent.text)
        m = _COUNT_AFTER.match(sent.text[lo:hi])
        if m:
            k = _count(m.group("paren") or m.group("k"), size)
            counts[i] = k
            j = i - 1  # the drugs joined to this one share its count
            while j >= 0 and counts[j] is None and _joined(sent, drugs[j], drugs[j + 1]):
                counts[j] = k
                j -= 1
    for i, d in enumerate(drugs):
        if counts[i] is not None:
            continue
        lo = drugs[i - 1].end - sent.start if i > 0 else 0
        before = sent.text[lo: d.start - sent.start]
        m = _ELLIPSIS.search(before) or _COUNT_BEFORE.search(before)
        if m:
            counts[i] = _count(m.group("k"), size)
        elif i > 0 and counts[i - 1] is not None and _joined(sent, drugs[i - 1], d):
            counts[i] = counts[i - 1]  # "3 patients had received rituximab and cyclophosphamide"
    for d, k in zip(drugs, counts, strict=True):
        if k is not None and 0 < k <= size and d.drug not in facts.drug_counts:
            facts.drug_counts[d.drug] = k
            facts.evidence[f"drug:{d.drug}"] = _evidence(sent, d.start - sent.start, d.end - sent.start)


def _joined(sent: Sentence, left: DrugMention, right: DrugMention) -> bool:
    """Two drugs of one list ("X and Y"), or two drugs of one mention (a regimen's components)."""
    if (left.start, left.end) == (right.start, right.end):
        return True
    return bool(_JOINED.match(sent.text[left.end - sent.start: right.start - sent.start]))


def _group_count(m: re.Match[str], size: int, *, rest_of: int | None = None) -> int | None:
    g = m.groupdict()
    if g.get("all_but"):
        k = _count(g.get("k_but"))
        return None if k is None else size - k
    if g.get("all"):
        return size
    if g.get("none"):
        return 0
    if g.get("rest"):
        return None if rest_of is None else size - rest_of
    return _count(g.get("k") or g.get("k_in") or g.get("k_f") or g.get("k_eq"), size)


def _outcomes(sent: Sentence, facts: SeriesFacts, size: int) -> None:
    if facts.died is None:
        m = _DIED.search(sent.text) or _DEATHS.search(sent.text)
        if m:
            k = _group_count(m, size)
            if k is not None and 0 <= k <= size:
                facts.died = k
                facts.evidence["died"] = _evidence(sent, m.start(), m.end())
                if m.groupdict().get("all_but") and facts.survived is None:
                    facts.survived = size - k  # "all but one died": the one did not
                    facts.evidence["survived"] = facts.evidence["died"]
        else:
            m = _MORTALITY.search(sent.text)
            share = float(m.group("pct")) * size / 100 if m else -1.0
            if m and abs(share - round(share)) < 0.06:  # "75%" of 8 is 6; "70%" of 8 is no count
                facts.died = int(round(share))
                facts.evidence["died"] = _evidence(sent, m.start(), m.end())
    if facts.survived is None:
        m = _SURVIVORS.search(sent.text)
        if m:
            stated = m.group("k_s") or m.group("k_n") or m.group("k_eq")
            singular = m.group("one") or not m.group(0).lower().endswith("survivors")
            k = _count(stated, size) if stated else 1 if singular else None  # "the survivors": how many?
            if k is not None and 0 <= k <= size:
                facts.survived = k
                facts.evidence["survived"] = _evidence(sent, m.start(), m.end())
                return
        m = _SURVIVED.search(sent.text)
        if m:
            k = _group_count(m, size, rest_of=facts.died)
            if k is not None and 0 <= k <= size:
                facts.survived = k
                facts.evidence["survived"] = _evidence(sent, m.start(), m.end())
                if facts.died is None and m.groupdict().get("all"):
                    facts.died = 0


def _summary(m: re.Match[str]) -> Summary:
    def val(name: str) -> float | None:
        v = m.group(name)
        return number(v)

    kind = "mean" if m.group("kind").lower() in ("mean", "average") else "median"
    return Summary(median=val("value"), low=val("lo"), high=val("hi"), kind=kind)  # type: ignore[arg-type]


def _in_months(summary: Summary, unit: str | None) -> Summary:
    per = months_per(unit or "month")

    def conv(v: float | None) -> float | None:
        return None if v is None else round(v * per, 1)

    return Summary(median=conv(summary.median), low=conv(summary.low), high=conv(summary.high), kind=summary.kind)


def _summaries(sent: Sentence, facts: SeriesFacts) -> None:
    """Medians (or means) with ranges, assigned by what the words before them measure."""
    for m in _MEDIAN.finditer(sent.text):
        lead = sent.text[max(0, m.start() - 40): m.start("value")]
        unit = m.group("unit") or m.group("unit2")
        if _CD4.search(lead) and facts.cd4_per_ul is None:
            facts.cd4_per_ul = _summary(m)
            facts.evidence["cd4_per_ul"] = _evidence(sent, m.start(), m.end())
        elif _AGE.search(lead) and facts.age_years is None:
            s = _summary(m)
            if unit and unit.lower().startswith("m"):
                s = Summary(*(None if v is None else round(v / 12, 2) for v in (s.median, s.low, s.high)), kind=s.kind)
            facts.age_years = s
            facts.evidence["age_years"] = _evidence(sent, m.start(), m.end())
        elif _OUTCOME_TIME.search(sent.text[max(0, m.start() - 80): m.end()]) and unit \
                and facts.months_to_outcome is None and not _AGE.search(lead):
            facts.months_to_outcome = _in_months(_summary(m), unit)
            facts.evidence["months_to_outcome"] = _evidence(sent, m.start(), m.end())
    for m in _SPAN_ONLY.finditer(sent.text):
        lead = sent.text[max(0, m.start() - 50): m.start("lo")]
        summary = Summary(median=None, low=number(m.group("lo")), high=number(m.group("hi")), kind="median")
        if _CD4.search(lead) and facts.cd4_per_ul is None:
            facts.cd4_per_ul = summary
            facts.evidence["cd4_per_ul"] = _evidence(sent, m.start(), m.end())
        elif _AGE.search(lead + m.group(0)[:6]) and facts.age_years is None:
            facts.age_years = summary
            facts.evidence["age_years"] = _evidence(sent, m.start(), m.end())


def _sex(sent: Sentence, facts: SeriesFacts, size: int) -> None:
    if facts.sex:
        return
    m = _ALL_SEX.search(sent.text) or _SEX_OF_ALL.search(sent.text)
    if m:  # every patient of one sex: "all were male", "two cases of PML in women"
        word = (m.group("sex") or m.groupdict().get("sex2") or "").lower()
        facts.sex = {"male": size, "female": 0} if word in _MALE else {"male": 0, "female": size}
        facts.evidence["sex"] = _evidence(sent, m.start(), m.end())
        return
    m = _SEX_LETTERS.search(sent.text)
    if m and m.group("sa") != m.group("sb"):
        counts = {m.group("sa"): int(m.group("a")), m.group("sb"): int(m.group("b"))}
        facts.sex = {"male": counts["M"], "female": counts["F"]}
        facts.evidence["sex"] = _evidence(sent, m.start(), m.end())
        return
    m = _SEX_SHARE.search(sent.text)
    share = float(m.group("pct")) * size / 100 if m else -1.0
    if m and abs(share - round(share)) < 0.06:
        k = int(round(share))
        male = m.group("sex").lower() in _MALE
        facts.sex = {"male": k if male else size - k, "female": size - k if male else k}
        facts.evidence["sex"] = _evidence(sent, m.start(), m.end())
        return
    m = _SEX_RATIO.search(sent.text)
    if m and int(m.group("m")) + int(m.group("f")) == size:  # "2:1" of 12 is a ratio, not counts
        facts.sex = {"male": int(m.group("m")), "female": int(m.group("f"))}
        facts.evidence["sex"] = _evidence(sent, m.start(), m.end())
        return
    found: dict[str, int] = {}
    spans = []
    for m in _SEX_COUNT.finditer(sent.text):
        k = _count(m.group("k"))
        if k is not None and k <= size:
            found.setdefault("male" if m.group("sex").lower() in _MALE else "female", k)
            spans.append(m)
    if found:
        if len(found) == 1 and spans[0].group("were"):  # "seven were female": the rest are the other sex
            (only, k), = found.items()
            found["female" if only == "male" else "male"] = size - k
        if sum(found.values()) <= size:  # what is stated ("4 female"), not what it might imply
            facts.sex = found
            facts.evidence["sex"] = _evidence(sent, spans[0].start(), spans[-1].end())
