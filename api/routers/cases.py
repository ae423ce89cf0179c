"""Cases: patients and unseparated series, filtered, each with the evidence of every assertion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from pmlkg.api.deps import Store
from pmlkg.api.errors import InvalidParameter, NotFound, check_range
from pmlkg.api.models import Case, CasePage, ErrorResponse, Outcome, Role, Sex
from pmlkg.graph.queries.cases import CaseFilter, case_details, case_page

router = APIRouter(tags=["cases"], responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


@router.get("/patients", response_model=CasePage)
def list_patients(
    store: Store,
    gene: Annotated[str | None, Query(min_length=1, max_length=50, description="Gene symbol of the defect")] = None,
    defect: Annotated[str | None, Query(min_length=1, max_length=300, description="Defect id or name")] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=200, description="IUIS category")] = None,
    drug: Annotated[str | None, Query(min_length=1, max_length=200,
                                      description="Drug name, DrugBank id or drug class id")] = None,
    role: Annotated[Role | None, Query(description="With drug: only this role")] = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    sex: Annotated[Sex | None, Query()] = None,
    age_min: Annotated[float | None, Query(ge=0, le=120)] = None,
    age_max: Annotated[float | None, Query(ge=0, le=120)] = None,
    year_min: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    year_max: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    pmid: Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$")] = None,
    attributable: Annotated[bool, Query(description=(
        "Only cases whose counts /associations can attribute to one defect (leaves out mixed-defect series)"))] = False,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> CasePage:
    """Cases matching every filter given, newest articles first."""
    if role is not None and drug is None:
        raise InvalidParameter("role", "needs drug", "role filters the drug given: pass drug too")
    check_range(age_min, age_max, "age_min")
    check_range(year_min, year_max, "year_min")
    f = CaseFilter(gene=gene, defect=defect, category=category, drug=drug, role=role, outcome=outcome, sex=sex,
                   age_min=age_min, age_max=age_max, year_min=year_min, year_max=year_max, pmid=pmid,
                   attributable=attributable)
    totals, items = case_page(store, f, skip=offset, limit=limit)
    return CasePage(total_cases=totals["cases"], total_patients=totals["patients"],
                    patients_given_drug=totals["given"], offset=offset, limit=limit,
                    items=[Case.model_validate(c) for c in items])


@router.get("/patients/{case_id}", response_model=Case, responses={404: {"model": ErrorResponse}})
def get_patient(store: Store, case_id: Annotated[str, Path(pattern=r"^[0-9]{1,9}:[0-9]{1,4}$",
                                                           description="<pmid>:<index>")]) -> Case:
    """One case with every assertion's evidence sentence and the sentences it rests on."""
    found = case_details(store, [case_id])
    if not found:
        raise NotFound(f"no case {case_id} in the graph")
    return Case.model_validate(found[0])
