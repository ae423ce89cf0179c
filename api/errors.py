"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.cypher_guard import QueryRejected
from graph.errors import QueryTimeout, StoreBusy, StoreError, StoreUnavailable, WriteRefused

log = logging.getLogger(__name__)

# The guard's refusals (graph/cypher_guard.KINDS): anything that could write is forbidden; a
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body", "header")),
                    "location": (e.get("loc") or ("?",))[0], "problem": e.get("msg")} for e in exc.errors()]
        fields = ", ".join(d["field"] or d["location"] for d in details)
        return error_response(422, "invalid_parameter", f"invalid parameter(s): {fields}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(QueryRejected)
    async def rejected(_: Request, exc: QueryRejected) -> JSONResponse:
        status, code = _REJECTED.get(exc.kind, _UNSUPPORTED)
        return error_response(status, code, exc.message, [{"kind": exc.kind, "field": "cypher"}])

    @app.exception_handler(WriteRefused)
    async def write_refused(_: Request, exc: WriteRefused) -> JSONResponse:
        return error_response(403, "query_refused", f"the read-only path refused a write: {exc}")

    @app.exception_handler(StoreUnavailable)
    async def unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        request.app.state.stores.reset()
        return error_response(503, "store_unavailable", f"the graph store cannot be reached: {exc}")

    @app.exception_handler(StoreBusy)
    async def busy(_: Request, exc: StoreBusy) -> JSONResponse:
        return error_response(503, "store_busy", f"the graph store cannot serve yet: {exc}")

    @app.exception_handler(QueryTimeout)
    async def timeout(_: Request, exc: QueryTimeout) -> JSONResponse:
        return error_response(504, "query_timeout", f"the query ran over its time limit: {exc}")

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return error_response(500, "store_error", str(exc))
