"""The role of a drug towards a condition in one sentence: exposure, treatment or none.

A PML case report names drugs the patient received before PML (natalizumab, rituximab: suspected
causes, *exposures*) and drugs given for PML (mefloquine, cidofovir: *treatments*). Rules read
that badly on real texts, so a trained text classifier decides, one (drug, condition) pair at a
time: the sentence with the drug mention replaced by ``@DRUG$`` and the condition mention by
``@COND$`` (entity masking: the model learns the wording around the two slots, not the drug or
the disease, so what it learnt from PHEE's adverse effects carries over to "PML"), scored by a
spaCy ``textcat`` with exclusive classes (trained by ``nlp_models/recipe/train_roles.py`` into
``nlp_models/build/pmlkg_roles``; shipped inside ``nlp_models/pmlkg_extract``, in the folder of its
``pmlkg_pml_roles`` component: ``pmlkg_pml_roles/model``).

Training and development data: PHEE (Sun et al., EMNLP 2022), case-report sentences with
``Adverse_event`` and ``Potential_therapeutic_event`` annotations. The pair task
(:func:`sentence_pairs`) and its scorer (:func:`score_roles`) are the ones ``pmlkg eval roles``
reports, so the recipe, the CLI and the tests measure the same thing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language

from pmlkg.extraction.evaluate import Counts

ROLES: tuple[str, ...] = ("exposure", "treatment", "none")
SCORED_ROLES: tuple[str, ...] = ("exposure", "treatment")  # the macro-F1 the target is stated in
ROLES_PIPELINE = "pmlkg_roles"  # the trained model's name (its folder under nlp_models/build/)
DRUG_MARK = "@DRUG$"
COND_MARK = "@COND$"

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class RolePair:
    """One question to the model: what is the drug at ``drug`` to the condition at ``condition``?"""

    text: str  # a sentence (or window) of text
    drug: tuple[int, int]  # char offsets of the drug mention in text
    condition: tuple[int, int]  # char offsets of the condition mention in text


# ---------------------------------------------------------------- input encoding

def encode_pair(pair: RolePair) -> str:
    """The text the classifier reads: both mentions masked by their markers.

    Each marker is set off by single spaces so it is one token whatever touches it
    ("@DRUG$-induced", "(@COND$)": the project tokenizer would otherwise keep "$-induced" or
    "$." attached); the rest of the text is kept as it is.
    """
    (ds, de), (cs, ce) = pair.drug, pair.condition
    if not (0 <= ds < de <= len(pair.text) and 0 <= cs < ce <= len(pair.text)):
        raise ValueError(f"offsets {pair.drug} / {pair.condition} outside a text of {len(pair.text)} characters")
    if ds < ce and cs < de:
        raise ValueError(f"drug {pair.drug} and condition {pair.condition} overlap")
    first, second = sorted(((ds, de, DRUG_MARK), (cs, ce, COND_MARK)))
    text = pair.text
    return " ".join(part for part in (
        text[:first[0]].strip(), first[2], text[first[1]:second[0]].strip(), second[2], text[second[1]:].strip(),
    ) if part)


# ---------------------------------------------------------------- the runtime model

class RoleModel:
    """The trained role classifier; ``predict`` returns one distribution over :data:`ROLES` per pair."""

    def __init__(self, nlp: Language, batch_size: int = 256) -> None:
        self.nlp = nlp
        self.batch_size = batch_size
        labels = set(nlp.get_pipe("textcat").labels)  # type: ignore[attr-defined]
        if labels != set(ROLES):
            raise ValueError(f"a role model classifies {ROLES}; this pipeline has {sorted(labels)}")

    @classmethod
    def load(cls, path: Path | None = None) -> RoleModel:
        """From ``path``, by default the model the shipped pipeline carries
        (``nlp_models/pmlkg_extract/pmlkg_pml_roles/model``, ``extraction.pipeline.roles_model_path``)."""
        import spacy

        import pmlkg.extraction.tokenizer  # noqa: F401  (registers the tokenizer callback the config names)
        from pmlkg.extraction.pipeline import roles_model_path
        path = path or roles_model_path()
        if not (path / "config.cfg").is_file():
            raise FileNotFoundError(f"{path}: no role model there (run nlp_models/recipe/train_roles.py)")
        return cls(spacy.load(path))

    def predict(self, pairs: Sequence[RolePair]) -> list[dict[str, float]]:
        """Probabilities over :data:`ROLES` per pair, in input order (batched through ``nlp.pipe``)."""
        texts = [encode_pair(p) for p in pairs]
        return [{role: float(doc.cats[role]) for role in ROLES}
                for doc in self.nlp.pipe(texts, batch_size=self.batch_size)]

    def predict_labels(self, pairs: Sequence[RolePair]) -> list[str]:
        """The most probable role per pair (ties: the earlier role of :data:`ROLES`)."""
        return [best_role(p) for p in self.predict(pairs)]


def best_role(probs: dict[str, float]) -> str:
    return max(ROLES, key=lambda role: (probs[role], -ROLES.index(role)))


# ---------------------------------------------------------------- PHEE

@dataclass(frozen=True, slots=True)
class PheeEvent:
    """One PHEE event reduced to what the pair task reads: its type and three sets of spans."""

    type: str  # Adverse_event | Potential_therapeutic_event
    drugs: frozenset[Span]  # Treatment.Drug
    effects: frozenset[Span]  # Effect
    disorders: frozenset[Span]  # Treatment.Disorder (what the drug was given for)


@dataclass(frozen=True, slots=True)
class PheeSentence:
    id: str
    text: str
    events: tuple[PheeEvent, ...]


def _spans(arg: dict | None) -> frozenset[Span]:
    """An argument's mentions: every (start, text) piece is one span.

    PHEE stores ``text``/``start`` as lists of lists; an inner list of several pieces is
    sometimes one discontinuous mention ("interferon ... alpha 2-beta") but more often several
    mentions ("Methemoglobinemia", "transient pallor"), so each piece counts on its own.
    """
    if not arg:
        return frozenset()
    return frozenset((start, start + len(text))
                     for texts, starts in zip(arg["text"], arg["start"], strict=True)
                     for text, start in zip(texts, starts, strict=True))


def read_phee(path: Path) -> Iterator[PheeSentence]:
    """PHEE's JSON lines (``context``, ``annotations[].events[]``), offsets checked against the text."""
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            text = raw["context"]
            events = []
            for annotation in raw.get("annotations", []):
                for ev in annotation.get("events", []):
                    treatment = ev.get("Treatment") or {}
                    event = PheeEvent(ev["event_type"], _spans(treatment.get("Drug")), _spans(ev.get("Effect")),
                                      _spans(treatment.get("Disorder")))
                    for s, e in event.drugs | event.effects | event.disorders:
                        if not 0 <= s < e <= len(text):
                            raise ValueError(f"{path}:{n}: span ({s}, {e}) outside the sentence")
                    events.append(event)
            yield PheeSentence(str(raw.get("id", n)), text, tuple(events))


