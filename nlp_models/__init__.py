"""The shipped spaCy pipeline and lexicons, as package data of ``pmlkg.nlp_models``.

Everything that reads a model or a lexicon at run time finds it here, through
``importlib.resources``, so an installed wheel works from any directory; ``PMLKG_MODELS_DIR`` and
``PMLKG_LEXICON_DIR`` point elsewhere (a retrained pipeline, a test's lexicon). The recipes that
produce these files live beside them in ``recipe/`` and are not part of the installed package.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def _packaged(name: str) -> Path:
    # pip installs packages unzipped, so the resource is a real directory spaCy can read.
    return Path(str(files(__name__).joinpath(name)))


def models_dir() -> Path:
    """Where the shipped pipelines are (``PMLKG_MODELS_DIR`` overrides)."""
    return Path(os.environ["PMLKG_MODELS_DIR"]) if os.environ.get("PMLKG_MODELS_DIR") else _packaged(".")


def lexicon_dir() -> Path:
    """Where the committed lexicons are (``PMLKG_LEXICON_DIR`` overrides)."""
    return Path(os.environ["PMLKG_LEXICON_DIR"]) if os.environ.get("PMLKG_LEXICON_DIR") else _packaged("lexicons")


def build_dir() -> Path:
    """Where ``make models`` writes the separately trained models before they are sourced into the
    shipped pipeline (a checkout-only folder, ignored by git: each model is stored once, in
    ``pmlkg_extract``)."""
    return Path(__file__).resolve().parent / "build"
