"""``pmlkg eval``: score the project's NER against a PubTator gold file (see extraction/evaluate.py).

A sub-app of its own so ``pmlkg/cli.py`` only mounts it (``app.add_typer(eval_app, name="eval")``)
and the evaluation's imports (spaCy, the pipelines) load only when an eval command runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

EXTRACT = "extract"  # the pipeline Extractor() runs, whichever that is at the time

eval_app = typer.Typer(help="Evaluate extraction against gold corpora.", no_args_is_help=True, add_completion=False)
err = Console(stderr=True)


@eval_app.callback()
def _group() -> None:
    """Evaluate extraction against gold corpora (a group even with one command, so `eval ner` parses)."""


@dataclass(slots=True)
class LoadedPipeline:
    name: str  # as given on the command line
    nlp: object  # spacy.language.Language
    lexicons: object  # extraction.lexicons.Lexicons


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_named_pipeline(spec: str) -> LoadedPipeline:
    """``extract`` = the extractor's pipeline; an existing folder is loaded; else a pipeline name
    (``extraction.pipeline.load_pipeline``: pmlkg_extract, or one of its views pmlkg_rules,
    pmlkg_ner_chemdis, pmlkg_ner_gene).

    Raises FileNotFoundError with the places looked at when nothing is there.
    """
    import pmlkg.extraction.tokenizer  # noqa: F401  (registers the tokenizer callback trained configs name)
    from pmlkg.extraction.lexicons import load_lexicons
    if spec == EXTRACT:
        from pmlkg.extraction.extractor import Extractor
        extractor = Extractor()
        return LoadedPipeline(spec, extractor.nlp, extractor.lexicons)
    import spacy

    import pmlkg.extraction.components  # noqa: F401  (factories of the rules pipeline)
    from pmlkg.extraction.pipeline import VIEWS, load_pipeline, pipeline_path
    path = Path(spec)
    if (path / "config.cfg").is_file():
        return LoadedPipeline(spec, spacy.load(path), load_lexicons())
    try:
        nlp = load_pipeline(spec)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no spaCy pipeline {spec!r}: neither a pipeline folder nor {pipeline_path(spec)} "
                                f"(names: pmlkg_extract and its views {', '.join(VIEWS)})") from exc
    return LoadedPipeline(spec, nlp, load_lexicons())


def read_gold(path: Path, carve_dev: bool) -> list:
    """All documents of a PubTator file (or its carved dev 10%); OSError/ValueError if unusable."""
    from pmlkg.extraction.evaluate import carved_dev
    from pmlkg.extraction.pubtator import read_pubtator
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        docs = list(read_pubtator(path))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if not docs:
        raise ValueError(f"{path}: no PubTator documents (expected 'pmid|t|title' lines)")
    return carved_dev(docs) if carve_dev else docs


@eval_app.command()
def ner(
    pubtator: Annotated[Path, typer.Option("--pubtator", help="Gold PubTator file (title/abstract lines + mentions)")],
    pipeline: Annotated[Optional[list[str]], typer.Option(
        "--pipeline", "-p", help="'extract' (the extractor's NER, default), a pipeline name (pmlkg_extract, or its "
        "views pmlkg_rules, pmlkg_ner_chemdis, pmlkg_ner_gene), or a pipeline folder; repeat to compare")] = None,
    carve_dev: Annotated[bool, typer.Option("--carve-dev", help="Score only the dev 10% (sha1(pmid) % 10 == 0) "
                                            "of a train-only corpus (NLM-Gene, GNormPlus)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object; a list for several pipelines)")] = False,
    batch_size: Annotated[int, typer.Option(help="nlp.pipe batch size")] = 32,
) -> None:
    """Strict-span P/R/F1 per label + micro, and document-level id F1 where our lexicons cover the ids."""
    from pmlkg.extraction.evaluate import evaluate_ner, format_table
    try:
        docs = read_gold(pubtator, carve_dev)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read --pubtator: {exc}")
    results = []
    for spec in pipeline or [EXTRACT]:
        try:
            loaded = load_named_pipeline(spec)
        except (OSError, ValueError) as exc:
            _fail(str(exc))
        scores = evaluate_ner(loaded.nlp, docs, lexicons=loaded.lexicons, batch_size=batch_size)  # type: ignore[arg-type]
        if as_json:
            results.append({"file": str(pubtator), "pipeline": spec, "carve_dev": carve_dev, **scores.to_dict()})
        else:
            typer.echo(format_table(scores, f"{pubtator.name}{' (carved dev)' if carve_dev else ''} -- "
                                            f"pipeline {spec} -- {scores.n_docs} docs"))
            typer.echo("")
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))


@eval_app.command()
def roles(
    phee: Annotated[Path, typer.Option("--phee", help="PHEE JSON lines (context + Adverse_event / "
                                       "Potential_therapeutic_event annotations)")],
    model: Annotated[Optional[Path], typer.Option("--model", help=(
        "Role model folder (default: the one the shipped pipeline carries, "
        "nlp_models/pmlkg_extract/pmlkg_pml_roles/model)"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object)")] = False,
) -> None:
    """Drug-condition role P/R/F1 (exposure, treatment, none) on every candidate pair of a PHEE file.

    Pairs and gold roles as extraction.drug_roles.phee_pairs defines them; macro-F1 = mean F1 of
    exposure and treatment, the 3-class macro also printed.
    """
    from pmlkg.extraction.drug_roles import RoleModel, evaluate_roles, format_role_table, phee_pairs
    if not phee.is_file():
        _fail(f"cannot read --phee: {phee}: no such file")
    try:
        pairs = phee_pairs(phee)
    except UnicodeDecodeError as exc:
        _fail(f"cannot read --phee: {phee}: not UTF-8 text ({exc.reason})")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(f"cannot read --phee: {phee}: not PHEE JSON lines ({exc!r})")
    if not pairs:
        _fail(f"cannot read --phee: {phee}: no (drug, condition) pairs")
    try:
        role_model = RoleModel.load(model)
    except (OSError, ValueError, KeyError) as exc:
        _fail(str(exc))
    scores = evaluate_roles(role_model, pairs)
    model_name = str(model) if model else "pmlkg_extract/pmlkg_pml_roles"
    if as_json:
        typer.echo(json.dumps({"file": str(phee), "model": model_name, **scores.to_dict()}, indent=2))
    else:
        typer.echo(format_role_table(scores, f"{phee.name} -- model {model_name} -- {scores.n_pairs} pairs"))
