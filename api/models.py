"""Response models: the API's contract with other tools (pydantic, shown in /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="Machine-readable error kind, e.g. not_found, invalid_parameter, store_unavailable")
    message: str
    details: list[dict] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    store: str = Field(description="Backend: falkordb or neo4j")
    reachable: bool


class Stats(BaseModel):
    nodes: dict[str, int]
    edges: dict[str, int]
    articles: int


class Mention(BaseModel):
    label: str
    key: str
    name: str | None = None
    count: int | None = None
    negated: bool | None = None
    text: str | None = None
    sentence: str | None = None
    start: int | None = None
    end: int | None = None


class PatientDefect(BaseModel):
    id: str
    name: str | None = None
    sentence: str | None = None


class PatientDrug(BaseModel):
    drug: str
    role: Literal["exposure", "treatment", "other"]
    negated: bool = False
    n_patients: int | None = Field(None, description="Series only: how many of the cohort received it")
    sentence: str | None = None
    start: int | None = None
    end: int | None = None


class PatientOutcome(BaseModel):
    outcome: str
    months: float | None = None
    sentence: str | None = None


class Patient(BaseModel):
    id: str
    index: int
    cohort_size: int = 1
    age_years: float | None = None
    sex: str | None = None
    cd4_per_ul: int | None = None
    outcome: str = "unknown"
    months_to_outcome: float | None = None
    iris: bool = False
    jcv_detection: list[str] = Field(default_factory=list, description="How PML was shown: csf_pcr, biopsy")
    defects: list[PatientDefect] = []
    genes: list[str] = []
    drugs: list[PatientDrug] = []
    outcomes: list[PatientOutcome] = []


class Article(BaseModel):
    pmid: str
    title: str
    journal: str | None = None
    year: int | None = None
    pub_date: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    publication_types: list[str] = []
    mesh: list[str] = []
    retracted: bool = False
    about_pml: bool = False
    is_case: bool = False
    n_patients: int = 0
    extractor: str | None = None
    mentions: list[Mention] = []
    patients: list[Patient] = []


class Drug(BaseModel):
    name: str
    display: str | None = None
    is_class: bool = False
    classes: list[str] = []
    drugbank_id: str | None = None
    mesh_id: str | None = None
    normalised: bool = False
    articles: int = 0
    patients_by_role: dict[str, int] = Field(default_factory=dict, description="Patients per role (negated excluded)")


class DefectDrug(BaseModel):
    drug: str
    role: str
    patients: int


class Defect(BaseModel):
    id: str
    name: str
    omim: list[str] = []
    iuis_category: str | None = None
    iuis_table: str | None = None
    normalised: bool = False
    genes: list[str] = []
    patients: int = 0
    deaths: int = 0
    pmids: list[str] = []
    drugs: list[DefectDrug] = []


class DrugDefectAssociation(BaseModel):
    drug: str
    defect_id: str
    defect: str
    patients: int = Field(description="Reported patients: a series counts by its stated numbers when it has one "
                                      "defect; a mixed-defect series cannot attribute its drug counts and adds 0")
    articles: int
    pmids: list[str]
    roles: list[str]


class DrugDefectPage(BaseModel):
    total: int
    offset: int
    limit: int
    denominator: str = "reported cases in the literature graph, not incidence"
    items: list[DrugDefectAssociation]
