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
EXTRACT_PIPELINE = "pmlkg_extract"  # rules + trained NER; the extractor's default when present
EXTRACT_VERSION = "0.2.0"
NER_PIPELINES = ("pmlkg_ner_chemdis", "pmlkg_ner_gene")
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


def build_extract_pipeline(lex: Lexicons, ner_names: tuple[str, ...] = NER_PIPELINES) -> Language:
    """The rules pipeline with the trained NER models sourced in after the lexicon matcher.

    The dictionary goes first (exact ids, immune-defect and drug-class names the corpora never
    annotate); each trained NER then adds what it missed (spaCy's NER keeps preset entities) and
    the normaliser maps those additions onto lexicon ids where their text is a lexicon term.
    """
    nlp = build_rules_pipeline(lex)
    for name in ner_names:
        source = spacy.load(pipeline_path(name))
        if "tok2vec" in source.pipe_names:
            source.replace_listeners("tok2vec", "ner", ["model.tok2vec"])
        nlp.add_pipe("ner", name=f"ner_{name.removeprefix('pmlkg_ner_')}", source=source,
                     before="pmlkg_abbreviations")
    nlp.add_pipe("pmlkg_normalise", before="pmlkg_abbreviations")
    nlp.meta.update({
        "name": EXTRACT_PIPELINE,
        "version": EXTRACT_VERSION,
        "description": "pmlkg_rules + trained NER (" + ", ".join(ner_names) + "): dictionary first, models add "
                       "what it missed, lexicon normalisation of model spans.",
        "sources": [{"name": "pmlkg lexicons", "version": lex.version}]
                   + [{"name": n, "version": spacy.load(pipeline_path(n)).meta.get("version", "0")} for n in ner_names],
    })
    return nlp


def default_pipeline_name() -> str:
    return EXTRACT_PIPELINE if (pipeline_path(EXTRACT_PIPELINE) / "config.cfg").exists() else RULES_PIPELINE


def pipeline_path(name: str = RULES_PIPELINE) -> Path:
    return MODELS_DIR / name


def load_pipeline(name: str | None = None) -> Language:
    path = pipeline_path(name or default_pipeline_name())
    if not (path / "config.cfg").exists():
        raise FileNotFoundError(f"{path}: no spaCy pipeline there (run `make models` to build it)")
    return spacy.load(path)
