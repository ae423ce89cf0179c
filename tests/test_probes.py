"""Hostile probes of the real app over HTTP (uvicorn, real FalkorDB, real XML): control characters
in parameters, oversized and half-sent bodies, external entities, a large ingest beside other
requests, and the server's paths in error bodies."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.graph.stores import GraphStore
from pmlkg.build import build_lock
from pmlkg.settings import Settings
from pmlkg.testing.eutils import PUBMED_DOCTYPE, make_record
from pmlkg.testing.live_server import serve

ROOT = Path(__file__).resolve().parents[1]
KEY = "probe-key-123"
# Valid values for the parameters a probe of another parameter still has to send.
VALID = {"format": "kgx", "id": "Gene:CD40LG", "q": "cd40", "case_id": "90000001:0", "pmid": "90000001",
         "name": "guide.html", "symbol": "CD40LG", "key": "iuis:cd40-ligand-deficiency", "drug": "rituximab"}
CONTROL_CHARACTERS = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]


@pytest.fixture(scope="module")
def api(demo_settings: Settings) -> Iterator[httpx.Client]:
    settings = demo_settings
    with serve(settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture
def writable(falkordb_server: EmbeddedFalkorDB, store: GraphStore) -> Iterator[httpx.Client]:
    """The default limits (10 MB bodies), writes enabled, a graph of its own."""
    settings = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name=store.graph_name,
                        api_key=KEY)
    with serve(settings) as url, httpx.Client(base_url=url, timeout=120, headers={"X-API-Key": KEY}) as client:
        yield client


def _error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


def _is_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" or any(_is_string(s) for s in schema.get("anyOf", []))


def _string_parameters(openapi: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, parameter, location) for every string parameter of every GET operation."""
    found = []
    for path, item in openapi["paths"].items():
        for param in item.get("get", {}).get("parameters", []):
            if param["in"] in ("query", "path") and _is_string(param.get("schema", {})):
                found.append((path, param["name"], param["in"]))
    return found


def _request(path: str, params: list[dict[str, Any]], name: str, value: str) -> tuple[str, dict[str, str]]:
    """The URL path and query for ``name=value`` with every other required parameter valid."""
    query = {p["name"]: VALID.get(p["name"], "x") for p in params if p["in"] == "query" and p.get("required")}
    url = path
    for p in params:
        if p["in"] == "path":
            text = value if p["name"] == name else VALID.get(p["name"], "x")
            url = url.replace("{" + p["name"] + "}", quote(text, safe=""))
    if any(p["name"] == name and p["in"] == "query" for p in params):
        query[name] = value
    return url, query


# ------------------------------------------------------------------ 1. control characters

def test_control_characters_in_any_string_parameter_are_422_naming_it(api: httpx.Client) -> None:
    """Every string parameter of every GET endpoint, read from the OpenAPI schema, so a new one is
    probed without anyone adding it here; NUL made the store's parser fail (500) before."""
    openapi = api.get("/openapi.json").json()
    probes = _string_parameters(openapi)
    assert len(probes) >= 20
    assert {("/associations", "drug", "query"), ("/drugs/{name}", "name", "path")} <= set(probes)
    failures = []
    for path, name, location in probes:
        params = openapi["paths"][path]["get"]["parameters"]
        for char in CONTROL_CHARACTERS if name in ("drug", "name") else ["\x00", "\x1f", "\x7f"]:
            url, query = _request(path, params, name, f"ritux{char}imab")
            resp = api.get(url, params=query)
            body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
            error = body.get("error") or {}
            named = [d for d in error.get("details") or [] if d.get("field") == name and d.get("location") == location]
            if not (resp.status_code == 422 and error.get("code") == "invalid_parameter" and named
                    and f"U+{ord(char):04X}" in named[0]["problem"] and name in error["message"]):
                failures.append((path, name, repr(char), resp.status_code, resp.text[:200]))
    assert not failures, failures
    # a key with a control character is named too, and ordinary text still passes
    assert _error(api.get("/search", params={"q": "cd40", "x\x00y": "1"}), 422, "invalid_parameter")
    assert api.get("/search", params={"q": "CD40 ligand"}).status_code == 200
    assert api.get("/drugs/rituximab").status_code == 200


# ------------------------------------------------------------------ 5. body size, with or without a length

def test_bodies_over_the_limit_are_413_chunked_or_not(writable: httpx.Client) -> None:
    limit = Settings().max_body_bytes

    def chunks(total: int) -> Iterator[bytes]:
        piece = b'{"cypher": "RETURN 1", "params": {"x": "' + b"y" * 65_000
        sent = 0
        while sent < total:
            yield piece
            sent += len(piece)

    big = limit + 2_000_000  # 12 MB
    _error(writable.post("/query", content=chunks(big), headers={"Content-Type": "application/json"}),
           413, "payload_too_large")
    _error(writable.post("/query", content=b"y" * big, headers={"Content-Type": "application/json"}),
           413, "payload_too_large")
    _error(writable.post("/ingest", content=chunks(big)), 413, "payload_too_large")
    _error(writable.post("/ingest", content=b"<" * big), 413, "payload_too_large")
    # just under the limit is read and judged as a body: a JSON error, not a size error
    near = b'{"cypher": "RETURN 1", "pad": "' + b"z" * (limit - 100) + b'"}'
    assert len(near) <= limit
    _error(writable.post("/query", content=near, headers={"Content-Type": "application/json"}), 422,
           "invalid_parameter")
    assert writable.post("/query", json={"cypher": "RETURN 1 AS one"}).json()["rows"] == [{"one": 1}]


