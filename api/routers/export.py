"""The whole graph for other tools: KGX (nodes, edges, graph metadata) or a neo4j-admin CSV bundle."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from pmlkg import __version__
from pmlkg.api.deps import Store
from pmlkg.api.models import ErrorResponse
from pmlkg.graph.exports import CSV_BUNDLE, KGX_NAME, kgx_graph, kgx_lines, kgx_metadata, neo4j_csv_zip

router = APIRouter(tags=["export"], responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


@router.get("/export", response_class=Response, responses={200: {"content": {
    "application/x-ndjson": {}, "application/json": {}, "application/zip": {}},
    "description": "KGX JSON Lines (nodes or edges), KGX graph metadata (JSON), or a ZIP of CSV files"}})
def get_export(store: Store,
               format: Annotated[Literal["kgx", "csv"], Query(description="kgx: KGX JSON Lines; csv: neo4j-admin import")],
               part: Annotated[Literal["nodes", "edges", "metadata"],
                               Query(description="kgx only: which file (metadata: sources, Biolink version, "
                                     "prefix map, counts)")] = "nodes",
               ) -> Response:
    if format == "csv":
        return Response(neo4j_csv_zip(store), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{CSV_BUNDLE}"'})
    graph = kgx_graph(store)  # read whole: a store error is a clean 5xx
    if part == "metadata":
        return JSONResponse(kgx_metadata(graph, __version__))
    lines = list(kgx_lines(graph.nodes if part == "nodes" else graph.edges))
    return StreamingResponse(iter(lines), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="{KGX_NAME}_{part}.jsonl"'})
