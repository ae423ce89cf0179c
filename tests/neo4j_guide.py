"""graph/neo4j/build_guide.py as a module, for the tests that check the Browser assets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

BUILD_GUIDE = Path(__file__).resolve().parents[1] / "graph" / "neo4j" / "build_guide.py"


def load_build_guide() -> Any:
    """graph/neo4j is not a Python package (it holds Browser assets), so load the script by path."""
    name = "pmlkg_neo4j_build_guide"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BUILD_GUIDE)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]
