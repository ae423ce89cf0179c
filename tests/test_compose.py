"""docker-compose.yml is valid Compose; validated offline by whichever compose client exists."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def _client() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_is_valid() -> None:
    client = _client()
    if client is None:
        pytest.skip("no compose client here (neither the docker compose plugin nor docker-compose); "
                    "scripts/system-deps.sh installs Debian's docker-compose where it can")
    env = {**os.environ, "NEO4J_AUTH": "neo4j/test-only-password"}
    proc = subprocess.run([*client, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    unset = {k: v for k, v in os.environ.items() if k != "NEO4J_AUTH"}
    proc = subprocess.run([*client, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=unset)
    assert proc.returncode != 0 and "NEO4J_AUTH" in proc.stderr  # the password is never defaulted in the repo


def test_compose_shape() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    neo4j, api = spec["services"]["neo4j"], spec["services"]["api"]
    assert neo4j["image"].startswith("neo4j:5")
    assert api["environment"]["PMLKG_GRAPH_URI"].startswith("bolt://neo4j")
    for service in (neo4j, api):
        assert all(p.startswith("127.0.0.1:") for p in service["ports"])  # loopback only
    assert (ROOT / api["build"] / "Dockerfile").exists()


def test_the_api_service_command_runs_as_is_against_the_local_neo4j(neo4j_uri: str, neo4j_auth_env: str,
                                                                   tmp_path: Path) -> None:
    """The `api` service without Docker: the image's start command (Dockerfile CMD) with the service's
    environment as `compose config` resolves it; only what Docker would provide is substituted (the
    `neo4j` service name -> the local Neo4j's address, port 8000 -> a free one, /data -> a temp dir)."""
    import contextlib
    import json
    import signal
    import sys
    import time

    import httpx

    from pmlkg.graph.stores import open_store
    from pmlkg.graph.stores.base import free_port

    client = _client()
    assert client is not None, "no compose client (scripts/system-deps.sh installs docker-compose)"
    resolved = subprocess.run([*client, "-f", str(COMPOSE), "config"], capture_output=True, text=True, check=True,
                              env={**os.environ, "NEO4J_AUTH": neo4j_auth_env, "PMLKG_API_KEY": ""}).stdout
    service_env = yaml.safe_load(resolved)["services"]["api"]["environment"]
    cmd = next(json.loads(line.removeprefix("CMD").strip()) for line in (ROOT / "Dockerfile").read_text().splitlines()
               if line.startswith("CMD"))
    assert cmd[:2] == ["sh", "-c"] and "pmlkg build && pmlkg serve" in cmd[2]
    port = free_port()
    script = cmd[2].replace("--port 8000", f"--port {port}")
    local = neo4j_uri.removeprefix("bolt://")
    env = {**os.environ, **{k: str(v) for k, v in service_env.items()},
           "PMLKG_GRAPH_URI": service_env["PMLKG_GRAPH_URI"].replace("neo4j:7687", local),
           "PMLKG_DATA_DIR": str(tmp_path / "data"), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    graph = open_store(neo4j_uri, tmp_path)
    graph.clear()
    log = open(tmp_path / "api.log", "wb")  # noqa: SIM115 - the child writes it; a pipe nobody reads could fill
    proc = subprocess.Popen(["sh", "-c", script], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (tmp_path / "api.log").read_text()
            try:
                stats = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the api command did not serve in time"
                time.sleep(1)
        assert stats["articles"] == 46 and stats["cases"] == 46  # the demo, built into Neo4j
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()["store"] == "neo4j"
        page = httpx.get(f"http://127.0.0.1:{port}/associations", params={"drug": "rituximab"}, timeout=60).json()
        assert page["universe_cases"] == 54 and page["total"] == 6
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        graph.clear()
        graph.close()
