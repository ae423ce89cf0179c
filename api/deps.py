"""Dependencies: the store the app was started with (opened lazily, re-opened after a failure),
the settings, the API key that write endpoints require, and the check on every parameter's text."""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from pmlkg.api.errors import ApiError
from pmlkg.graph.stores import GraphStore, open_store
from pmlkg.settings import Settings

# Unicode's control characters (category Cc): C0, DEL and C1. None belongs in a name, an id or a
# search text; tab and newline are refused too (no parameter is multi-line, and /search folds
# whitespace anyway). FalkorDB's client splices parameters into a "CYPHER k=v" header that its C
# parser reads, and a NUL ends the string there: the store answered a parser error (500).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_RULE = "control characters (U+0000-U+001F, U+007F-U+009F) are not allowed"


@dataclass(slots=True)
class _Lease:
    """One opened store and the requests using it: it is closed when retired *and* unused."""

    store: GraphStore
    users: int = 0
    retired: bool = False


class StoreProvider:
    """One store per app; a store that cannot be reached gives 503s, never a dead API.

    A failed store is retired, not closed under the requests still using it: requests run in
    worker threads, and closing the connection pool while another thread reads from one of its
    sockets made redis-py fail with "I/O operation on closed file" (a ValueError, a plain 500)
    instead of a connection error. The next request opens a new store; the old one is closed by
    the last request that held it.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._current: _Lease | None = None
        self._lock = threading.Lock()

    def acquire(self) -> _Lease:
        with self._lock:
            if self._current is None:
                self._current = _Lease(open_store(self.settings.graph_uri, self.settings.data_dir,
                                                  graph_name=self.settings.graph_name, start=False))
            self._current.users += 1
            return self._current

    def release(self, lease: _Lease) -> None:
        with self._lock:
            lease.users -= 1
            close = lease.retired and lease.users == 0
        if close:
            _close(lease.store)

    def reset(self, lease: _Lease | None = None) -> None:
        """Retire ``lease`` (default: the current store), unless a newer store already replaced it."""
        with self._lock:
            current = self._current
            if current is None or (lease is not None and lease is not current):
                return
            self._current = None
            current.retired = True
            close = current.users == 0
        if close:
            _close(current.store)


def _close(store: GraphStore) -> None:
    try:
        store.close()
    except Exception:  # closing a broken connection may fail; it is dropped either way
        pass


def get_store(request: Request) -> Iterator[GraphStore]:
    """The app's store, held for the request; the store errors' handler retires the one that failed."""
    provider: StoreProvider = request.app.state.stores
    lease = provider.acquire()
    request.state.store_lease = lease
    try:
        yield lease.store
    finally:
        provider.release(lease)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def require_api_key(request: Request, x_api_key: Annotated[str | None, Header(
        description="The key in PMLKG_API_KEY; write endpoints are disabled while it is unset")] = None) -> None:
    expected = get_settings(request).api_key
    if expected is None:
        raise ApiError(403, "writes_disabled", "write endpoints are disabled: the server has no PMLKG_API_KEY")
    if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), expected.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "a valid X-API-Key header is required for this endpoint")


def reject_control_characters(request: Request) -> None:
    """Every query and path parameter of every route, before the route's own dependencies.

    Installed once on the app (``FastAPI(dependencies=...)``), so a new route or parameter is
    covered without anyone remembering to; it runs before the store is opened, so such a text
    never reaches a store. A 422 in the one error shape, naming each offending parameter.
    """
    details = []
    for location, items in (("query", request.query_params.multi_items()), ("path", request.path_params.items())):
        for name, value in items:
            bad = CONTROL.search(name) or (CONTROL.search(value) if isinstance(value, str) else None)
            if bad:
                details.append({"field": CONTROL.sub("?", name), "location": location,
                                "problem": f"contains U+{ord(bad.group()):04X}: {CONTROL_RULE}"})
    if details:
        fields = ", ".join(dict.fromkeys(d["field"] for d in details))
        raise ApiError(422, "invalid_parameter", f"invalid parameter(s): {fields}", details)


Store = Annotated[GraphStore, Depends(get_store)]
AppSettings = Annotated[Settings, Depends(get_settings)]
