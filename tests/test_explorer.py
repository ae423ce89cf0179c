"""The explorer page in a real browser: Debian's headless Chromium driven by Playwright, against the
real app served by uvicorn on the demo graph in a real FalkorDB server.

Screenshots of each view go to ``test-artifacts/explorer-*.png`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.settings import Settings
from pmlkg.testing.live_server import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# as the machine's notes advise: without the background-networking flags Chromium keeps trying
# Google's hosts, which this closed network refuses
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-features=Translate,OptimizationHints,MediaRouter"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=(
    "Debian's chromium is not installed (scripts/system-deps.sh installs it where it runs as root); "
    "Playwright's own browser download cannot work here"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(falkordb_server: EmbeddedFalkorDB, demo_graph: str) -> Iterator[str]:
    settings = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name=demo_graph)
    with serve(settings) as url:
        yield url


class Page:
    """A page with its console errors, failed and off-machine requests recorded."""

    def __init__(self, browser: object, base: str):
        self.base = base
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(base) or r.url.startswith("data:")
                     else self.outside.append(r.url))

    def open(self, path: str = "/") -> object:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"explorer-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: object, site: str) -> Iterator[Page]:
    p = Page(browser, site)
    yield p
    p.page.close()


def _ready(p: Page) -> object:
    page = p.open()
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page


def test_the_map_shows_the_demo_corpus_cells_with_no_console_errors(page: Page, site: str) -> None:
    web = _ready(page)
    api = httpx.get(f"{site}/associations", params={"limit": 1000, "evidence_limit": 0}).json()
    cells = web.locator("td.cell")
    assert cells.count() == api["total"] > 10
    ritux_cvid = next(i for i in api["items"] if i["row_key"] == "rituximab"
                      and i["col_key"] == "iuis:common-variable-immune-deficiency-with-no-gene-defect-specified")
    cell = web.locator(f"td.cell[data-row='rituximab'][data-col='{ritux_cvid['col_key']}']")
    assert cell.inner_text() == str(ritux_cvid["patients"])
    cell.hover()
    tip = web.locator("#tooltip")
    assert tip.is_visible() and "ROR" in tip.inner_text() and "Fisher p" in tip.inner_text()
    page.shot("map")
    assert not page.errors, page.errors
    assert not page.outside, page.outside  # no request leaves the machine


def test_filters_redraw_the_map(page: Page, site: str) -> None:
    web = _ready(page)
    api = httpx.get(f"{site}/associations", params={"role": "treatment", "limit": 1000, "evidence_limit": 0}).json()
    assert web.locator("td.cell").count() != api["total"]  # the exposure map differs from the treatment one
    web.select_option("select[name=role]", "treatment")
    # the redraw empties the table first: wait for the finished map, not for any change
    web.wait_for_function(f"document.querySelectorAll('td.cell').length === {api['total']}")
    assert web.locator("td.cell").count() == api["total"]
    assert web.locator("td.cell[data-row='mefloquine']").count() > 0
    web.fill("input[name=min_patients]", "3")
    web.dispatch_event("input[name=min_patients]", "change")
    web.wait_for_function("(cells => cells.length > 0 && cells.every(td => Number(td.dataset.patients) >= 3))"
                          "([...document.querySelectorAll('td.cell')])")  # the redrawn map, not the emptied table
    assert not page.errors, page.errors


def test_clicking_a_cell_lists_its_patients_and_evidence(page: Page, site: str) -> None:
    web = _ready(page)
    col = "pmlkg:idiopathic-cd4-lymphopenia"
    web.locator(f"td.cell[data-row='rituximab'][data-col='{col}']").click()
    web.wait_for_selector("#cases .case")
    shown = {e.get_attribute("data-case") for e in web.locator("#cases .case").element_handles()}
    expected = httpx.get(f"{site}/patients", params={"drug": "rituximab", "role": "exposure", "defect": col,
                                                     "attributable": "true", "limit": 200}).json()
    assert shown == {c["id"] for c in expected["items"]} and shown
    row = httpx.get(f"{site}/associations", params={"drug": "rituximab", "defect": col}).json()["items"][0]
    assert shown == set(row["cases"])  # the patients listed are the ones the cell counts
    assert expected["patients_given_drug"] == row["patients"] < expected["total_patients"]  # a series counts part
    caveat = web.locator("#cases p.caveat").inner_text()
    assert caveat.startswith(f"{row['patients']} patients given Rituximab before PML in {len(shown)} case records")
    marks = [m.inner_text().lower() for m in web.locator("#cases blockquote mark").element_handles()]
    assert "rituximab" in marks and "idiopathic cd4 lymphopenia" in marks
    links = web.locator("#cases a[href^='https://pubmed.ncbi.nlm.nih.gov/']")
    assert links.count() >= len(shown)
    assert "survived" in web.locator("#cases").inner_text() or "died" in web.locator("#cases").inner_text()
    # the series of 11 shows its group facts, the cell's drug first, and the sentence of each
    series = httpx.get(f"{site}/patients/90000011:0").json()["series"]
    ritux = next(d for d in series["drugs"] if d["key"] == "rituximab")
    card = web.locator("#cases .case.series[data-case='90000011:0']")
    facts = card.locator(".series-facts").inner_text()
    assert facts.startswith(f"Rituximab in {ritux['n_patients']} of {series['cohort_size']};")
    assert f"; {series['deaths']} died" in facts and f"; {series['survivors']} survived" in facts
    assert (f"{series['unknown_outcome']} outcome unknown" in facts) == (series["unknown_outcome"] > 0)
    died = series["evidence"]["died"]
    said = [li.inner_text() for li in card.locator("li").element_handles()]
    assert any(t.lower().startswith("deaths") and died["sentence"] in t for t in said)
    mention = died["sentence"][died["start"] - died["sentence_start"]: died["end"] - died["sentence_start"]]
    assert mention in [m.inner_text() for m in card.locator("blockquote mark").element_handles()]
    page.shot("cases")
    assert not page.errors, page.errors


def test_search_finds_a_gene_and_the_graph_view_renders_it(page: Page) -> None:
    web = _ready(page)
    web.fill("#search", "CD40LG")
    hit = web.locator("#search-results li[data-id='Gene:CD40LG']")
    hit.wait_for()
    page.shot("search")
    hit.click()
    web.wait_for_function("window.pmlkgGraph && window.pmlkgGraph.nodes().length > 3")
    ids = web.evaluate("window.pmlkgGraph.nodes().map(n => n.id())")
    assert "Gene:CD40LG" in ids and "Disease:iuis:cd40-ligand-deficiency" in ids
    assert any(i.startswith("Case:") for i in ids)
    assert "CD40 ligand" in web.locator("#graph-details").inner_text()
    n_before = len(ids)
    web.evaluate("window.pmlkgGraph.getElementById('Disease:iuis:cd40-ligand-deficiency').emit('tap')")
    web.wait_for_function(f"window.pmlkgGraph.nodes().length > {n_before}")  # expanded by clicking
    web.wait_for_timeout(300)
    page.shot("graph")
    assert not page.errors, page.errors


def test_a_huge_neighbourhood_is_capped_with_a_note(page: Page) -> None:
    web = _ready(page)
    web.click("#tabs button[data-view=graph]")
    web.wait_for_function("window.pmlkgGraph && window.pmlkgGraph.nodes().length > 0")
    assert not web.locator("#graph-note").is_visible()
    web.select_option("#graph-controls select[name=max_nodes]", "25")
    web.fill("#search", "rituximab")  # 18 articles and 10 cases: more neighbours than 25
    web.locator("#search-results li[data-id='Drug:rituximab']").click()
    note = web.locator("#graph-note")
    note.wait_for()
    assert "Capped at 25 nodes" in note.inner_text()
    assert web.evaluate("window.pmlkgGraph.nodes().length") == 25
    page.shot("graph-capped")
    assert not page.errors, page.errors


def test_survival_curves_with_numbers_at_risk(page: Page, site: str) -> None:
    web = _ready(page)
    web.click("#tabs button[data-view=survival]")
    web.wait_for_selector("path.km-curve")
    curves = web.locator("path.km-curve")
    assert curves.count() == 2  # exposed to rituximab, and not
    assert web.locator("line.km-censor").count() > 0 and web.locator("polygon.km-band").count() == 2
    table = web.locator("table.at-risk").inner_text()
    assert "exposed to rituximab" in table and "not exposed to rituximab" in table
    note = web.locator("#survival-note").inner_text()
    assert "not a cohort" in note
    api = httpx.get(f"{site}/survival", params={"group_by": "exposure", "drug": "rituximab"}).json()
    assert (f"Of {api['series_considered']} series, {api['series_left_out']} "
            f"({api['series_patients_left_out']} patients) are left out") in note  # said, not silently dropped
    page.shot("survival")
    web.select_option("select[name=group_by]", "category")
    web.click("#survival-controls button[type=submit]")
    web.wait_for_function("document.querySelectorAll('path.km-curve').length > 2")
    assert not page.errors, page.errors


def test_cypher_console_runs_examples_and_shows_refusals(page: Page) -> None:
    web = _ready(page)
    web.click("#tabs button[data-view=cypher]")
    web.click("#cypher-form button[type=submit]")
    web.wait_for_selector("#cypher-result table")
    assert "Rituximab" in web.locator("#cypher-result").inner_text()
    page.shot("cypher")
    web.fill("#cypher-text", "MATCH (n) DETACH DELETE n")
    web.click("#cypher-form button[type=submit]")
    web.wait_for_selector("#cypher-result .error")
    assert re.search(r"read-only|DELETE", web.locator("#cypher-result .error").inner_text())
    web.fill("#cypher-params", "{not json")
    web.click("#cypher-form button[type=submit]")
    assert "not JSON" in web.locator("#cypher-result .error").inner_text()
    assert not [e for e in page.errors if "403" not in e and "status of 4" not in e], page.errors


def test_an_empty_graph_says_how_to_build_one(browser: object, falkordb_server: EmbeddedFalkorDB) -> None:
    settings = Settings(data_dir=falkordb_server.data_dir, graph_uri="falkordb:", graph_name="explorer-empty")
    with serve(settings) as url:
        p = Page(browser, url)
        web = p.open()
        web.wait_for_selector(".empty")
        text = web.locator("#heatmap").inner_text()
        assert "graph is empty" in text and "pmlkg build" in text
        p.shot("empty")
        assert not p.errors, p.errors
        p.page.close()


def test_an_unreachable_store_shows_a_readable_message(browser: object, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, graph_uri="falkordb:", graph_name="none")  # no server there
    with serve(settings) as url:
        p = Page(browser, url)
        web = p.open()
        banner = web.locator("#banner")
        banner.wait_for()
        assert "not reachable" in banner.inner_text() and "pmlkg db start" in banner.inner_text()
        assert banner.inner_text().count("pmlkg db start") == 1
        p.shot("store-down")
        p.page.close()
