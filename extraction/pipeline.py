"""Build, save and load the spaCy pipeline that extraction runs.

The rules pipeline is a real spaCy pipeline saved under ``nlp_models/`` (``make models`` rebuilds
it from the lexicons); at run time it loads from disk like any trained pipeline, so a trained
NER can replace the lexicon component without touching the code around it.
"""

from __future__ import annotations

import os
from pathlib import Path

import spacy
from spacy.language import Language

import extraction.abbreviations  # noqa: F401  (registers the pipeline's factories)
import extraction.components  # noqa: F401
from extraction.lexicons import Lexicons
from extraction.tokenizer import customize_tokenizer

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("PMLKG_MODELS_DIR", REPO_ROOT / "nlp_models"))
RULES_PIPELINE = "pmlkg_rules"
RULES_VERSION = "0.1.0"
MAX_CHARS = 100_000  # longer "abstracts" are cut: no PubMed abstract comes near this


def build_rules_pipeline(lex: Lexicons) -> Language:
    nlp = customize_tokenizer(spacy.blank("en"))
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("pmlkg_line_breaks")
    ner = nlp.add_pipe("pmlkg_lexicon_ner")
    ner.add_terms(lex.terms())  # type: ignore[attr-defined]
    nlp.add_pipe("pmlkg_abbreviations")
    nlp.add_pipe("pmlkg_facts")
    nlp.add_pipe("pmlkg_context")
    nlp.meta.update({
        "name": RULES_PIPELINE,
        "version": RULES_VERSION,
        "description": "Rules and lexicons: dictionary NER (genes, drugs, drug classes, immune defects), "
                       "regex patient facts and outcomes, NegEx-style negation and hedging.",
        "sources": [{"name": "pmlkg lexicons", "version": lex.version}],
        "license": "MIT",
    })
    return nlp


def pipeline_path(name: str = RULES_PIPELINE) -> Path:
    return MODELS_DIR / name


def load_pipeline(name: str = RULES_PIPELINE) -> Language:
    path = pipeline_path(name)
    if not (path / "config.cfg").exists():
        raise FileNotFoundError(f"{path}: no spaCy pipeline there (run `make models` to build it)")
    return spacy.load(path)
