"""Search over names, synonyms and ids: genes, drugs, drug classes, defects, articles (PMIDs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pmlkg.api.deps import Store
from pmlkg.api.models import ErrorResponse, SearchHit, SearchResult
from pmlkg.graph.queries.search import search

router = APIRouter(tags=["search"], responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


@router.get("/search", response_model=SearchResult)
def get_search(store: Store, q: Annotated[str, Query(min_length=2, max_length=100, description=(
        "Text to find (case-insensitive substring of names and synonyms; ids and PMIDs exactly)"))],
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> SearchResult:
    text = " ".join(q.split())
    return SearchResult(query=text, items=[SearchHit.model_validate(h) for h in search(store, text, limit)])
