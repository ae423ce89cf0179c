"""Dictionary-match features for the trained NER models (``pmlkg_dict_features``).

A CNN trained on a thousand abstracts has seen few of the drugs, diseases and genes it will
meet; dictionaries have seen most of them. This component tells the model, per token, which
dictionaries match a span over it and where the token sits in that span, so the model learns
when to trust a dictionary and when the corpus conventions differ (an enzyme named in a drug
dictionary, a symptom that BC5CDR does not annotate). It writes the feature into ``token.tag_``
(the pipelines have no POS tagger, so the slot is free) as e.g. ``DISEASE-B|DRUG-I``, and the
models read it through ``MultiHashEmbed`` with the ``TAG`` attribute.

The dictionaries are ``nlp_models/lexicons/ner_features.tsv`` (built by
``nlp_models/recipe/build_lexicons.py``). A saved pipeline stores no copy of that 6 MB table,
only a reference to it (``table.json``: the file name and its sha256); loading reads the table
from the lexicon directory (``pmlkg.nlp_models.lexicon_dir()``) and refuses a file whose sha256
differs, since the models were trained with that exact table. A table that is not the committed
one (a test's, a retraining experiment's) is still saved as a copy (``terms.tsv``), and an old
pipeline's ``terms.tsv`` still loads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import ensure_path

from pmlkg.extraction.term_scan import doc_tokens, term_key, windows
from pmlkg.nlp_models import lexicon_dir

FEATURE_LABELS: tuple[str, ...] = ("DISEASE", "DRUG", "GENE")
TERMS_FILE = "terms.tsv"  # a saved copy of the table (tables other than the committed one; old pipelines)
TABLE_FILE = "ner_features.tsv"  # the committed table, in the lexicon directory
REFERENCE_FILE = "table.json"  # what a saved pipeline stores instead of a copy: {"file", "sha256"}


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
        if len(term_key(text)) < 2:
            return
        bit = 1 << FEATURE_LABELS.index(label)
        table, key = (self.exact, term_key(text)) if case_sensitive else (self.folded, term_key(text, folded=True))
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
        bounds, opens = doc_tokens(doc)
        marks: list[list[tuple[int, bool]]] = [[] for _ in range(n)]  # per token: (label index, begins)
        reach = [0] * len(FEATURE_LABELS)  # per label: first token not yet covered by a match
        for i in range(n):
            if not opens[i]:
                continue
            pending = [k for k in range(len(FEATURE_LABELS)) if reach[k] <= i]
            if not pending:
                continue
            for j, candidate in windows(text, bounds, i, self.max_tokens):  # each label: its longest match
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
        """A reference to the committed table when this is that table, else a copy (``terms.tsv``)."""
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        reference = self.reference()
        for stale in (REFERENCE_FILE, TERMS_FILE):
            (path / stale).unlink(missing_ok=True)
        if reference is not None:
            (path / REFERENCE_FILE).write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")
            return
        with (path / TERMS_FILE).open("w", encoding="utf-8") as f:
            f.write("term\tlabels\tcase_sensitive\n")
            for cs, table in ((1, self.exact), (0, self.folded)):
                for text, mask in sorted(table.items()):
                    labels = "|".join(lab for k, lab in enumerate(FEATURE_LABELS) if mask >> k & 1)
                    f.write(f"{text}\t{labels}\t{cs}\n")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> DictFeatures:
        path = ensure_path(path)
        self.exact.clear()
        self.folded.clear()
        if (path / REFERENCE_FILE).is_file():
            reference = json.loads((path / REFERENCE_FILE).read_text(encoding="utf-8"))
            table = lexicon_dir() / reference["file"]
            if not table.is_file():
                raise FileNotFoundError(f"{path / REFERENCE_FILE}: the dictionary-feature table {table} is not there "
                                        "(the pipeline stores a reference to it, not a copy)")
            found = file_sha256(table)
            if found != reference["sha256"]:
                raise ValueError(
                    f"{table}: sha256 {found}, but the pipeline at {path.parent} was trained with the table of sha256 "
                    f"{reference['sha256']} ({path / REFERENCE_FILE}); restore the committed file "
                    f"(git checkout nlp_models/lexicons/{reference['file']}) or retrain the NER models on this one "
                    "(nlp_models/recipe/train.py, then build_pipelines.py)")
            self._read(table)
        elif (path / TERMS_FILE).is_file():  # a saved copy (older pipelines; tables other than the committed one)
            self._read(path / TERMS_FILE)
        else:
            raise FileNotFoundError(f"{path}: neither {REFERENCE_FILE} nor {TERMS_FILE} (no dictionary-feature table)")
        return self

    def reference(self) -> dict[str, str] | None:
        """``{"file", "sha256"}`` of the lexicon directory's table if it holds exactly this table, else None."""
        table = lexicon_dir() / TABLE_FILE
        if not table.is_file() or not (self.exact or self.folded):
            return None
        sha = file_sha256(table)
        key = (str(table.resolve()), sha)
        if key not in _TABLE_DIGESTS:
            committed = DictFeatures()
            committed._read(table)
            _TABLE_DIGESTS[key] = committed.digest()
        return {"file": TABLE_FILE, "sha256": sha} if _TABLE_DIGESTS[key] == self.digest() else None

    def _read(self, path: Path) -> None:
        with path.open(encoding="utf-8") as f:
            f.readline()
            for line in f:
                text, labels, cs = line.rstrip("\n").split("\t")
                for label in labels.split("|"):
                    self.add(text, label, cs == "1")


_TABLE_DIGESTS: dict[tuple[str, str], str] = {}  # (table file, its sha256) -> DictFeatures.digest() of its rows


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
