"""The Neo4j Browser guide, style sheet and saved queries, served for Browser's ``:play``.

Neo4j Browser fetches a guide from the page (JavaScript), so these public, read-only files are
sent with ``Access-Control-Allow-Origin: *``; nothing else of the API is (see the CORS setting).
Browser's fetch sends request headers that make Chromium ask first (a CORS preflight ``OPTIONS``),
found when the Browser test first played the guide: the preflight is answered here too.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

import pmlkg.graph as graph_package
from pmlkg.api.errors import NotFound
from pmlkg.api.models import ErrorResponse

ASSETS = Path(graph_package.__file__).resolve().parent / "neo4j"
FILES = {"guide.html": "text/html", "pmlkg.grass": "text/plain", "saved_queries.cypher": "text/plain",
         "style.json": "application/json"}

router = APIRouter(tags=["neo4j"], responses={404: {"model": ErrorResponse}})


@router.get("/neo4j/{name}", response_class=FileResponse, responses={200: {"content": {
    "text/html": {}, "text/plain": {}, "application/json": {}}, "description": "The file"}})
def neo4j_asset(name: str) -> FileResponse:
    """``guide.html`` (``:play http://127.0.0.1:8000/neo4j/guide.html``), ``pmlkg.grass``,
    ``saved_queries.cypher``, ``style.json``."""
    if name not in FILES:
        raise NotFound(f"no Neo4j asset {name!r}; there are {sorted(FILES)}")
    return FileResponse(ASSETS / name, media_type=FILES[name], headers={"Access-Control-Allow-Origin": "*"})


@router.options("/neo4j/{name}", status_code=204, include_in_schema=False)
def neo4j_asset_preflight(name: str) -> Response:
    """The CORS preflight of a GET from Neo4j Browser's page: any origin, GET only, any request header."""
    if name not in FILES:
        raise NotFound(f"no Neo4j asset {name!r}; there are {sorted(FILES)}")
    return Response(status_code=204, headers={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET",
                                              "Access-Control-Allow-Headers": "*", "Access-Control-Max-Age": "600"})
