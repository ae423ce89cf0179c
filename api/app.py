"""The FastAPI application: routers over the graph query catalogue, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from pmlkg.api.deps import StoreProvider, reject_control_characters
from pmlkg.api.errors import install_error_handlers
from pmlkg.api.limits import BodyLimit
from pmlkg.api.models import ErrorResponse
from pmlkg.api.routers import (associations, cases, entities, explorer, export, graph_view, ingest, neo4j_assets, query,
                         search, status, survival)
from pmlkg import __version__
from pmlkg.settings import Settings

ROUTERS = (status, associations, cases, entities, search, graph_view, survival, export, query, ingest, neo4j_assets,
           explorer)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).resolved()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.stores.reset()

    app = FastAPI(
        title="pmlkg",
        version=__version__,
        description="PML in inborn errors of immunity: articles, cases, defects, genes, drugs and outcomes "
                    "extracted from PubMed, with the sentence behind every assertion. Counts are reported cases, "
                    "not incidence; negated assertions are stored but never counted.",
        lifespan=lifespan,
        # on every route, before its own dependencies: no parameter text with control characters
        dependencies=[Depends(reject_control_characters)],
        # every validation error is the project's error shape (api/errors.py), not FastAPI's default
        responses={422: {"model": ErrorResponse, "description": "Invalid parameter(s), named in details"}},
    )
    app.state.settings = settings
    app.state.stores = StoreProvider(settings)
    app.state.extractor = None
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key"])
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static", explorer.static_files(), name="static")
    return app
