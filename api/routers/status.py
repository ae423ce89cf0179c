"""Liveness and what the graph holds."""

from __future__ import annotations

from fastapi import APIRouter

from pmlkg.api.deps import Store
from pmlkg.api.models import ErrorResponse, Facets, Health, Stats
from pmlkg.graph.queries.catalogue import run
from pmlkg.graph.queries.status import PING, facets, stats

router = APIRouter(tags=["status"])


@router.get("/health", response_model=Health, responses={503: {"model": ErrorResponse}})
def health(store: Store) -> Health:
    """200 when the graph store answers a query; 503 (with the same body shape) when it does not."""
    run(store, PING)
    return Health(status="ok", store=store.backend, reachable=True)


@router.get("/stats", response_model=Stats, responses={503: {"model": ErrorResponse}})
def get_stats(store: Store) -> Stats:
    """Counts per node label and per relationship type."""
    counts = stats(store)
    return Stats(nodes=counts["nodes"], edges=counts["edges"], articles=counts["nodes"].get("Publication", 0),
                 cases=counts["nodes"].get("Case", 0))


@router.get("/facets", response_model=Facets, responses={503: {"model": ErrorResponse}})
def get_facets(store: Store) -> Facets:
    """The values the filters can take: the year range and the defect categories in the graph."""
    return Facets.model_validate(facets(store))
