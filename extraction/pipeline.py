"""Build, save and load the spaCy pipeline that extraction runs.

One pipeline is shipped, ``nlp_models/pmlkg_extract`` (``make models`` rebuilds it from the
lexicons and the trained models); at run time it loads from disk like any trained pipeline. The
pipelines that used to ship as copies of parts of it (the rules alone, each NER model alone) are
*views*: ``load_pipeline("pmlkg_rules")`` loads pmlkg_extract without the model components
(:data:`VIEWS`), so every model and dictionary is stored once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language

import pmlkg.extraction.abbreviations  # noqa: F401  (registers the pipeline's factories)
import pmlkg.extraction.components  # noqa: F401
import pmlkg.extraction.ner_features  # noqa: F401
import pmlkg.extraction.pml_roles  # noqa: F401
from pmlkg.extraction.drug_roles import ROLES_PIPELINE, RoleModel
from pmlkg.extraction.lexicons import Lexicons
from pmlkg.extraction.tokenizer import customize_tokenizer
from pmlkg.nlp_models import build_dir, models_dir

MODELS_DIR = models_dir()
RULES_PIPELINE = "pmlkg_rules"  # a view of pmlkg_extract: lexicons + rules, no model
RULES_VERSION = "0.1.0"
EXTRACT_PIPELINE = "pmlkg_extract"  # rules + trained NER; the extractor's default when present
EXTRACT_VERSION = "0.3.0"
NER_PIPELINES = ("pmlkg_ner_chemdis", "pmlkg_ner_gene")  # the trained NER models (build/<name>; views once shipped)
ROLES_COMPONENT = "pmlkg_pml_roles"  # the component of pmlkg_extract that holds the role model
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

    Each model comes from ``nlp_models/build/<name>`` when a fresh training run was installed there,
    else from the components of the shipped ``pmlkg_extract`` (:func:`load_trained_ner`), so the
    pipeline rebuilds from the committed lexicons without retraining; likewise the role model
    (:func:`load_trained_roles`).

    The dictionary writes its matches to ``doc.spans["lexicon"]``; one dictionary-feature
    component (the models were trained with the same one) tags tokens for both models; each
    model's entities are parked in ``doc.spans["ner_<name>"]`` before the next model runs;
    ``pmlkg_merge_entities`` then picks one entity per stretch of text by ``priority`` and
    gives model spans their lexicon ids.
    """
    nlp = build_rules_pipeline(lex, lexicon_spans_key="lexicon")
    nlp.get_pipe("pmlkg_lexicon_ner").add_terms(lex.hgnc_terms(), match=False)  # type: ignore[attr-defined]
    loaded = [load_trained_ner(name) for name in ner_names]
    sources = [source for source, _, _ in loaded]
    featured = [s for s in sources if "pmlkg_dict_features" in s.pipe_names]
    if featured:
        tables = {s.get_pipe("pmlkg_dict_features").digest() for s in featured}  # type: ignore[attr-defined]
        if len(featured) != len(sources) or len(tables) != 1:
            raise ValueError("the NER models were trained with different dictionary features; retrain them "
                             "with the same nlp_models/lexicons/ner_features.tsv")
        nlp.add_pipe("pmlkg_dict_features", source=featured[0], before="pmlkg_abbreviations")
    for name, (source, source_component, _) in zip(ner_names, loaded, strict=True):
        if "tok2vec" in source.pipe_names:
            source.replace_listeners("tok2vec", source_component, ["model.tok2vec"])
        component = ner_component(name)
        nlp.add_pipe(source_component, name=component, source=source, before="pmlkg_abbreviations")
        nlp.add_pipe("pmlkg_ents_to_spans", name=f"{component}_spans", config={"spans_key": component},
                     before="pmlkg_abbreviations")
    nlp.add_pipe("pmlkg_merge_entities", before="pmlkg_abbreviations",
                 config={"priority": [[key, list(labels) if labels else None] for key, labels in priority]})
    role_model = load_trained_roles()
    if role_model is not None:  # the trained drug-role model, asked about (drug, PML) pairs
        nlp.add_pipe(ROLES_COMPONENT).model = role_model  # type: ignore[attr-defined]
    nlp.meta.update({
        "name": EXTRACT_PIPELINE,
        "version": EXTRACT_VERSION,
        "description": "pmlkg_rules + trained NER (" + ", ".join(ner_names) + "): dictionary and models predict "
                       "independently, merged by a priority measured on the development splits; lexicon "
                       "normalisation of model spans.",
        "sources": [{"name": "pmlkg lexicons", "version": lex.version}]
                   + [{"name": n, "version": s.meta.get("version", "0")} for n, s in zip(ner_names, sources, strict=True)],
        # what each model's own meta.json said (spaCy's dev performance, the recipe's `pmlkg` block):
        # the NER views (load_pipeline("pmlkg_ner_gene")) show it as theirs
        "pmlkg": {"models": {n: meta for n, (_, _, meta) in zip(ner_names, loaded, strict=True)}},
    })
    return nlp


_MODEL_META = ("name", "version", "description", "license", "performance", "pmlkg")


def trained_model_dir(name: str) -> Path | None:
    """A freshly trained model installed in ``nlp_models/build/<name>`` (``train.py``/``train_roles.py``)."""
    path = build_dir() / name
    return path if (path / "config.cfg").is_file() else None


