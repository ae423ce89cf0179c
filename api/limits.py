"""Request body limits, as ASGI middleware: size and time, answered in the one error shape before
any route sees the body.

* **Size**: a body over ``max_bytes`` gets a 413, whether it announces its length or streams it in
  chunks (``Transfer-Encoding: chunked``, no ``Content-Length``): bytes are counted as they arrive
  and reading stops at the first byte over. The count cannot live in the routes: FastAPI reads a
  JSON body inside a ``try`` that turns any exception, this one too, into a 400 "error parsing the
  body" (so a 12 MB chunked ``POST /query`` was a 400). FastAPI's own ``max_body_size`` (0.165)
  answers only an announced length, in plain text, outside the app's exception handlers.
* **Time**: the whole body must arrive within ``timeout_s`` of the request reaching the app (its
  headers read), else a 408. uvicorn has no such timeout (``timeout_keep_alive`` covers the idle
  time *between* requests), so a client that sends half a body held its connection and a worker's
  memory for as long as it liked. A budget for the whole body, not an idle timeout per chunk: a
  client trickling one byte every few seconds is as stuck as a silent one.

So the body is read here, whole, and replayed to the app; every route reads its body whole anyway
(JSON or PubMed XML), so this costs no memory a route would not have used. Both refusals close the
connection. A 413 is sent at once but the connection lingers (as nginx's ``lingering_close``):
for up to ``LINGER_S`` seconds and twice ``max_bytes``, the rest of the body is read and dropped
before the close, because closing a socket with unread data makes the kernel send a reset, and a
client still sending then loses the 413 it was answered. A larger body is cut off regardless.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LINGER_S = 2.0


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            # a client waiting for "100 Continue" has sent nothing: reading would invite the body
            expects = headers.get(b"expect", b"").lower() == b"100-continue"
            await self._too_large(send, None if expects else receive)
            return
        chunks: list[bytes] = []
        seen = 0
        more = True
        outcome = "timeout"
        with anyio.move_on_after(self.timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left: nobody to answer
                chunk = message.get("body", b"")
                seen += len(chunk)
                more = message.get("more_body", False)
                if seen > self.max_bytes:
                    outcome = "too_large"
                    break
                chunks.append(chunk)
                if not more:
                    outcome = "complete"
                    break
        if outcome == "too_large":
            await self._too_large(send, receive if more else None)
            return
        if outcome == "timeout":
            await _refuse(send, 408, "request_timeout",
                          f"the request body did not arrive within {self.timeout_s:g} s (PMLKG_BODY_TIMEOUT_S)")
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            """The body once, as one message; then the real channel (which reports a disconnect)."""
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, drain: Receive | None) -> None:
        await _refuse(send, 413, "payload_too_large", f"request body over the limit of {self.max_bytes} bytes",
                      drain=drain, drain_bytes=2 * self.max_bytes)


async def _refuse(send: Send, status: int, code: str, message: str, *, drain: Receive | None = None,
                  drain_bytes: int = 0) -> None:
    """The error, then (with ``drain``) the rest of the body read and dropped, within bounds, so the
    connection closes cleanly rather than with a reset that would lose the answer."""
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body, "more_body": drain is not None})
    if drain is None:
        return
    dropped = 0
    with anyio.move_on_after(LINGER_S):
        while dropped <= drain_bytes:
            message = await drain()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
            dropped += len(message.get("body", b""))
    await send({"type": "http.response.body", "body": b""})
