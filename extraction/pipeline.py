"""Build, save and load the spaCy pipeline that extraction runs.

The rules pipeline is a real spaCy pipeline saved under ``nlp_models/`` (``make models`` rebuilds
it from the lexicons); at run time it loads from disk like any trained pipeline, so a trained
NER can replace the lexicon component without touching the code around it.
"""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

import pmlkg.extraction.abbreviations  # noqa: F401  (registers the pipeline's factories)
import pmlkg.extraction.components  # noqa: F401
import pmlkg.extraction.ner_features  # noqa: F401
import pmlkg.extraction.pml_roles  # noqa: F401
from pmlkg.extraction.drug_roles import ROLES_PIPELINE, RoleModel
from pmlkg.extraction.lexicons import Lexicons
from pmlkg.extraction.tokenizer import customize_tokenizer
from pmlkg.nlp_models import models_dir

MODELS_DIR = models_dir()
RULES_PIPELINE = "pmlkg_rules"
RULES_VERSION = "0.1.0"
EXTRACT_PIPELINE = "pmlkg_extract"  # rules + trained NER; the extractor's default when present
EXTRACT_VERSION = "0.3.0"
NER_PIPELINES = ("pmlkg_ner_chemdis", "pmlkg_ner_gene")
MAX_CHARS = 100_000  # longer "abstracts" are cut: no PubMed abstract comes near this


def build_rules_pipeline(lex: Lexicons, *, lexicon_spans_key: str | None = None) -> Language:
    nlp = customize_tokenizer(spacy.blank("en"))
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("pmlkg_line_breaks")
    ner = nlp.add_pipe("pmlkg_lexicon_ner", config={"spans_key": lexicon_spans_key})
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


# Who wins where sources overlap, measured on the development splits and the demo corpus
# (nlp_models/README.md): the curated PML/immunodeficiency vocabulary (immune defects, drug
# classes, the drugs placed in a class, e.g. interleukin-7 given for PML, which a gene model
# trained on BioRED calls a gene), then the gene model, then the chemical/disease model, then the
# rest of the dictionary (the generic 15k-drug list: "insulin" or "adiponectin" there are genes
# wherever the gene model says so).
MERGE_PRIORITY: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("lexicon_curated", None),
    ("ner_gene", None),
    ("ner_chemdis", None),
    ("lexicon", None),
)


def build_extract_pipeline(lex: Lexicons, ner_names: tuple[str, ...] = NER_PIPELINES,
                           priority: tuple[tuple[str, tuple[str, ...] | None], ...] = MERGE_PRIORITY) -> Language:
    """The rules pipeline with the trained NER models sourced in, each source predicting alone.

    The dictionary writes its matches to ``doc.spans["lexicon"]``; one dictionary-feature
    component (the models were trained with the same one) tags tokens for both models; each
    model's entities are parked in ``doc.spans["ner_<name>"]`` before the next model runs;
    ``pmlkg_merge_entities`` then picks one entity per stretch of text by ``priority`` and
    gives model spans their lexicon ids.
    """
    nlp = build_rules_pipeline(lex, lexicon_spans_key="lexicon")
    nlp.get_pipe("pmlkg_lexicon_ner").add_terms(lex.hgnc_terms(), match=False)  # type: ignore[attr-defined]
    sources = [spacy.load(pipeline_path(name)) for name in ner_names]
    featured = [s for s in sources if "pmlkg_dict_features" in s.pipe_names]
    if featured:
        tables = {s.get_pipe("pmlkg_dict_features").digest() for s in featured}  # type: ignore[attr-defined]
        if len(featured) != len(sources) or len(tables) != 1:
            raise ValueError("the NER models were trained with different dictionary features; retrain them "
                             "with the same nlp_models/lexicons/ner_features.tsv")
        nlp.add_pipe("pmlkg_dict_features", source=featured[0], before="pmlkg_abbreviations")
    for name, source in zip(ner_names, sources, strict=True):
        if "tok2vec" in source.pipe_names:
            source.replace_listeners("tok2vec", "ner", ["model.tok2vec"])
        component = f"ner_{name.removeprefix('pmlkg_ner_')}"
        nlp.add_pipe("ner", name=component, source=source, before="pmlkg_abbreviations")
        nlp.add_pipe("pmlkg_ents_to_spans", name=f"{component}_spans", config={"spans_key": component},
                     before="pmlkg_abbreviations")
    nlp.add_pipe("pmlkg_merge_entities", before="pmlkg_abbreviations",
                 config={"priority": [[key, list(labels) if labels else None] for key, labels in priority]})
    roles_path = pipeline_path(ROLES_PIPELINE)
    if (roles_path / "config.cfg").is_file():  # the trained drug-role model, asked about (drug, PML) pairs
        nlp.add_pipe("pmlkg_pml_roles").model = RoleModel.load(roles_path)  # type: ignore[attr-defined]
    nlp.meta.update({
        "name": EXTRACT_PIPELINE,
        "version": EXTRACT_VERSION,
        "description": "pmlkg_rules + trained NER (" + ", ".join(ner_names) + "): dictionary and models predict "
                       "independently, merged by a priority measured on the development splits; lexicon "
                       "normalisation of model spans.",
        "sources": [{"name": "pmlkg lexicons", "version": lex.version}]
                   + [{"name": n, "version": s.meta.get("version", "0")} for n, s in zip(ner_names, sources, strict=True)],
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
