"""Articles, drugs and immune defects by their keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.errors import NotFound
from api.models import Article, Defect, Drug, ErrorResponse
from api.deps import Store
from graph import queries

router = APIRouter(tags=["entities"], responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


@router.get("/articles/{pmid}", response_model=Article)
def get_article(store: Store, pmid: Annotated[str, Path(pattern=r"^[0-9]{1,9}$", description="PubMed id")]) -> Article:
    """An article with the entities extracted from it and the patients it reports."""
    found = queries.article(store, pmid)
    if found is None:
        raise NotFound(f"no article with PMID {pmid} in the graph")
    return Article.model_validate(found)


@router.get("/drugs/{name}", response_model=Drug)
def get_drug(store: Store, name: Annotated[str, Path(min_length=1, max_length=200,
                                                     description="Canonical name (any case) or DrugBank id")]) -> Drug:
    found = queries.drug(store, name)
    if found is None:
        raise NotFound(f"no drug named {name!r} in the graph")
    return Drug.model_validate(found)


@router.get("/defects/{name}", response_model=Defect)
def get_defect(store: Store, name: Annotated[str, Path(min_length=1, max_length=300,
                                                       description="Defect id (e.g. iuis:...) or name, any case")]) -> Defect:
    found = queries.defect(store, name)
    if found is None:
        raise NotFound(f"no immune defect {name!r} in the graph")
    return Defect.model_validate(found)
