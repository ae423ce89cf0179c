"""NER evaluation on PubTator gold corpora, scored the way the field reports these corpora.

Mentions: strict match of ``(start, end, label)`` character spans (BioCreative / BC5CDR /
NCBI-disease convention). A partly overlapping or mis-labelled prediction counts twice, as one
false positive and one false negative. Per label tp/fp/fn, precision, recall, F1, and a
micro-average over the labels the corpus annotates: NCBI-disease has only diseases, so a gene or
drug the pipeline finds there is not an error and is not scored.

Normalisation (``ids``): document-level sets of ``(pmid, id)`` pairs, as the BioCreative
normalisation tasks (BC2 GN, BC5CDR DNER) score them. Our lexicons only know a small slice of
every id space (inborn-error genes, drugs with a MeSH id, IUIS defects with OMIM ids), so the
gold side keeps only ids that some lexicon record carries; without that restriction recall would
measure the lexicon's scope, not the linker. Predicted ids are always lexicon ids; a prediction
on a gold mention left out that way is left out too (else a right link to a concept the corpus
codes in another id space would be a false positive). A label gets an
id score only if its restricted gold set is not empty (BC5CDR diseases are MeSH-coded, our
defects OMIM-coded: no DISEASE id score there).

The pipeline's labels map onto the corpus labels (``PIPELINE_LABELS``): the rules pipeline's
DEFECT is a disease and its DRUG_CLASS a chemical mention in these corpora.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

from spacy.language import Language
from spacy.tokens import Doc, Span

from pmlkg.extraction.lexicons import Lexicons, Term, load_lexicons
from pmlkg.extraction.pubtator import PubtatorDoc, gold_spans

LABELS: tuple[str, ...] = ("DRUG", "DISEASE", "GENE")
PIPELINE_LABELS: Mapping[str, str] = {
    "DEFECT": "DISEASE", "DISEASE": "DISEASE",
    "DRUG_CLASS": "DRUG", "DRUG": "DRUG",
    "GENE": "GENE",
}
# Which pipeline label's ``kb_id_`` (and which lexicon terms) can yield an id for an eval label.
_ID_SOURCES: Mapping[str, tuple[str, ...]] = {"GENE": ("GENE",), "DRUG": ("DRUG",), "DISEASE": ("DEFECT",)}
DEV_BUCKETS = 10  # carved dev split: sha1(pmid) % 10 == 0, i.e. a stable 10%

Pipe = Union[Language, Callable[[str], Doc]]


# ---------------------------------------------------------------- splits

def carve_bucket(pmid: str) -> int:
    """0-9 from the PMID's SHA-1: stable across runs, machines and corpus file order."""
    return int(hashlib.sha1(pmid.strip().encode("utf-8")).hexdigest(), 16) % DEV_BUCKETS


def carved_dev(docs: Iterable[PubtatorDoc]) -> list[PubtatorDoc]:
    """The dev 10% of a train-only corpus (NLM-Gene, GNormPlus); the trainer holds out the same."""
    return [d for d in docs if carve_bucket(d.pmid) == 0]


def carved_train(docs: Iterable[PubtatorDoc]) -> list[PubtatorDoc]:
    """The complement of :func:`carved_dev`."""
    return [d for d in docs if carve_bucket(d.pmid) != 0]


# ---------------------------------------------------------------- scores

