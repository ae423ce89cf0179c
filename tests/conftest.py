"""Fixtures for the whole suite: one real embedded FalkorDB and one real local Neo4j 5.26 per
session, a fresh graph per test.

The Neo4j server is the project's own (``graph/stores/neo4j_local.py``, jars fetched by ``make
neo4j``), started on free loopback ports in a temporary data dir the first time a test asks for
it; ``PMLKG_TEST_NEO4J_URI`` (with ``NEO4J_AUTH``) points the tests at another Neo4j 5 instead.
The Neo4j tests skip only where Java 17+ or the fetched jars are missing, and CI
(``PMLKG_REQUIRE_ALL=1``) fails on that skip like on any other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.graph.stores import GraphStore, open_store
from pmlkg.graph.stores.neo4j_local import Neo4jStatus
from pmlkg.settings import Settings

NEO4J_URI = os.environ.get("PMLKG_TEST_NEO4J_URI")
BACKENDS = [pytest.param("falkordb", id="falkordb"), pytest.param("neo4j", id="neo4j")]
# Set by .ci/run: there the repo's setup has installed chromium, node packages, docker-compose and the
# Neo4j jars, so a test that skips for want of one means the setup broke.
REQUIRE_ALL = os.environ.get("PMLKG_REQUIRE_ALL") == "1"


def neo4j_missing() -> str | None:
    """Why the local Neo4j cannot run here, or None."""
    from pmlkg.graph.stores.neo4j_local import MIN_JAVA, NEO4J_VERSION, _default_java, java_version, runtime_dir

    major = java_version(_default_java())
    if major is None or major < MIN_JAVA:
        return f"Neo4j {NEO4J_VERSION} needs Java {MIN_JAVA}+ (found {major})"
    if not (runtime_dir() / "lib" / f"neo4j-{NEO4J_VERSION}.jar").exists():
        return f"Neo4j {NEO4J_VERSION} jars are not in {runtime_dir()} (run `make neo4j`)"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but PMLKG_REQUIRE_ALL=1 (CI) requires it to run: {reason}"


@pytest.fixture(scope="session")
def falkordb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFalkorDB]:
    """Started once; tests that stop or break a server make their own in ``data_dir``."""
    server = EmbeddedFalkorDB(tmp_path_factory.mktemp("falkordb-session"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(falkordb_server: EmbeddedFalkorDB) -> Iterator[GraphStore]:
    """A FalkorDB graph of its own (uuid name) on the session server, deleted afterwards."""
    graph = open_store("falkordb:", falkordb_server.data_dir, graph_name=f"test-{uuid.uuid4().hex[:12]}",
                       start=False)
    try:
        yield graph
    finally:
        graph.clear()
        graph.close()


@pytest.fixture(scope="session")
def neo4j_auth_env() -> Iterator[str]:
    """``NEO4J_AUTH`` for the suite's Neo4j servers (one password for all), set for the session."""
    before = os.environ.get("NEO4J_AUTH")
    if not before:
        os.environ["NEO4J_AUTH"] = "neo4j/" + uuid.uuid4().hex
    try:
        yield os.environ["NEO4J_AUTH"]
    finally:
        if before is None:
            os.environ.pop("NEO4J_AUTH", None)


def _local_neo4j(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Neo4jStatus]:
    missing = neo4j_missing()
    if missing:
        pytest.skip(missing)
    from pmlkg.graph.stores.neo4j_local import LocalNeo4j

    server = LocalNeo4j(tmp_path_factory.mktemp(name))
    status = server.start()
    try:
        yield status
    finally:
        server.stop()


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory: pytest.TempPathFactory, neo4j_auth_env: str) -> Iterator[str]:
    """A Bolt URI of a running Neo4j 5 for tests that write (each clears it): the project's local
    server, started once, or ``PMLKG_TEST_NEO4J_URI``."""
    if NEO4J_URI:
        yield NEO4J_URI
        return
    for status in _local_neo4j(tmp_path_factory, "neo4j-scratch"):
        yield str(status.uri)


@pytest.fixture(scope="session")
def neo4j_demo_server(tmp_path_factory: pytest.TempPathFactory, neo4j_auth_env: str) -> Iterator[Neo4jStatus]:
    """A second local Neo4j holding the demo corpus, built once like ``demo_graph`` (Community has one
    user database, and the scratch server's is cleared by every test that writes)."""
    from pmlkg.build import build_graph
    from pmlkg.extraction.extractor import Extractor
    from pmlkg.ingest.files import DEMO_CORPUS

    for status in _local_neo4j(tmp_path_factory, "neo4j-demo"):
        graph = open_store(str(status.uri), tmp_path_factory.mktemp("neo4j-demo-build"))
        graph.clear()
        build_graph([DEMO_CORPUS], graph, tmp_path_factory.mktemp("neo4j-demo-data"), extractor=Extractor())
        graph.close()
        yield status


@pytest.fixture(scope="session")
def neo4j_demo(neo4j_demo_server: Neo4jStatus) -> str:
    """The Bolt URI of the Neo4j holding the demo."""
    return str(neo4j_demo_server.uri)


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """The same test on every backend; Neo4j has one shared database, so it is cleared before and after."""
    if request.param == "falkordb":
        yield request.getfixturevalue("store")
        return
    graph = open_store(request.getfixturevalue("neo4j_uri"), tmp_path)
    graph.clear()
    try:
        yield graph
    finally:
        graph.clear()
        graph.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def demo_graph(falkordb_server: EmbeddedFalkorDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo corpus built once into a graph of its own on the session server; yields its name.

    Tests that use it must not write to it (those that write build their own graph).
    """
    from pmlkg.extraction.extractor import Extractor
    from pmlkg.ingest.files import DEMO_CORPUS
    from pmlkg.build import build_graph

    name = f"demo-{uuid.uuid4().hex[:8]}"
    graph = open_store("falkordb:", falkordb_server.data_dir, graph_name=name, start=False)
    build_graph([DEMO_CORPUS], graph, tmp_path_factory.mktemp("demo-build"), extractor=Extractor())
    try:
        yield name
    finally:
        graph.clear()
        graph.close()


@pytest.fixture(scope="module", params=BACKENDS)
def demo_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo graph on each backend, as API settings: FalkorDB's ``demo_graph``, Neo4j's ``neo4j_demo``."""
    if request.param == "falkordb":
        server = request.getfixturevalue("falkordb_server")
        return Settings(data_dir=server.data_dir, graph_uri="falkordb:", graph_name=request.getfixturevalue("demo_graph"))
    return Settings(data_dir=tmp_path_factory.mktemp("neo4j-api"), graph_uri=request.getfixturevalue("neo4j_demo"))


@pytest.fixture(scope="module")
def demo_store(demo_settings: Settings) -> Iterator[GraphStore]:
    """The demo graph on each backend, opened read-only by convention (tests must not write to it)."""
    store = open_store(demo_settings.graph_uri, demo_settings.data_dir, graph_name=demo_settings.graph_name,
                       start=False)
    try:
        yield store
    finally:
        store.close()