# ------------------------------------------------------------------ 7. half-sent bodies

def _raw(url: str, head: bytes, body: bytes, wait: float) -> tuple[bytes, float]:
    """Send ``head`` and part of a body, then read until the server closes (or ``wait`` runs out)."""
    host, port = url.removeprefix("http://").split(":")
    t0 = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head + body)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received, time.monotonic() - t0


def test_a_half_sent_body_is_answered_408_within_the_budget(falkordb_server: EmbeddedFalkorDB,
                                                           store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMLKG_BODY_TIMEOUT_S", "1.5")  # the budget, from the environment
    settings = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name=store.graph_name)
    with serve(settings) as url:
        for head, part in (
            (b"POST /query HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n",
             b'{"cypher": "RETURN 1", "pa'),
            (b"POST /query HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
             b'10\r\n{"cypher": "RETU\r\n'),
            (b"POST /ingest HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", b"<?xml version="),
        ):
            received, seconds = _raw(url, head, part, wait=12)
            assert received.startswith(b"HTTP/1.1 408 "), received[:300]
            assert 1.0 < seconds < 6, seconds  # answered, and the connection closed, soon after the budget
            body = json.loads(received.split(b"\r\n\r\n", 1)[1])
            assert body["error"]["code"] == "request_timeout" and "PMLKG_BODY_TIMEOUT_S" in body["error"]["message"]
        # a whole body within the budget is read and answered
        whole = b'{"cypher": "RETURN 1 AS one"}'
        received, _ = _raw(url, b"POST /query HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(whole), whole, wait=10)
        assert received.startswith(b"HTTP/1.1 200 ") and b'"one":1' in received, received[:300]
        assert httpx.get(f"{url}/health").status_code == 200
    monkeypatch.delenv("PMLKG_BODY_TIMEOUT_S")
    assert Settings().body_timeout_s == 15.0  # the default


# ------------------------------------------------------------------ 8. parsing: entities, the event loop, paths

class _Recorder(BaseHTTPRequestHandler):
    """Logs every request, whatever its method (CONNECT is how urllib reaches https through a proxy)."""

    def _record(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.send_error(502)

    do_GET = do_POST = do_HEAD = do_CONNECT = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _document(*records: str, doctype: str = PUBMED_DOCTYPE) -> str:
    return f'<?xml version="1.0" ?>\n{doctype}\n<PubmedArticleSet>\n' + "\n".join(records) + "\n</PubmedArticleSet>\n"


def test_no_dtd_or_entity_is_ever_fetched(tmp_path: Path) -> None:
    """Run in a subprocess with every proxy variable pointing at a local server: a fetch of any
    URL, http or https (through CONNECT), reaches it. Before, a relative entity ("x.ent") and a DTD
    newer than Biopython's bundle were fetched from NCBI over https."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{server.server_address[1]}"
    public = '-//NLM//DTD PubMedArticle, 1st January 2025//EN'
    record = make_record(95000001).xml
    used = record.replace("<AbstractText>", "<AbstractText>&ent; ")

    def declaring(declaration: str) -> str:
        return _document(used, doctype=PUBMED_DOCTYPE.replace('.dtd">', f'.dtd" [{declaration}]>'))

    cases = {
        "relative_entity": declaring('<!ENTITY ent SYSTEM "x.ent">'),
        "local_http_entity": declaring(f'<!ENTITY ent SYSTEM "{local}/ent.txt">'),
        "ncbi_https_entity": declaring('<!ENTITY ent SYSTEM "https://www.ncbi.nlm.nih.gov/dtd/ent.txt">'),
        "parameter_entity": _document(record, doctype=PUBMED_DOCTYPE.replace(
            '.dtd">', '.dtd" [<!ENTITY % p SYSTEM "p.dtd"> %p;]>')),
        "local_http_dtd": _document(record, doctype=f'<!DOCTYPE PubmedArticleSet PUBLIC "{public}" '
                                                    f'"{local}/dtd/pubmed_250101.dtd">'),
        "unbundled_dtd": _document(record, doctype=f'<!DOCTYPE PubmedArticleSet PUBLIC "{public}" '
                                                   '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_990101.dtd">'),
    }
    for name, text in cases.items():
        (tmp_path / f"{name}.xml").write_text(text)
    script = ("import json, sys\nfrom pathlib import Path\nfrom pmlkg.ingest.files import read_file\nout = {}\n"
              "for p in sys.argv[1:]:\n    r = read_file(Path(p))\n"
              "    out[Path(p).stem] = [a.pmid for a in r.batch.articles] if r.batch else r.error\n"
              "print(json.dumps(out))\n")
    proxy = {k: local for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ftp_proxy", "all_proxy")}
    env = {**{k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "pmlkg_dtd_dir")}, **proxy}
    try:
        proc = subprocess.run([sys.executable, "-c", script, *sorted(str(p) for p in tmp_path.glob("*.xml"))],
                              capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
                              check=False)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert server.seen == []  # type: ignore[attr-defined]
    for name in ("relative_entity", "local_http_entity", "ncbi_https_entity", "parameter_entity"):
        assert isinstance(out[name], str) and "refused" in out[name], (name, out[name])
    assert out["local_http_dtd"] == out["unbundled_dtd"] == ["95000001"]  # DTDs come from the bundle


def test_a_file_entity_is_never_opened(tmp_path: Path) -> None:
    """The entity names a FIFO: opening it for reading blocks until a writer comes, so a watcher
    that can open it for writing (non-blocking) proves that the parser opened it."""
    from pmlkg.ingest.files import read_file

    fifo = tmp_path / "secret"
    os.mkfifo(fifo)
    opened = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody has it open for reading
                time.sleep(0.005)
                continue
            opened.set()
            os.write(fd, b"TOP SECRET")
            os.close(fd)
            return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    record = make_record(95000001).xml.replace("<AbstractText>", "<AbstractText>&secret; ")
    try:
        for system_id in (fifo.as_uri(), str(fifo), "../" * 12 + str(fifo).lstrip("/")):
            doc = tmp_path / "doc.xml"
            doc.write_text(_document(record, doctype=PUBMED_DOCTYPE.replace(
                '.dtd">', f'.dtd" [<!ENTITY secret SYSTEM "{system_id}">]>')))
            result = read_file(doc)
            assert result.batch is None and "refused" in (result.error or ""), (system_id, result.error)
    finally:
        done.set()
        watcher.join(5)
    assert not opened.is_set()


def _slow_to_parse(pmid: int) -> bytes:
    """One ordinary article padded with ~2 million empty elements the DTD does not know: seconds
    of parsing (Biopython handles each in Python), one article to extract and load."""
    record = make_record(pmid).xml.replace("<PublicationStatus>", "<J/>" * 2_200_000 + "<PublicationStatus>")
    return _document(record).encode()


def test_health_answers_while_a_large_ingest_is_parsed(writable: httpx.Client) -> None:
    warm = writable.post("/ingest", content=_document(make_record(95000002).xml).encode())  # loads spaCy
    assert warm.status_code == 200, warm.text
    body = _slow_to_parse(95000003)
    assert len(body) < Settings().max_body_bytes
    result: dict[str, Any] = {}

    def ingest() -> None:
        t0 = time.monotonic()
        result["response"] = writable.post("/ingest", content=body)
        result["seconds"] = time.monotonic() - t0

    worker = threading.Thread(target=ingest)
    worker.start()
    latencies = []
    with httpx.Client(base_url=str(writable.base_url), timeout=30) as other:
        while worker.is_alive():
            t0 = time.monotonic()
            assert other.get("/health").status_code == 200
            latencies.append(time.monotonic() - t0)
            time.sleep(0.02)
    worker.join()
    assert result["response"].status_code == 200, result["response"].text
    assert result["response"].json()["articles_loaded"] == 1
    assert result["seconds"] > 1.0 and len(latencies) >= 5, (result["seconds"], latencies)  # they overlapped
    # parsing on the event loop held a request for the whole parse; off it, none waits half as long
    assert max(latencies) < result["seconds"] / 2, (max(latencies), result["seconds"])


def test_error_bodies_name_no_server_path(tmp_path: Path, falkordb_server: EmbeddedFalkorDB, store: GraphStore) -> None:
    settings = Settings(data_dir=tmp_path, graph_uri="falkordb:", graph_name="none")  # no server there
    with serve(settings) as url, httpx.Client(base_url=url, timeout=10) as client:
        for path in ("/health", "/stats", "/patients", "/search?q=cd40"):
            resp = client.get(path)
            error = _error(resp, 503, "store_unavailable")
            assert str(tmp_path) not in resp.text and "falkordb.sock" not in resp.text, resp.text
            assert not re.search(r"/[\w.-]+/[\w.-]+", error["message"]), error
        # the parameter check comes before the store is opened: a 422, not this 503
        _error(client.get("/stats", params={"x": "\x00"}), 422, "invalid_parameter")
    # a build holding the data dir: the store_busy message named it
    busy = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name=store.graph_name, api_key=KEY)
    with serve(busy) as url, httpx.Client(base_url=url, timeout=120, headers={"X-API-Key": KEY}) as client:
        with build_lock(falkordb_server.data_dir):
            resp = client.post("/ingest", content=_document(make_record(95000004).xml).encode())
        error = _error(resp, 503, "store_busy")
        assert str(falkordb_server.data_dir) not in resp.text and "a build is already running" in error["message"]
