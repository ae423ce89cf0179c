"""Drug x defect associations: which drugs, in which immune defects, in how many patients."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import Store
from api.models import DrugDefectAssociation, DrugDefectPage, ErrorResponse
from graph import queries

router = APIRouter(tags=["associations"], responses={503: {"model": ErrorResponse}})


@router.get("/associations/drug-defect", response_model=DrugDefectPage)
def drug_defect(
    store: Store,
    role: Annotated[Literal["exposure", "treatment", "other"] | None,
                    Query(description="exposure: given before PML; treatment: given for PML")] = None,
    drug: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    defect: Annotated[str | None, Query(min_length=1, max_length=300, description="Defect id or name")] = None,
    min_patients: Annotated[int, Query(ge=1, le=100_000)] = 1,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DrugDefectPage:
    """Patients and articles per (drug, defect) pair; negated mentions are never counted."""
    total, rows = queries.drug_defect_associations(store, role=role, drug=drug, defect=defect,
                                                   min_patients=min_patients, skip=offset, limit=limit)
    return DrugDefectPage(total=total, offset=offset, limit=limit,
                          items=[DrugDefectAssociation.model_validate(r) for r in rows])
