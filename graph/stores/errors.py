"""The store errors every caller handles, whatever the backend.

Callers (CLI, API) map these to exit codes and HTTP statuses, so each backend translates its
driver's exceptions into exactly one of them and never lets a redis/neo4j exception escape.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every failure the graph store reports."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or started; the message names the URI/socket and the reason."""


class StoreBusy(StoreError):
    """The store exists but cannot serve yet: another process holds its data dir, or it is still loading."""


class QueryTimeout(StoreError):
    """The query ran past its time limit and the server aborted it."""


class QueryError(StoreError):
    """The server rejected the query (syntax, constraint violation, ...); the message is the server's."""


class WriteRefused(StoreError):
    """A write was sent through the read-only path (``GraphStore.read``)."""


class StoreAuthFailed(StoreUnavailable):
    """The store refused the credentials: retrying will not help, the user must fix them (CLI exit 2)."""
