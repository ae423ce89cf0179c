"""What both trainers (``train.py``, ``train_roles.py``) do with a finished ``spacy train`` run:
read its records and install its ``model-best`` under ``nlp_models/build/`` with a ``pmlkg`` block
in ``meta.json`` (data, commands, wall time, scores), so each shipped model says how it was made."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_records(runs_dir: Path, run: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's ``<run>.train.json`` (command, wall time) and ``<run>.eval.json`` (dev scores)."""
    return (json.loads((runs_dir / f"{run}.train.json").read_text()),
            json.loads((runs_dir / f"{run}.eval.json").read_text()))


def install_run(runs_dir: Path, run: str, target: Path, describe: Callable[[dict[str, Any]], None]) -> None:
    """Copy the run's model-best to ``target``; ``describe`` fills in its meta.json (a dict, in place)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(runs_dir / run / "model-best", target)
    meta = json.loads((target / "meta.json").read_text())
    describe(meta)
    (target / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(target, f"{size / 1e6:.1f} MB", flush=True)
