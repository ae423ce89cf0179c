"""Response and request models: the API's contract with other tools (pydantic, shown in /docs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmlkg.schema import Outcome, OutcomeEvent, Role, Sex, SummaryKind



class ErrorBody(BaseModel):
    code: str = Field(description="Machine-readable error kind: not_found, invalid_parameter, store_unavailable, "
                                  "store_busy, query_refused, query_too_complex, query_error, query_timeout, "
                                  "unauthorized, writes_disabled, payload_too_large, request_timeout, invalid_xml, "
                                  "internal_error, ...")
    message: str
    details: list[dict[str, Any]] | None = None


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
    cases: int


class Facets(BaseModel):
    year_min: int | None = None
    year_max: int | None = None
    articles: int
    categories: list[str] = Field(description="IUIS categories of the defects cases have")


class EvidenceRef(BaseModel):
    """Where an assertion comes from: offsets index the article text (title, then abstract sections,
    one per line); ``start - sentence_start`` locates the mention inside ``sentence``."""

    pmid: str | None = None
    sentence: str | None = None
    sentence_start: int | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None
    confidence: float | None = Field(None, description="Heuristic, not calibrated: 0.95 dictionary term, 0.85 "
                                                       "model span with an id, 0.6 without; halved when hedged")
    negated: bool | None = None
    hedged: bool | None = None
    extractor_version: str | None = None


class CaseDisease(BaseModel):
    id: str
    name: str | None = None
    category: str | None = None
    evidence: EvidenceRef


class CaseGene(BaseModel):
    symbol: str
    ncbi_gene_id: int | None = None
    evidence: EvidenceRef


class CaseDrug(BaseModel):
    key: str = Field(description="Drug canonical name or drug class id")
    name: str | None = None
    kind: str = Field(description="Drug or DrugClass")
    role: Role
    n_patients: int | None = Field(None, description="Series only: how many of the cohort received it, as stated "
                                                     "(null: the series names the drug without a number)")
    patients: int = Field(description="Patients this edge counts for, as /associations counts them: a patient 1, a "
                                      "series n_patients (1 when it states no number); 0 when negated")
    evidence: EvidenceRef


class CaseOutcome(BaseModel):
    outcome: OutcomeEvent
    months: float | None = None
    evidence: EvidenceRef


class Sentence(BaseModel):
    id: str
    text: str
    start: int
    end: int
    facts: list[str] = Field(description="What of the case the sentence states: defect:<id>, gene:<symbol>, "
                                         "<role>:<drug>, outcome, age_years, sex, cd4_per_ul; for a series also died, "
                                         "survived, months_to_outcome, previously_published, drug:<drug> (its count)")


class FactEvidence(EvidenceRef):
    """The sentence that states one fact of a series (``start``/``end``: the mention in it)."""

    fact: str
    id: str = Field(description="The Evidence node's id")


class SeriesSummary(BaseModel):
    """A value a series states for its patients as a group: a median (or mean, or one value) and a range."""

    median: float | None
    low: float | None
    high: float | None
    kind: SummaryKind | None = Field(description="single: one value for the whole series")


class SeriesDrug(BaseModel):
    key: str = Field(description="Drug canonical name or drug class id")
    name: str | None
    role: Role
    n_patients: int | None = Field(description="How many of the series received it, as stated (null: not stated)")
    patients: int = Field(description="How many it counts for (graph/queries/counting.py: 1 when not stated)")
    evidence: FactEvidence | None = Field(description="The sentence stating the number")


class CaseSeries(BaseModel):
    """What a series' abstract says of its patients as a group, each fact with its sentence."""

    cohort_size: int
    deaths: int | None = Field(description="Deaths stated; null when the abstract does not say")
    survivors: int | None = Field(description="Survivors stated or implied by the words ('all but one died'); null when not said (never cohort size minus deaths)")
    unknown_outcome: int = Field(description="Patients whose outcome the stated counts leave unknown")
    months_to_outcome: SeriesSummary | None = Field(description="Time from PML diagnosis to death or last follow-up")
    age_years: SeriesSummary | None
    cd4_per_ul: SeriesSummary | None
    n_male: int | None
    n_female: int | None
    previously_published: int | None = Field(description="Patients the article adds from the literature")
    drugs: list[SeriesDrug] = Field(description="Drugs the series names (not negated), with how many received each")
    evidence: dict[str, FactEvidence] = Field(description="Fact (died, survived, months_to_outcome, age_years, "
                                                          "cd4_per_ul, sex, previously_published, outcome, "
                                                          "drug:<key>) -> the sentence stating it")


class PublicationRef(BaseModel):
    pmid: str
    title: str | None = None
    year: int | None = None
    journal: str | None = None


