"""Articles, drugs and drug classes, genes and immune defects by their keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from pmlkg.api.deps import Store
from pmlkg.api.errors import NotFound
from pmlkg.api.models import Article, Defect, Drug, ErrorResponse, Gene
from pmlkg.graph.queries import entities

router = APIRouter(tags=["entities"], responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


@router.get("/articles/{pmid}", response_model=Article)
def get_article(store: Store, pmid: Annotated[str, Path(pattern=r"^[0-9]{1,9}$", description="PubMed id")]) -> Article:
    """An article with the entities extracted from it and the cases it reports."""
    found = entities.publication(store, pmid)
    if found is None:
        raise NotFound(f"no article with PMID {pmid} in the graph")
    return Article.model_validate(found)


@router.get("/drugs/{name}", response_model=Drug)
def get_drug(store: Store, name: Annotated[str, Path(min_length=1, max_length=200, description=(
        "Canonical name (any case), DrugBank or MeSH id, or a drug class id (anti-cd20)"))]) -> Drug:
    found = entities.drug(store, name)
    if found is None:
        raise NotFound(f"no drug or drug class {name!r} in the graph")
    return Drug.model_validate(found)


@router.get("/genes/{symbol}", response_model=Gene)
def get_gene(store: Store, symbol: Annotated[str, Path(min_length=1, max_length=50, description="HGNC symbol")]) -> Gene:
    found = entities.gene(store, symbol)
    if found is None:
        raise NotFound(f"no gene {symbol!r} in the graph")
    return Gene.model_validate(found)


@router.get("/defects/{key}", response_model=Defect)
def get_defect(store: Store, key: Annotated[str, Path(min_length=1, max_length=300,
                                                      description="Defect id (iuis:...) or name, any case")]) -> Defect:
    found = entities.defect(store, key)
    if found is None:
        raise NotFound(f"no immune defect {key!r} in the graph")
    return Defect.model_validate(found)
