"""Abbreviations defined in the text ("idiopathic CD4 lymphopenia (ICL)"), after Schwartz & Hearst.

Schwartz AS, Hearst MA. A simple algorithm for identifying abbreviation definitions in
biomedical text. Pac Symp Biocomput 2003:451-62. The short form is the text in parentheses
(2-10 characters, with a letter); its long form is the shortest word sequence before the
parenthesis whose characters contain the short form's letters in order, the first letter
starting a word. Once found, every occurrence of the short form takes the entity its long form
was recognised as, which is how "ICL", "XLA" or "APDS" get labelled and normalised, and how a
short form another source read differently ("IRIS" as a gene) is set right. A drug abbreviation
of the dictionary that the abstract defines as something the dictionary does not know, sharing
no word with it ("assisted reproductive technology (ART)", not antiretroviral therapy), is dropped.
"""

from __future__ import annotations

import itertools

import re
from collections.abc import Callable
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


def _occurrences(doc: Doc, short: str) -> list[Span]:
    """Every token-aligned occurrence of a short form, the definition's own included."""
    spans = (doc.char_span(m.start(), m.end()) for m in re.finditer(rf"(?<![\w-]){re.escape(short)}(?![\w-])", doc.text))
    return [s for s in spans if s is not None]


def _join_split_long_forms(doc: Doc, pairs: list[Abbreviation]) -> list[Span]:
    """The entities, with each long form that two or more entities of one label tile exactly
    (nothing but spaces between them) replaced by one entity over the whole long form."""
    ents = list(doc.ents)
    for a in pairs:
        start, end = a.long_start, a.long_start + len(a.long)
        inside = [e for e in ents if start <= e.start_char and e.end_char <= end]
        if len(inside) < 2 or len({e.label_ for e in inside}) != 1 or inside[0].start_char != start \
                or inside[-1].end_char != end:
            continue
        if any(doc.text[x.end_char: y.start_char].strip() for x, y in itertools.pairwise(inside)):
            continue
        ids = {e.kb_id_ for e in inside}
        joined = Span(doc, inside[0].start, inside[-1].end, label=inside[0].label_,
                      kb_id=ids.pop() if len(ids) == 1 else "")
        joined._.source = inside[0]._.source
        ents = sorted([e for e in ents if e not in inside] + [joined], key=lambda e: e.start)
    return ents


# Words a definition shares with any drug name, which say nothing about which drug it is.
_GENERIC = frozenset({"therapy", "therapie", "treatment", "agent", "drug", "medication", "regimen", "the", "of",
                      "and", "with", "in", "for", "to", "a", "an"})


def _disowned(pairs: list[Abbreviation], ents: list[Span], lexicon: object) -> set[int]:
    """Starts of dictionary drug entities on a short form that the text defines as something else.

    The long form must be recognised as no entity and share no word (minus generic ones) with
    any form of the entity's record: "assisted reproductive technology (ART)" is not the
    antiretroviral-therapy class; "intravenous immune globulins (IVIG)" would keep IVIG.
    """
    form_words = getattr(lexicon, "form_words", None)
    if form_words is None:
        return set()
    dropped: set[int] = set()
    spans = [(e.start_char, e.end_char) for e in ents]
    for a in pairs:
        long_end = a.long_start + len(a.long)
        if any(s < long_end and a.long_start < e for s, e in spans):
            continue  # the long form (or part of it) is an entity: the usual inheritance applies
        long_words = {w.removesuffix("s") for w in re.findall(r"[^\W_]+", a.long.casefold())} - _GENERIC
        for e in ents:
            if e.text == a.short and e.label_ in ("DRUG", "DRUG_CLASS") and e._.source == "dictionary" \
                    and not long_words & form_words(e.label_, e.kb_id_):
                dropped.add(e.start)
    return dropped


@Language.factory("pmlkg_abbreviations", default_config={"lexicon_component": "pmlkg_lexicon_ner"})
def make_abbreviations(nlp: Language, name: str, lexicon_component: str) -> Callable[[Doc], Doc]:
    def component(doc: Doc) -> Doc:
        lexicon = nlp.get_pipe(lexicon_component) if lexicon_component in nlp.pipe_names else None
        return abbreviations(doc, lexicon)
    return component


def abbreviations(doc: Doc, lexicon: object = None) -> Doc:
    """Record definitions on ``doc._.abbreviations``; give every short form its long form's entity.

    A short form another source read differently is overruled by what the text defines it as
    ("immune reconstitution inflammatory syndrome (IRIS)": the syndrome, where the long form is
    recognised). A long form a model split into pieces of one label ("immune reconstitution" +
    "inflammatory syndrome") is joined into one entity first: the definition says it is one term.
    Where no source recognised the long form, the short form keeps what it has, unless it is a
    dictionary drug the definition disowns (``_disowned``; needs the ``lexicon`` component).
    """
    pairs = find_abbreviations(doc.text)
    doc._.abbreviations = [(a.short, a.long, a.short_start, a.long_start) for a in pairs]
    if not pairs:
        return doc
    ents = _join_split_long_forms(doc, pairs)
    disowned = _disowned(pairs, ents, lexicon) if lexicon is not None else set()
    if disowned:
        ents = [e for e in ents if e.start not in disowned]
    by_end = {(e.start_char, e.end_char): e for e in ents}
    by_start = {e.start: e for e in ents}
    taken = {i for e in ents for i in range(e.start, e.end)}
    added: list[Span] = []
    relabelled: dict[int, Span] = {}
    for a in pairs:
        long_end = a.long_start + len(a.long)
        source = by_end.get((a.long_start, long_end)) or next(
            (e for e in ents if e.start_char <= a.long_start and e.end_char >= long_end - 1
             and e.end_char <= long_end + 1), None)
        if source is None:
            continue
        for span in _occurrences(doc, a.short):
            own = by_start.get(span.start)
            if own is not None and own.end == span.end:
                if own is not source and (own.label_, own.kb_id_) != (source.label_, source.kb_id_):
                    relabelled[own.start] = Span(doc, own.start, own.end, label=source.label_, kb_id=source.kb_id_)
            elif not any(i in taken for i in range(span.start, span.end)):
                added.append(Span(doc, span.start, span.end, label=source.label_, kb_id=source.kb_id_))
                taken.update(range(span.start, span.end))
    if added or relabelled or len(ents) != len(doc.ents):
        kept = [relabelled.get(e.start, e) for e in ents]
        doc.set_ents(sorted(kept + added, key=lambda s: s.start), default="outside")
        changed = {s.start for s in added} | set(relabelled)
        for ent in doc.ents:
            if ent.start in changed:
                ent._.source = "abbreviation"
    return doc
