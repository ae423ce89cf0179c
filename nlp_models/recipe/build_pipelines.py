"""Recipe: assemble the shipped pipelines from the committed lexicons and trained NER models.

``nlp_models/pmlkg_rules`` (lexicons + rules) always; ``nlp_models/pmlkg_extract`` (the rules
with the trained NER models sourced in) when ``pmlkg_ner_chemdis`` and ``pmlkg_ner_gene`` exist.
Run by ``make models`` after training; the outputs are committed and load with
``extraction.pipeline.load_pipeline``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from pmlkg.extraction.lexicons import load_lexicons
from pmlkg.extraction.pipeline import (EXTRACT_PIPELINE, NER_PIPELINES, RULES_PIPELINE, build_extract_pipeline,
                                 build_rules_pipeline, pipeline_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lexicons", type=Path, default=None, help="lexicon directory (default: nlp_models/lexicons)")
    args = parser.parse_args()
    lex = load_lexicons(args.lexicons)
    save(build_rules_pipeline(lex), pipeline_path(RULES_PIPELINE))
    missing = [n for n in NER_PIPELINES if not (pipeline_path(n) / "config.cfg").exists()]
    if missing:
        print(f"not building {EXTRACT_PIPELINE}: no trained {', '.join(missing)} (run the training recipe)")
        return
    save(build_extract_pipeline(lex), pipeline_path(EXTRACT_PIPELINE))


def save(nlp, out: Path) -> None:  # noqa: ANN001 - a spaCy Language
    t0 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    nlp.to_disk(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {nlp.pipe_names}, {size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
