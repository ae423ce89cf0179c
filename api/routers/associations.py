"""Drug (or drug class) x defect (or gene) associations, with the 2x2 table, Fisher's p, the
reporting odds ratio and the evidence behind every count."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from pmlkg.api.deps import Store
from pmlkg.api.errors import InvalidParameter, check_range
from pmlkg.api.models import Association, AssociationPage, ErrorResponse, Role
from pmlkg.graph.queries.associations import DENOMINATOR, SORT_KEYS, AssociationQuery, associations, with_evidence
from pmlkg.graph.queries.cases import drug_keys

router = APIRouter(tags=["associations"], responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})

@router.get("/associations", response_model=AssociationPage)
def get_associations(
    store: Store,
    rows: Annotated[Literal["drug", "drug_class"], Query(description="Row axis")] = "drug",
    cols: Annotated[Literal["defect", "gene"], Query(description="Column axis")] = "defect",
    role: Annotated[Role, Query(description="exposure: given before PML; treatment: given for PML")] = "exposure",
    drug: Annotated[str | None, Query(min_length=1, max_length=200,
                                      description="Only this drug (name or DrugBank id) or class id")] = None,
    defect: Annotated[str | None, Query(min_length=1, max_length=300, description="Only this defect (id or name)")] = None,
    gene: Annotated[str | None, Query(min_length=1, max_length=50, description="Only this gene symbol")] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=200,
                                          description="Only defects of this IUIS category (defect axis)")] = None,
    min_patients: Annotated[int, Query(ge=1, le=100_000)] = 1,
    year_min: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    year_max: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    sort: Annotated[Literal["patients", "ror", "p"], Query(description="Order of the rows")] = "patients",
    evidence_limit: Annotated[int, Query(ge=0, le=100, description="Evidence items listed per row")] = 5,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> AssociationPage:
    """Reported patients per (drug, defect) pair with outcomes, the 2x2 table against all other
    defects, Fisher's exact p and the ROR with its 95% CI. Counts are reported cases, not incidence;
    negated mentions ("had never received rituximab") are never counted."""
    if cols == "gene" and (category is not None or defect is not None):
        raise InvalidParameter("category" if category is not None else "defect", "not applicable to cols=gene",
                               "category and defect apply to cols=defect; use gene with cols=gene")
    if cols == "defect" and gene is not None:
        raise InvalidParameter("gene", "not applicable to cols=defect", "gene applies to cols=gene")
    check_range(year_min, year_max, "year_min")
    q = AssociationQuery(rows=rows, cols=cols, role=role, row_keys=None if drug is None else drug_keys(store, drug),
                         col=defect if cols == "defect" else gene, category=category, min_patients=min_patients,
                         year_min=year_min, year_max=year_max, evidence_limit=evidence_limit)
    result = associations(store, q)
    ordered = sorted(result.rows, key=SORT_KEYS[sort])
    shown = with_evidence(store, q, ordered[offset: offset + limit])
    return AssociationPage(rows=rows, cols=cols, role=role, denominator=DENOMINATOR,
                           universe_cases=result.universe_cases, universe_articles=result.universe_articles,
                           total=len(ordered), offset=offset, limit=limit,
                           items=[Association.model_validate(r) for r in shown])
