"""Property-based tests of the whole OpenAPI schema with schemathesis, against the real app served
by uvicorn over HTTP on the demo graph.

One module fixture generates the requests (every operation, schema-conforming and schema-violating
data, seeded so the run is the same every time) and records every request and response; the tests
then judge the record, one contract each: no server error at all, the one error shape on every
4xx, 2xx bodies that conform to the documented response schema, and only documented statuses.

Random strings almost never name a gene, case or article of the graph, so the entity endpoints
would only ever answer 404 and their 2xx schemas would go unchecked: a third, "anchored" mode
fixes one parameter to a key read from the demo graph (a case id, a PMID, a drug name in any
case, a node id...) and generates the rest, and sends real read Cypher and generated $params
to POST /query.

Writes stay disabled (no API key, whatever the environment says), so POST /ingest is generated
against too and must refuse; the demo graph is never written.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.schema import SCHEMA
from pmlkg.graph.stores import open_store
from pmlkg.settings import Settings
from pmlkg.testing.live_server import serve

ANCHORED = "anchored"  # positive generation with one parameter fixed to a key of the demo graph
# Examples per operation and mode. Operations without parameters (/health, /stats) or with a tiny
# valid space (/export) are exhausted after a few, others have nothing negative to generate
# (/neo4j/{name}, /ingest) or no anchor; the total is ~700.
MAX_EXAMPLES: dict[Any, int] = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15, ANCHORED: 30}
KEYS_PER_LABEL = 6
# Real read queries for POST /query: scalars, nodes, relationships, paths, maps, lists, nulls,
# aggregates, more rows than max_rows, a parameter used as a LIMIT.
READ_QUERIES = (
    "MATCH (g:Gene) RETURN g.symbol AS symbol, g.ncbi_gene_id AS id ORDER BY symbol LIMIT 5",
    "MATCH (n) RETURN n LIMIT 3",
    "MATCH (c:Case)-[r]->(m) RETURN c, r, m LIMIT 3",
    "MATCH p = (:Publication)-[:REPORTS]->(:Case) RETURN p LIMIT 2",
    "MATCH (c:Case) RETURN c.id AS id, c.jcv_detection AS how, {age: c.age_years, sex: c.sex} AS who LIMIT 10",
    "MATCH (c:Case) RETURN c.outcome AS outcome, count(*) AS n, collect(c.id)[0..3] AS some ORDER BY n DESC",
    "MATCH (n) RETURN labels(n) AS labels, count(*) AS n ORDER BY n DESC",
    "MATCH (e:Evidence) RETURN e LIMIT 20000",
    "UNWIND range(1, 3000) AS i RETURN i",
    "MATCH (c:Case) WHERE c.cd4_per_ul IS NULL RETURN c.cd4_per_ul AS cd4, null AS nothing LIMIT 2",
    "MATCH (a:Publication) RETURN a.pmid AS pmid ORDER BY pmid LIMIT $n",
    "UNWIND range(1, 3) AS i RETURN i, i * 1.5 AS x, toString(i) AS s",
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
MIN_REQUESTS = 500
REQUEST_TIMEOUT = 60


@dataclass
class Exchange:
    operation: str
    mode: str
    method: str
    url: str
    path: str
    path_parameters: dict[str, Any] | None
    query: dict[str, Any] | None
    headers: dict[str, Any] | None
    body: Any
    status: int | None  # None: no response (connection error, timeout)
    response_body: str
    content_type: str
    schema_failure: str | None = None  # response_schema_conformance on a 2xx
    status_failure: str | None = None  # status_code_conformance: a status the operation does not document

    def describe(self) -> str:
        parts = [f"{self.method} {self.url}  [{self.operation}, {self.mode}]",
                 f"  path params: {self.path_parameters!r}", f"  query: {self.query!r}"]
        if self.headers:
            parts.append(f"  headers: {self.headers!r}")
        if self.body is not None:
            parts.append(f"  body: {_short(repr(self.body), 600)}")
        parts.append(f"  -> {self.status} {self.content_type}: {_short(self.response_body, 1500)}")
        if self.schema_failure:
            parts.append(f"  schema: {_short(self.schema_failure, 1500)}")
        if self.status_failure:
            parts.append(f"  status: {_short(self.status_failure, 500)}")
        return "\n".join(parts)


@dataclass
class FuzzRun:
    operations: list[str] = field(default_factory=list)
    schema_errors: list[str] = field(default_factory=list)  # operations schemathesis could not load
    generation_errors: list[str] = field(default_factory=list)  # (operation, mode) it could not generate for
    # Operations whose every input is valid (no parameters, an unconstrained string, any bytes, an
    # optional header): there is nothing negative to generate.
    no_negative_space: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0

    def statuses(self) -> Counter:
        return Counter(e.status for e in self.exchanges)

    def summary(self) -> str:
        per_op: dict[str, Counter] = {}
        for e in self.exchanges:
            per_op.setdefault(e.operation, Counter())[e.status] += 1
        lines = [f"{len(self.exchanges)} requests over {len(self.operations)} operations in {self.seconds:.1f}s; "
                 f"statuses {dict(sorted(self.statuses().items(), key=lambda kv: str(kv[0])))}"]
        for op in self.operations:
            counts = per_op.get(op, Counter())
            lines.append(f"  {op}: {sum(counts.values())} {dict(sorted(counts.items(), key=lambda kv: str(kv[0])))}")
        if self.no_negative_space:
            lines.append(f"  nothing schema-violating to generate for: {', '.join(self.no_negative_space)}")
        return "\n".join(lines)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _mode_name(mode: Any) -> str:
    return str(mode)  # GenerationMode is a StrEnum


def _record(case: Any, mode: Any, base_url: str, session: requests.Session) -> Exchange:
    url = base_url + case.formatted_path
    common = dict(operation=case.operation.label, mode=_mode_name(mode), method=case.method.upper(), url=url,
                  path=case.path, path_parameters=case.path_parameters, query=case.query, headers=case.headers,
                  body=None if case.body is NOT_SET else case.body)
    try:
        response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT)
    except requests.RequestException as exc:
        return Exchange(**common, status=None, response_body=f"{type(exc).__name__}: {exc}", content_type="")
    common["url"] = response.request.url or url
    exchange = Exchange(**common, status=response.status_code,
                        response_body=response.content.decode("utf-8", "replace"),
                        content_type=(response.headers.get("content-type") or [""])[0])
    if 200 <= response.status_code < 300:
        exchange.schema_failure = _check(case, response, response_schema_conformance)
    exchange.status_failure = _check(case, response, status_code_conformance)
    return exchange


def _check(case: Any, response: Any, check: Any) -> str | None:
    try:
        case.validate_response(response, checks=[check])
    except FailureGroup as group:
        return "; ".join(f"{f.title}: {f.message}" for f in group.exceptions)
    return None


def _graph_keys(falkordb_server: EmbeddedFalkorDB, graph_name: str) -> dict[str, list[str]]:
    """A few keys of every node label of the demo graph, read from the store (not through the API)."""
    store = open_store("falkordb:", falkordb_server.data_dir, graph_name=graph_name, start=False)
    try:
        keys = {}
        for label in SCHEMA.nodes:
            key = SCHEMA.key_of(label)
            rows = store.read(f"MATCH (n:{label}) RETURN n.{key} AS k ORDER BY k LIMIT {KEYS_PER_LABEL}")
            keys[label] = [str(r["k"]) for r in rows if r["k"] is not None]
        return keys
    finally:
        store.close()


def _anchored(operation: Any, keys: dict[str, list[str]]) -> Any:
    """Positive cases with one parameter fixed to a real key (the rest generated), or None."""

    def fixed(location: str, name: str, values: list[str]) -> list[Any]:
        return [operation.as_strategy(**{location: {name: v}}) for v in values]

    def query_body() -> Any:
        queries = st.sampled_from(READ_QUERIES)
        max_rows = st.none() | st.integers(1, 10_000)
        real = st.builds(lambda c, n, m: {"cypher": c, "params": {"n": n} if "$n" in c else {}, "max_rows": m},
                         queries, st.integers(0, 50), max_rows)
        echoed = st.builds(lambda v: {"cypher": "RETURN $p AS p", "params": {"p": v}}, JSON_VALUES)
        return (real | echoed).map(lambda body: operation.Case(body=body, media_type="application/json"))

    drugs = keys["Drug"] + keys["DrugClass"]
    strategies = {
        "GET /patients/{case_id}": lambda: fixed("path_parameters", "case_id", keys["Case"]),
        "GET /articles/{pmid}": lambda: fixed("path_parameters", "pmid", keys["Publication"]),
        "GET /drugs/{name}": lambda: fixed("path_parameters", "name", drugs + [d.upper() for d in drugs[:2]]),
        "GET /genes/{symbol}": lambda: fixed("path_parameters", "symbol", keys["Gene"]),
        "GET /defects/{key}": lambda: fixed("path_parameters", "key", keys["Disease"]),
        "GET /graph/neighborhood": lambda: fixed("query", "id", [f"{label}:{k}" for label, ks in sorted(keys.items())
                                                                 for k in ks[:2]]),
        "GET /patients": lambda: (fixed("query", "drug", drugs[:3]) + fixed("query", "gene", keys["Gene"][:3])
                                  + fixed("query", "defect", keys["Disease"][:3])
                                  + fixed("query", "pmid", keys["Publication"][:3])),
        "GET /associations": lambda: (fixed("query", "drug", drugs[:3]) + fixed("query", "defect", keys["Disease"][:3])
                                      + [operation.as_strategy(query={"cols": "gene", "gene": g})
                                         for g in keys["Gene"][:3]]),
        "GET /search": lambda: fixed("query", "q", [k[:4] for k in keys["Gene"][:2] + drugs[:3]]
                                     + keys["Publication"][:1]),
        "GET /neo4j/{name}": lambda: fixed("path_parameters", "name", ["guide.html", "pmlkg.grass",
                                                                       "saved_queries.cypher", "style.json"]),
        "POST /query": lambda: [query_body()],
    }
    make = strategies.get(operation.label)
    return None if make is None else st.one_of(make())


def _fuzz(operation: Any, mode: Any, strategy: Any, base_url: str, session: requests.Session, run: FuzzRun) -> None:
    @settings(max_examples=MAX_EXAMPLES[mode], derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet, print_blob=False,
              # Negative generation discards the inputs that happen to be valid; where almost all are
              # (a bare string path parameter) that is heavy filtering, not a problem of the test.
              suppress_health_check=[HealthCheck.too_slow]
              + ([HealthCheck.filter_too_much] if mode == GenerationMode.NEGATIVE else []))
    @given(case=strategy)
    def exercise(case: Any) -> None:
        run.exchanges.append(_record(case, mode, base_url, session))

    exercise()


@pytest.fixture(scope="module")
def fuzz_run(falkordb_server: EmbeddedFalkorDB, demo_graph: str) -> Iterator[FuzzRun]:
    # api_key=None explicitly: a PMLKG_API_KEY in the environment must not enable writes to the demo graph.
    app_settings = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name=demo_graph,
                            api_key=None)
    run = FuzzRun()
    keys = _graph_keys(falkordb_server, demo_graph)
    assert all(keys[label] for label in ("Case", "Publication", "Gene", "Drug", "DrugClass", "Disease")), keys
    started = time.monotonic()
    with serve(app_settings) as base_url, requests.Session() as session:
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                run.schema_errors.append(str(result.err()))
                continue
            operation = result.ok()
            run.operations.append(operation.label)
            for mode in MAX_EXAMPLES:
                strategy = (_anchored(operation, keys) if mode == ANCHORED
                            else operation.as_strategy(generation_mode=mode))
                if strategy is None:
                    continue
                try:
                    _fuzz(operation, mode, strategy, base_url, session, run)
                except Unsatisfiable as exc:
                    # Every input is valid: nothing negative to generate (no parameters, any string...).
                    if mode == GenerationMode.NEGATIVE:
                        run.no_negative_space.append(operation.label)
                    else:
                        run.generation_errors.append(f"{operation.label} [{_mode_name(mode)}]: Unsatisfiable: {exc}")
                except Exception as exc:  # noqa: BLE001 - a generation problem is reported, not fatal
                    run.generation_errors.append(f"{operation.label} [{_mode_name(mode)}]: {type(exc).__name__}: {exc}")
    run.seconds = time.monotonic() - started
    yield run


def _listing(exchanges: list[Exchange], limit: int = 25) -> str:
    shown = "\n\n".join(e.describe() for e in exchanges[:limit])
    more = f"\n\n... and {len(exchanges) - limit} more" if len(exchanges) > limit else ""
    return shown + more


def test_the_whole_schema_is_generated_from(fuzz_run: FuzzRun) -> None:
    assert not fuzz_run.schema_errors, "schemathesis could not load: " + "\n".join(fuzz_run.schema_errors)
    assert not fuzz_run.generation_errors, "could not generate for: " + "\n".join(fuzz_run.generation_errors)
    exercised = {e.operation for e in fuzz_run.exchanges}
    assert set(fuzz_run.operations) <= exercised, set(fuzz_run.operations) - exercised
    assert {"GET /associations", "GET /patients", "POST /query", "POST /ingest", "GET /export"} <= exercised


def test_no_server_errors(fuzz_run: FuzzRun) -> None:
    print("\n" + fuzz_run.summary())
    assert len(fuzz_run.exchanges) >= MIN_REQUESTS, fuzz_run.summary()
    broken = [e for e in fuzz_run.exchanges if e.status is None or e.status >= 500]
    assert not broken, f"{len(broken)} server errors or dropped requests:\n\n{_listing(broken)}"


def test_writes_stay_disabled(fuzz_run: FuzzRun) -> None:
    ingest = [e for e in fuzz_run.exchanges if e.operation == "POST /ingest"]
    assert ingest
    accepted = [e for e in ingest if e.status is None or not 400 <= e.status < 500]
    assert not accepted, _listing(accepted)
    refused = [e for e in ingest if e.status == 403]
    assert all(json.loads(e.response_body)["error"]["code"] == "writes_disabled" for e in refused)


def _error_shape_problem(e: Exchange) -> str | None:
    if not e.content_type.startswith("application/json"):
        return f"content type {e.content_type!r}"
    try:
        body = json.loads(e.response_body)
    except ValueError:
        return "not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "no error object"
    if not isinstance(error.get("code"), str) or not error["code"]:
        return "no error.code"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "no error.message"
    if error.get("details") is not None and not (isinstance(error["details"], list)
                                                 and all(isinstance(d, dict) for d in error["details"])):
        return "error.details is neither null nor a list of objects"
    return None


def test_every_client_error_has_the_error_shape(fuzz_run: FuzzRun) -> None:
    errors = [e for e in fuzz_run.exchanges if e.status is not None and 400 <= e.status < 500]
    assert errors, "no 4xx at all: negative generation did not reach the validation"
    bad = [e for e in errors if _error_shape_problem(e)]
    assert not bad, f"{len(bad)} of {len(errors)} 4xx without the error shape:\n\n" + _listing(bad)


def test_success_responses_conform_to_the_response_schema(fuzz_run: FuzzRun) -> None:
    ok = [e for e in fuzz_run.exchanges if e.status is not None and 200 <= e.status < 300]
    answered = {e.operation for e in ok}
    assert {"GET /health", "GET /stats", "GET /associations", "GET /patients", "GET /patients/{case_id}",
            "GET /articles/{pmid}", "GET /drugs/{name}", "GET /genes/{symbol}", "GET /defects/{key}", "GET /search",
            "GET /graph/neighborhood", "GET /export", "POST /query"} <= answered, answered
    assert any(e.operation == "POST /query" and '"truncated":true' in e.response_body for e in ok)
    bad = [e for e in ok if e.schema_failure]
    assert not bad, f"{len(bad)} of {len(ok)} 2xx not conforming to the schema:\n\n" + _listing(bad)


def test_every_status_is_documented(fuzz_run: FuzzRun) -> None:
    undocumented = [e for e in fuzz_run.exchanges if e.status_failure]
    by_status = Counter((e.operation, e.status) for e in undocumented)
    assert not undocumented, (f"{len(undocumented)} responses with an undocumented status {dict(by_status)}:\n\n"
                              + _listing(undocumented))
