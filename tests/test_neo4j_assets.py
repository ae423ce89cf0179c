"""The Neo4j Browser assets in graph/neo4j/ agree with the graph model and with each other.

Why: the style, its JSON twin (for the web page), the saved queries and the guide are four views
of pmlkg/schema.yaml. Nothing runs them in CI (there is no Neo4j here), so drift would only show
in front of a user. The Cypher of the saved queries is linted in tests/test_cypher_lint.py.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from tests.neo4j_guide import load_build_guide

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "graph" / "neo4j"
SCHEMA = yaml.safe_load((REPO / "pmlkg" / "schema.yaml").read_text(encoding="utf-8"))
LABELS = list(SCHEMA["nodes"])
REL_TYPES = list(SCHEMA["relationships"])
build_guide = load_build_guide()


def parse_grass(text: str) -> dict[str, dict[str, str]]:
    """Read GraSS the way Neo4j Browser's importer does: quotes toggle strings, braces outside a
    string open and close a rule, whitespace outside rules is dropped, props split on ';' then ':'.
    Browser has no comment syntax, so anything stray shows up here as a malformed selector."""
    rules: dict[str, str] = {}
    selector, body, in_string, in_rule = "", "", False, False
    for ch in text:
        if ch in "'\"":
            in_string = not in_string
            continue
        if ch == "{" and not in_string and not in_rule:
            in_rule = True
            continue
        if ch == "}" and not in_string and in_rule:
            rules[selector], selector, body, in_rule = body, "", "", False
            continue
        if in_rule:
            body += ch
        elif not ch.isspace():
            selector += ch
    assert not in_rule and not in_string and not selector.strip(), "unterminated GraSS rule or string"
    parsed = {}
    for sel, props in rules.items():
        pairs = [p.split(":") for p in props.split(";") if p.strip()]
        assert all(len(p) == 2 for p in pairs), f"{sel}: a value holds ':' or a ';' is missing: {props!r}"
        parsed[sel] = {k.strip(): v.strip() for k, v in pairs}
    return parsed


GRASS = parse_grass((ASSETS / "pmlkg.grass").read_text(encoding="utf-8"))
STYLE = json.loads((ASSETS / "style.json").read_text(encoding="utf-8"))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_grass_selectors_are_well_formed() -> None:
    allowed = {"node", "relationship"} | {f"node.{x}" for x in LABELS} | {f"relationship.{t}" for t in REL_TYPES}
    assert set(GRASS) <= allowed, f"selectors Browser would not match: {sorted(set(GRASS) - allowed)}"


@pytest.mark.parametrize("label", LABELS)
def test_every_label_has_a_style(label: str) -> None:
    caption = SCHEMA["nodes"][label]["caption"]
    rule = GRASS.get(f"node.{label}")
    assert rule, f"pmlkg.grass has no node.{label}"
    assert rule["caption"] == f"{{{caption}}}"
    assert re.fullmatch(r"#[0-9A-F]{6}", rule["color"]), rule["color"]
    assert re.fullmatch(r"#[0-9A-F]{6}", rule["border-color"]), rule["border-color"]
    assert re.fullmatch(r"\d+px", rule["diameter"]), rule["diameter"]
    assert contrast(rule["color"], rule["text-color-internal"]) >= 4.5, "caption text hard to read on its fill"
    assert STYLE[label] == {"color": rule["color"], "caption": caption}, "style.json differs from pmlkg.grass"


def test_colours_are_distinct_and_json_has_no_extra_label() -> None:
    colours = [GRASS[f"node.{x}"]["color"] for x in LABELS]
    assert len(set(colours)) == len(colours), "two labels share a colour"
    assert set(STYLE) == set(LABELS)


def test_received_shows_its_role() -> None:
    assert GRASS["relationship.RECEIVED"]["caption"] == "{role}"


def test_guide_is_what_build_guide_makes() -> None:
    current = (ASSETS / "guide.html").read_text(encoding="utf-8")
    assert current == build_guide.build(), "guide.html is stale: run python graph/neo4j/build_guide.py"


def test_every_saved_query_is_in_the_guide() -> None:
    guide = (ASSETS / "guide.html").read_text(encoding="utf-8")
    runnable = re.findall(r'<pre class="pre-scrollable code runnable">(.*?)</pre>', guide, re.S)
    shown = [html.unescape(q) for q in runnable]
    saved = build_guide.load_saved_queries()
    assert len(saved) >= 6
    assert shown == [q.cypher for q in saved]
    for q in saved:
        assert f"<h3>{html.escape(q.name)}</h3>" in guide
        assert html.escape(q.description) in guide


class _TagBalance(HTMLParser):
    VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()


def test_guide_html_is_balanced() -> None:
    """Browser inserts the guide into its own page: an unclosed tag would break the page around it."""
    checker = _TagBalance()
    checker.feed((ASSETS / "guide.html").read_text(encoding="utf-8"))
    assert not checker.errors and not checker.open, (checker.errors, checker.open)


def test_guide_explains_the_model() -> None:
    first_slide = (ASSETS / "guide.html").read_text(encoding="utf-8").split("</slide>")[0]
    for name in LABELS:
        assert f"<code>:{name}</code>" in first_slide, f"label {name} missing from the guide"
    for name in REL_TYPES:
        assert f":{name}" in first_slide, f"relationship type {name} missing from the guide"
    for phrase in ("not incidence", "negated = true", ":style", "pmlkg.grass"):
        assert phrase in first_slide


def test_saved_queries_format_is_enforced() -> None:
    parse = build_guide.parse_saved_queries
    ok = parse("// header\n\n// name: a\n// what a does\nRETURN 1\n;\n// name: b\n// what b does\nRETURN 2\n")
    assert [(q.name, q.description, q.cypher) for q in ok] == [("a", "what a does", "RETURN 1"),
                                                                ("b", "what b does", "RETURN 2")]
    for bad in ("RETURN 1\n;",  # no name
                "// name: a\nRETURN 1\n;",  # no description
                "// name: a\n// d\n:param x => 1\nRETURN $x\n;",  # a Browser command inside
                "// name: a\n// d\nRETURN 1\n;\n// name: a\n// d\nRETURN 2\n;"):  # duplicate name
        with pytest.raises(ValueError):
            parse(bad)
