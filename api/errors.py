"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import tempfile
from pathlib import Path

import neo4j.exceptions
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pmlkg.api.cypher_guard import QueryRejected
from pmlkg.graph.stores.errors import (
    QueryTimeout,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    WriteRefused,
)

log = logging.getLogger(__name__)

# Every way a store connection fails, on both backends, as the driver raises it. Each backend
# translates these into StoreUnavailable, but a driver can raise one where no store method
# catches it (while a pool is torn down, in a result iterator, in a library's own helper); this
# one list maps them all to the 503 of a store that cannot be reached, never a 500.
STORE_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    StoreUnavailable,
    redis.exceptions.ConnectionError,  # FalkorDB's client is redis-py: refused, reset, closed by server
    redis.exceptions.TimeoutError,
    neo4j.exceptions.ServiceUnavailable,
    neo4j.exceptions.SessionExpired,
    ConnectionError,  # socket errors a driver let through: BrokenPipe, ConnectionReset/Refused/Aborted
    TimeoutError,  # socket.timeout
    socket.gaierror,
    socket.herror,
)
_PATH_REST = re.compile(r"""[^\s'"(),;:\]]*""")
UNAVAILABLE_MESSAGE = "the graph store cannot be reached; the API keeps running and reconnects on the next request"

# The guard's refusals (api/cypher_guard.KINDS): anything that could write is forbidden; a
# malformed query is a bad request; one too big or too deeply nested to parse safely, or using
# what the read path does not offer, is unprocessable. None of them reaches the store.
_REJECTED = {
    "write": (403, "query_refused"), "admin": (403, "query_refused"), "procedure": (403, "query_refused"),
    "multiple_statements": (403, "query_refused"),
    "syntax": (400, "query_error"), "empty": (400, "query_error"),
    "too_long": (422, "query_too_complex"), "too_deep": (422, "query_too_complex"),
    "too_complex": (422, "query_too_complex"), "too_many_terms": (422, "query_too_complex"),
    "bad_params": (422, "invalid_parameter"),
}
_UNSUPPORTED = (422, "query_unsupported")  # bad_char, non_ascii, unsupported, bad_limit


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class NotFound(ApiError):
    def __init__(self, message: str):
        super().__init__(404, "not_found", message)


class InvalidParameter(ApiError):
    """A 422 naming the field, in the shape of FastAPI's own validation errors (see ``invalid``)."""

    def __init__(self, field: str, problem: str, message: str, location: str = "query"):
        super().__init__(422, "invalid_parameter", message, [{"field": field, "location": location, "problem": problem}])


def check_range(low: float | None, high: float | None, field: str) -> None:
    """``field`` (the lower bound of a range) must not exceed the upper bound when both are given."""
    if low is not None and high is not None and low > high:
        raise InvalidParameter(field, "must be <= the maximum", f"{field} is above its maximum")


def error_response(status: int, code: str, message: str, details: list | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message, "details": details}})


class PathRedactor:
    """Takes the server's own filesystem paths out of error messages.

    Store and build messages name the data dir, the embedded server's socket and the like; useful
    in the server's log, nothing a client should learn. Known roots (the data dir, the socket's
    short link dir, the code, the interpreter, home and the working dir; absolute paths only) are
    replaced by a token, with the rest of the path under them, longest first, where the match ends
    a path component (``/root`` is not taken out of ``/rootkit``).
    """

    def __init__(self, data_dir: Path) -> None:
        roots = {str(data_dir), str(Path(data_dir).resolve()), str(Path(__file__).resolve().parents[1]),
                 sys.prefix, sys.base_prefix, sys.exec_prefix,
                 str(Path(tempfile.gettempdir()) / f"pmlkg-{os.getuid()}")}
        for where in (Path.home, Path.cwd):
            try:
                roots.add(str(where()))
            except (OSError, RuntimeError):  # no home, or a working dir that was removed
                pass
        named = {str(data_dir): "<data-dir>", str(Path(data_dir).resolve()): "<data-dir>"}
        self._roots = sorted(((r.rstrip("/"), named.get(r, "<server-path>")) for r in roots
                              if r.startswith("/") and len(r) > 1), key=lambda item: -len(item[0]))

    def __call__(self, text: str) -> str:
        for root, token in self._roots:
            start = 0
            while (i := text.find(root, start)) >= 0:
                end = i + len(root)
                if end == len(text) or not (text[end].isalnum() or text[end] in "_-."):
                    end = _PATH_REST.match(text, end).end()  # and what lies under it: the whole path goes
                    text = text[:i] + token + text[end:]
                    start = i + len(token)
                else:
                    start = end
        return text


def install_error_handlers(app: FastAPI) -> None:
    """Every failure in the one shape; ``app.state.settings`` must be set (the data dir to hide)."""
    redact = PathRedactor(app.state.settings.data_dir)

    def respond(status: int, code: str, message: str, details: list | None = None) -> JSONResponse:
        return error_response(status, code, redact(message), details)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return respond(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body", "header")),
                    "location": (e.get("loc") or ("?",))[0], "problem": e.get("msg")} for e in exc.errors()]
        fields = ", ".join(d["field"] or d["location"] for d in details)
        return respond(422, "invalid_parameter", f"invalid parameter(s): {fields}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
                413: "payload_too_large"}.get(exc.status_code, "http_error")
        return respond(exc.status_code, code, str(exc.detail))

    @app.exception_handler(QueryRejected)
    async def rejected(_: Request, exc: QueryRejected) -> JSONResponse:
        status, code = _REJECTED.get(exc.kind, _UNSUPPORTED)
        return respond(status, code, exc.message, [{"kind": exc.kind, "field": "cypher"}])

    @app.exception_handler(WriteRefused)
    async def write_refused(_: Request, exc: WriteRefused) -> JSONResponse:
        return respond(403, "query_refused", f"the read-only path refused a write: {exc}")

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        """The store is gone: retire the store this request held (the next request reconnects) and
        answer 503 without the driver's text, which names sockets, hosts and the data dir."""
        lease = getattr(request.state, "store_lease", None)
        if lease is not None:  # a store that worked has failed: worth a line in the log, once per store
            if not lease.retired:
                log.warning("graph store unavailable (%s): %s", type(exc).__name__, exc)
            request.app.state.stores.reset(lease)
        else:  # it could not be opened (again): every request while it is down would log it
            log.debug("graph store unavailable (%s): %s", type(exc).__name__, exc)
        return respond(503, "store_unavailable", UNAVAILABLE_MESSAGE)

    for kind in STORE_CONNECTION_ERRORS:
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(StoreBusy)
    async def busy(_: Request, exc: StoreBusy) -> JSONResponse:
        return respond(503, "store_busy", f"the graph store cannot serve yet: {exc}")

    @app.exception_handler(QueryTimeout)
    async def timeout(_: Request, exc: QueryTimeout) -> JSONResponse:
        return respond(504, "query_timeout", f"the query ran over its time limit: {exc}")

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return respond(500, "store_error", str(exc))

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        """Anything unforeseen is still the one shape, and says nothing of the server's internals
        (the traceback goes to the server's log, as Starlette logs every unhandled exception)."""
        return respond(500, "internal_error", "internal server error; the server's log has the details")
