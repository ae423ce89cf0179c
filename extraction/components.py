"""spaCy pipeline components of the rules pipeline (registered on import, as spaCy expects).

- ``pmlkg_line_breaks``: abstract sections and the title are separate sentences.
- ``pmlkg_lexicon_ner``: longest-match dictionary NER over token-aligned character spans; one
  dict lookup per candidate, so 100k+ drug variants cost nothing at load or run time.
- ``pmlkg_facts``: regex facts (age, sex, CD4, outcome, PML mentions) as ``doc.spans["facts"]``.
- ``pmlkg_context``: NegEx-style negation and hedging on entities, within the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import ensure_path

from extraction.facts import find_facts
from extraction.lexicons import Term

for _attr in ("negated", "hedged"):
    if not Span.has_extension(_attr):
        Span.set_extension(_attr, default=False)


@Language.component("pmlkg_line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """Start a sentence after every newline: the title has no full stop of its own."""
    for tok in doc[:-1]:
        if "\n" in tok.text or "\n" in tok.whitespace_:
            doc[tok.i + 1].is_sent_start = True
    return doc


@Language.factory("pmlkg_lexicon_ner", default_config={"max_tokens": 12})
def make_lexicon_ner(nlp: Language, name: str, max_tokens: int) -> "LexiconNER":
    return LexiconNER(name, max_tokens=max_tokens)


class LexiconNER:
    """Dictionary NER: exact-case terms (symbols, abbreviations) win over case-folded names."""

    def __init__(self, name: str = "pmlkg_lexicon_ner", *, max_tokens: int = 12):
        self.name = name
        self.max_tokens = max_tokens
        self.exact: dict[str, tuple[str, str]] = {}
        self.folded: dict[str, tuple[str, str]] = {}

    def add_terms(self, terms: Iterable[Term]) -> None:
        for t in terms:
            text = " ".join(t.text.split())
            if not text:
                continue
            if t.case_sensitive:
                self.exact.setdefault(text, (t.label, t.id))
            else:
                self.folded.setdefault(text.lower(), (t.label, t.id))

    def __len__(self) -> int:
        return len(self.exact) + len(self.folded)

    def lookup(self, text: str) -> tuple[str, str] | None:
        return self.exact.get(text) or self.folded.get(text.lower())

    def __call__(self, doc: Doc) -> Doc:
        text, n = doc.text, len(doc)
        spans: list[Span] = []
        i = 0
        while i < n:
            first = doc[i]
            if first.is_space or first.is_punct:
                i += 1
                continue
            hit = None
            for j in range(min(n, i + self.max_tokens) - 1, i - 1, -1):
                last = doc[j]
                candidate = text[first.idx: last.idx + len(last)]
                if "\n" in candidate:
                    continue
                found = self.lookup(" ".join(candidate.split()) if "  " in candidate else candidate)
                if found:
                    hit = (j, found)
                    break
            if hit is None:
                i += 1
                continue
            j, (label, kb_id) = hit
            spans.append(Span(doc, i, j + 1, label=label, kb_id=kb_id))
            i = j + 1
        doc.set_ents(spans, default="unmodified")
        return doc

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / "terms.tsv").open("w", encoding="utf-8") as f:
            for cs, table in ((1, self.exact), (0, self.folded)):
                for text, (label, kb_id) in sorted(table.items()):
                    f.write(f"{text}\t{label}\t{kb_id}\t{cs}\n")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "LexiconNER":
        self.exact.clear()
        self.folded.clear()
        with (ensure_path(path) / "terms.tsv").open(encoding="utf-8") as f:
            for line in f:
                text, label, kb_id, cs = line.rstrip("\n").split("\t")
                (self.exact if cs == "1" else self.folded)[text] = (label, kb_id)
        return self


@Language.factory("pmlkg_normalise", default_config={"lexicon_component": "pmlkg_lexicon_ner"})
def make_normaliser(nlp: Language, name: str, lexicon_component: str) -> "Normaliser":
    return Normaliser(nlp, lexicon_component)


class Normaliser:
    """Give entities found by a trained NER their lexicon id and finer label.

    A model span whose text is a lexicon term takes the term's label and id (a DISEASE that is an
    immune defect becomes DEFECT; "corticosteroids" becomes DRUG_CLASS). Anything else keeps the
    model's label with no id: an unnormalised but well-formed gene, drug or disease.
    """

    def __init__(self, nlp: Language, lexicon_component: str):
        self.nlp = nlp
        self.lexicon_component = lexicon_component

    def __call__(self, doc: Doc) -> Doc:
        lexicon: LexiconNER = self.nlp.get_pipe(self.lexicon_component)  # type: ignore[assignment]
        changed = False
        ents = []
        for ent in doc.ents:
            if not ent.kb_id_:
                hit = lexicon.lookup(ent.text)
                if hit and (hit[0] == ent.label_ or {hit[0], ent.label_} in _COMPATIBLE):
                    ent = Span(doc, ent.start, ent.end, label=hit[0], kb_id=hit[1])
                    changed = True
            ents.append(ent)
        if changed:
            doc.set_ents(ents)
        return doc


_COMPATIBLE = [{"DEFECT", "DISEASE"}, {"DRUG_CLASS", "DRUG"}]


@Language.component("pmlkg_facts")
def facts(doc: Doc) -> Doc:
    group = SpanGroup(doc, name="facts")
    for fact in find_facts(doc.text):
        span = doc.char_span(fact.start, fact.end, label=fact.label, alignment_mode="expand")
        if span is not None:
            group.append(span)
    doc.spans["facts"] = group
    return doc


# NegEx-style triggers: pre-triggers scope forward, post-triggers scope backward, both stop at a
# terminator (a contrastive word or clause punctuation) and at the sentence end.
_NEG_PRE = re.compile(
    r"\b(?:no|not|never|none|without|denied|denies|free of|negative for|absence of|lack of|"
    r"no (?:prior|previous|history of|evidence of)|had not|has not|was not|were not|nor|"
    r"neither|ruled out|rule out|excluded)\b", re.IGNORECASE)
_NEG_POST = re.compile(
    r"^\W*(?:was|were)?\s*(?:not (?:given|received|used|administered|detected|found)|"
    r"(?:was|were)?\s*(?:ruled out|excluded|negative|absent|withheld|avoided))\b", re.IGNORECASE)
_HEDGE_PRE = re.compile(
    r"\b(?:possible|possibly|probable|probably|suspected|suspicion of|likely|presumed|"
    r"presumptive|could not be excluded|consistent with|suggestive of|may have|might)\b", re.IGNORECASE)
_TERMINATOR = re.compile(r"\b(?:but|however|although|though|yet|except|whereas|which|who)\b|[;:]", re.IGNORECASE)
_WINDOW = 60  # characters searched before a mention


def sentence_table(doc: Doc) -> tuple[list[Span], list[int]]:
    """The sentences and, per token, its sentence index: ``span.sent`` rescans the doc on every
    call, which turns a long one-sentence input quadratic."""
    sents = list(doc.sents)
    of_token = [0] * len(doc)
    for k, sent in enumerate(sents):
        for i in range(sent.start, sent.end):
            of_token[i] = k
    return sents, of_token


@Language.component("pmlkg_context")
def context(doc: Doc) -> Doc:
    targets = list(doc.ents) + [s for s in doc.spans.get("facts", []) if s.label_ == "PML"]
    sents, of_token = sentence_table(doc)
    text = doc.text  # Doc.text joins every token on each access: read it once
    for ent in targets:
        sent = sents[of_token[ent.start]]
        before = text[max(sent.start_char, ent.start_char - _WINDOW): ent.start_char]
        cut = list(_TERMINATOR.finditer(before))
        if cut:
            before = before[cut[-1].end():]
        after = text[ent.end_char: min(sent.end_char, ent.end_char + _WINDOW)]
        ent._.negated = bool(_NEG_PRE.search(before) or _NEG_POST.search(after))
        ent._.hedged = bool(_HEDGE_PRE.search(before))
    return doc
