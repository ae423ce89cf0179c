"""The real FastAPI app, served by uvicorn over HTTP, on a demo graph in a real FalkorDB server."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from extraction.extractor import Extractor
from graph.store import open_store
from ingest.files import DEMO_CORPUS
from pmlkg.build import build_graph
from pmlkg.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(falkordb_server, tmp_path_factory) -> Iterator[httpx.Client]:  # noqa: ANN001
    graph_name = f"api_{uuid.uuid4().hex[:8]}"
    data_dir: Path = falkordb_server.data_dir
    store = open_store("falkordb:", data_dir, graph_name=graph_name)
    build_graph([DEMO_CORPUS], store, tmp_path_factory.mktemp("build"), extractor=Extractor())
    settings = Settings(data_dir=data_dir, graph_uri="falkordb:", graph_name=graph_name)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield client
    server.should_exit = True
    thread.join(10)
    store.clear()
    store.close()


def _error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_health_and_stats(api: httpx.Client) -> None:
    assert api.get("/health").json() == {"status": "ok", "store": "falkordb", "reachable": True}
    stats = api.get("/stats").json()
    assert stats["articles"] >= 40 and stats["nodes"]["Article"] == stats["articles"]
    for label in ("Patient", "Defect", "Gene", "Drug", "Outcome"):
        assert stats["nodes"][label] > 0
    for edge in ("REPORTS", "HAS_DEFECT", "CAUSED_BY", "RECEIVED", "HAD_OUTCOME", "MENTIONS"):
        assert stats["edges"][edge] > 0


def test_openapi_docs(api: httpx.Client) -> None:
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/health", "/stats", "/articles/{pmid}", "/drugs/{name}", "/defects/{name}",
            "/associations/drug-defect"} <= set(paths)


def test_rituximab_associations(api: httpx.Client) -> None:
    page = api.get("/associations/drug-defect", params={"role": "exposure", "drug": "rituximab"}).json()
    assert page["total"] >= 4 and len(page["items"]) == page["total"]
    assert "not incidence" in page["denominator"]
    for item in page["items"]:
        assert item["drug"] == "rituximab" and item["roles"] == ["exposure"]
        assert item["patients"] >= 1 and item["articles"] == len(item["pmids"]) >= 1
        assert all(p.startswith("900000") for p in item["pmids"])


def test_pagination_is_stable(api: httpx.Client) -> None:
    whole = api.get("/associations/drug-defect", params={"limit": 500}).json()
    parts = []
    for offset in range(0, whole["total"], 7):
        parts += api.get("/associations/drug-defect", params={"limit": 7, "offset": offset}).json()["items"]
    assert parts == whole["items"]


def test_article_drug_defect_lookups(api: httpx.Client) -> None:
    page = api.get("/associations/drug-defect", params={"drug": "rituximab", "role": "exposure"}).json()
    item = page["items"][0]
    article = api.get(f"/articles/{item['pmids'][0]}").json()
    assert article["patients"] and article["mentions"]
    assert any(d["drug"] == "rituximab" and d["role"] == "exposure" and d["sentence"]
               for p in article["patients"] for d in p["drugs"])
    drug = api.get("/drugs/RITUXIMAB").json()
    assert drug["drugbank_id"] == "DB00073" and drug["patients_by_role"]["exposure"] >= 4
    defect = api.get(f"/defects/{item['defect_id']}").json()
    assert defect["patients"] >= 1 and item["pmids"][0] in defect["pmids"]
    assert api.get(f"/defects/{defect['name'].upper()}").json()["id"] == defect["id"]


def test_unknown_ids_are_404(api: httpx.Client) -> None:
    _error(api.get("/articles/99999999"), 404, "not_found")
    _error(api.get("/drugs/notadrug"), 404, "not_found")
    _error(api.get("/defects/no-such-defect"), 404, "not_found")
    _error(api.get("/no/such/path"), 404, "not_found")


def test_bad_parameters_are_422_naming_the_field(api: httpx.Client) -> None:
    err = _error(api.get("/associations/drug-defect", params={"limit": 0}), 422, "invalid_parameter")
    assert "limit" in err["message"]
    err = _error(api.get("/associations/drug-defect", params={"role": "cause"}), 422, "invalid_parameter")
    assert err["details"][0]["field"] == "role"
    _error(api.get("/articles/not-a-pmid"), 422, "invalid_parameter")


def test_injection_strings_are_just_values(api: httpx.Client) -> None:
    before = api.get("/stats").json()
    evil = "x' }) MATCH (n) DETACH DELETE n RETURN 1 ; CALL db.labels() --"
    assert api.get(f"/drugs/{evil}").status_code == 404
    assert api.get("/associations/drug-defect", params={"defect": evil}).json()["total"] == 0
    assert api.get("/stats").json() == before


def test_store_down_gives_503_and_api_keeps_running(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, graph_uri="falkordb:", graph_name="none")  # no server there
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for path in ("/health", "/stats", "/articles/90000001", "/associations/drug-defect"):
                _error(client.get(path), 503, "store_unavailable")
            assert client.get("/openapi.json").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
