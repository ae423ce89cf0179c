"""Kaplan-Meier curves of time from PML diagnosis to death among reported patients."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pmlkg.api.deps import Store
from pmlkg.api.errors import InvalidParameter, check_range
from pmlkg.api.models import ErrorResponse
from pmlkg.graph.queries.cases import drug_keys
from pmlkg.graph.queries.survival import GroupBy, curves, survival_data

router = APIRouter(tags=["survival"], responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})

NOTE = ("Reported cases, not a cohort: patients described in PubMed abstracts, with a stated time from PML "
        "diagnosis to death (event) or to the last follow-up alive (censored). Patients without a time are left out, "
        "and so is every series whose abstract gives no time per patient (a median and range is not one), counted "
        "as such. Publication bias shapes these curves; they are no estimate of risk.")


class SurvivalStep(BaseModel):
    t: float | None
    survival: float | None
    ci_low: float | None = None
    ci_high: float | None = None


class SurvivalCurve(BaseModel):
    name: str
    patients: int
    deaths: int
    censored: list[float] = Field(description="Months at which patients were last known alive")
    steps: list[SurvivalStep]
    at_risk: list[int] = Field(description="Numbers at risk at each of at_risk_times")
    median_months: float | None = None
    cases: list[str]


class SurvivalSeries(BaseModel):
    """A series as the curves see it: what it states, and whether its patients could enter the curves."""

    case: str
    cohort_size: int
    deaths: int | None = Field(description="Deaths stated for the whole series")
    survivors: int | None
    months_median: float | None
    months_low: float | None
    months_high: float | None
    months_kind: str | None
    groups: list[str] = Field(description="The groups its patients belong to (two when only some were given the drug)")
    given: int | None = Field(description="group_by=exposure: its patients given the drug")
    shared_months: float | None = Field(description="The one time all its patients share, when its summary says so")
    contributed: int = Field(description="Patients it entered in the curves: all of them, or 0")
    reason: str | None = Field(description="Why it was left out")


class SurvivalResult(BaseModel):
    group_by: str
    note: str
    at_risk_times: list[int]
    groups: list[SurvivalCurve]
    logrank: dict[str, Any] | None = Field(None, description="Log-rank test across the groups")
    patients: int = Field(description="Individually described patients considered")
    without_time: int = Field(description="Of those, left out for want of a time or an outcome")
    series_considered: int = Field(description="Series (cohort_size > 1) in the year range")
    series_left_out: int = Field(description="Of those, left out: no time per patient, mixed outcomes, or only "
                                             "some given the drug")
    series_patients_left_out: int = Field(description="The patients of the series left out")
    series: list[SurvivalSeries]


@router.get("/survival", response_model=SurvivalResult)
def get_survival(
    store: Store,
    group_by: Annotated[GroupBy,
                        Query(description="exposure: to `drug` before PML or not; category: IUIS category")] = "category",
    drug: Annotated[str | None, Query(min_length=1, max_length=200,
                                      description="With group_by=exposure: a drug or drug class")] = None,
    year_min: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    year_max: Annotated[int | None, Query(ge=1900, le=2100)] = None,
) -> SurvivalResult:
    """Time from PML diagnosis to death, Kaplan-Meier, with numbers at risk and censoring."""
    if group_by == "exposure" and drug is None:
        raise InvalidParameter("drug", "required with group_by=exposure", "group_by=exposure needs drug")
    check_range(year_min, year_max, "year_min")
    keys = drug_keys(store, drug) if drug else None
    data = survival_data(store, group_by=group_by, drugs=keys, drug_label=drug, year_min=year_min, year_max=year_max)
    return SurvivalResult(group_by=group_by, note=NOTE, **curves(data))
