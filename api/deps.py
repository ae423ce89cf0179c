"""Dependencies: the store the app was started with, opened lazily and re-opened after a failure."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

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


Store = Annotated[GraphStore, Depends(get_store)]
