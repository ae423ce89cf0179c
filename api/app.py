"""The FastAPI application: routers over the graph query catalogue, nothing else."""

from __future__ import annotations

from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.deps import StoreProvider
from api.errors import install_error_handlers
from api.routers import associations, entities, status
from pmlkg import __version__
from pmlkg.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).resolved()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.stores.reset()

    app = FastAPI(
        title="pmlkg",
        version=__version__,
        description="PML in inborn errors of immunity: articles, patients, defects, genes, drugs and outcomes "
                    "extracted from PubMed. Counts are reported cases, not incidence.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.stores = StoreProvider(settings)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"])
    install_error_handlers(app)
    for router in (status.router, entities.router, associations.router):
        app.include_router(router)
    return app
