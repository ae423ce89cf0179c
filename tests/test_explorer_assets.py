"""The explorer page's files: served by the app, nothing fetched from elsewhere, the vendored
library exactly the npm package pinned in package-lock.json, with its licence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pmlkg.api.app import create_app
from pmlkg.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "api" / "static"
VENDOR = STATIC / "vendor" / "cytoscape"


def test_the_page_and_its_assets_are_served(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    index = client.get("/")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', index.text):
        assert client.get(ref).status_code == 200, ref
    for module in sorted((STATIC / "js").glob("*.js")):
        assert client.get(f"/static/js/{module.name}").status_code == 200
    assert "/" not in client.get("/openapi.json").json()["paths"]  # the page is not part of the API


def test_no_asset_loads_anything_from_outside() -> None:
    for path in [STATIC / "index.html", STATIC / "app.css", *(STATIC / "js").glob("*.js")]:
        text = path.read_text(encoding="utf-8")
        external = [u for u in re.findall(r"https?://[^\s\"'`)]+", text) if "pubmed.ncbi.nlm.nih.gov" not in u]
        assert not external, (path.name, external)  # PubMed appears only as a link the reader may follow
    imports = re.findall(r'from "([^"]+)"', "".join(p.read_text() for p in (STATIC / "js").glob("*.js")))
    assert all(i.startswith("./") for i in imports)


def test_the_vendored_library_is_the_pinned_package_with_its_licence() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/cytoscape"]["version"]
    assert (VENDOR / "VERSION").read_text().strip() == pinned
    assert "MIT License" in (VENDOR / "LICENSE").read_text() or "Permission is hereby granted" in (VENDOR / "LICENSE").read_text()
    installed = ROOT / "node_modules" / "cytoscape"
    if not installed.is_dir():
        pytest.skip("node_modules not installed (scripts/node-deps.sh); the version pin was checked")
    assert (installed / "dist" / "cytoscape.min.js").read_bytes() == (VENDOR / "cytoscape.min.js").read_bytes()
