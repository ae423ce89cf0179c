"""Abbreviations defined in the text ("idiopathic CD4 lymphopenia (ICL)"), after Schwartz & Hearst.

Schwartz AS, Hearst MA. A simple algorithm for identifying abbreviation definitions in
biomedical text. Pac Symp Biocomput 2003:451-62. The short form is the text in parentheses
(2-10 characters, with a letter); its long form is the shortest word sequence before the
parenthesis whose characters contain the short form's letters in order, the first letter
starting a word. Once found, every occurrence of the short form takes the entity its long form
was recognised as, which is how "ICL", "XLA" or "APDS" get labelled and normalised, and how a
short form another source read differently ("IRIS" as a gene) is set right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span

_PAREN = re.compile(r"\(([^()]{2,10})\)")

if not Doc.has_extension("abbreviations"):
    Doc.set_extension("abbreviations", default=None)


@dataclass(frozen=True, slots=True)
class Abbreviation:
    short: str
    long: str
    short_start: int  # character offsets of the definition
    long_start: int


def find_abbreviations(text: str) -> list[Abbreviation]:
    found = []
    for m in _PAREN.finditer(text):
        short = m.group(1).strip()
        if not _plausible_short_form(short):
            continue
        before = text[: m.start()].rstrip()
        words = before.split()
        window = words[-min(len(short) + 5, len(short) * 2):]
        candidate = " ".join(window)
        long = _best_long_form(short, candidate)
        if long and len(long) > len(short) and short.lower() not in long.lower().split():
            found.append(Abbreviation(short, long, m.start(1) + m.group(1).index(short), len(before) - len(long)))
    return found


def _plausible_short_form(short: str) -> bool:
    return (any(c.isalpha() for c in short) and short[0].isalnum() and len(short.split()) <= 2
            and not short.lower().startswith(("e.g", "i.e", "see", "n =", "n=", "p ", "p<", "p=")))


def _best_long_form(short: str, long: str) -> str | None:
    s, l_ = len(short) - 1, len(long) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while l_ >= 0 and (long[l_].lower() != c or (s == 0 and l_ > 0 and long[l_ - 1].isalnum())):
            l_ -= 1
        if l_ < 0:
            return None
        l_ -= 1
        s -= 1
    start = long.rfind(" ", 0, l_ + 1) + 1
    return long[start:]


@Language.component("pmlkg_abbreviations")
def abbreviations(doc: Doc) -> Doc:
    """Record definitions on ``doc._.abbreviations`` and label later short forms like their long forms."""
    text = doc.text
    pairs = find_abbreviations(text)
    doc._.abbreviations = [(a.short, a.long, a.short_start, a.long_start) for a in pairs]
    if not pairs:
        return doc
    ents = list(doc.ents)
    by_end = {(e.start_char, e.end_char): e for e in ents}
    by_start = {e.start: e for e in ents}
    taken = set()
    for e in ents:
        taken.update(range(e.start, e.end))
    added: list[Span] = []
    relabelled: dict[int, Span] = {}
    for a in pairs:
        long_end = a.long_start + len(a.long)
        source = by_end.get((a.long_start, long_end)) or next(
            (e for e in ents if e.start_char <= a.long_start and e.end_char >= long_end - 1
             and e.end_char <= long_end + 1), None)
        if source is None:
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(a.short)}(?![\w-])", text):
            span = doc.char_span(m.start(), m.end())
            if span is None:
                continue
            own = by_start.get(span.start)
            if own is not None and own.end == span.end and own is not source \
                    and (own.label_, own.kb_id_) != (source.label_, source.kb_id_):
                # "immune reconstitution inflammatory syndrome (IRIS)": a model that reads IRIS as a
                # gene (an HGNC alias of BRCA1) is overruled by what the text defines it as
                relabelled[own.start] = Span(doc, own.start, own.end, label=source.label_, kb_id=source.kb_id_)
                continue
            if any(i in taken for i in range(span.start, span.end)):
                continue
            added.append(Span(doc, span.start, span.end, label=source.label_, kb_id=source.kb_id_))
            taken.update(range(span.start, span.end))
    if added or relabelled:
        ents = [relabelled.get(e.start, e) if relabelled.get(e.start) is not None and e.end == relabelled[e.start].end
                else e for e in ents]
        doc.set_ents(sorted(ents + added, key=lambda s: s.start), default="unmodified")
    return doc
