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
