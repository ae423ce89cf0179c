"""``GraphStore`` on Neo4j 5 through the official driver.

Why some choices:

* ``read`` runs in an explicit READ transaction, not ``execute_read``: the managed form retries
  "transient" errors for up to 30 s, and on a cluster a write sent to a follower comes back as
  the transient ``NotALeader``; an explicit transaction reports it at once as ``WriteRefused``.
* ``write`` uses ``execute_write``: retries of a rolled-back transaction are safe, and the
  loader's batches are idempotent MERGEs anyway.
* dates go out as ISO strings like on FalkorDB (``store.iso_params``), so a query behaves the
  same on both backends; queries use ``date($d)``.
* ``graph_name`` does not apply: Neo4j Community has one database, chosen by the URI path or
  ``NEO4J_DATABASE`` (default ``neo4j``).
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import (
    AuthError,
    ConfigurationError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)
from neo4j.graph import Node, Path, Relationship

from pmlkg.graph.stores.errors import (QueryError, QueryTimeout, StoreAuthFailed, StoreError, StoreUnavailable,
                                       WriteRefused)
from pmlkg.graph.stores.base import ClosingStore, env, identifier, iso_params

CONNECT_TIMEOUT_S = 5.0
RETRY_TIME_S = 15.0
CLEAR_BATCH = 10_000

_WRITE_REFUSED = {
    "Neo.ClientError.Statement.AccessMode",
    "Neo.ClientError.Fabric.AccessMode",
    "Neo.ClientError.Cluster.NotALeader",
    "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase",
    "Neo.ClientError.Transaction.ForbiddenDueToTransactionType",
}
_ALREADY = {
    "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
    "Neo.ClientError.Schema.ConstraintAlreadyExists",
    "Neo.ClientError.Schema.IndexAlreadyExists",
}


def neo4j_auth(uri: str) -> tuple[str, str] | None:
    """URI userinfo, else ``NEO4J_AUTH`` ("user/password" or "none"), else ``NEO4J_USER``/``NEO4J_PASSWORD``."""
    parts = urlsplit(uri)
    if parts.username:
        return unquote(parts.username), unquote(parts.password or "")
    raw = env("NEO4J_AUTH")
    if raw is not None:
        if raw.lower() == "none":
            return None
        name, sep, secret = raw.partition("/")
        if not sep:
            raise ValueError("NEO4J_AUTH must be 'user/password' or 'none'")
        return name, secret
    user, password = env("NEO4J_USER"), env("NEO4J_PASSWORD")
    if user or password:
        return user or "neo4j", password or ""
    return None


class Neo4jStore(ClosingStore):
    backend = "neo4j"

    def __init__(self, driver: neo4j.Driver, *, uri: str, where: str, database: str):
        self._driver = driver
        self.uri = uri
        self.where = where
        self.database = database

    def __repr__(self) -> str:
        return f"Neo4jStore({self.where}, database={self.database!r})"

    def read(self, cypher: str, params: Mapping[str, Any] | None = None, *,
             timeout_ms: int | None = None) -> list[dict[str, Any]]:
        timeout = None if timeout_ms is None else max(1, int(timeout_ms)) / 1000.0
        try:
            with self._driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                tx = session.begin_transaction(timeout=timeout)
                try:
                    return [_record(r) for r in tx.run(cypher, _params(params))]
                finally:
                    tx.close()  # rolls back: nothing to commit on the read path
        except (Neo4jError, DriverError, OSError) as exc:
            raise self._translate(exc) from exc

    def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        sent = _params(params)

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [_record(r) for r in tx.run(cypher, sent)]

        try:
            with self._driver.session(database=self.database, default_access_mode=neo4j.WRITE_ACCESS) as session:
                return session.execute_write(work)
        except (Neo4jError, DriverError, OSError) as exc:
            raise self._translate(exc) from exc

    def create_index(self, label: str, prop: str) -> None:
        self._schema(f"CREATE INDEX IF NOT EXISTS FOR (n:`{identifier(label)}`) ON (n.`{identifier(prop)}`)")

    def create_unique(self, label: str, prop: str) -> None:
        """A plain index on the same property blocks the constraint in Neo4j 5: drop it first."""
        label, prop = identifier(label), identifier(prop)
        try:
            plain = self.read("SHOW RANGE INDEXES YIELD name, labelsOrTypes, properties, owningConstraint "
                              "WHERE labelsOrTypes = [$l] AND properties = [$p] AND owningConstraint IS NULL "
                              "RETURN name", {"l": label, "p": prop})
        except QueryError:  # SHOW not allowed here: let CREATE CONSTRAINT report any conflict itself
            plain = []
        for row in plain:
            self._schema(f"DROP INDEX `{row['name']}` IF EXISTS")
        self._schema(f"CREATE CONSTRAINT IF NOT EXISTS FOR (n:`{label}`) REQUIRE n.`{prop}` IS UNIQUE")

    def _schema(self, cypher: str) -> None:
        try:
            self.write(cypher)
        except QueryError as exc:
            if not any(code in str(exc) for code in _ALREADY):
                raise

    def compact(self) -> None:
        """Neo4j needs nothing after bulk loads."""

    def ping(self) -> bool:
        try:
            self._driver.verify_connectivity()
            return True
        except (Neo4jError, DriverError):
            return False

    def clear(self) -> None:
        """In batches: one transaction deleting a large graph would exhaust the heap."""
        batch = f"MATCH (n) WITH n LIMIT {CLEAR_BATCH} DETACH DELETE n RETURN count(*) AS deleted"
        while self.write(batch)[0]["deleted"]:
            pass

    def close(self) -> None:
        with contextlib.suppress(Neo4jError, DriverError, OSError):  # a broken connection is dropped anyway
            self._driver.close()

    def _translate(self, exc: Exception) -> StoreError:
        """A socket error the driver let through unwrapped (``OSError``) is a connection failure."""
        if isinstance(exc, (ServiceUnavailable, SessionExpired, AuthError, OSError)):
            return StoreUnavailable(f"cannot reach Neo4j at {self.where}: {exc}")
        code = getattr(exc, "code", None) or ""
        if code in _WRITE_REFUSED:
            return WriteRefused(f"write refused on the read-only path: {exc}")
        if "TimedOut" in code:
            return QueryTimeout(str(exc))
        if isinstance(exc, Neo4jError):
            return QueryError(f"{code}: {getattr(exc, 'message', None) or exc}")
        return QueryError(str(exc))


def open_neo4j(uri: str, data_dir: pathlib.Path | None = None, *, graph_name: str = "pmlkg",  # noqa: ARG001
               start: bool = False) -> Neo4jStore:
    """Neo4j 5 over Bolt (``data_dir``, ``graph_name`` and ``start`` are the openers' common signature: the
    database comes from the URI path or ``NEO4J_DATABASE``)."""
    parts = urlsplit(uri)
    host = parts.hostname or "localhost"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    driver_uri = f"{parts.scheme}://{netloc}"
    database = parts.path.strip("/") or env("NEO4J_DATABASE") or "neo4j"
    try:
        driver = GraphDatabase.driver(driver_uri, auth=neo4j_auth(uri), connection_timeout=CONNECT_TIMEOUT_S,
                                      connection_acquisition_timeout=CONNECT_TIMEOUT_S * 2,
                                      max_transaction_retry_time=RETRY_TIME_S,
                                      notifications_min_severity="OFF")  # the API returns data, not lint
    except ConfigurationError as exc:
        raise ValueError(f"bad Neo4j URI {uri!r}: {exc}") from exc
    store = Neo4jStore(driver, uri=uri, where=driver_uri, database=database)
    try:
        driver.verify_connectivity()
    except AuthError as exc:
        store.close()
        raise StoreAuthFailed(f"Neo4j at {driver_uri} refused the credentials (NEO4J_AUTH or the URI's user:password): "
                              f"{exc.message}") from exc
    except (Neo4jError, DriverError, OSError) as exc:
        store.close()
        raise StoreUnavailable(f"cannot reach Neo4j at {driver_uri}: {exc}") from exc
    return store


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return iso_params(dict(params)) if params else {}


def _record(record: neo4j.Record) -> dict[str, Any]:
    return {key: _value(value) for key, value in zip(record.keys(), record.values(), strict=True)}


def _value(value: Any) -> Any:
    if isinstance(value, Node):
        return {**{k: _value(v) for k, v in value.items()}, "_labels": sorted(value.labels)}
    if isinstance(value, Relationship):
        return {**{k: _value(v) for k, v in value.items()}, "_type": value.type}
    if isinstance(value, Path):
        return {"nodes": [_value(n) for n in value.nodes], "relationships": [_value(r) for r in value.relationships]}
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v) for v in value]
    to_native = getattr(value, "to_native", None)  # neo4j.time Date/DateTime/Time -> datetime
    if callable(to_native) and type(value).__module__.startswith("neo4j.time"):
        return to_native()
    return value
