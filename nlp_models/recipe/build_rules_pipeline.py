"""Recipe: build the rules pipeline ``nlp_models/pmlkg_rules`` from the committed lexicons.

Run by ``make models``; the output directory is committed, and loads with ``spacy.load`` once
``extraction.components`` is imported (``extraction.pipeline.load_pipeline`` does that).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from extraction.lexicons import load_lexicons
from extraction.pipeline import RULES_PIPELINE, build_rules_pipeline, pipeline_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lexicons", type=Path, default=None, help="lexicon directory (default: nlp_models/lexicons)")
    parser.add_argument("--out", type=Path, default=pipeline_path(RULES_PIPELINE))
    args = parser.parse_args()
    t0 = time.perf_counter()
    lex = load_lexicons(args.lexicons)
    nlp = build_rules_pipeline(lex)
    if args.out.exists():
        shutil.rmtree(args.out)
    nlp.to_disk(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{args.out}: {len(nlp.get_pipe('pmlkg_lexicon_ner'))} terms, {size / 1e6:.1f} MB, "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