class Case(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="<pmid>:<index>")
    pmid: str
    index: int
    cohort_size: int = Field(1, description="> 1: a series whose patients the abstract does not separate")
    age_years: float | None = None
    sex: Sex | None = None
    cd4_per_ul: int | None = None
    outcome: Outcome = "unknown"
    months_to_outcome: float | None = None
    iris: bool = False
    deaths: int | None = Field(description="A patient 0 or 1; a series its stated deaths (null: not stated)")
    survivors: int | None = Field(description="A patient 0 or 1; a series its stated survivors (null: not stated)")
    jcv_detection: list[str] = Field(default_factory=list, description="How PML was shown: csf_pcr, biopsy")
    publication: PublicationRef
    diseases: list[CaseDisease] = []
    genes: list[CaseGene] = []
    drugs: list[CaseDrug] = []
    outcomes: list[CaseOutcome] = []
    sentences: list[Sentence] = Field(default_factory=list, description="Every sentence an assertion of this case "
                                                                        "rests on")
    series: CaseSeries | None = Field(description="A series' group facts with their sentences; null for a patient")


class CasePage(BaseModel):
    total_cases: int
    total_patients: int = Field(description="Cases weighted by cohort size")
    patients_given_drug: int | None = Field(None, description=(
        "With a drug filter: the patients the drug was given to, counted as /associations counts them "
        "(a series counts the number it says received the drug, at least 1)"))
    offset: int
    limit: int
    items: list[Case]


class Mention(BaseModel):
    label: str
    key: str
    name: str | None = None
    count: int | None = None
    evidence: EvidenceRef


class Article(BaseModel):
    model_config = ConfigDict(extra="ignore")

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
    n_cases: int = Field(description="Patients the article reports (a series counts its size)")
    extractor: str | None = None
    mentions: list[Mention] = []
    cases: list[Case] = []


class OutcomeCounts(BaseModel):
    """Patients given a drug and their outcomes, as graph/queries/counting.py counts them: a series' deaths
    and survivors only where its totals determine those of the patients given the drug."""

    patients: int
    deaths: int
    survivors: int
    unknown_outcome: int


class RoleCount(OutcomeCounts):
    cases: int


class DrugDefect(OutcomeCounts):
    defect_id: str
    defect: str | None = None
    role: Role
    articles: int


class Drug(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="Canonical name, or the class id for a drug class")
    display: str | None = None
    kind: Literal["drug", "drug_class"]
    drugbank_id: str | None = None
    mesh_id: str | None = None
    atc: str | None = None
    classes: list[str] = Field(default_factory=list, description="Drug classes the drug belongs to")
    members: list[str] = Field(default_factory=list, description="For a class: its drugs in the graph")
    synonyms: list[str] = []
    normalised: bool = False
    articles: int = Field(description="Articles mentioning it")
    by_role: dict[str, RoleCount] = Field(default_factory=dict, description="Cases and patients per role; negated "
                                                                            "mentions excluded")
    defects: list[DrugDefect] = []


class GeneDisease(BaseModel):
    id: str
    name: str | None = None
    category: str | None = None


class RoleDrug(OutcomeCounts):
    drug: str
    role: Role


class CaseCounts(BaseModel):
    """A gene's or a defect's cases and their patients, as graph/queries/counting.py counts them."""

    cases: int = Field(description="Case records with it (patients and series)")
    patients: int = Field(description="Their patients, leaving out mixed-defect series (mixed_series)")
    deaths: int
    survivors: int
    unknown_outcome: int
    mixed_series: int = Field(description="Series of several defects: in cases and pmids, not in patients or outcomes")
    pmids: list[str] = []


class Gene(CaseCounts):
    model_config = ConfigDict(extra="ignore")

    symbol: str
    name: str | None = None
    ncbi_gene_id: int | None = None
    hgnc_id: str | None = None
    iuis: bool = False
    synonyms: list[str] = []
    normalised: bool = False
    diseases: list[GeneDisease] = []
    support_pmids: list[str] = Field(default_factory=list, description="Articles linking the gene to a defect")
    articles: int = Field(description="Articles mentioning the gene")
    drugs: list[RoleDrug] = []


class DefectDrug(OutcomeCounts):
    drug: str
    kind: str
    role: Role


class Defect(CaseCounts):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    omim: list[str] = []
    synonyms: list[str] = []
    iuis_category: str | None = None
    iuis_table: str | None = None
    normalised: bool = False
    genes: list[str] = []
    drugs: list[DefectDrug] = []


