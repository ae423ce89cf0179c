"""Neo4j Browser, in a real browser: Debian's Chromium driven by Playwright opens the Browser that the
local Neo4j 5.26 serves (neo4j-browser on its classpath), connects with the credentials, plays the
pmlkg guide from the API, runs every saved query from the guide's slides, applies the pmlkg style
sheet, and leaves screenshots in ``test-artifacts/neo4j-browser-*.png`` for a person to look at.

A user does the same with their own Neo4j: ``:play http://localhost:8000/neo4j/guide.html`` and
``:style http://localhost:8000/neo4j/pmlkg.grass`` (README, "Neo4j Browser").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pmlkg.graph.neo4j.build_guide import GUIDE, SAVED_QUERIES, parse_saved_queries
from pmlkg.graph.stores.neo4j_local import Neo4jStatus
from pmlkg.settings import Settings
from pmlkg.testing.live_server import serve
from tests.test_explorer import ARGS, ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.skipif(not CHROMIUM or not __import__("pathlib").Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (scripts/system-deps.sh installs it)")
STREAMED = re.compile(r"Started streaming (\d+) records?")


@pytest.fixture(scope="module")
def api_url(neo4j_demo_server: Neo4jStatus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API over the Neo4j demo, as Browser reaches it: ``localhost`` is on Browser's default
    remote-content allowlist, 127.0.0.1 is not."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("browser-api"), graph_uri=str(neo4j_demo_server.uri))
    with serve(settings) as url:
        yield url.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def browser_page(neo4j_demo_server: Neo4jStatus, neo4j_auth_env: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(str(neo4j_demo_server.browser))
        page.get_by_test_id("bolt-scheme-select").select_option("bolt://")
        page.get_by_test_id("username").fill("neo4j")
        page.get_by_test_id("password").fill(neo4j_auth_env.split("/", 1)[1])
        page.get_by_test_id("connect").click()
        page.get_by_text("neo4j$").first.wait_for(timeout=30_000)  # the editor prompt once connected
        yield page
        browser.close()


def _command(page, text: str) -> None:  # noqa: ANN001
    frames = page.get_by_test_id("frame").count()
    page.get_by_test_id("activeEditor").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.get_by_test_id("frame").nth(frames).wait_for(timeout=30_000)


def _newest_frame(page):  # noqa: ANN001, ANN202
    return page.get_by_test_id("frame").first


def _rows(page, name: str) -> int:  # noqa: ANN001
    """What the newest result frame returned: its table's streamed record count, or, when Browser draws
    the result as a graph (its status bar then counts nodes, not records), the nodes drawn."""
    frame = _newest_frame(page)
    table, graph = frame.get_by_text(STREAMED), frame.locator("svg .node")
    try:
        table.or_(graph).first.wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"neo4j-browser-failed-{name}.png"))
        raise
    if graph.count():
        return graph.count()
    return int(STREAMED.search(table.first.inner_text()).group(1))


def test_connects_plays_the_guide_and_every_saved_query_returns_rows(browser_page, api_url: str) -> None:  # noqa: ANN001
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    _command(page, f":play {api_url}/neo4j/guide.html")
    guide = _newest_frame(page)
    guide.get_by_text("The pmlkg graph").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "neo4j-browser-guide.png"))
    saved = {" ".join(q.cypher.split()) for q in parse_saved_queries(SAVED_QUERIES.read_text(encoding="utf-8"))}
    slides = GUIDE.read_text(encoding="utf-8").count("<slide")
    ran: dict[str, int] = {}
    for slide in range(slides):
        guide = page.get_by_test_id("frame").filter(has=page.get_by_test_id("carousel")).first
        if slide:
            guide.get_by_test_id("nextSlide").first.click()
        for i in range(guide.locator("pre.runnable").count()):
            block = guide.locator("pre.runnable").nth(i)
            cypher = " ".join(block.inner_text().split())
            block.click()  # Browser puts the query into the editor
            frames = page.get_by_test_id("frame").count()
            page.get_by_test_id("editor-Run").click()
            page.get_by_test_id("frame").nth(frames).wait_for(timeout=30_000)  # its own frame
            ran[cypher] = _rows(page, f"{slide}-{i}")
            guide = page.get_by_test_id("frame").filter(has=page.get_by_test_id("carousel")).first
    assert saved <= set(ran), f"saved queries not on any slide: {saved - set(ran)}"
    assert all(n > 0 for n in ran.values()), ran


def test_the_pmlkg_style_applies_to_a_saved_query_graph(browser_page, api_url: str) -> None:  # noqa: ANN001
    page = browser_page
    _command(page, f":style {api_url}/neo4j/pmlkg.grass")
    _newest_frame(page).get_by_text("node.Case").first.wait_for(timeout=30_000)
    grass = page.get_by_test_id("frame").first.inner_text()
    assert "node.Case" in grass and "node.Publication" in grass
    _command(page, "MATCH p = (a:Publication {pmid: '90000001'})-[:REPORTS]->(c:Case)-[:HAS_DISEASE|HAS_GENE]->(x) "
                   "RETURN p")
    assert _rows(page, "style") == 4  # the article, its case, the case's defect and gene, drawn as a graph
    page.wait_for_timeout(1500)  # let the force layout settle for the screenshot
    page.screenshot(path=str(ARTIFACTS / "neo4j-browser-graph.png"))
    grass = (GUIDE.parent / "pmlkg.grass").read_text(encoding="utf-8")
    colours = {label: re.search(rf"node\.{label}\s*{{[^}}]*?\bcolor:\s*(#[0-9A-Fa-f]{{6}})", grass).group(1).lower()
               for label in ("Publication", "Case", "Disease", "Gene")}
    drawn = {c.lower() for c in _newest_frame(page).locator("svg .node circle.b-outline, svg .node circle").evaluate_all(
        "els => els.map(e => e.getAttribute('fill')).filter(Boolean)")}
    assert set(colours.values()) <= drawn, (colours, drawn)  # each label in the pmlkg style's colour
