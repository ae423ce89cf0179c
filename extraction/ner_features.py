"""Dictionary-match features for the trained NER models (``pmlkg_dict_features``).

A CNN trained on a thousand abstracts has seen few of the drugs, diseases and genes it will
meet; dictionaries have seen most of them. This component tells the model, per token, which
dictionaries match a span over it and where the token sits in that span, so the model learns
when to trust a dictionary and when the corpus conventions differ (an enzyme named in a drug
dictionary, a symptom that BC5CDR does not annotate). It writes the feature into ``token.tag_``
(the pipelines have no POS tagger, so the slot is free) as e.g. ``DISEASE-B|DRUG-I``, and the
models read it through ``MultiHashEmbed`` with the ``TAG`` attribute.

The dictionaries are ``nlp_models/lexicons/ner_features.tsv`` (built by
``nlp_models/recipe/build_lexicons.py``); the component keeps its own copy when a pipeline is
saved, so a trained model loads with no lexicon files around it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import ensure_path

FEATURE_LABELS: tuple[str, ...] = ("DISEASE", "DRUG", "GENE")
TERMS_FILE = "terms.tsv"


@Language.factory("pmlkg_dict_features", default_config={"max_tokens": 10})
def make_dict_features(nlp: Language, name: str, max_tokens: int) -> DictFeatures:
    return DictFeatures(name, max_tokens=max_tokens)


class DictFeatures:
    """Longest dictionary match per label from every token; exact-case terms and folded names."""

    def __init__(self, name: str = "pmlkg_dict_features", *, max_tokens: int = 10):
        self.name = name
        self.max_tokens = max_tokens
        self.exact: dict[str, int] = {}  # term -> bit mask over FEATURE_LABELS
        self.folded: dict[str, int] = {}
        self._tags: dict[tuple[int, int], str] = {}

    # ------------------------------------------------------------ data

    def add(self, text: str, label: str, case_sensitive: bool) -> None:
        text = " ".join(text.split())
        if len(text) < 2:
            return
        bit = 1 << FEATURE_LABELS.index(label)
        table, key = (self.exact, text) if case_sensitive else (self.folded, text.lower())
        table[key] = table.get(key, 0) | bit

    def initialize(self, get_examples: Callable[[], Iterable[Example]] | None = None, *,
                   nlp: Language | None = None, terms_path: str | None = None) -> None:
        """Read the dictionary TSV named in the training config (``[initialize.components]``)."""
        if terms_path:
            self._read(ensure_path(terms_path))

    def __len__(self) -> int:
        return len(self.exact) + len(self.folded)

    def digest(self) -> str:
        """Identity of the dictionaries: models that share this component must agree on it."""
        h = hashlib.sha256()
        for table in (self.exact, self.folded):
            for text, mask in sorted(table.items()):
                h.update(f"{text}\t{mask}\n".encode())
            h.update(b"\0")
        return h.hexdigest()[:16]

    # ------------------------------------------------------------ annotate

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n or not (self.exact or self.folded):
            return doc
        text = doc.text
        marks: list[list[tuple[int, bool]]] = [[] for _ in range(n)]  # per token: (label index, begins)
        reach = [0] * len(FEATURE_LABELS)  # per label: first token not yet covered by a match
        for i in range(n):
            first = doc[i]
            if first.is_space or first.is_punct:
                continue
            pending = [k for k in range(len(FEATURE_LABELS)) if reach[k] <= i]
            if not pending:
                continue
            for j in range(min(n, i + self.max_tokens) - 1, i - 1, -1):
                last = doc[j]
                candidate = text[first.idx: last.idx + len(last)]
                if "\n" in candidate:
                    continue
                mask = self.exact.get(candidate, 0) | self.folded.get(candidate.lower(), 0)
                if not mask:
                    continue
                for k in list(pending):
                    if mask >> k & 1:
                        pending.remove(k)
                        reach[k] = j + 1
                        for t in range(i, j + 1):
                            marks[t].append((k, t == i))
                if not pending:
                    break
        for tok, mark in zip(doc, marks, strict=True):
            if mark:
                tok.tag_ = self._tag(mark)
        return doc

    def _tag(self, mark: list[tuple[int, bool]]) -> str:
        key = (sum(1 << k for k, _ in mark), sum(1 << k for k, begins in mark if begins))
        tag = self._tags.get(key)
        if tag is None:
            tag = "|".join(f"{FEATURE_LABELS[k]}-{'B' if begins else 'I'}" for k, begins in sorted(mark))
            self._tags[key] = tag
        return tag

    # ------------------------------------------------------------ serialisation

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / TERMS_FILE).open("w", encoding="utf-8") as f:
            f.write("term\tlabels\tcase_sensitive\n")
            for cs, table in ((1, self.exact), (0, self.folded)):
                for text, mask in sorted(table.items()):
                    labels = "|".join(lab for k, lab in enumerate(FEATURE_LABELS) if mask >> k & 1)
                    f.write(f"{text}\t{labels}\t{cs}\n")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> DictFeatures:
        self.exact.clear()
        self.folded.clear()
        self._read(ensure_path(path) / TERMS_FILE)
        return self

    def _read(self, path: Path) -> None:
        with path.open(encoding="utf-8") as f:
            f.readline()
            for line in f:
                text, labels, cs = line.rstrip("\n").split("\t")
                for label in labels.split("|"):
                    self.add(text, label, cs == "1")
