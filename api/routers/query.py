"""Read-only Cypher for power users: parameterised, vetted, time- and row-limited.

Three barriers, each enough on its own against a write: the guard (api/cypher_guard.py)
refuses write clauses, procedures, several statements and anything too long or too deeply
nested to parse safely, before the store sees the text; the store's read path
(GRAPH.RO_QUERY on FalkorDB, a READ transaction on Neo4j) refuses any write that slips past;
and the catalogue never shares this path. A write is answered 403, the graph is unchanged.
"""

from __future__ import annotations

import dataclasses
import time

from fastapi import APIRouter

from pmlkg.api.deps import AppSettings, Store
from pmlkg.api.errors import ApiError
from pmlkg.api.models import CypherRequest, CypherResult, ErrorResponse
from pmlkg.api.cypher_guard import DEFAULT_LIMITS, check_user_query
from pmlkg.graph.stores.errors import QueryError

router = APIRouter(tags=["query"], responses={400: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
                                              408: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
                                              422: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
                                              504: {"model": ErrorResponse}})


@router.post("/query", response_model=CypherResult)
def post_query(body: CypherRequest, store: Store, settings: AppSettings) -> CypherResult:
    """One read-only Cypher statement with ``$parameters``; columns and rows as JSON."""
    limits = dataclasses.replace(
        DEFAULT_LIMITS, max_rows=min(body.max_rows or settings.query_max_rows, 10_000),
        timeout_ms=min(body.timeout_ms or settings.query_timeout_ms, settings.query_timeout_ms))
    guarded = check_user_query(body.cypher, body.params, limits=limits)
    t0 = time.perf_counter()
    try:
        rows = store.read(guarded.cypher, guarded.params, timeout_ms=guarded.timeout_ms)
    except QueryError as exc:
        raise ApiError(400, "query_error", f"the graph store rejected the query: {exc}") from exc
    elapsed = (time.perf_counter() - t0) * 1000
    kept, truncated = guarded.cut(rows)
    columns = list(kept[0]) if kept else []
    return CypherResult(columns=columns, rows=kept, truncated=truncated, backend=store.backend,
                        milliseconds=round(elapsed, 1))
