"""The local Neo4j as a user drives it: ``pmlkg db start|status|stop --backend neo4j`` in a data dir of
its own (a second server beside the suite's), with its faults: a second start, a wrong password, a
Java that is missing or too old."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import neo4j_missing

pytestmark = pytest.mark.skipif(bool(neo4j_missing()), reason=str(neo4j_missing()))


def pmlkg(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pmlkg", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    data = tmp_path_factory.mktemp("neo4j-cli")
    env = {k: v for k, v in os.environ.items() if k != "NEO4J_AUTH"}
    proc = subprocess.run([sys.executable, "-m", "pmlkg", "db", "start", "--backend", "neo4j", "--data-dir", str(data),
                           "--json"], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    yield data, info, env
    subprocess.run([sys.executable, "-m", "pmlkg", "db", "stop", "--backend", "neo4j", "--data-dir", str(data)],
                   capture_output=True, text=True, timeout=120, env=env)


def test_start_prints_where_it_listens_and_where_the_credentials_are(started) -> None:  # noqa: ANN001
    data, info, _ = started
    assert set(info) == {"uri", "browser", "auth_file"}
    assert info["uri"].startswith("bolt://127.0.0.1:") and info["browser"].startswith("http://127.0.0.1:")
    assert info["browser"].endswith("/browser/")
    auth = Path(info["auth_file"])
    assert auth == data / "neo4j" / "auth"
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    line = auth.read_text().strip()
    assert line.startswith("NEO4J_AUTH=neo4j/") and len(line) > len("NEO4J_AUTH=neo4j/") + 16


def test_the_server_answers_bolt_with_those_credentials_only(started) -> None:  # noqa: ANN001
    data, info, env = started
    secret = Path(info["auth_file"]).read_text().strip().removeprefix("NEO4J_AUTH=")
    ok = pmlkg("stats", "--json", "--graph", info["uri"], "--data-dir", str(data), env={**env, "NEO4J_AUTH": secret})
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["articles"] == 0
    bad = pmlkg("stats", "--graph", info["uri"], "--data-dir", str(data), env={**env, "NEO4J_AUTH": "neo4j/wrong"})
    assert bad.returncode == 2
    lines = [x for x in bad.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "refused the credentials" in lines[0], bad.stderr


def test_a_second_start_says_it_is_running_and_status_reports_it(started) -> None:  # noqa: ANN001
    data, info, env = started
    again = pmlkg("db", "start", "--backend", "neo4j", "--data-dir", str(data), env=env)
    assert again.returncode == 0 and again.stdout.startswith("already running: pid "), again.stdout
    assert info["uri"] in again.stdout
    status = pmlkg("db", "status", "--backend", "neo4j", "--json", "--data-dir", str(data), env=env)
    st = json.loads(status.stdout)
    assert status.returncode == 0 and st["running"] is True and st["uri"] == info["uri"]
    assert st["version"].startswith("5.26.")


def test_no_java_or_an_old_java_is_one_clear_line(tmp_path: Path) -> None:
    missing = pmlkg("db", "start", "--backend", "neo4j", "--data-dir", str(tmp_path),
                    env={"JAVA_HOME": str(tmp_path / "no-jdk")})
    assert missing.returncode == 2
    assert [x for x in missing.stderr.splitlines() if x.strip()] == [
        f"error: Neo4j 5.26.30 needs Java 17 or newer: no java at '{tmp_path / 'no-jdk' / 'bin' / 'java'}' "
        "(install OpenJDK 17, or set JAVA_HOME)"]
    old = tmp_path / "old-jdk" / "bin"
    old.mkdir(parents=True)
    (old / "java").write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    (old / "java").chmod(0o755)
    too_old = pmlkg("db", "start", "--backend", "neo4j", "--data-dir", str(tmp_path),
                    env={"JAVA_HOME": str(old.parent)})
    assert too_old.returncode == 2
    assert "needs Java 17 or newer" in too_old.stderr and "is Java 11" in too_old.stderr


def test_stop_then_status_says_not_running(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("neo4j-stop")
    env = {"NEO4J_AUTH": "neo4j/a-long-enough-password"}
    assert pmlkg("db", "start", "--backend", "neo4j", "--data-dir", str(data), env=env).returncode == 0
    assert not (data / "neo4j" / "auth").exists()  # NEO4J_AUTH given: nothing generated
    assert pmlkg("db", "stop", "--backend", "neo4j", "--data-dir", str(data), env=env).stdout.strip() == "stopped"
    status = pmlkg("db", "status", "--backend", "neo4j", "--data-dir", str(data), env=env)
    assert status.returncode == 3 and "running: False" in status.stdout
    assert pmlkg("db", "stop", "--backend", "neo4j", "--data-dir", str(data), env=env).stdout.strip() == "not running"


def test_the_api_answers_json_503_while_neo4j_is_down_and_recovers_after_restart(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neo4j not started, then stopped mid-run, then started again under a running API."""
    import httpx

    from pmlkg.graph.stores.base import free_port
    from pmlkg.graph.stores.neo4j_local import LocalNeo4j
    from pmlkg.settings import Settings
    from pmlkg.testing.live_server import serve

    monkeypatch.setenv("NEO4J_AUTH", "neo4j/restart-test-password")
    bolt = free_port()
    server = LocalNeo4j(tmp_path_factory.mktemp("neo4j-restart"), bolt_port=bolt)
    settings = Settings(data_dir=tmp_path_factory.mktemp("neo4j-restart-api"), graph_uri=f"bolt://127.0.0.1:{bolt}")
    with serve(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        for path in ("/health", "/stats", "/associations"):  # not started yet
            resp = client.get(path)
            assert resp.status_code == 503 and resp.json()["error"]["code"] == "store_unavailable", resp.text
        server.start()
        assert client.get("/health").json() == {"status": "ok", "store": "neo4j", "reachable": True}
        assert client.get("/stats").json()["articles"] == 0
        server.stop()
        for path in ("/stats", "/patients"):
            resp = client.get(path)
            assert resp.status_code == 503 and resp.json()["error"]["code"] == "store_unavailable", resp.text
        server.start()
        assert client.get("/stats").status_code == 200
    server.stop()
