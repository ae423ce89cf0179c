"""Benchmark: extraction throughput (abstracts/s) on one CPU core, beside spaCy's bare tokenizer.

The tokenizer is the floor any spaCy pipeline pays, so the ratio says how much the project's
components cost on top of it, independent of the machine's speed. One core, because the build
runs one extraction process and BLAS/OpenMP threads would otherwise blur the figure: the thread
variables are set and the process pinned before spaCy (numpy, thinc) is imported. No torch is
imported (the check at the end says so). Figures are printed, never asserted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402

from pmlkg.extraction.extractor import Extractor  # noqa: E402
from pmlkg.extraction.pubtator import read_pubtator  # noqa: E402
from pmlkg.ingest.files import DEMO_CORPUS, read_file  # noqa: E402
from pmlkg.ingest.records import AbstractSection, Article  # noqa: E402

BC5CDR_DEV = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt"


def demo_articles(minimum: int) -> list[Article]:
    """The demo corpus repeated under fresh PMIDs until there are at least ``minimum`` abstracts."""
    batch = read_file(DEMO_CORPUS).batch
    assert batch is not None, "demo corpus failed to parse"
    base = batch.articles
    copies = -(-minimum // len(base))
    return [dataclasses.replace(a, pmid=str(int(a.pmid) + 100_000_000 * k)) for k in range(copies) for a in base]


def bc5cdr_articles(path: Path) -> list[Article]:
    """BC5CDR dev abstracts as article records (title + one abstract section)."""
    return [Article(pmid=d.pmid, title=d.title, abstract=(AbstractSection(d.abstract),) if d.abstract else ())
            for d in read_pubtator(path)]


def best_of(repeats: int, run: Callable[[], None]) -> float:
    """Fastest of ``repeats`` runs: the least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(name: str, articles: list[Article], extractor: Extractor, repeats: int) -> None:
    texts = [a.text() for a in articles]
    chars = sum(map(len, texts))
    bare = spacy.blank("en").tokenizer
    project_tok = extractor.nlp.tokenizer
    rows = [
        ("spaCy blank('en') tokenizer", best_of(repeats, lambda: [bare(t) for t in texts])),
        ("project tokenizer", best_of(repeats, lambda: [project_tok(t) for t in texts])),
        ("Extractor.extract_many", best_of(repeats, lambda: list(extractor.extract_many(articles)))),
    ]
    print(f"\n{name}: {len(texts)} abstracts, {chars / len(texts):.0f} chars on average; best of {repeats}")
    print(f"{'':<30}{'seconds':>9}{'abstracts/s':>13}{'kchars/s':>10}{'x tokenizer':>13}")
    floor = rows[0][1]
    for label, secs in rows:
        print(f"{label:<30}{secs:>9.3f}{len(texts) / secs:>13.0f}{chars / secs / 1000:>10.0f}{secs / floor:>13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-abstracts", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-bc5cdr", action="store_true", help="skip the BC5CDR dev abstracts")
    args = parser.parse_args()

    extractor = Extractor()
    extractor.extract(demo_articles(1)[0])  # warm-up: lazy loads and first-call costs out of the timing
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"pipeline: {extractor.version}; cores used: {cores}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    measure("demo corpus (repeated)", demo_articles(args.min_abstracts), extractor, args.repeats)
    if not args.no_bc5cdr:
        if BC5CDR_DEV.is_file():
            measure("BC5CDR dev", bc5cdr_articles(BC5CDR_DEV), extractor, args.repeats)
        else:
            print(f"\nnote: {BC5CDR_DEV} not found; BC5CDR dev skipped")
    print(f"\ntorch imported: {'torch' in sys.modules}")


if __name__ == "__main__":
    main()
