"""spaCy pipeline components of the rules pipeline (registered on import, as spaCy expects).

- ``pmlkg_line_breaks``: abstract sections and the title are separate sentences.
- ``pmlkg_lexicon_ner``: longest-match dictionary NER over token-aligned character spans; one
  dict lookup per candidate, so 100k+ drug variants cost nothing at load or run time.
- ``pmlkg_ents_to_spans``: parks a source's entities in a span group, so the next NER sees none.
- ``pmlkg_merge_entities``: one entity set from every source's candidates, by priority, with
  lexicon ids for model spans whose text is a lexicon term.
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
if not Span.has_extension("source"):  # "dictionary" | "model" | "abbreviation": how the entity was found
    Span.set_extension("source", default=None)


@Language.component("pmlkg_line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """Start a sentence after every newline: the title has no full stop of its own."""
    for tok in doc[:-1]:
        if "\n" in tok.text or "\n" in tok.whitespace_:
            doc[tok.i + 1].is_sent_start = True
    return doc


@Language.factory("pmlkg_lexicon_ner", default_config={"max_tokens": 12, "spans_key": None})
def make_lexicon_ner(nlp: Language, name: str, max_tokens: int, spans_key: str | None) -> LexiconNER:
    return LexiconNER(name, max_tokens=max_tokens, spans_key=spans_key)


class LexiconNER:
    """Dictionary NER: exact-case terms (symbols, abbreviations) win over case-folded names."""

    def __init__(self, name: str = "pmlkg_lexicon_ner", *, max_tokens: int = 12, spans_key: str | None = None):
        self.name = name
        self.max_tokens = max_tokens
        self.spans_key = spans_key  # None: set doc.ents; else a candidate group for pmlkg_merge_entities
        self.exact: dict[str, tuple[str, str]] = {}
        self.folded: dict[str, tuple[str, str]] = {}
        self.ids_only: dict[str, tuple[str, str]] = {}  # exact-case forms that give an id, never a match
        self.curated: set[tuple[str, str]] = set()  # (label, id) whose matches also go to <spans_key>_curated

    def add_terms(self, terms: Iterable[Term], *, match: bool = True) -> None:
        """``match=False``: forms only :meth:`normalise` knows (every HGNC symbol and alias: too many
        short, ambiguous strings to match in free text, but safe once a model says "gene")."""
        for t in terms:
            text = " ".join(t.text.split())
            if not text:
                continue
            if t.curated:
                self.curated.add((t.label, t.id))
            if not match:
                self.ids_only.setdefault(text, (t.label, t.id))
            elif t.case_sensitive:
                self.exact.setdefault(text, (t.label, t.id))
            else:
                self.folded.setdefault(text.lower(), (t.label, t.id))

    def __len__(self) -> int:
        return len(self.exact) + len(self.folded)

    def lookup(self, text: str) -> tuple[str, str] | None:
        return self.exact.get(text) or self.folded.get(text.lower())

    def normalise(self, text: str) -> tuple[str, str] | None:
        """(label, id) of a mention another component found: a matcher term, else an id-only form,
        also written without hyphens ("IL-10" -> IL10)."""
        return self.lookup(text) or self.ids_only.get(text) or self.ids_only.get(text.replace("-", ""))

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
        if self.spans_key:
            doc.spans[self.spans_key] = spans
            doc.spans[f"{self.spans_key}_curated"] = [s for s in spans if (s.label_, s.kb_id_) in self.curated]
        else:
            doc.set_ents(spans, default="unmodified")
            for ent in doc.ents:
                ent._.source = "dictionary"
        return doc

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / "terms.tsv").open("w", encoding="utf-8") as f:
            for cs, table in ((1, self.exact), (0, self.folded)):
                for text, (label, kb_id) in sorted(table.items()):
                    f.write(f"{text}\t{label}\t{kb_id}\t{cs}\n")
        with (path / "ids_only.tsv").open("w", encoding="utf-8") as f:
            for text, (label, kb_id) in sorted(self.ids_only.items()):
                f.write(f"{text}\t{label}\t{kb_id}\n")
        with (path / "curated.tsv").open("w", encoding="utf-8") as f:
            for label, kb_id in sorted(self.curated):
                f.write(f"{label}\t{kb_id}\n")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> LexiconNER:
        path = ensure_path(path)
        self.exact.clear()
        self.folded.clear()
        self.ids_only.clear()
        self.curated.clear()
        with (path / "terms.tsv").open(encoding="utf-8") as f:
            for line in f:
                text, label, kb_id, cs = line.rstrip("\n").split("\t")
                (self.exact if cs == "1" else self.folded)[text] = (label, kb_id)
        if (path / "ids_only.tsv").is_file():
            with (path / "ids_only.tsv").open(encoding="utf-8") as f:
                for line in f:
                    text, label, kb_id = line.rstrip("\n").split("\t")
                    self.ids_only[text] = (label, kb_id)
        if (path / "curated.tsv").is_file():
            with (path / "curated.tsv").open(encoding="utf-8") as f:
                self.curated = {tuple(line.rstrip("\n").split("\t")) for line in f}  # type: ignore[misc]
        return self


@Language.factory("pmlkg_ents_to_spans", default_config={"spans_key": "ner"})
def make_ents_to_spans(nlp: Language, name: str, spans_key: str) -> EntsToSpans:
    return EntsToSpans(spans_key)


class EntsToSpans:
    """Move ``doc.ents`` into ``doc.spans[spans_key]`` and clear them.

    spaCy's NER keeps entities already set and only fills the gaps, so a model placed after
    another one never sees the tokens the first one took: the gene model could not claim
    "insulin" once a drug source had. Each source parks its spans here instead, and
    ``pmlkg_merge_entities`` decides between them with every candidate in view.
    """

    def __init__(self, spans_key: str):
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[self.spans_key] = list(doc.ents)
        doc.set_ents([], default="outside")
        return doc


@Language.factory("pmlkg_merge_entities", default_config={
    "priority": [["lexicon", None]], "lexicon_component": "pmlkg_lexicon_ner"})
def make_merger(nlp: Language, name: str, priority: list[list], lexicon_component: str) -> EntityMerger:
    return EntityMerger(nlp, [(key, frozenset(labels) if labels else None) for key, labels in priority],
                        lexicon_component)


class EntityMerger:
    """The entities of the doc: candidate spans of every source, by priority, then normalised.

    ``priority`` lists ``(spans key, labels or None)`` in the order sources win a conflict;
    ``"ents"`` names the spans still in ``doc.ents``. A candidate is kept when it overlaps no
    span kept before it. The order is chosen on the development splits (nlp_models/README.md).
    Two rules come first: a gene inside a longer disease mention ("G6PD deficiency") gives way
    to the disease, and a CD marker in a cell count ("CD4+ T cells") is no gene mention.

    Normalisation: a model span without an id whose text is a lexicon term takes the term's label
    and id (a DISEASE that is an immune defect becomes DEFECT; "corticosteroids" DRUG_CLASS; a
    GENE outside the IUIS list its HGNC symbol).
    Anything else keeps the model's label with no id: an unnormalised but well-formed gene, drug
    or disease.
    """

    def __init__(self, nlp: Language, priority: list[tuple[str, frozenset[str] | None]], lexicon_component: str):
        self.nlp = nlp
        self.priority = priority
        self.lexicon_component = lexicon_component

    def __call__(self, doc: Doc) -> Doc:
        lexicon: LexiconNER = self.nlp.get_pipe(self.lexicon_component)  # type: ignore[assignment]
        taken = bytearray(len(doc))
        kept: list[tuple[Span, str]] = []
        text = doc.text
        sources = [(key, labels, list(doc.ents if key == "ents" else doc.spans.get(key, ())))
                   for key, labels in self.priority]
        named_diseases = [(s.start, s.end) for _, _, spans in sources for s in spans if s.label_ == "DISEASE"]
        for key, labels, spans in sources:
            for span in spans:
                if span.label_ == "GENE" and (_is_cell_marker(span, text) or any(
                        start <= span.start and span.end <= end and end - start > len(span)
                        for start, end in named_diseases)):
                    continue  # "G6PD deficiency", "HPRT-deficient": the disease named by its gene wins
                if (labels is None or span.label_ in labels) and not any(taken[span.start:span.end]):
                    taken[span.start:span.end] = b"\x01" * len(span)
                    kept.append((self._normalised(doc, span, lexicon), "dictionary" if key.startswith("lexicon")
                                 else "model"))
        doc.set_ents(sorted((s for s, _ in kept), key=lambda s: s.start), default="outside")
        source = {s.start: how for s, how in kept}
        for ent in doc.ents:
            ent._.source = source[ent.start]
        return doc

    @staticmethod
    def _normalised(doc: Doc, span: Span, lexicon: LexiconNER) -> Span:
        if not span.kb_id_:
            hit = lexicon.normalise(span.text)
            if hit and (hit[0] == span.label_ or {hit[0], span.label_} in _COMPATIBLE):
                return Span(doc, span.start, span.end, label=hit[0], kb_id=hit[1])
        return Span(doc, span.start, span.end, label=span.label_, kb_id=span.kb_id_)


_COMPATIBLE = [{"DEFECT", "DISEASE"}, {"DRUG_CLASS", "DRUG"}]
_CD_MARKER = re.compile(r"^CD\d{1,3}[a-z]?$")
_MARKER_CONTEXT = re.compile(r"^(?:\+|\s*-?\s*(?:positive|negative)\b|[\s-]*(?:T[\s-]*)?(?:cells?|counts?|ratios?|lymphocytes?|"
                             r"lymphopenia|T\b|B\b|NK\b|[/,]\s*CD\d))", re.IGNORECASE)


def _is_cell_marker(span: Span, text: str) -> bool:
    """"CD4+ T cells", "CD4 count", "CD4/CD8": a lymphocyte marker in a cell count, not a gene
    mention (the patient's CD4 count is a fact of its own, ``pmlkg_facts``)."""
    return bool(_CD_MARKER.match(span.text) and _MARKER_CONTEXT.match(text[span.end_char: span.end_char + 20]))


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
