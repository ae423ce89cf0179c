"""Dependencies: the store the app was started with (opened lazily, re-opened after a failure),
the settings, and the API key that write endpoints require."""

from __future__ import annotations

import hmac
import threading
from typing import Annotated

from fastapi import Depends, Header, Request

from api.errors import ApiError
from graph.errors import StoreUnavailable
from graph.store import GraphStore, open_store
from pmlkg.settings import Settings


class StoreProvider:
    """One store per app; a store that cannot be reached gives 503s, never a dead API."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: GraphStore | None = None
        self._lock = threading.Lock()

    def get(self) -> GraphStore:
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings.graph_uri, self.settings.data_dir,
                                         graph_name=self.settings.graph_name, start=False)
            return self._store

    def reset(self) -> None:
        with self._lock:
            if self._store is not None:
                try:
                    self._store.close()
                except Exception:  # closing a broken connection may fail; it is dropped either way
                    pass
            self._store = None


def get_store(request: Request) -> GraphStore:
    provider: StoreProvider = request.app.state.stores
    try:
        return provider.get()
    except StoreUnavailable:
        provider.reset()
        raise


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def require_api_key(request: Request, x_api_key: Annotated[str | None, Header(
        description="The key in PMLKG_API_KEY; write endpoints are disabled while it is unset")] = None) -> None:
    expected = get_settings(request).api_key
    if expected is None:
        raise ApiError(403, "writes_disabled", "write endpoints are disabled: the server has no PMLKG_API_KEY")
    if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), expected.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "a valid X-API-Key header is required for this endpoint")


Store = Annotated[GraphStore, Depends(get_store)]
AppSettings = Annotated[Settings, Depends(get_settings)]
