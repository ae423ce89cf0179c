"""The `pmlkg` console script in subprocesses, as a user runs it: build, stats, db, serve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pmlkg.graph.stores.base import free_port

PMLKG = [sys.executable, "-m", "pmlkg"]


def run(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*PMLKG, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PMLKG_GRAPH_URI": "falkordb:"})
    if check and proc.returncode != 0:
        raise AssertionError(f"pmlkg {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("cli")
    yield d
    run("db", "stop", "--data-dir", str(d), check=False)


def _stats(d: Path) -> dict:
    return json.loads(run("stats", "--json", "--data-dir", str(d)).stdout)


def test_help_on_every_command() -> None:
    for cmd in ([], ["build"], ["serve"], ["stats"], ["extract"], ["db"], ["db", "start"], ["db", "stop"],
                ["db", "status"]):
        out = run(*cmd, "--help").stdout
        assert "Usage" in out and "--help" in out


def test_build_stats_rebuild(data_dir: Path) -> None:
    report = json.loads(run("build", "--json", "--data-dir", str(data_dir)).stdout)
    assert report["loaded"] >= 40 and report["file_errors"] == []
    assert (report["refused"], report["warnings"]) == ([], [])  # the demo corpus is English text
    stats = _stats(data_dir)
    assert stats["articles"] == report["articles"] >= 40
    again = json.loads(run("build", "--json", "--data-dir", str(data_dir)).stdout)
    assert again["loaded"] == 0 and again["unchanged"] == report["articles"]
    assert _stats(data_dir) == stats


def test_db_stop_start_keeps_the_graph(data_dir: Path) -> None:
    before = _stats(data_dir)
    status = json.loads(run("db", "status", "--json", "--data-dir", str(data_dir)).stdout)
    assert status["running"] and Path(status["socket"]).is_socket()
    run("db", "stop", "--data-dir", str(data_dir))
    assert run("db", "status", "--data-dir", str(data_dir), check=False).returncode == 3
    down = run("stats", "--json", "--data-dir", str(data_dir), check=False)
    assert down.returncode != 0 and "error" in down.stderr.lower()
    run("db", "start", "--data-dir", str(data_dir))
    assert _stats(data_dir) == before


def test_crashed_server_is_recovered(data_dir: Path) -> None:
    before = _stats(data_dir)
    pid = json.loads(run("db", "status", "--json", "--data-dir", str(data_dir)).stdout)["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    t0 = time.monotonic()
    run("db", "start", "--data-dir", str(data_dir), timeout=60)
    assert time.monotonic() - t0 < 30
    assert _stats(data_dir) == before


def test_killed_build_converges(data_dir: Path, tmp_path: Path) -> None:
    clean = _stats(data_dir)
    fresh = tmp_path / "k"
    try:
        for delay in (1.5, 3.0):
            proc = subprocess.Popen([*PMLKG, "build", "--data-dir", str(fresh)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        run("build", "--data-dir", str(fresh))
        assert _stats(fresh) == clean
    finally:
        run("db", "stop", "--data-dir", str(fresh), check=False)


def test_bad_input_file_is_named(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.xml"
    bad.write_text("<?xml version='1.0'?><PubmedArticleSet><PubmedArticle>")
    proc = run("build", "--input", str(bad), "--data-dir", str(data_dir), check=False)
    assert proc.returncode != 0 and "broken.xml" in proc.stderr


def test_serve_and_busy_port(data_dir: Path) -> None:
    port = str(free_port())
    server = subprocess.Popen([*PMLKG, "serve", "--port", port, "--data-dir", str(data_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "pmlkg serve did not come up"
                time.sleep(0.2)
        assert resp.json()["articles"] >= 40
        second = run("serve", "--port", port, "--data-dir", str(data_dir), check=False, timeout=60)
        assert second.returncode != 0 and "busy" in second.stderr
    finally:
        server.terminate()
        server.wait(20)


def test_extract_text_and_pubmed_xml(tmp_path: Path) -> None:
    from pmlkg.ingest.files import DEMO_CORPUS, read_file
    batch = read_file(DEMO_CORPUS).batch
    assert batch is not None
    case = next(a for a in batch.articles if a.pmid == "90000004")
    text = tmp_path / "case.txt"
    text.write_text(case.title + "\n\n" + case.abstract_text)
    out = json.loads(run("extract", "--text", str(text)).stdout)
    patient = out["patients"][0]
    assert [d["id"] for d in patient["defects"]] == ["iuis:gata2-deficiency"] and patient["genes"] == ["GATA2"]
    assert set(patient["exposures"]) == {"rituximab", "prednisone"}
    assert set(patient["treatments"]) == {"mefloquine", "mirtazapine"} and patient["outcome"] == "died"
    assert all(text.read_text()[e["start"]:e["end"]] == e["text"] for e in out["entities"] if e["start"] < len(case.title))
    many = json.loads(run("extract", "--pubmed-xml", str(DEMO_CORPUS)).stdout)
    assert len(many) == len(batch.articles) and many[3]["pmid"] == "90000004"


def test_extract_bad_input_never_crashes(tmp_path: Path) -> None:
    f = tmp_path / "in.txt"
    for content in (b"", "Ceci n'est pas un résumé.\n\n这不是摘要。".encode(), b"PML\n\n" + b"rituximab " * 100_000):
        f.write_bytes(content)
        out = json.loads(run("extract", "--text", str(f), timeout=120).stdout)
        assert isinstance(out["entities"], list) and isinstance(out["patients"], list)
    f.write_bytes(b"\x00\x01\x02\n\n\x1b[31m\x7f")  # not text: refused (tests/test_bad_input_extraction.py)
    refused = run("extract", "--text", str(f), check=False)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (f"error: {f}: not extracted: does not look like text: 50% of its characters are "
                              "control characters\n")
    assert run("extract", check=False).returncode == 2
    assert run("extract", "--text", str(tmp_path / "missing.txt"), check=False).returncode == 2


def test_build_reports_refused_pmids_and_duplicates(tmp_path: Path) -> None:
    from pmlkg.testing.eutils import PUBMED_DOCTYPE, make_record

    def record(pmid: str, version: int = 1) -> str:
        return make_record(95000999).xml.replace('<PMID Version="1">95000999</PMID>',
                                                 f'<PMID Version="{version}">{pmid}</PMID>', 1)

    doc = tmp_path / "upload.xml"
    doc.write_text(f'<?xml version="1.0" ?>\n{PUBMED_DOCTYPE}\n<PubmedArticleSet>\n'
                   + "".join([record("95000301", 2), record("abc' OR 1=1 //"), record("95000301"), record(""),
                              record("95000302")]) + "</PubmedArticleSet>\n")
    fresh = tmp_path / "d"
    try:
        report = json.loads(run("build", "--json", "--input", str(doc), "--data-dir", str(fresh)).stdout)
        assert report["loaded"] == report["articles"] == 2
        assert [r.split(" refused")[0] for r in report["skipped_records"]] == [
            f"{doc}: PubmedArticle #2", f"{doc}: PubmedArticle #4"]
        (dup,) = report["duplicates"]
        assert (dup["source"], dup["pmid"], dup["records"], dup["versions"], dup["kept"]) == (
            str(doc), "95000301", [1, 3], [2, 1], 1)
        human = run("build", "--force", "--input", str(doc), "--data-dir", str(fresh))
        assert "PubmedArticle #2 refused" in human.stderr and "duplicate PMID" in human.stderr
        assert "kept #1" in human.stderr
    finally:
        run("db", "stop", "--data-dir", str(fresh), check=False)
