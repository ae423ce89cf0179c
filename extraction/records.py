"""What extraction returns: entities with offsets and the patients assembled from them.

These records are the stable interface between NLP and the graph: models may change, these
fields may only grow. Offsets index :meth:`ingest.records.Article.text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pmlkg.schema import EntityLabel, Outcome, Role, Sex, SummaryKind

# The vocabularies are the model's (pmlkg/schema.yaml enums): entity labels, drug roles, outcomes.
Label = EntityLabel


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where an assertion comes from: the sentence and the mention's character offsets."""

    sentence: str
    sentence_start: int
    start: int  # mention start in the document text
    end: int


@dataclass(frozen=True, slots=True)
class Entity:
    text: str
    label: Label
    start: int
    end: int
    id: str | None  # gene symbol, drug canonical name, drug class id, defect id; None = unnormalised
    negated: bool = False
    hedged: bool = False
    evidence: Evidence | None = None
    source: str | None = None  # "dictionary" | "model" | "abbreviation"

    @property
    def confidence(self) -> float:
        """How the mention was identified, as a heuristic score (not a calibrated probability):
        an exact dictionary term 0.95, a model or abbreviation span with a lexicon id 0.85, without
        one 0.6; halved when the text hedges ("possible PML")."""
        base = 0.95 if self.source == "dictionary" else 0.85 if self.id is not None else 0.6
        return round(base / 2 if self.hedged else base, 3)


@dataclass(frozen=True, slots=True)
class Concept:
    """The graph node an entity stands for (``extraction.concepts`` resolves it from the lexicons):
    its node label and key (schema.yaml) and its properties; a drug also names its classes."""

    label: str
    key: str
    props: dict[str, Any]
    classes: tuple[Concept, ...] = ()


@dataclass(frozen=True, slots=True)
class DrugUse:
    """A drug a patient received, with its role relative to PML."""

    drug: str  # canonical drug name or drug class id
    is_class: bool
    role: Role
    entity: Entity


@dataclass(frozen=True, slots=True)
class Summary:
    """A series' numeric fact as the abstract states it: a median (or mean) with its range.

    Any part may be missing ("median 8 months" has no range; "range 2-30" no median).
    """

    median: float | None = None
    low: float | None = None
    high: float | None = None
    kind: SummaryKind = "median"  # "single": one value stated for the series


@dataclass(slots=True)
class SeriesFacts:
    """What a series abstract says of its patients as a group, each fact with its sentence.

    Counts are patients, not mentions: ``drug_counts["rituximab"] == 3`` for "rituximab in 3 of
    11 patients". A field is ``None`` (or absent from a dict) when the abstract does not say it.
    """

    drug_counts: dict[str, int] = field(default_factory=dict)  # canonical drug (or class id) -> patients
    died: int | None = None
    survived: int | None = None
    months_to_outcome: Summary | None = None  # time from PML diagnosis to death or last follow-up
    age_years: Summary | None = None
    cd4_per_ul: Summary | None = None
    sex: dict[str, int] = field(default_factory=dict)  # "male" / "female" -> patients
    previously_published: int | None = None  # patients the abstract adds from the literature, not its own
    evidence: dict[str, Evidence] = field(default_factory=dict)  # "died", "sex", "drug:<name>", ... -> sentence


@dataclass(slots=True)
class Patient:
    index: int  # 0-based within the article; (pmid, index) is the stable key
    cohort_size: int = 1  # > 1: a series whose patients the abstract does not separate
    age_years: float | None = None
    sex: Sex | None = None
    cd4_per_ul: int | None = None
    defects: list[Entity] = field(default_factory=list)
    genes: list[Entity] = field(default_factory=list)
    drugs: list[DrugUse] = field(default_factory=list)
    outcome: Outcome = "unknown"
    months_to_outcome: float | None = None
    iris: bool = False
    jcv_detection: list[str] = field(default_factory=list)  # "csf_pcr", "biopsy": how PML was shown
    outcome_evidence: Evidence | None = None
    facts_evidence: dict[str, Evidence] = field(default_factory=dict)  # "age", "sex", "cd4"
    series: SeriesFacts | None = None  # cohort records only (cohort_size > 1)
    mesh_support: list[str] = field(default_factory=list)  # facts the article's MeSH indexing agrees with

    @property
    def exposures(self) -> list[DrugUse]:
        return [d for d in self.drugs if d.role == "exposure" and not d.entity.negated]

    @property
    def treatments(self) -> list[DrugUse]:
        return [d for d in self.drugs if d.role == "treatment" and not d.entity.negated]


@dataclass(slots=True)
class ArticleExtraction:
    pmid: str
    extractor: str  # name and version, e.g. "pmlkg-rules 0.1.0 (lexicons 1a2b3c4d)"
    about_pml: bool
    is_case: bool
    entities: list[Entity] = field(default_factory=list)
    patients: list[Patient] = field(default_factory=list)
    language: str = "en"  # ISO 639-1 code of the text's language as detected; "und" when undecidable
    warnings: list[str] = field(default_factory=list)  # what the reader should know: truncated, not English, ...