class AssociationEvidence(EvidenceRef):
    """The drug mention of one counted case, with the sentences of its defect and outcome."""

    case: str
    n_patients: int | None = None
    patients: int = Field(description="Patients this case counts for in the row")
    cohort_size: int | None
    deaths: int | None = Field(description="The case's deaths (a series' stated total, for all its patients)")
    survivors: int | None
    defect_sentence: str | None = None
    defect_text: str | None = None
    outcome: str | None = None
    outcome_sentence: str | None = None


class CellSeries(BaseModel):
    """A series counted in an association row: how many of it the row counts, and what it states for all
    its patients (its deaths and time summary cover the whole series, not only those given the drug)."""

    case: str
    cohort_size: int
    patients: int = Field(description="Of its patients, those the row counts")
    deaths: int | None
    survivors: int | None
    months_median: float | None
    months_low: float | None
    months_high: float | None
    months_kind: str | None


class Table2x2(BaseModel):
    a: int = Field(description="this defect, drug reported")
    b: int = Field(description="this defect, drug not reported")
    c: int = Field(description="other defects, drug reported")
    d: int = Field(description="other defects, drug not reported")


class Association(BaseModel):
    row_key: str = Field(description="Drug name or drug class id")
    row_name: str | None = None
    col_key: str = Field(description="Defect id or gene symbol")
    col_name: str | None = None
    category: str | None = Field(None, description="IUIS category of the defect")
    patients: int = Field(description="Reported patients with the drug (role as asked) and the defect")
    articles: int
    deaths: int
    survivors: int
    unknown_outcome: int = Field(description="Includes a series' patients given the drug whenever its totals do "
                                             "not determine their outcome (only some given it, not all died or "
                                             "all survived)")
    median_months_to_death: float | None = Field(None, description="Over the deaths with a time of their own "
                                                                   "(timed_deaths); series' summaries are not pooled")
    timed_deaths: int = Field(description="Deaths with an individual time, the median's basis")
    series: list[CellSeries] = Field(description="The series counted in this row, with their stated totals and time")
    table: Table2x2
    fisher_p: float = Field(description="Two-sided Fisher exact test of the 2x2 table")
    ror: float | None = Field(None, description="Reporting odds ratio (a*d)/(b*c)")
    ror_ci_low: float | None = None
    ror_ci_high: float | None = None
    haldane_corrected: bool = Field(False, description="0.5 added to every cell because one was zero")
    pmids: list[str]
    cases: list[str] = Field(description="The cases counted in this row (/patients/{id} gives each)")
    evidence: list[AssociationEvidence]
    n_evidence: int = Field(description="Cases with evidence in all; `evidence` lists the first evidence_limit")


class AssociationPage(BaseModel):
    rows: Literal["drug", "drug_class"]
    cols: Literal["defect", "gene"]
    role: Role
    denominator: str
    universe_cases: int = Field(description="Reported cases with a known defect (gene): the 2x2 tables' total")
    universe_articles: int
    total: int
    offset: int
    limit: int
    items: list[Association]


class SearchHit(BaseModel):
    id: str = Field(description="<Label>:<key>, as /graph/neighborhood takes it")
    label: str
    key: str
    name: str | None = None
    detail: str | None = None


class SearchResult(BaseModel):
    query: str
    items: list[SearchHit]


class GraphNode(BaseModel):
    id: str
    label: str
    key: Any
    caption: Any = None
    properties: dict[str, Any]


class GraphEdge(BaseModel):
    id: str
    source: str
    target: str
    type: str
    properties: dict[str, Any]


class GraphView(BaseModel):
    center: str
    depth: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = False
    note: str | None = None


class CypherRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cypher: str = Field(min_length=1, max_length=20_000, description="One read-only Cypher statement")
    params: dict[str, Any] = Field(default_factory=dict, description="Query parameters ($name)")
    timeout_ms: int | None = Field(None, ge=1, le=60_000, description="At most the server's limit")
    max_rows: int | None = Field(None, ge=1, le=10_000)


class CypherResult(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = Field(description="More rows than max_rows: only the first max_rows are returned")
    backend: str
    milliseconds: float


class DuplicateRecord(BaseModel):
    """A PMID given by several records of one document: the one kept is the highest <PMID Version>,
    of equal versions the last."""

    source: str
    pmid: str
    records: list[int] = Field(description="1-based positions of the records among the document's PubmedArticles")
    versions: list[int] = Field(description="The <PMID Version> of each of those records")
    kept: int = Field(description="The position of the record loaded")
    message: str


class IngestResult(BaseModel):
    articles_parsed: int
    articles_loaded: int
    articles_unchanged: int
    cases: int
    skipped_records: list[str] = Field([], description="Records not loaded, each with its position and why "
                                                       "(e.g. a PMID that is not 1-9 digits)")
    duplicates: list[DuplicateRecord] = Field([], description="PMIDs given twice, and which record was kept")
