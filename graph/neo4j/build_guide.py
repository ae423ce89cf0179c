"""Build guide.html, the Neo4j Browser guide, from saved_queries.cypher and style.json.

Why generated: the guide shows the saved queries, so writing it by hand would let the two drift
apart; tests/test_neo4j_assets.py fails when guide.html is not what this script produces now.
Standard library only, so it runs anywhere Python does (no venv needed).

    python graph/neo4j/build_guide.py           # rewrite guide.html
    python graph/neo4j/build_guide.py --check   # exit 1 if guide.html is out of date
    python graph/neo4j/build_guide.py --serve 8001
        # serve this folder on 127.0.0.1 with CORS, then in Browser: :play http://localhost:8001/guide.html
        # (the API serves the same files at /neo4j/<name>, api/routers/neo4j_assets.py)

The saved-query format (parsed by :func:`parse_saved_queries`): a ``// name: ...`` line, a
one-line ``// ...`` description, the query, then a line holding only ``;``. Comment lines
before a ``// name:`` line (a file header) are ignored.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import sys
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAVED_QUERIES = HERE / "saved_queries.cypher"
STYLE_JSON = HERE / "style.json"
GUIDE = HERE / "guide.html"

NAME_PREFIX = "// name:"


@dataclass(frozen=True, slots=True)
class SavedQuery:
    name: str
    description: str
    cypher: str


def parse_saved_queries(text: str) -> list[SavedQuery]:
    """Split the file into queries; raise ValueError on anything that breaks the format."""
    queries: list[SavedQuery] = []
    block: list[str] = []
    for line in text.splitlines() + [";"]:
        if line.strip() != ";":
            block.append(line)
            continue
        query = _parse_block(block)
        if query is not None:
            queries.append(query)
        block = []
    names = [q.name for q in queries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"saved query names used twice: {duplicates}")
    return queries


def _parse_block(lines: list[str]) -> SavedQuery | None:
    stripped = [line.strip() for line in lines]
    starts = [i for i, line in enumerate(stripped) if line.startswith(NAME_PREFIX)]
    if not starts:
        if any(line and not line.startswith("//") for line in stripped):
            raise ValueError(f"a query without a '{NAME_PREFIX}' line: {' '.join(stripped)[:80]!r}")
        return None  # a header or trailing comments only
    if len(starts) > 1:
        raise ValueError(f"two '{NAME_PREFIX}' lines without a ';' line between them: {stripped[starts[1]]!r}")
    start = starts[0]
    if any(line and not line.startswith("//") for line in stripped[:start]):
        raise ValueError(f"text before '{stripped[start]}'")
    name = stripped[start][len(NAME_PREFIX):].strip()
    description = stripped[start + 1] if start + 1 < len(stripped) else ""
    if not name or not description.startswith("//") or not description[2:].strip():
        raise ValueError(f"saved query {name!r} needs a name and a one-line '// description' after it")
    body = "\n".join(lines[start + 2:]).strip()
    if not body:
        raise ValueError(f"saved query {name!r} has no Cypher")
    if any(line.lstrip().startswith(":") for line in body.splitlines()):
        raise ValueError(f"saved query {name!r} holds a Browser command (':...'); keep those out of the queries")
    return SavedQuery(name=name, description=description[2:].strip(), cypher=body)


def load_saved_queries(path: Path = SAVED_QUERIES) -> list[SavedQuery]:
    return parse_saved_queries(path.read_text(encoding="utf-8"))


def load_style(path: Path = STYLE_JSON) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text(encoding="utf-8"))


# What each label is, in a phrase (the model itself is pmlkg/schema.yaml; the test checks that
# every label and relationship type there appears in the guide).
_LABELS = {
    "Publication": "a PubMed article",
    "Case": "a patient with PML, or a series the abstract does not split (cohort_size &gt; 1);"
            " id &lt;pmid&gt;:&lt;index&gt;",
    "Disease": "an immune defect: an IUIS 2024 disease, an umbrella term, or unnormalised text",
    "Gene": "a gene, by approved HGNC symbol",
    "Drug": "a drug, by canonical lower-case name (caption: display name)",
    "DrugClass": "a drug class, e.g. anti-CD20, corticosteroid",
    "ChemicalEntity": "a chemical no lexicon knows (mentions only)",
    "Outcome": "died, survived or IRIS",
    "Evidence": "one sentence of an article, supporting a case",
}
_RELATIONSHIPS = [
    ("Publication", "REPORTS", "", "Case"),
    ("Case", "HAS_DISEASE", "", "Disease"),
    ("Case", "HAS_GENE", "", "Gene"),
    ("Case", "RECEIVED", " {role}", "Drug or DrugClass"),
    ("Case", "HAD_OUTCOME", " {months}", "Outcome"),
    ("Disease", "CAUSED_BY", "", "Gene"),
    ("Drug", "MEMBER_OF", "", "DrugClass"),
    ("Publication", "MENTIONS", " {count}", "Gene, Drug, DrugClass, Disease or ChemicalEntity"),
    ("Evidence", "SUPPORTS", "", "Case"),
    ("Evidence", "FROM_PUBLICATION", "", "Publication"),
]


def _model_slide(style: dict[str, dict[str, str]]) -> str:
    labels = "\n".join(
        f'      <li><span style="display:inline-block;width:0.9em;height:0.9em;border-radius:50%;'
        f'background:{html.escape(s["color"])};vertical-align:middle"></span> '
        f'<code>:{html.escape(label)}</code> ({html.escape(s["caption"])}): {_LABELS.get(label, "")}</li>'
        for label, s in style.items())
    rels = "\n".join(
        f"      <li><code>({a})-[:{t}{props}]-&gt;({b})</code></li>" for a, t, props, b in _RELATIONSHIPS)
    return f"""  <slide class="row-fluid">
    <div class="col-sm-12">
    <h3>The pmlkg graph</h3>
    <p class="lead">PML (progressive multifocal leukoencephalopathy) case reports in inborn errors of
    immunity, extracted from PubMed abstracts. The model is <code>pmlkg/schema.yaml</code>.</p>
    <h4>Node labels (caption property)</h4>
    <ul>
{labels}
    </ul>
    <h4>Relationship types</h4>
    <ul>
{rels}
    </ul>
    <p><code>RECEIVED.role</code> is <code>exposure</code> (given before PML), <code>treatment</code>
    (given for PML) or <code>other</code>. Assertion edges carry their evidence: <code>pmid</code>,
    <code>sentence</code>, <code>start</code>/<code>end</code> offsets, <code>hedged</code>, <code>confidence</code>
    (a heuristic, not calibrated).</p>
    <h4>Read the numbers with care</h4>
    <ul>
      <li>Counts are of <b>reported cases</b> in the literature, not incidence: there is no denominator,
      and unusual cases are more likely to be published.</li>
      <li>A series the abstract does not split is one <code>Case</code> (<code>cohort_size</code> &gt; 1).</li>
      <li>Assertions the text denies (&quot;had never received rituximab&quot;) are stored with
      <code>negated = true</code>. Filter them, e.g. <code>WHERE r.negated = false</code>, in every count.</li>
    </ul>
    <h4>Load the style</h4>
    <p>Run <code>:style</code>, then drag <code>graph/neo4j/pmlkg.grass</code> onto the style frame, or type
    <code>:style</code> followed by the file's contents. <code>:style reset</code> restores Browser's default.</p>
    <p>To play this guide: with the pmlkg API running (<code>make run</code> or docker compose),
    <code>:play http://localhost:8000/neo4j/guide.html</code>; without it,
    <code>python graph/neo4j/build_guide.py --serve 8001</code> and
    <code>:play http://localhost:8001/guide.html</code>. The style loads the same way:
    <code>:style http://localhost:8000/neo4j/pmlkg.grass</code>. Browser fetches both from your
    machine; localhost is in the default <code>browser.remote_content_hostname_allowlist</code> of
    neo4j.conf, any other host has to be added there.</p>
    </div>
  </slide>"""


def _query_slide(query: SavedQuery) -> str:
    return f"""  <slide class="row-fluid">
    <div class="col-sm-12">
    <h3>{html.escape(query.name)}</h3>
    <p class="lead">{html.escape(query.description)}</p>
    <figure>
    <pre class="pre-scrollable code runnable">{html.escape(query.cypher)}</pre>
    <figcaption>Click the query to put it in the editor, then run it.</figcaption>
    </figure>
    </div>
  </slide>"""


def render_guide(queries: list[SavedQuery], style: dict[str, dict[str, str]]) -> str:
    slides = "\n".join([_model_slide(style)] + [_query_slide(q) for q in queries])
    return (
        "<!-- Generated by graph/neo4j/build_guide.py from saved_queries.cypher and style.json;"
        " do not edit by hand. -->\n"
        '<article class="guide">\n'
        '<carousel class="deck container-fluid">\n'
        f"{slides}\n"
        "</carousel>\n"
        "</article>\n"
    )


def build() -> str:
    return render_guide(load_saved_queries(), load_style())


class _CorsHandler(SimpleHTTPRequestHandler):
    """Browser fetches guides cross-origin, so the answer must allow it."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()


def serve(port: int) -> None:
    handler = functools.partial(_CorsHandler, directory=str(HERE))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving {HERE} on http://localhost:{port}/  (Browser: :play http://localhost:{port}/guide.html)")
        server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 if guide.html is out of date")
    group.add_argument("--serve", type=int, metavar="PORT", help="serve this folder on 127.0.0.1 with CORS")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    text = build()
    if args.check:
        current = GUIDE.read_text(encoding="utf-8") if GUIDE.exists() else ""
        if current != text:
            script = Path(__file__).resolve().relative_to(HERE.parent.parent)
            print(f"{GUIDE} is out of date: run python {script}", file=sys.stderr)
            return 1
        return 0
    GUIDE.write_text(text, encoding="utf-8")
    print(f"wrote {GUIDE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
