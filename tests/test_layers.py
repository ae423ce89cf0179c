"""The layers import one way: ingest -> extraction -> graph -> api, the build job below the CLI and
the API, the stores' backends below their base. Read from the source (every import statement,
also those inside functions), so a lazy import cannot hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"pmlkg": "pmlkg", "ingest": "pmlkg.ingest", "extraction": "pmlkg.extraction",
           "graph": "pmlkg.graph", "api": "pmlkg.api", "nlp_models": "pmlkg.nlp_models"}

# module prefix -> the pmlkg modules it may import (prefixes); the longest matching prefix rules.
ALLOWED: dict[str, tuple[str, ...]] = {
    "pmlkg": (),
    "pmlkg.nlp_models": (),
    "pmlkg.ingest": ("pmlkg.ingest",),
    "pmlkg.extraction": ("pmlkg.extraction", "pmlkg.ingest.records", "pmlkg.nlp_models", "pmlkg.schema"),
    "pmlkg.graph": ("pmlkg.graph", "pmlkg.ingest.records", "pmlkg.extraction.records", "pmlkg.schema"),
    "pmlkg.graph.stores": ("pmlkg.graph.stores",),
    "pmlkg.graph.stores.base": (),
    "pmlkg.graph.stores.errors": (),
    "pmlkg.graph.stores.embedded": ("pmlkg.graph.stores.errors",),
    "pmlkg.graph.statistics": (),
    "pmlkg.api": ("pmlkg.api", "pmlkg.graph", "pmlkg.ingest", "pmlkg.build", "pmlkg.settings", "pmlkg.schema",
                  "pmlkg.extraction.extractor", "pmlkg.__version__"),
    "pmlkg.api.cypher_guard": (),
    "pmlkg.schema": (),
    "pmlkg.settings": (),
    "pmlkg.build": ("pmlkg.ingest", "pmlkg.extraction", "pmlkg.graph", "pmlkg.settings", "pmlkg.schema"),
    "pmlkg.testing": ("pmlkg.api", "pmlkg.graph", "pmlkg.ingest", "pmlkg.settings", "pmlkg.schema"),
    "pmlkg.cli": ("pmlkg",),
    "pmlkg.eval_cli": ("pmlkg.extraction", "pmlkg.nlp_models"),
    "pmlkg.__main__": ("pmlkg.cli",),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT)
    parts = [FOLDERS[rel.parts[0]], *rel.with_suffix("").parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    return {name for name in found if name == "pmlkg" or name.startswith("pmlkg.")}


def rule_for(module: str) -> tuple[str, tuple[str, ...]]:
    best = max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)
    return best, ALLOWED[best]


def covered(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


SOURCES = sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if "recipe" not in p.parts)


def test_every_package_module_has_a_layer() -> None:
    assert len(SOURCES) > 60
    for path in SOURCES:
        rule_for(module_name(path))  # max() of nothing raises: a module outside every layer


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    module = module_name(path)
    layer, allowed = rule_for(module)
    # ``from pmlkg.graph.queries import x`` names the package too: a package may import its own parts
    wrong = sorted(name for name in imports_of(path)
                   if name != "pmlkg" and not covered(name, allowed) and not covered(name, (module,)))
    assert wrong == [], f"{module} (layer {layer}) imports {wrong}"


def test_the_rules_catch_a_backward_import(tmp_path: Path) -> None:
    """The checker itself: graph importing the extraction lexicons, and api importing the CLI, are refused."""
    assert not covered("pmlkg.extraction.lexicons.Lexicons", rule_for("pmlkg.graph.load")[1])
    assert not covered("pmlkg.cli.main", rule_for("pmlkg.api.app")[1])
    assert not covered("pmlkg.graph.stores.falkordb", rule_for("pmlkg.graph.stores.base")[1])
    assert covered("pmlkg.extraction.records.Entity", rule_for("pmlkg.graph.load")[1])