def gold_role(events: Iterable[PheeEvent], drug: Span, condition: Span) -> tuple[str, bool]:
    """The pair's gold role, and whether exposure and treatment both applied (exposure wins)."""
    exposure = treatment = False
    for ev in events:
        if drug not in ev.drugs:
            continue
        if condition in ev.effects:
            if ev.type == "Adverse_event":
                exposure = True
            elif ev.type == "Potential_therapeutic_event":
                treatment = True
        if condition in ev.disorders:
            treatment = True
    if exposure:
        return "exposure", treatment
    return ("treatment" if treatment else "none"), False


def sentence_pairs(sentence: PheeSentence, stats: Counter[str] | None = None) -> list[tuple[RolePair, str]]:
    """Every (drug, condition) candidate of a sentence with its gold role.

    Drugs: every event's Treatment.Drug mentions; conditions: every Effect and Treatment.Disorder
    mention (both deduplicated by offsets, the union over the sentence's events); a pair whose
    spans overlap is no candidate. ``stats`` counts pairs per label, overlaps skipped, and
    ``exposure_and_treatment`` (pairs both rules matched, labelled exposure).
    """
    drugs = sorted({d for ev in sentence.events for d in ev.drugs})
    conditions = sorted({c for ev in sentence.events for c in ev.effects | ev.disorders})
    out = []
    for drug in drugs:
        for condition in conditions:
            if drug[0] < condition[1] and condition[0] < drug[1]:
                if stats is not None:
                    stats["overlap_skipped"] += 1
                continue
            label, both = gold_role(sentence.events, drug, condition)
            if stats is not None:
                stats[label] += 1
                stats["exposure_and_treatment"] += both
            out.append((RolePair(sentence.text, drug, condition), label))
    return out


