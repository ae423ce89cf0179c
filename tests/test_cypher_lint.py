"""Every Cypher statement of the project must pass Neo4j 5's own front end, checked offline.

The rest of the suite runs the queries on both FalkorDB and a real Neo4j 5.26 (tests/test_parity.py
compares their answers); the linter adds what a run cannot show: statements no test executes with
every parameter shape, and the saved Browser queries' syntax on its own. scripts/cypher_lint.mjs runs
Neo4j's parser and semantic analysis (npm @neo4j-cypher/language-support, installed by
scripts/node-deps.sh); ../shared/notes/cypher-compat.md says what it catches and what not.

All statements, and the negative controls that prove the linter bites, go through one node
process: loading the module takes over a second.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pmlkg.schema import SCHEMA
from tests.neo4j_guide import load_build_guide

REPO = Path(__file__).resolve().parents[1]
LINTER = REPO / "scripts" / "cypher_lint.mjs"
NODE_DEPS = REPO / "scripts" / "node-deps.sh"
PACKAGE = REPO / "node_modules" / "@neo4j-cypher" / "language-support"
CONSOLE_EXAMPLES = REPO / "api" / "static" / "cypher_examples.json"

# name -> (query, a word its first error must hold or None for "no error",
#          a word one warning must hold or None for "no warning")
CONTROLS: dict[str, tuple[str, str | None, str | None]] = {
    "control:syntax_error": ("MATCH (p:Case RETURN p", "Invalid input", None),
    "control:falkordb_only_procedure": (
        "CALL db.idx.fulltext.queryNodes('Gene','x') YIELD node RETURN node", "db.idx.fulltext.queryNodes", None),
    "control:plugin_function": ("RETURN apoc.coll.sum([1, 2]) AS total", "apoc.coll.sum", None),
    "control:parameter": ("MATCH (c:Case {id: $id}) RETURN c.outcome AS outcome", None, None),
    "control:label_outside_model": ("MATCH (p:Patient) RETURN p", None, "Patient"),
    "control:property_outside_model": ("MATCH (c:Case) RETURN c.n_defects AS n", None, "n_defects"),
    "control:unwind_row_key": ("UNWIND $rows AS row MERGE (c:Case {id: row.case_id})", None, None),
}


def graph_model() -> dict[str, list[str]]:
    """Labels, relationship types and property keys of pmlkg/schema.yaml, for the linter's warnings."""
    keys = set(SCHEMA.evidence_properties)
    for spec in [*SCHEMA.nodes.values(), *SCHEMA.relationships.values()]:
        keys.update(spec.properties)
    return {"labels": sorted(SCHEMA.nodes), "relationshipTypes": sorted(SCHEMA.relationships),
            "propertyKeys": sorted(keys)}


def catalogue_queries() -> dict[str, str]:
    return {name: q.cypher for name, q in importlib.import_module("pmlkg.graph.queries").CATALOGUE.items()}


def write_statements() -> dict[str, str]:
    return dict(importlib.import_module("pmlkg.graph.load").WRITE_STATEMENTS)


def console_examples() -> dict[str, str]:
    examples = json.loads(CONSOLE_EXAMPLES.read_text(encoding="utf-8"))
    return {e["name"]: e["cypher"] for e in examples}


def saved_queries() -> dict[str, str]:
    return {q.name: q.cypher for q in load_build_guide().load_saved_queries()}


SOURCES = {"catalogue": catalogue_queries, "write": write_statements, "saved": saved_queries,
           "console": console_examples}


def project_statements() -> tuple[dict[str, str], list[str]]:
    """Collected at test time (graph.queries and graph.load are being rewritten: lint whatever is
    there). A source that cannot be read is a problem to report, not a reason to lint nothing."""
    statements: dict[str, str] = {}
    problems: list[str] = []
    for prefix, collect in SOURCES.items():
        try:
            statements.update({f"{prefix}:{name}": cypher for name, cypher in collect().items()})
        except Exception as e:  # noqa: BLE001 - reported by the test, with the others
            problems.append(f"{prefix}: {type(e).__name__}: {e}")
    return statements, problems


_UNWIND_ALIAS = re.compile(r"\bUNWIND\b.+?\bAS\s+(\w+)", re.I | re.S)
_UNKNOWN_KEY = re.compile(r"(\d+):(\d+) (\w+) is not present in the database")


