"""Benchmark: NER scores on every development split, for every pipeline that exists now.

Dev splits: BC5CDR, NCBI-disease and BioRED ship one; NLM-Gene and GNormPlus only a train file,
whose dev is the 10% the trainer holds out (``carved_dev``: sha1(pmid) % 10 == 0). Test splits
(../heldout) are not read here: they are for the final figures only. Pipelines not built yet are
skipped with a note, so this runs at every stage of the project. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pmlkg.extraction.evaluate import carved_dev, evaluate_ner, format_table
from pmlkg.extraction.pubtator import PubtatorDoc, read_pubtator
from pmlkg.eval_cli import LoadedPipeline, load_named_pipeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
# views of pmlkg_extract (the rules alone, each model alone: extraction.pipeline.VIEWS), then what the extractor runs
PIPELINES = ("pmlkg_rules", "pmlkg_ner_chemdis", "pmlkg_ner_gene", "extract")


@dataclass(frozen=True, slots=True)
class Split:
    name: str
    path: Path
    carve: bool  # a train file whose carved 10% is the dev split


SPLITS = (
    Split("BC5CDR dev", SHARED / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt", False),
    Split("NCBI-disease dev", SHARED / "ncbi-disease" / "NCBIdevelopset_corpus.txt", False),
    Split("BioRED dev", SHARED / "biored" / "Dev.PubTator", False),
    Split("NLM-Gene carved dev", SHARED / "nlm-gene" / "NLMgene_Train.PubTator", True),
    Split("GNormPlus carved dev", SHARED / "gnormplus" / "GNormPlus_Train.PubTator", True),
)


def load_split(split: Split) -> list[PubtatorDoc]:
    docs = list(read_pubtator(split.path))
    return carved_dev(docs) if split.carve else docs


def available(names: list[str]) -> list[LoadedPipeline]:
    """Each pipeline that loads; a missing one gets a printed note instead of an error."""
    loaded = []
    for name in names:
        try:
            loaded.append(load_named_pipeline(name))
        except OSError as exc:
            print(f"note: skipping pipeline {name}: {exc}")
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", action="append", help=f"default: {', '.join(PIPELINES)}")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of tables")
    args = parser.parse_args()
    missing = [s.path for s in SPLITS if not s.path.is_file()]
    if missing:
        sys.exit(f"corpora not found: {', '.join(map(str, missing))}")
    pipelines = available(args.pipeline or list(PIPELINES))
    splits = [(s, load_split(s)) for s in SPLITS]
    for pipe in pipelines:
        for split, docs in splits:
            t0 = time.perf_counter()
            scores = evaluate_ner(pipe.nlp, docs, lexicons=pipe.lexicons)  # type: ignore[arg-type]
            secs = time.perf_counter() - t0
            if args.json:
                print(json.dumps({"split": split.name, "pipeline": pipe.name, "seconds": round(secs, 2),
                                  **scores.to_dict()}))
            else:
                print(format_table(scores, f"== {split.name} -- pipeline {pipe.name} -- "
                                           f"{scores.n_docs} docs, {secs:.1f}s"))
                print()


if __name__ == "__main__":
    main()