def phee_pairs(path: Path, stats: Counter[str] | None = None) -> list[tuple[RolePair, str]]:
    """All candidate pairs of a PHEE file, in file order, with their gold roles."""
    sentences = list(read_phee(path))
    if stats is not None:
        stats["sentences"] += len(sentences)
    return [pair for s in sentences for pair in sentence_pairs(s, stats)]


# ---------------------------------------------------------------- scores

@dataclass(slots=True)
class RoleScores:
    """Per-role tp/fp/fn (single-label classification: a wrong label is one fp and one fn)."""

    roles: dict[str, Counts] = field(default_factory=lambda: {r: Counts() for r in ROLES})
    n_pairs: int = 0

    @property
    def macro_f1(self) -> float:
        """Mean F1 of exposure and treatment, the figure the target is set in."""
        return sum(self.roles[r].f1 for r in SCORED_ROLES) / len(SCORED_ROLES)

    @property
    def macro_f1_3(self) -> float:
        """Mean F1 over all three classes, none included."""
        return sum(self.roles[r].f1 for r in ROLES) / len(ROLES)

    def to_dict(self) -> dict[str, object]:
        return {"n_pairs": self.n_pairs,
                "roles": {r: {**c.to_dict(), "support": c.tp + c.fn} for r, c in self.roles.items()},
                "macro_f1": round(self.macro_f1, 4), "macro_f1_3class": round(self.macro_f1_3, 4)}


def score_roles(gold: Sequence[str], predicted: Sequence[str]) -> RoleScores:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    scores = RoleScores(n_pairs=len(gold))
    for g, p in zip(gold, predicted, strict=True):
        if g not in scores.roles or p not in scores.roles:
            raise ValueError(f"unknown role {g if g not in scores.roles else p!r}")
        if g == p:
            scores.roles[g].tp += 1
        else:
            scores.roles[p].fp += 1
            scores.roles[g].fn += 1
    return scores


def evaluate_roles(model: RoleModel, pairs: Sequence[tuple[RolePair, str]]) -> RoleScores:
    """Score the model's most probable role against the gold role of every pair."""
    return score_roles([label for _, label in pairs], model.predict_labels([p for p, _ in pairs]))


def format_role_table(scores: RoleScores, title: str | None = None) -> str:
    head = f"{'role':<11}{'P':>7}{'R':>7}{'F1':>7}{'support':>9}{'tp':>7}{'fp':>7}{'fn':>7}"
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    for role, c in scores.roles.items():
        lines.append(f"{role:<11}{c.precision:>7.3f}{c.recall:>7.3f}{c.f1:>7.3f}{c.tp + c.fn:>9}"
                     f"{c.tp:>7}{c.fp:>7}{c.fn:>7}")
    lines.append("-" * len(head))
    lines.append(f"{'macro-F1 (exposure, treatment)':<32}{scores.macro_f1:>7.3f}")
    lines.append(f"{'macro-F1 (3 classes)':<32}{scores.macro_f1_3:>7.3f}")
    return "\n".join(lines)
