"""PubMed fetching against a local E-utilities server that replays NCBI's formats and fails on demand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from pmlkg.ingest.cache import PubmedCache
from pmlkg.ingest.entrez import EntrezClient, EntrezConfig, EntrezError
from pmlkg.ingest.fetch import fetch_query
from pmlkg.ingest.ratelimit import RateLimiter
from pmlkg.testing.eutils import EutilsServer, make_record, records_from_demo, synthetic_records

QUERY = "progressive multifocal leukoencephalopathy"


def pmlkg(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pmlkg", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def demo_server() -> Iterator[EutilsServer]:
    with EutilsServer(records_from_demo()) as server:
        yield server


def _client(server: EutilsServer, **kw: object) -> EntrezClient:
    config = EntrezConfig(base_url=server.url, email="tests@example.org", api_key="test-key",
                          timeout=kw.pop("timeout", 5.0), max_attempts=kw.pop("max_attempts", 6),  # type: ignore[arg-type]
                          backoff=0.01, max_backoff=0.05)
    return EntrezClient(config, limiter=RateLimiter(1000.0))


def _efetched(server: EutilsServer) -> list[str]:
    """PMIDs the server sent in successful EFetch answers, in order (one entry per sending)."""
    return [p for r in server.requests if r["endpoint"] == "efetch" and r.get("status") == 200 for p in r.get("sent", [])]


def test_cli_fetch_with_faults_then_rerun_then_build_from_cache(demo_server: EutilsServer, tmp_path: Path) -> None:
    env = {"NCBI_EUTILS_URL": demo_server.url, "NCBI_API_KEY": "test-key", "NCBI_EMAIL": "tests@example.org"}
    for kind in ("429", "truncated", "drop"):
        demo_server.inject(kind, times=1, endpoint="efetch")
    demo_server.inject("503", times=1, endpoint="esearch")
    proc = pmlkg("fetch", "--query", QUERY, "--json", "--data-dir", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    first = json.loads(proc.stdout)
    n = len(demo_server.records)
    assert (first["count"], first["fetched"], first["new"]) == (n, n, n)
    manifest = json.loads((Path(first["cache_dir"]) / "manifest.json").read_text())
    assert sorted(manifest["records"]) == sorted(demo_server.records)
    assert manifest["query"] == QUERY and manifest["runs"][-1]["tools"]["biopython"]

    second = json.loads(pmlkg("fetch", "--query", QUERY, "--json", "--data-dir", str(tmp_path), env=env).stdout)
    assert second["count"] == n and second["new"] == 0 and second["revised"] == 0

    try:
        built = pmlkg("build", "--from-cache", "--json", "--data-dir", str(tmp_path))
        assert built.returncode == 0, built.stderr
        stats = json.loads(pmlkg("stats", "--json", "--data-dir", str(tmp_path)).stdout)
        assert stats["articles"] == n
    finally:
        pmlkg("db", "stop", "--data-dir", str(tmp_path))


def test_every_fault_kind_is_retried_and_nothing_is_lost(demo_server: EutilsServer, tmp_path: Path) -> None:
    kinds = ("429", "500", "502", "503", "truncated", "invalid", "drop", "reset", "slow")
    for kind in kinds:
        demo_server.inject(kind, times=1, endpoint="efetch")
    demo_server.slow_seconds = 1.0
    client = _client(demo_server, max_attempts=len(kinds) + 1, timeout=0.5)
    cache = PubmedCache.for_query(tmp_path, QUERY)
    report = fetch_query(client, cache, QUERY)
    assert report.new == len(demo_server.records) and not demo_server.pending_faults()
    assert client.stats.retries == len(kinds)
    assert sorted(a.pmid for a in cache.articles()) == sorted(demo_server.records)


def test_large_query_is_split_by_date_and_fetched_exactly_once(tmp_path: Path) -> None:
    records = synthetic_records(12_500)
    with EutilsServer(records) as server:
        cache = PubmedCache.for_query(tmp_path, "all")
        report = fetch_query(_client(server), cache, "all")
        assert report.count == len(records) and report.ranges >= 2
        assert report.new == len(records) and not report.missing
        assert set(cache.records) == set(records)
        sent = _efetched(server)
        assert len(sent) == len(set(sent)) == len(records)  # each record sent once
        searches = [r for r in server.requests if r["endpoint"] == "esearch"]
        assert all(int(r["params"].get("retmax", 20)) <= 9_999 for r in searches)
        assert sum(1 for _ in cache.articles()) == len(records)


def test_incremental_fetch_gets_only_new_and_revised(demo_server: EutilsServer, tmp_path: Path) -> None:
    cache = PubmedCache.for_query(tmp_path, QUERY)
    fetch_query(_client(demo_server), cache, QUERY)
    demo_server.reset_log()
    revised = sorted(demo_server.records)[:2]
    for pmid in revised:
        demo_server.revise(pmid)
    for k in range(3):
        demo_server.add(make_record(f"9100000{k}", pub_date=date(2024, 5, k + 1), terms={"progressive", "multifocal"},
                                    title=f"Synthetic new record {k} on progressive multifocal leukoencephalopathy"))
    report = fetch_query(_client(demo_server), PubmedCache.for_query(tmp_path, QUERY), QUERY)
    assert (report.new, report.revised) == (3, 2)
    assert set(_efetched(demo_server)) <= set(revised) | {f"9100000{k}" for k in range(3)} | set()
    cache = PubmedCache.for_query(tmp_path, QUERY)
    assert {pmid: cache.records[pmid]["version"] for pmid in revised} == {pmid: 2 for pmid in revised}
    articles = {a.pmid: a for a in cache.articles()}
    assert len(articles) == len(demo_server.records)
    assert all(articles[p].version == 2 for p in revised)


def test_failed_fetch_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    records = synthetic_records(1_400)
    with EutilsServer(records) as server:
        cache = PubmedCache.for_query(tmp_path, "all")
        server.inject("500", times=2, endpoint="efetch", after=1)  # the 2nd batch fails twice
        with pytest.raises(EntrezError):
            fetch_query(_client(server, max_attempts=2), cache, "all")
        partial = set(PubmedCache.for_query(tmp_path, "all").records)
        assert 0 < len(partial) < len(records)
        report = fetch_query(_client(server), PubmedCache.for_query(tmp_path, "all"), "all")
        assert report.new == len(records) - len(partial)
        assert set(PubmedCache.for_query(tmp_path, "all").records) == set(records)


def test_shared_rate_limiter_holds_across_threads() -> None:
    with EutilsServer(records_from_demo(), enforce_rate=3.0) as server:
        config = EntrezConfig(base_url=server.url, email="tests@example.org", max_attempts=1)
        limiter = RateLimiter(config.rate)
        errors: list[Exception] = []

        def search() -> None:
            try:
                EntrezClient(config, limiter=limiter).esearch(QUERY)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=search) for _ in range(7)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors  # the server's own 3/s limit never answered 429
        assert time.monotonic() - t0 >= 6 / 3.0 - 0.05


def test_no_network_fails_in_one_line_and_changes_nothing(demo_server: EutilsServer, tmp_path: Path) -> None:
    env = {"NCBI_EUTILS_URL": demo_server.url, "NCBI_EMAIL": "tests@example.org"}
    assert pmlkg("fetch", "--query", QUERY, "--data-dir", str(tmp_path), env=env).returncode == 0
    cache_dir = next((tmp_path / "cache" / "pubmed").iterdir())
    before = {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file()}
    proc = pmlkg("fetch", "--query", QUERY, "--data-dir", str(tmp_path),
                 env={**env, "NCBI_EUTILS_URL": "http://127.0.0.1:9/entrez/eutils/"}, timeout=60)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot be reached" in lines[0] and "--from-cache" in lines[0]
    assert {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file()} == before


def test_slow_answers_time_out_and_are_retried(demo_server: EutilsServer, tmp_path: Path) -> None:
    demo_server.slow_seconds = 1.5
    demo_server.inject("slow", times=1, endpoint="esearch")
    report = fetch_query(_client(demo_server, timeout=0.5), PubmedCache.for_query(tmp_path, QUERY), QUERY)
    assert report.new == len(demo_server.records)


def test_killed_fetch_resumes_exactly_once(tmp_path: Path) -> None:
    records = synthetic_records(3_000)
    with EutilsServer(records) as server:
        env = {"NCBI_EUTILS_URL": server.url, "NCBI_API_KEY": "test-key", "NCBI_EMAIL": "tests@example.org"}
        server.slow_seconds = 0.6
        server.inject("slow", times=6, endpoint="efetch")  # 0.6 s per batch: a kill lands mid-fetch
        proc = subprocess.Popen([sys.executable, "-m", "pmlkg", "fetch", "--query", "all", "--data-dir", str(tmp_path)],
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum(1 for r in server.requests if r["endpoint"] == "efetch" and r.get("status") == 200) < 2:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.kill()
        proc.wait(10)
        cache_dir = tmp_path / "cache" / "pubmed"
        partial = set(PubmedCache(next(cache_dir.iterdir())).records)  # the manifest is whole JSON
        assert 0 < len(partial) < len(records)
        server.clear_faults()
        done = json.loads(pmlkg("fetch", "--query", "all", "--json", "--data-dir", str(tmp_path), env=env).stdout)
        assert done["count"] == len(records) and done["new"] == len(records) - len(partial)
        cache = PubmedCache(next(cache_dir.iterdir()))
        assert set(cache.records) == set(records)
        assert sorted(a.pmid for a in cache.articles()) == sorted(records)  # each PMID once