@dataclass(slots=True)
class Counts:
    """tp/fp/fn with the derived rates; 0/0 is reported as 0.0, the conlleval convention."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __iadd__(self, other: Counts) -> Counts:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        return self

    def to_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass(slots=True)
class NerScores:
    """Mention scores per scored label, their micro-average, and id scores where computable."""

    labels: dict[str, Counts]
    micro: Counts
    ids: dict[str, Counts] = field(default_factory=dict)
    n_docs: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"n_docs": self.n_docs,
                "labels": {k: v.to_dict() for k, v in self.labels.items()},
                "micro": self.micro.to_dict(),
                "ids": {k: v.to_dict() for k, v in self.ids.items()}}


# ---------------------------------------------------------------- predictions

def predict(nlp: Pipe, texts: Sequence[str], batch_size: int = 32) -> Iterator[Doc]:
    """A spaCy pipeline runs batched (``nlp.pipe``); any other callable text -> Doc per text."""
    if hasattr(nlp, "pipe"):
        yield from nlp.pipe(texts, batch_size=batch_size)  # type: ignore[union-attr]
    else:
        yield from (nlp(t) for t in texts)


def predicted_spans(doc: Doc, labels: Iterable[str]) -> set[tuple[int, int, str]]:
    """Entity spans under the eval label map; labels outside ``labels`` (or unmapped) dropped."""
    keep = set(labels)
    out = set()
    for ent in doc.ents:
        label = PIPELINE_LABELS.get(ent.label_)
        if label in keep:
            out.add((ent.start_char, ent.end_char, label))
    return out


# ---------------------------------------------------------------- ids

_TAX = re.compile(r"\((?:tax|Tax|TAX):\s*\d+\)")
_PREFIX = re.compile(r"^(?:OMIM|MESH|MeSH|NCBIGene|Gene):", re.IGNORECASE)


def normalise_gold_ids(raw_ids: Iterable[str]) -> set[str]:
    """Corpus id cells in one form: ``OMIM:``/``MESH:`` prefixes, GNormPlus ``(Tax:n)`` gone,
    composite ``|`` and ``+`` split (BC5CDR, NCBI-disease), stray spaces stripped."""
    out: set[str] = set()
    for raw in raw_ids:
        for part in re.split(r"[|+,;]", _TAX.sub("", raw)):
            part = _PREFIX.sub("", part.strip()).strip()
            if part and part not in {"-", "-1"}:
                out.add(part)
    return out


@dataclass(frozen=True, slots=True)
class IdIndex:
    """Lexicon ids per eval label, and how a predicted entity resolves to them.

    An entity resolves through its ``kb_id_`` (the rules pipeline sets it) or its ``ent_id_`` (an
    ``entity_ruler`` pattern's ``id``); a pipeline that sets neither (a trained NER) falls back
    to the lexicon term its text matches, exact case for symbols,
    case-folded for names, the same rule the rules matcher uses.
    """

    known: Mapping[str, frozenset[str]]  # eval label -> every id the lexicons carry
    by_key: Mapping[tuple[str, str], frozenset[str]]  # (pipeline label, kb id) -> ids
    by_text: Mapping[tuple[str, bool, str], str]  # (pipeline label, case_sensitive, text) -> kb id

    def resolve(self, ent: Span) -> frozenset[str]:
        label = PIPELINE_LABELS.get(ent.label_)
        for source in _ID_SOURCES.get(label or "", ()):
            key = ent.kb_id_ or ent.ent_id_ or self.by_text.get((source, True, ent.text)) \
                or self.by_text.get((source, False, ent.text.casefold()), "")
            ids = self.by_key.get((source, key))
            if ids:
                return ids
        return frozenset()


def build_id_index(lex: Lexicons) -> IdIndex:
    by_key: dict[tuple[str, str], frozenset[str]] = {}
    for symbol in set(lex.genes) | set(lex.hgnc):
        ncbi = lex.ncbi_gene_id(symbol)
        if ncbi is not None:
            by_key[("GENE", symbol)] = frozenset({str(ncbi)})
    for d in lex.drugs.values():
        if d.mesh_id:
            by_key[("DRUG", d.name)] = frozenset({d.mesh_id})
    for x in lex.defects.values():
        if x.omim:
            by_key[("DEFECT", x.id)] = frozenset(x.omim)
    known: dict[str, set[str]] = {label: set() for label in LABELS}
    for (source, _), ids in by_key.items():
        known[{"GENE": "GENE", "DRUG": "DRUG", "DEFECT": "DISEASE"}[source]].update(ids)
    by_text: dict[tuple[str, bool, str], str] = {}
    for term in lex.terms():
        _index_term(by_text, term)
    for term in lex.hgnc_terms():
        _index_term(by_text, term)
    return IdIndex(known={k: frozenset(v) for k, v in known.items()}, by_key=by_key, by_text=by_text)


def _index_term(by_text: dict[tuple[str, bool, str], str], term: Term) -> None:
    text = term.text if term.case_sensitive else term.text.casefold()
    by_text.setdefault((term.label, term.case_sensitive, text), term.id)


def score_ids(gold: set[str], predicted: Iterable[frozenset[str]]) -> Counts:
    """One document: each predicted concept is one guess, a hit if any of its ids is gold.

    A defect with several OMIM ids (a handful in the lexicon) thus counts once, not once per id.
    """
    groups = set(predicted)
    found = set().union(*groups) & gold if groups else set()
    return Counts(tp=len(found), fp=sum(1 for g in groups if not g & gold), fn=len(gold - found))


def _gold_ids(doc: PubtatorDoc, label: str, known: frozenset[str]) -> set[str]:
    return normalise_gold_ids(i for m in doc.mentions if m.label == label for i in m.ids) & known


def _out_of_scope(doc: PubtatorDoc, label: str, known: frozenset[str]) -> list[tuple[int, int]]:
    """Gold mentions the id score leaves out: their ids are all outside the lexicons' id space."""
    return [(m.start, m.end) for m in doc.mentions
            if m.label == label and not normalise_gold_ids(m.ids) & known]


def _id_guesses(doc: Doc, gold: PubtatorDoc, label: str, index: IdIndex) -> Iterator[frozenset[str]]:
    """Predicted concepts of ``label``; those on a left-out gold mention are left out too.

    Otherwise a right link whose gold is coded in another id space (NCBI-disease codes most
    diseases with MeSH, our defects carry OMIM; a mouse gene's id vs our human one) would count
    as a false positive.
    """
    skip = _out_of_scope(gold, label, index.known[label])
    for ent in doc.ents:
        if PIPELINE_LABELS.get(ent.label_) != label:
            continue
        if any(ent.start_char < e and s < ent.end_char for s, e in skip):
            continue
        ids = index.resolve(ent)
        if ids:
            yield ids


# ---------------------------------------------------------------- evaluation

def corpus_labels(docs: Iterable[PubtatorDoc], labels: Iterable[str] = LABELS) -> list[str]:
    """The labels a corpus annotates (some gold mention carries them), in ``labels`` order."""
    present = {m.label for d in docs for m in d.mentions if m.label}
    return [label for label in labels if label in present]


def evaluate_ner(nlp_or_callable: Pipe, docs: Iterable[PubtatorDoc], labels: Sequence[str] = LABELS,
                 lexicons: Lexicons | None = None, batch_size: int = 32) -> NerScores:
    """Strict span P/R/F1 per label and micro, plus document-level id P/R/F1 (see module doc).

    ``nlp_or_callable``: a spaCy ``Language`` (run with ``pipe``) or any ``text -> Doc`` callable.
    ``lexicons`` default to the project's committed lexicons; they only serve the id scores.
    """
    docs = list(docs)
    scored = corpus_labels(docs, labels)
    index = build_id_index(lexicons or load_lexicons())
    id_labels = [lb for lb in scored if any(_gold_ids(d, lb, index.known[lb]) for d in docs)]
    spans = {lb: Counts() for lb in scored}
    ids = {lb: Counts() for lb in id_labels}
    for gold_doc, pred_doc in zip(docs, predict(nlp_or_callable, [d.text for d in docs], batch_size), strict=True):
        _score_spans(spans, gold_spans(gold_doc), predicted_spans(pred_doc, scored))
        for lb in id_labels:
            ids[lb] += score_ids(_gold_ids(gold_doc, lb, index.known[lb]), _id_guesses(pred_doc, gold_doc, lb, index))
    micro = Counts()
    for counts in spans.values():
        micro += counts
    return NerScores(labels=spans, micro=micro, ids=ids, n_docs=len(docs))


def _score_spans(acc: dict[str, Counts], gold: set[tuple[int, int, str]], pred: set[tuple[int, int, str]]) -> None:
    for label, counts in acc.items():
        g = {s for s in gold if s[2] == label}
        p = {s for s in pred if s[2] == label}
        counts += Counts(tp=len(g & p), fp=len(p - g), fn=len(g - p))


# ---------------------------------------------------------------- report

def format_table(scores: NerScores, title: str | None = None) -> str:
    """Fixed-width text table (one row per label, then micro); id columns blank where not scored."""
    head = (f"{'label':<9}{'P':>7}{'R':>7}{'F1':>7}{'tp':>7}{'fp':>7}{'fn':>7}   "
            f"{'id-P':>6}{'id-R':>7}{'id-F1':>7}{'id-tp':>7}{'id-fp':>7}{'id-fn':>7}")
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    rows = [*scores.labels.items(), ("micro", scores.micro)]
    for name, c in rows:
        line = f"{name:<9}{c.precision:>7.3f}{c.recall:>7.3f}{c.f1:>7.3f}{c.tp:>7}{c.fp:>7}{c.fn:>7}   "
        ic = scores.ids.get(name)
        line += (f"{ic.precision:>6.3f}{ic.recall:>7.3f}{ic.f1:>7.3f}{ic.tp:>7}{ic.fp:>7}{ic.fn:>7}" if ic
                 else f"{'-':>6}{'-':>7}{'-':>7}")
        lines.append(line.rstrip())
    if not scores.labels:
        lines.append("(the corpus annotates none of the evaluated labels)")
    return "\n".join(lines)