def is_row_key(cypher: str, warning: str) -> bool:
    """``row.pmid`` after ``UNWIND $rows AS row`` reads a key of a parameter map, not a graph
    property, but the linter cannot tell and calls the key unknown: drop that false alarm."""
    m = _UNKNOWN_KEY.match(warning)
    if not m:
        return False
    line, col = int(m[1]), int(m[2])
    lines = cypher.split("\n")
    before = lines[line - 1][:col - 1] if line <= len(lines) else ""
    owner = re.search(r"(\w+)\.$", before)
    return bool(owner) and owner[1] in _UNWIND_ALIAS.findall(cypher)


def run_linter(statements: dict[str, str], model_file: Path) -> dict[str, dict[str, Any]]:
    payload = json.dumps([{"name": n, "cypher": c} for n, c in statements.items()])
    proc = subprocess.run(["node", str(LINTER), "--model", str(model_file)], input=payload, text=True,
                          capture_output=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, f"cypher_lint.mjs failed ({proc.returncode}):\n{proc.stderr}"
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert [r["name"] for r in results] == list(statements), "the linter must answer once per query, in order"
    for r in results:
        r["warnings"] = [w for w in r["warnings"] if not is_row_key(statements[r["name"]], w)]
    return {r["name"]: r for r in results}


@dataclass
class LintRun:
    results: dict[str, dict[str, Any]]  # name -> {"errors": [...], "warnings": [...]}
    problems: list[str]  # sources that could not be collected


@pytest.fixture(scope="module")
def lint(tmp_path_factory: pytest.TempPathFactory) -> LintRun:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: cannot run Neo4j's Cypher front end (install Node 20+ and npm)")
    subprocess.run(["bash", str(NODE_DEPS)], cwd=REPO, check=False, timeout=600)  # idempotent; says why if not
    if not PACKAGE.is_dir():
        pytest.skip(f"{PACKAGE.relative_to(REPO)} is missing and scripts/node-deps.sh could not install it")
    model_file = tmp_path_factory.mktemp("cypher-lint") / "model.json"
    model_file.write_text(json.dumps(graph_model()), encoding="utf-8")
    statements, problems = project_statements()
    statements.update({name: query for name, (query, _, _) in CONTROLS.items()})
    return LintRun(run_linter(statements, model_file), problems)


def _report(results: list[dict[str, Any]], field: str) -> str:
    return "\n".join(f"  {r['name']}:\n" + "\n".join(f"    {m}" for m in r[field]) for r in results if r[field])


def test_every_project_query_passes_neo4j(lint: LintRun) -> None:
    project = [r for name, r in lint.results.items() if not name.startswith("control:")]
    problems = list(lint.problems)
    problems += [f"{prefix}: no statement" for prefix in SOURCES
                 if not any(r["name"].startswith(f"{prefix}:") for r in project)]
    with_warnings = [r for r in project if r["warnings"]]
    if with_warnings:
        text = _report(with_warnings, "warnings")
        print(f"Neo4j warnings (allowed) in {len(with_warnings)} of {len(project)} queries:\n{text}")
        names = ", ".join(r["name"] for r in with_warnings)
        warnings.warn(f"Cypher lint: Neo4j warns about {len(with_warnings)} queries ({names}); "
                      "their messages are in this test's captured stdout (pytest -s)", stacklevel=1)
    failing = [r for r in project if r["errors"]]
    message = []
    if failing:
        message.append(f"Neo4j 5 rejects {len(failing)} of {len(project)} queries:\n{_report(failing, 'errors')}")
    if problems:
        message.append("could not collect:\n" + "\n".join(f"  {p}" for p in problems))
    assert not message, "\n".join(message)


def test_saved_queries_use_only_the_model(lint: LintRun) -> None:
    """The Browser queries are ours: no unknown label, type or property (linter warnings) either."""
    saved = [r for name, r in lint.results.items() if name.startswith("saved:")]
    assert saved, "graph/neo4j/saved_queries.cypher holds no query"
    noisy = [r for r in saved if r["warnings"]]
    assert not noisy, f"saved queries outside pmlkg/schema.yaml:\n{_report(noisy, 'warnings')}"


@pytest.mark.parametrize("name", list(CONTROLS))
def test_linter_catches_what_neo4j_rejects(lint: LintRun, name: str) -> None:
    query, error_word, warning_word = CONTROLS[name]
    errors, warns = lint.results[name]["errors"], lint.results[name]["warnings"]
    if error_word:
        assert errors and error_word in errors[0], f"the linter let through {query!r}: {errors}"
    else:
        assert not errors, f"{query!r} must lint clean: {errors}"
    if warning_word:
        assert any(warning_word in w for w in warns), f"no warning about {warning_word!r}: {warns}"
    else:
        assert not warns, f"{query!r} must lint without warnings: {warns}"