def load_trained_ner(name: str) -> tuple[Language, str, dict[str, Any]]:
    """The NER model ``name`` to source into pmlkg_extract: (pipeline, its ner component, its meta).

    The fresh one in ``nlp_models/build/<name>`` if there is one, else the one pmlkg_extract already
    carries (its view, with the meta recorded when it was sourced).
    """
    path = trained_model_dir(name)
    if path is not None:
        source = spacy.load(path)
        return source, "ner", {k: source.meta[k] for k in _MODEL_META if k in source.meta}
    if not (pipeline_path(EXTRACT_PIPELINE) / "config.cfg").is_file():
        raise FileNotFoundError(f"no trained {name}: neither {build_dir() / name} nor "
                                f"{pipeline_path(EXTRACT_PIPELINE)} (run nlp_models/recipe/train.py)")
    source = load_view(name)
    return source, ner_component(name), {k: source.meta[k] for k in _MODEL_META if k in source.meta}


def load_trained_roles() -> RoleModel | None:
    """The role model to put into pmlkg_extract: ``nlp_models/build/pmlkg_roles`` if trained there, else
    the one pmlkg_extract carries; None if there is neither."""
    path = trained_model_dir(ROLES_PIPELINE) or roles_model_path()
    return RoleModel.load(path) if (path / "config.cfg").is_file() else None


def roles_model_path() -> Path:
    """Where pmlkg_extract keeps the role model (``PmlRoles.to_disk``: the component's ``model/``)."""
    return pipeline_path(EXTRACT_PIPELINE) / ROLES_COMPONENT / "model"


def ner_component(name: str) -> str:
    """``pmlkg_ner_chemdis`` -> ``ner_chemdis``: the model's component in pmlkg_extract."""
    return f"ner_{name.removeprefix('pmlkg_ner_')}"


# ---------------------------------------------------------------- views

# The factories of the components that come from the trained models, and of the two that only
# exist to combine them (parking each model's entities, merging them with the dictionary's).
MODEL_FACTORIES = frozenset({"pmlkg_dict_features", "ner", "pmlkg_ents_to_spans", "pmlkg_merge_entities",
                             "pmlkg_pml_roles"})


def _rules(component: str, factory: str) -> bool:
    return factory not in MODEL_FACTORIES


def _ner_alone(name: str) -> Callable[[str, str], bool]:
    ner = ner_component(name)
    return lambda component, factory: factory == "pmlkg_dict_features" or component == ner


# The pipelines that are parts of pmlkg_extract, by name: which of its components each keeps
# ((component, factory) -> kept, over the components its config.cfg lists), and the config
# overrides that make the kept components behave as the pipeline did when it was a folder of its own.
VIEWS: dict[str, tuple[Callable[[str, str], bool], dict[str, Any]]] = {
    # Lexicons and rules, no model: without the merger, the dictionary sets doc.ents itself (in
    # pmlkg_extract it parks its matches in doc.spans["lexicon"] for pmlkg_merge_entities).
    RULES_PIPELINE: (_rules, {"components.pmlkg_lexicon_ner.spans_key": None}),
    # One NER model as trained: the tokenizer, the dictionary features it reads, its ner; doc.ents
    # are that model's own entities.
    **{name: (_ner_alone(name), {}) for name in NER_PIPELINES},
}


def extract_components(path: Path | None = None) -> dict[str, str]:
    """Component name -> factory of pmlkg_extract, in pipeline order (from its config.cfg)."""
    config = spacy.util.load_config((path or pipeline_path(EXTRACT_PIPELINE)) / "config.cfg", interpolate=False)
    return {name: config["components"][name]["factory"] for name in config["nlp"]["pipeline"]}


def load_view(name: str) -> Language:
    """The view ``name`` (:data:`VIEWS`): pmlkg_extract loaded without the components it does not keep."""
    keep, overrides = VIEWS[name]
    path = pipeline_path(EXTRACT_PIPELINE)
    exclude = [component for component, factory in extract_components(path).items() if not keep(component, factory)]
    nlp = spacy.load(path, exclude=exclude, config=overrides)
    models = nlp.meta.pop("pmlkg", {}).get("models", {})
    if name == RULES_PIPELINE:
        nlp.meta.update({"name": RULES_PIPELINE, "version": RULES_VERSION,
                         "description": f"{EXTRACT_PIPELINE} without its models: dictionary NER (genes, drugs, drug "
                                        "classes, immune defects), regex patient facts and outcomes, NegEx-style "
                                        "negation and hedging.",
                         "sources": nlp.meta.get("sources", [])[:1]})
    else:
        nlp.meta.update({"name": name, "description": f"{name} as sourced into {EXTRACT_PIPELINE}"})
        nlp.meta.update(models.get(name, {}))
    return nlp


def default_pipeline_name() -> str:
    """The shipped pipeline; every other name is a view of it, so there is nothing to fall back to."""
    return EXTRACT_PIPELINE


def pipeline_path(name: str = EXTRACT_PIPELINE) -> Path:
    """The folder a pipeline of that name would be in (the views have none: :func:`load_pipeline`)."""
    return MODELS_DIR / name


def load_pipeline(name: str | None = None) -> Language:
    """A pipeline by name: pmlkg_extract, one of its views (:data:`VIEWS`), or another folder in nlp_models/."""
    name = name or default_pipeline_name()
    if name in VIEWS and (pipeline_path(EXTRACT_PIPELINE) / "config.cfg").exists():
        return load_view(name)
    path = pipeline_path(name)
    if not (path / "config.cfg").exists():
        raise FileNotFoundError(f"{path}: no spaCy pipeline there (run `make models` to build it)")
    return spacy.load(path)
