"""The embedded FalkorDB server's life cycle, on real redis-server processes (each test its own data dir)."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pmlkg.graph.stores.embedded import MAX_SOCKET_PATH, EmbeddedFalkorDB, default_socket
from pmlkg.graph.stores.errors import StoreBusy, StoreUnavailable
from pmlkg.graph.stores import open_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server(data_dir: Path) -> Iterator[EmbeddedFalkorDB]:
    srv = EmbeddedFalkorDB(data_dir)
    try:
        yield srv
    finally:
        srv.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat_line = Path(f"/proc/{pid}/stat").read_text()
    return stat_line.rsplit(")", 1)[-1].split()[0] != "Z"  # an unreaped zombie has exited


def _our_servers(srv: EmbeddedFalkorDB) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "redis-server" in cmdline and str(srv.socket) in cmdline and _alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


def test_start_status_stop(server: EmbeddedFalkorDB) -> None:
    before = server.status()
    assert not before.running and before.state == "stopped" and before.pid is None

    st = server.start()
    assert st.running and st.state == "ready" and not st.loading
    assert st.pid is not None and _alive(st.pid)
    assert st.socket == server.socket == default_socket(server.data_dir)
    assert stat.S_IMODE(os.stat(server.socket).st_mode) == 0o700
    assert st.redis_version and st.falkordb_version and st.falkordb_version.count(".") == 2
    client = redis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
    assert client.config_get("port") == {"port": "0"}  # no TCP listener at all
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    client.close()
    assert server.pid_file.read_text().strip() == str(st.pid)

    server.stop()
    after = server.status()
    assert not after.running and after.pid is None
    assert not _alive(st.pid)
    assert not server.socket.exists() and not server.pid_file.exists()
    server.stop()  # stopping a stopped server is a no-op


def test_start_is_idempotent_and_reuses_the_live_server(server: EmbeddedFalkorDB) -> None:
    first = server.start()
    again = server.start()
    other_handle = EmbeddedFalkorDB(server.data_dir).start()
    assert first.pid == again.pid == other_handle.pid
    assert _our_servers(server) == [first.pid]


def test_concurrent_starts_launch_one_server(server: EmbeddedFalkorDB) -> None:
    code = ("import sys; from pathlib import Path; from pmlkg.graph.stores.embedded import EmbeddedFalkorDB; "
            "print(EmbeddedFalkorDB(Path(sys.argv[1])).start().pid)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(server.data_dir)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=30) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    pids = {int(out.strip()) for out, _ in outs}
    assert len(pids) == 1
    assert _our_servers(server) == list(pids)


def test_restart_keeps_data_and_schema(server: EmbeddedFalkorDB) -> None:
    server.start()
    with open_store("falkordb:", server.data_dir, graph_name="kept") as store:
        store.create_unique("Gene", "symbol")
        store.create_index("Gene", "ncbi_gene_id")
        store.write("UNWIND $rows AS r MERGE (g:Gene {symbol: r.s}) SET g.ncbi_gene_id = r.id",
                    {"rows": [{"s": "CD40LG", "id": 959}, {"s": "STAT1", "id": 6772}]})
    first_pid = server.status().pid
    server.stop()
    assert not server.status().running

    st = server.start()
    assert st.pid != first_pid and "kept" in st.graphs
    with open_store("falkordb:", server.data_dir, graph_name="kept", start=False) as store:
        rows = store.read("MATCH (g:Gene) RETURN g.symbol AS s, g.ncbi_gene_id AS id ORDER BY s")
        assert rows == [{"s": "CD40LG", "id": 959}, {"s": "STAT1", "id": 6772}]
        store.create_unique("Gene", "symbol")  # the schema step of every build: must be idempotent
        store.create_index("Gene", "ncbi_gene_id")
        indexed = {(r["label"], prop) for r in store.read(
            "CALL db.indexes() YIELD label, properties RETURN label, properties") for prop in r["properties"]}
        assert {("Gene", "symbol"), ("Gene", "ncbi_gene_id")} <= indexed
        with pytest.raises(Exception, match="unique constraint violation"):
            store.write("CREATE (:Gene {symbol: 'STAT1'})")


def test_killed_server_leaves_stale_files_that_start_recovers(server: EmbeddedFalkorDB) -> None:
    pid = server.start().pid
    assert pid is not None
    with open_store("falkordb:", server.data_dir, graph_name="crash") as store:
        store.write("CREATE (:Article {pmid: '1'})")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.socket.exists() and server.pid_file.exists()  # what a crash leaves behind
    assert not server.status().running

    t0 = time.monotonic()
    st = server.start()
    assert time.monotonic() - t0 < 5
    assert st.running and st.pid != pid
    with open_store("falkordb:", server.data_dir, graph_name="crash", start=False) as store:
        assert store.read("MATCH (a:Article) RETURN a.pmid AS pmid") == [{"pmid": "1"}]  # the AOF kept it


def test_stale_pid_file_and_socket_are_removed_quickly(server: EmbeddedFalkorDB) -> None:
    server.dir.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    server.pid_file.write_text(f"{dead.pid}\n")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(server.dir / "falkordb.sock"))  # bound, never listening: connect is refused
    stale.close()
    assert not server.status().running

    t0 = time.monotonic()
    st = server.start()
    assert time.monotonic() - t0 < 5
    assert st.running and st.pid != dead.pid
    assert server.pid_file.read_text().strip() == str(st.pid)


def test_pid_file_of_an_unrelated_process_is_stale_and_that_process_lives(server: EmbeddedFalkorDB) -> None:
    server.dir.mkdir(parents=True)
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        server.pid_file.write_text(str(stranger.pid))
        st = server.start()
        assert st.pid != stranger.pid
        server.stop()
        server.pid_file.write_text(str(stranger.pid))
        server.stop()  # nothing runs; the pid file is not ours: nothing may be signalled
        assert stranger.poll() is None
        assert not server.pid_file.exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_server_outlives_the_process_that_started_it(server: EmbeddedFalkorDB) -> None:
    code = ("import sys; from pathlib import Path; from pmlkg.graph.stores.embedded import EmbeddedFalkorDB; "
            "print(EmbeddedFalkorDB(Path(sys.argv[1])).start().pid)")
    starter = subprocess.run([sys.executable, "-c", code, str(server.data_dir)], cwd=ROOT, capture_output=True,
                             text=True, timeout=30, check=True)
    pid = int(starter.stdout.strip())
    st = server.status()
    assert st.running and st.pid == pid and _alive(pid)
    with open_store("falkordb:", server.data_dir, graph_name="shared", start=False) as store:
        store.write("CREATE (:Drug {name: 'rituximab'})")
        assert store.read("MATCH (d:Drug) RETURN d.name AS name") == [{"name": "rituximab"}]


def test_another_process_holding_the_lock_gives_store_busy(server: EmbeddedFalkorDB) -> None:
    server.dir.mkdir(parents=True)
    with open(server.lock_file, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        t0 = time.monotonic()
        with pytest.raises(StoreBusy, match="lock"):
            server.start(timeout=0.3)
        assert time.monotonic() - t0 < 2
    assert server.start().running  # free again once released


def test_slow_aof_replay_is_busy_then_ready(server: EmbeddedFalkorDB) -> None:
    """PING alone is not readiness: while the AOF replays, start() waits, and past its timeout says so."""
    server.start()
    with open_store("falkordb:", server.data_dir, graph_name="slow") as store:
        store.write("CREATE (:Outcome {id: 'died'})")
    server.stop()
    # A replayed command that takes ~1 s, appended the way redis itself logs commands.
    query = "UNWIND range(1, 10000000) AS x WITH x WHERE x < 0 RETURN count(x)"
    manifest = (server.dir / "appendonlydir" / "appendonly.aof.manifest").read_text().split("\n")
    incr = next(line.split()[1] for line in manifest if " type i" in line)
    with open(server.dir / "appendonlydir" / incr, "ab") as fh:
        fh.write(f"*3\r\n$11\r\nGRAPH.QUERY\r\n$4\r\nslow\r\n${len(query)}\r\n{query}\r\n".encode())

    with pytest.raises(StoreBusy, match="still loading"):
        server.start(timeout=0.3)
    assert server.status().running
    st = server.start(timeout=30)
    assert st.state == "ready" and not st.loading
    with open_store("falkordb:", server.data_dir, graph_name="slow", start=False) as store:
        assert store.read("MATCH (o:Outcome) RETURN o.id AS id") == [{"id": "died"}]


def test_open_store_without_start_needs_a_running_server(data_dir: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"falkordb\.sock"):
        open_store("falkordb:", data_dir, start=False)
    assert time.monotonic() - t0 < 2
    assert not (data_dir / "falkordb").exists()  # a failed probe creates nothing


def test_long_data_dir_gets_a_short_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    srv = EmbeddedFalkorDB(deep)
    try:
        assert len(str(deep / "falkordb" / "falkordb.sock")) > 107
        assert len(str(srv.socket)) <= MAX_SOCKET_PATH
        st = srv.start()
        assert st.running
        assert (deep / "falkordb" / "falkordb.sock").is_socket()  # the socket itself lives in the data dir
        with open_store("falkordb:", deep, graph_name="deep", start=False) as store:
            assert store.read("RETURN 1 AS one") == [{"one": 1}]
    finally:
        srv.stop()
    assert not srv.status().running
    srv.socket.parent.unlink()  # the /tmp symlink; nothing else uses this test's data dir


def test_server_that_dies_while_starting_fails_fast_with_its_reason(server: EmbeddedFalkorDB) -> None:
    server.start()
    server.stop()
    manifest = (server.dir / "appendonlydir" / "appendonly.aof.manifest").read_text().split("\n")
    incr = next(line.split()[1] for line in manifest if " type i" in line)
    (server.dir / "appendonlydir" / incr).write_bytes(b"*1\r\n$4\r\nPING\r\nnot a redis command stream\r\n")
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"(?i)append only file|aof"):
        server.start(timeout=20)
    assert time.monotonic() - t0 < 5
    assert not server.status().running


def test_stop_leaves_no_log_to_replay_so_constrained_updates_survive_a_restart(server: EmbeddedFalkorDB) -> None:
    """FalkorDB 4.16 can segfault (EnforceUniqueEntity) replaying updates of constrained nodes on top of a
    rewritten AOF base; stop() rewrites the AOF first, so a clean restart replays nothing."""
    server.start()
    with open_store("falkordb:", server.data_dir, graph_name="upd") as store:
        store.create_unique("Article", "pmid")
        store.write("UNWIND range(0, 4) AS i MERGE (:Article {pmid: toString(i)})")
        store.compact()
        store.write("UNWIND range(0, 4) AS i MERGE (a:Article {pmid: toString(i)}) SET a.title = 'v2'")
    server.stop()
    aof = server.dir / "appendonlydir"
    incr = [f for f in aof.iterdir() if f.name.endswith(".incr.aof")]
    assert incr and all(f.stat().st_size == 0 for f in incr)
    server.start(timeout=10)
    with open_store("falkordb:", server.data_dir, graph_name="upd", start=False) as store:
        assert store.read("MATCH (a:Article) RETURN count(a) AS n, collect(DISTINCT a.title) AS t") == \
            [{"n": 5, "t": ["v2"]}]
