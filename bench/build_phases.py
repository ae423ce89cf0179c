"""Benchmark: build the demo graph into a fresh embedded store; time and rows/s per phase.

``--copies N`` replicates the demo corpus N times under fresh synthetic PMIDs, so the phases run
long enough to measure on a noisy machine. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from pmlkg.extraction.extractor import Extractor
from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
from pmlkg.extraction.concepts import ConceptResolver
from pmlkg.graph.load import GraphLoader
from pmlkg.graph.constraints import create_schema
from pmlkg.graph.stores import open_store
from pmlkg.ingest.files import DEMO_CORPUS, read_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()

    t0 = time.perf_counter()
    batch = read_file(DEMO_CORPUS).batch
    assert batch is not None
    parse_s = time.perf_counter() - t0
    base = batch.articles
    articles = [dataclasses.replace(a, pmid=str(int(a.pmid) + 100_000 * k)) for k in range(args.copies) for a in base]

    extractor = Extractor()
    t0 = time.perf_counter()
    extractions = list(extractor.extract_many(articles))
    extract_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="pmlkg-bench-") as tmp:
        server = EmbeddedFalkorDB(Path(tmp))
        server.start()
        try:
            store = open_store("falkordb:", Path(tmp), graph_name="bench")
            create_schema(store)
            t0 = time.perf_counter()
            report = GraphLoader(store, ConceptResolver(extractor.lexicons)).load(zip(articles, extractions, strict=True))
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            report2 = GraphLoader(store, ConceptResolver(extractor.lexicons)).load(zip(articles, extractions, strict=True))
            reload_s = time.perf_counter() - t0
            store.close()
        finally:
            server.stop()

    n = len(base)
    print(f"demo corpus: {n} records; extract/load on {len(articles)} articles ({args.copies} copies)")
    print(f"{'phase':<10}{'seconds':>10}{'rows':>10}{'rows/s':>12}")
    for phase, secs, rows in (("parse", parse_s, n), ("extract", extract_s, len(articles)),
                              ("load", load_s, report.rows), ("reload", reload_s, report2.rows)):
        print(f"{phase:<10}{secs:>10.3f}{rows:>10}{rows / secs if secs else float('inf'):>12.0f}")
    print(f"patients loaded: {report.patients}; reload/load time ratio {reload_s / load_s:.2f}")


if __name__ == "__main__":
    main()
