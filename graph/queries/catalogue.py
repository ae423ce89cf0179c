"""The read-only Cypher catalogue: every query the API runs, parameterised, registered by name.

Each topic module (``status``, ``entities``, ``cases``, ``associations``, ``search``,
``neighborhood``, ``export``) declares its queries with :func:`query`, with example parameters,
so the test suite runs every one against a real FalkorDB and lints every one with Neo4j's own
Cypher front end. The queries keep to what FalkorDB 4.16 and Neo4j 5 both run (README, "Cypher
both backends run"): notably no pattern comprehension directly in ``WHERE`` (FalkorDB cannot
resolve it; project it in ``WITH`` first), no ``EXISTS {}``, no label alternation ``:A|B``, and
distinct variable names in the pattern comprehensions of one clause (FalkorDB 4.16 mixes up two
comprehensions that both bind ``h``: measured, a filter on the second then matched nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pmlkg.graph.stores import GraphStore

DEFAULT_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    cypher: str
    example: dict[str, Any] = field(default_factory=dict)


CATALOGUE: dict[str, Query] = {}


def query(name: str, cypher: str, /, **example: Any) -> Query:
    if name in CATALOGUE:
        raise ValueError(f"query {name!r} registered twice")
    q = Query(name, cypher.strip(), example)
    CATALOGUE[name] = q
    return q


def run(store: GraphStore, q: Query, /, *, timeout_ms: int | None = DEFAULT_TIMEOUT_MS, **params: Any) -> list[dict[str, Any]]:
    return store.read(q.cypher, params, timeout_ms=timeout_ms)


def props(node: dict[str, Any] | None) -> dict[str, Any]:
    """A node or relationship as its plain properties (the stores add ``_labels`` / ``_type``)."""
    return {k: v for k, v in (node or {}).items() if not k.startswith("_")}


def whole(value: Any) -> int:
    """A count as an int: FalkorDB returns ``sum()`` as a float, and null for no rows."""
    return int(value or 0)


def with_whole(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return [{**r, **{k: whole(r[k]) for k in keys}} for r in rows]
