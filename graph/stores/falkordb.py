"""``GraphStore`` on FalkorDB: the embedded server (unix socket) or an external one over TCP.

Why some choices:

* the client is built with **no command retries**: redis-py would otherwise resend a query
  after a dropped connection, and a resent ``CREATE`` is a duplicated write.
* ``read`` uses GRAPH.RO_QUERY, so FalkorDB itself refuses writes (``WriteRefused``).
* date parameters go out as ISO strings (``store.iso_params``): the client inlines params
  into a ``CYPHER k=v`` header and would write ``2024-02-03`` unquoted. Queries use ``date($d)``.
* caveat: the client caches label/type ids per ``Graph`` object; if *another* client deletes
  and rebuilds the same graph, open stores should be reopened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from falkordb import Edge, FalkorDB, Node
from falkordb import Path as FPath
from redis.backoff import NoBackoff
from redis.retry import Retry

from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.graph.stores.errors import (
    QueryError,
    QueryTimeout,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    WriteRefused,
)
from pmlkg.graph.stores.base import ClosingStore, env, identifier, iso_params, split_host_port

log = logging.getLogger(__name__)

CONSTRAINT_WAIT_S = 60.0
COMPACT_WAIT_S = 300.0


class FalkorDBStore(ClosingStore):
    """One named graph on one FalkorDB server."""

    backend = "falkordb"

    def __init__(self, db: FalkorDB, *, uri: str, where: str, graph_name: str):
        self._db = db
        self._conn: redis.Redis = db.connection
        self._graph = db.select_graph(graph_name)
        self.uri = uri
        self.where = where
        self.graph_name = graph_name

    def __repr__(self) -> str:
        return f"FalkorDBStore({self.where}, graph={self.graph_name!r})"

    # -- queries ------------------------------------------------------------------------------

    def read(self, cypher: str, params: Mapping[str, Any] | None = None, *,
             timeout_ms: int | None = None) -> list[dict[str, Any]]:
        timeout = None if timeout_ms is None else max(1, int(timeout_ms))
        sent = _params(params)
        try:
            try:
                result = self._graph.ro_query(cypher, sent, timeout=timeout)
            except redis.ResponseError as exc:
                if "empty key" not in str(exc):
                    raise
                # RO_QUERY on a graph that does not exist yet fails; an empty graph must read as empty
                # (count() = 0, not an error), so materialise it with a no-op write and read again.
                self._graph.query("RETURN 0")
                result = self._graph.ro_query(cypher, sent, timeout=timeout)
        except (redis.RedisError, OSError) as exc:
            raise self._translate(exc) from exc
        return _rows(result)

    def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            result = self._graph.query(cypher, _params(params))
        except (redis.RedisError, OSError) as exc:
            raise self._translate(exc) from exc
        return _rows(result)

    # -- schema -------------------------------------------------------------------------------

    def create_index(self, label: str, prop: str) -> None:
        """FalkorDB has no ``IF NOT EXISTS``; a duplicate says "already indexed", which is success."""
        cypher = f"CREATE INDEX FOR (n:`{identifier(label)}`) ON (n.`{identifier(prop)}`)"
        try:
            self._graph.query(cypher)
        except redis.ResponseError as exc:
            if "already indexed" not in str(exc):
                raise self._translate(exc) from exc
        except redis.RedisError as exc:
            raise self._translate(exc) from exc

    def create_unique(self, label: str, prop: str) -> None:
        """Exact-match index, then GRAPH.CONSTRAINT; waits (bounded) until it is OPERATIONAL."""
        self.create_index(label, prop)
        try:
            self._conn.execute_command("GRAPH.CONSTRAINT", "CREATE", self.graph_name, "UNIQUE", "NODE",
                                       identifier(label), "PROPERTIES", 1, identifier(prop))
        except redis.ResponseError as exc:
            if "already exists" not in str(exc):
                raise self._translate(exc) from exc
        except redis.RedisError as exc:
            raise self._translate(exc) from exc
        deadline = time.monotonic() + CONSTRAINT_WAIT_S
        while True:
            status = self._constraint_status(label, prop)
            if status == "OPERATIONAL":
                return
            if status == "FAILED":
                raise QueryError(f"unique constraint on :{label}({prop}) failed (duplicate values exist?)")
            if time.monotonic() >= deadline:
                raise StoreBusy(f"unique constraint on :{label}({prop}) still {status} after "
                                f"{CONSTRAINT_WAIT_S:g}s")
            time.sleep(0.02)

    def _constraint_status(self, label: str, prop: str) -> str | None:
        rows = self.read("CALL db.constraints() YIELD type, label, properties, entitytype, status "
                         "RETURN type, label, properties, entitytype, status")
        for row in rows:
            if (row["type"] == "UNIQUE" and row["label"] == label and list(row["properties"]) == [prop]
                    and row["entitytype"] == "NODE"):
                return str(row["status"])
        return None

    # -- maintenance --------------------------------------------------------------------------

    def compact(self) -> None:
        """BGREWRITEAOF: a replayed log re-runs every query without indexes (quadratic MERGE);
        the rewritten base is a snapshot that restores indexes too. No-op without AOF."""
        try:
            if int(self._conn.info("persistence").get("aof_enabled", 0)) != 1:
                return
            try:
                self._conn.execute_command("BGREWRITEAOF")
            except redis.ResponseError as exc:
                if "already in progress" not in str(exc):
                    raise
            deadline = time.monotonic() + COMPACT_WAIT_S
            while time.monotonic() < deadline:
                info = self._conn.info("persistence")
                if int(info.get("aof_rewrite_in_progress", 0)) == 0 and int(info.get("aof_rewrite_scheduled", 0)) == 0:
                    if info.get("aof_last_bgrewrite_status", "ok") != "ok":
                        log.warning("AOF rewrite on %s reported %s", self.where, info["aof_last_bgrewrite_status"])
                    return
                time.sleep(0.02)
            log.warning("AOF rewrite on %s still running after %gs; it goes on in the background",
                        self.where, COMPACT_WAIT_S)
        except redis.RedisError as exc:
            raise self._translate(exc) from exc

    def ping(self) -> bool:
        try:
            return bool(self._conn.ping())
        except redis.RedisError:
            return False

    def clear(self) -> None:
        try:
            self._graph.delete()
        except redis.ResponseError as exc:
            if "empty key" not in str(exc):
                raise self._translate(exc) from exc
        except redis.RedisError as exc:
            raise self._translate(exc) from exc

    def close(self) -> None:
        try:
            self._conn.close()
            self._conn.connection_pool.disconnect()
        except redis.RedisError:  # closing a broken connection may fail; it is dropped either way
            pass

    # -- errors -------------------------------------------------------------------------------

    def _translate(self, exc: redis.RedisError | OSError) -> StoreError:
        """One ``stores.errors`` type per driver failure. A socket error redis-py let through
        unwrapped (an ``OSError``: reset, broken pipe) is a connection failure like its own."""
        text = str(exc)
        if isinstance(exc, OSError):
            return StoreUnavailable(f"cannot reach FalkorDB at {self.where}: {type(exc).__name__}: {text}")
        if isinstance(exc, redis.BusyLoadingError):
            return StoreBusy(f"FalkorDB at {self.where} is still loading its data: {text}")
        if isinstance(exc, redis.ConnectionError):
            return StoreUnavailable(f"cannot reach FalkorDB at {self.where}: {text}")
        if isinstance(exc, redis.TimeoutError):
            return QueryTimeout(f"no answer from FalkorDB at {self.where}: {text}")
        if "timed out" in text.lower():
            return QueryTimeout(text)
        if "only on read-only queries" in text:
            return WriteRefused(f"write refused on the read-only path: {text}")
        return QueryError(text)


def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if not params else iso_params(dict(params))


def _rows(result: Any) -> list[dict[str, Any]]:
    columns = [h[1] for h in (result.header or [])]
    return [dict(zip(columns, (_value(v) for v in row), strict=True)) for row in (result.result_set or [])]


def _value(value: Any) -> Any:
    if isinstance(value, Node):
        return {**{k: _value(v) for k, v in (value.properties or {}).items()}, "_labels": list(value.labels or [])}
    if isinstance(value, Edge):
        return {**{k: _value(v) for k, v in (value.properties or {}).items()}, "_type": value.relation}
    if isinstance(value, FPath):
        return {"nodes": [_value(n) for n in value.nodes()], "relationships": [_value(e) for e in value.edges()]}
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _client(where: str, **kwargs: Any) -> FalkorDB:
    """The constructor already talks to the server (it probes for sentinel/cluster mode)."""
    try:
        return FalkorDB(socket_connect_timeout=5.0, retry=Retry(NoBackoff(), 0), **kwargs)
    except redis.BusyLoadingError as exc:
        raise StoreBusy(f"FalkorDB at {where} is still loading its data: {exc}") from exc
    except redis.RedisError as exc:
        raise StoreUnavailable(f"cannot reach FalkorDB at {where}: {exc}") from exc


def open_embedded(uri: str, data_dir: Path, *, graph_name: str, start: bool) -> FalkorDBStore:
    server = EmbeddedFalkorDB(data_dir)
    if start:
        server.start()
    else:
        status = server.status()
        if not status.running:
            raise StoreUnavailable(f"no FalkorDB server on unix socket {server.socket} (data dir "
                                   f"{server.data_dir}): start it with `pmlkg db start`")
        if status.loading:
            raise StoreBusy(f"FalkorDB on {server.socket} is still loading its append-only file")
    where = f"unix socket {server.socket}"
    store = FalkorDBStore(_client(where, unix_socket_path=str(server.socket)), uri=uri, where=where,
                          graph_name=graph_name)
    _check(store)
    return store


def open_tcp(uri: str, data_dir: Path, *, graph_name: str, start: bool) -> FalkorDBStore:  # noqa: ARG001
    """``falkordb://[user:password@]host[:port]``; the password may come from ``FALKORDB_PASSWORD``.
    ``data_dir`` and ``start`` are part of every opener's signature; a remote server is never started."""
    host, port = split_host_port(uri, 6379)
    parts = urlsplit(uri)
    password = unquote(parts.password) if parts.password else env("FALKORDB_PASSWORD")
    username = unquote(parts.username) if parts.username else None
    where = f"{host}:{port}"
    store = FalkorDBStore(_client(where, host=host, port=port, password=password, username=username),
                          uri=uri, where=where, graph_name=graph_name)
    _check(store)
    return store


def _check(store: FalkorDBStore) -> None:
    try:
        store._conn.ping()
    except redis.RedisError as exc:
        store.close()
        raise store._translate(exc) from exc
