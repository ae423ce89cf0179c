"""The whole graph for other tools: KGX JSON Lines (nodes or edges) or a neo4j-admin CSV bundle."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from pmlkg.api.deps import Store
from pmlkg.api.models import ErrorResponse
from pmlkg.graph.exports import kgx_edges, kgx_nodes, neo4j_csv_zip

router = APIRouter(tags=["export"], responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


@router.get("/export", response_class=Response, responses={200: {"content": {
    "application/x-ndjson": {}, "application/zip": {}}, "description": "KGX JSON Lines, or a ZIP of CSV files"}})
def get_export(store: Store,
               format: Annotated[Literal["kgx", "csv"], Query(description="kgx: KGX JSON Lines; csv: neo4j-admin import")],
               part: Annotated[Literal["nodes", "edges"], Query(description="kgx only: which file")] = "nodes",
               ) -> Response:
    if format == "csv":
        return Response(neo4j_csv_zip(store), media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="pmlkg-neo4j-import.zip"'})
    lines = list(kgx_nodes(store) if part == "nodes" else kgx_edges(store))  # read whole: a store error is a clean 5xx
    return StreamingResponse(iter(lines), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="pmlkg_{part}.jsonl"'})
