"""The one graph-store interface and the helpers every backend shares (the backends import this).

Everything above this layer (loader, queries, API) talks to ``GraphStore`` only, so the same
Cypher runs on the embedded FalkorDB, an external FalkorDB, or Neo4j 5.

Conventions every backend honours:

* rows are ``dict``s keyed by column name; nodes become plain dicts of their properties plus
  ``_labels`` (list), relationships plus ``_type``; paths become ``{"nodes": [...],
  "relationships": [...]}``; date values come back as ``datetime.date``.
* ``datetime.date``/``datetime`` parameters are sent as ISO strings on *both* backends
  (FalkorDB's client would inline them unquoted, a syntax error). Queries therefore write
  ``date($d)``; a query that forgets it stores a string on both backends alike, instead of
  working on Neo4j and failing on FalkorDB.
* ``read`` runs read-only and raises ``WriteRefused`` for a write; errors are the ones in
  ``stores.errors``.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import re
import socket
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable
from urllib.parse import urlsplit

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@runtime_checkable
class GraphStore(Protocol):
    """What the loader, queries and API may ask of a graph database."""

    backend: str  # "falkordb" | "neo4j"
    uri: str

    def read(self, cypher: str, params: Mapping[str, Any] | None = None, *,
             timeout_ms: int | None = None) -> list[dict[str, Any]]:
        """Run read-only; a write raises ``WriteRefused``, a timeout ``QueryTimeout``."""
        ...

    def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        ...

    def create_index(self, label: str, prop: str) -> None:
        """Idempotent."""
        ...

    def create_unique(self, label: str, prop: str) -> None:
        """Idempotent; also indexes ``prop``."""
        ...

    def compact(self) -> None:
        """Make the on-disk state cheap to reload after a bulk load."""
        ...

    def ping(self) -> bool:
        ...

    def clear(self) -> None:
        """Delete every node and relationship of this graph."""
        ...

    def close(self) -> None:
        ...

    def __enter__(self) -> Self:
        ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        ...


class ClosingStore:
    """``with store:`` closes it; shared by the backends."""

    def close(self) -> None:  # pragma: no cover - every backend overrides it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def split_host_port(uri: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(uri)
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"bad port in graph store URI {uri!r}") from exc
    return parts.hostname or "localhost", port


def iso_params(value: Any) -> Any:
    """Dates (and datetimes) to ISO strings, recursively: see the module docstring for why."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: iso_params(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [iso_params(v) for v in value]
    return value


def identifier(name: str) -> str:
    """Labels and property names are spliced into schema commands, so only plain identifiers pass."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


def env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it), for a server pmlkg starts."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    """Nothing listens on ``host:port``. Connections in TIME_WAIT after a server stopped do not count:
    the servers pmlkg starts (uvicorn, Neo4j) bind with SO_REUSEADDR, so the check does too."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True
