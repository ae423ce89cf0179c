"""Recipe: assemble the shipped pipeline ``nlp_models/pmlkg_extract`` from the committed lexicons
and the trained models.

The rules and lexicons come from ``nlp_models/lexicons``; each trained model (the two NER models,
the role model) from ``nlp_models/build/<name>`` when a training run installed one there
(``train.py``/``train_roles.py``, git-ignored), else from the components of the existing
``pmlkg_extract``, so this script alone rebuilds the pipeline after a lexicon edit without
retraining. Run by ``make models`` after training; the output is committed and loads with
``extraction.pipeline.load_pipeline`` (its views ``pmlkg_rules``, ``pmlkg_ner_chemdis``,
``pmlkg_ner_gene`` are parts of it, not folders of their own).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from pmlkg.extraction.lexicons import load_lexicons
from pmlkg.extraction.ner_features import TABLE_FILE
from pmlkg.extraction.pipeline import (EXTRACT_PIPELINE, NER_PIPELINES, ROLES_PIPELINE, build_extract_pipeline,
                                       pipeline_path, trained_model_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lexicons", type=Path, default=None, help="lexicon directory (default: nlp_models/lexicons)")
    args = parser.parse_args()
    lex = load_lexicons(args.lexicons)
    for name in (*NER_PIPELINES, ROLES_PIPELINE):
        fresh = trained_model_dir(name)
        print(f"{name}: {fresh if fresh else 'as in the existing ' + EXTRACT_PIPELINE}")
    nlp = build_extract_pipeline(lex)
    if "pmlkg_dict_features" in nlp.pipe_names and nlp.get_pipe("pmlkg_dict_features").reference() is None:
        # saved, the pipeline would carry its own copy of the table (DictFeatures.to_disk)
        raise SystemExit(f"the NER models' dictionary-feature table is not the committed {TABLE_FILE}; restore "
                         "that file, or write the models' table there (feature_terms.py --features rebuild, as "
                         "they were trained) and retrain")
    save(nlp, pipeline_path(EXTRACT_PIPELINE))


def save(nlp, out: Path) -> None:  # noqa: ANN001 - a spaCy Language
    """Write ``nlp`` to ``out``, replacing what was there only once the new pipeline is complete
    (it may have been read from ``out`` itself)."""
    t0 = time.perf_counter()
    tmp = out.with_name(out.name + ".new")
    if tmp.exists():
        shutil.rmtree(tmp)
    nlp.to_disk(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {nlp.pipe_names}, {size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
