"""Liveness and what the graph holds."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Store, get_store
from api.models import ErrorResponse, Health, Stats
from graph import queries
from graph.errors import StoreError

router = APIRouter(tags=["status"])


@router.get("/health", response_model=Health, responses={503: {"model": ErrorResponse}})
def health(request: Request) -> Health:
    """200 when the graph store answers a query; 503 (with the same body shape) when it does not."""
    settings = request.app.state.settings
    backend = "neo4j" if settings.graph_uri.startswith(("neo4j", "bolt")) else "falkordb"
    try:
        store = get_store(request)
        queries.run(store, queries.PING)
    except StoreError:
        request.app.state.stores.reset()
        raise
    return Health(status="ok", store=backend, reachable=True)


@router.get("/stats", response_model=Stats, responses={503: {"model": ErrorResponse}})
def stats(store: Store) -> Stats:
    """Counts per node label and per relationship type."""
    counts = queries.stats(store)
    return Stats(nodes=counts["nodes"], edges=counts["edges"], articles=counts["nodes"].get("Article", 0))
