"""``pmlkg_pml_roles``: the trained pair model asked what each drug is to the PML of its sentence.

The role model (:mod:`extraction.drug_roles`) classifies a (drug, condition) pair; in a PML case
report the condition that matters is PML itself. For every drug mention whose sentence names PML
(a long form, "PML", JC virus), this component asks the model about (drug, nearest PML mention)
and stores the probabilities on the mention as ``span._.pml_role`` ({"exposure": p, "treatment":
p, "none": p}); case assembly (:mod:`extraction.roles`) lets the model decide when it is confident
and falls back on the rules otherwise. Drugs in sentences without PML get nothing: their role
comes from the story's order, the purposes and the drug classes.

The model is a spaCy pipeline of its own, saved inside this component's folder (``model/``), so
the extraction pipeline loads, saves and packages as one folder.
"""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import ensure_path

from pmlkg.extraction.components import sentence_table
from pmlkg.extraction.drug_roles import RoleModel, RolePair

if not Span.has_extension("pml_role"):
    Span.set_extension("pml_role", default=None)

WINDOW = 300  # characters of the sentence kept on each side of the pair (the model saw PHEE sentences)
_DRUG_LABELS = ("DRUG", "DRUG_CLASS")


@Language.factory("pmlkg_pml_roles", default_config={"batch_size": 256})
def make_pml_roles(nlp: Language, name: str, batch_size: int) -> PmlRoles:
    return PmlRoles(name, batch_size=batch_size)


class PmlRoles:
    def __init__(self, name: str = "pmlkg_pml_roles", *, batch_size: int = 256):
        self.name = name
        self.batch_size = batch_size
        self.model: RoleModel | None = None  # set by from_disk, or by the recipe before to_disk

    def __call__(self, doc: Doc) -> Doc:
        if self.model is None:
            return doc
        pairs, targets = self.pairs(doc)
        for ent, probs in zip(targets, self.model.predict(pairs), strict=True):
            ent._.pml_role = probs
        return doc

    def pairs(self, doc: Doc) -> tuple[list[RolePair], list[Span]]:
        """One (drug, nearest PML mention) question per drug mention in a sentence that names PML."""
        pml = [f for f in doc.spans.get("facts", []) if f.label_ == "PML" and not f._.negated]
        if not pml:
            return [], []
        sents, of_token = sentence_table(doc)
        by_sent: dict[int, list[Span]] = {}
        for f in pml:
            by_sent.setdefault(of_token[f.start], []).append(f)
        text = doc.text
        pairs, targets = [], []
        for ent in doc.ents:
            conditions = by_sent.get(of_token[ent.start]) if ent.label_ in _DRUG_LABELS else None
            if not conditions:
                continue
            free = [c for c in conditions if c.end_char <= ent.start_char or c.start_char >= ent.end_char]
            if not free:
                continue
            cond = min(free, key=lambda c: abs(c.start_char - ent.start_char))
            sent = sents[of_token[ent.start]]
            lo = max(sent.start_char, min(ent.start_char, cond.start_char) - WINDOW)
            hi = min(sent.end_char, max(ent.end_char, cond.end_char) + WINDOW)
            pairs.append(RolePair(text=text[lo:hi], drug=(ent.start_char - lo, ent.end_char - lo),
                                  condition=(cond.start_char - lo, cond.end_char - lo)))
            targets.append(ent)
        return pairs, targets

    def to_disk(self, path: str | Path, *, exclude: tuple[str, ...] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.nlp.to_disk(path / "model")

    def from_disk(self, path: str | Path, *, exclude: tuple[str, ...] = ()) -> PmlRoles:
        path = ensure_path(path)
        if (path / "model" / "config.cfg").is_file():
            import pmlkg.extraction.tokenizer  # noqa: F401  (the callback the model's config names)
            self.model = RoleModel(spacy.load(path / "model"), batch_size=self.batch_size)
        return self
