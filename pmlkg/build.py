"""The build job: PubMed XML files -> article records -> extraction -> graph.

A build lock in the data directory keeps two builds from interleaving their writes; unchanged
articles (same content digest, same extractor) are skipped, so a re-run after a kill only does
the unfinished work. An article whose text is refused as not text (``extraction.text_checks``) is
still loaded, as a publication with no extraction, and named in ``BuildReport.refused``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pmlkg.extraction.extractor import Extractor
from pmlkg.extraction.text_checks import refused
from pmlkg.graph.stores.errors import StoreBusy
from pmlkg.extraction.concepts import ConceptResolver
from pmlkg.graph.load import GraphLoader
from pmlkg.graph.constraints import create_schema
from pmlkg.graph.stores import GraphStore
from pmlkg.ingest.cache import all_caches, cache_root
from pmlkg.ingest.files import read_files
from pmlkg.ingest.pubmed import DuplicatePmid, PubmedBatch
from pmlkg.ingest.records import Article

Progress = Callable[[str, int, int], None]  # phase, done, total


@dataclass(slots=True)
class BuildReport:
    files: int = 0
    file_errors: list[str] = field(default_factory=list)
    skipped_records: list[str] = field(default_factory=list)  # "file: PubmedArticle #n refused (why)"
    duplicates: list[DuplicatePmid] = field(default_factory=list)  # a PMID given twice in one file: the one kept
    articles_parsed: int = 0
    articles_loaded: int = 0
    articles_unchanged: int = 0
    articles_deleted: int = 0
    refused: list[str] = field(default_factory=list)  # "PMID: why": loaded as records, with no extraction
    warnings: list[str] = field(default_factory=list)  # "PMID: warning": not English, truncated
    patients: int = 0
    rows_written: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def build_lock(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "build.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreBusy(f"{data_dir}: a build is already running (pid {holder}); wait for it or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def parse_inputs(paths: Sequence[Path], report: BuildReport) -> tuple[list[Article], list[str]]:
    """All articles of all readable files, and PMIDs to delete.

    Within a file, a PMID given twice keeps its highest version (``ingest.pubmed._dedupe``) and is
    reported in ``report.duplicates``; across files, a later file's record replaces an earlier
    one's, as an NLM update file revises the baseline (files are read in sorted order).
    """
    articles: dict[str, Article] = {}
    deleted: list[str] = []
    for result in read_files(paths):
        report.files += 1
        if result.error or result.batch is None:
            report.file_errors.append(result.error or f"{result.path}: unreadable")
            continue
        report.skipped_records.extend(result.batch.skipped)
        report.duplicates.extend(result.batch.duplicates)
        for article in result.batch.articles:
            articles[article.pmid] = article
            if article.pmid in deleted:
                deleted.remove(article.pmid)
        for pmid in result.batch.deleted_pmids:
            articles.pop(pmid, None)
            deleted.append(pmid)
    return list(articles.values()), deleted


def cached_articles(data_dir: Path, report: BuildReport) -> list[Article]:
    """Every article of every query cached under the data dir (the newest fetch of a PMID wins)."""
    caches = all_caches(data_dir)
    if not caches:
        raise FileNotFoundError(f"{cache_root(data_dir)}: no PubMed cache there (run `pmlkg fetch` first)")
    articles: dict[str, Article] = {}
    for cache in sorted(caches, key=lambda c: c.manifest["updated"]):
        report.files += 1
        for article in cache.articles():
            articles[article.pmid] = article
    return list(articles.values())


def build_graph(paths: Sequence[Path], store: GraphStore, data_dir: Path, *, extractor: Extractor | None = None,
                force: bool = False, from_cache: bool = False, progress: Progress | None = None) -> BuildReport:
    """Load ``paths`` (PubMed XML files or folders), or with ``from_cache`` the fetched cache."""
    report = BuildReport()
    with build_lock(data_dir):
        t0 = time.perf_counter()
        if from_cache:
            articles, deleted = cached_articles(data_dir, report), []
        else:
            articles, deleted = parse_inputs(paths, report)
        report.seconds["parse"] = time.perf_counter() - t0
        load_articles(articles, deleted, store, report, extractor=extractor, force=force, progress=progress)
    return report


def ingest_batch(batch: PubmedBatch, store: GraphStore, data_dir: Path, *, extractor: Extractor) -> BuildReport:
    """Records posted to the API: the same extraction and idempotent load as a build."""
    report = BuildReport(files=1, skipped_records=list(batch.skipped), duplicates=list(batch.duplicates))
    with build_lock(data_dir):
        load_articles(list(batch.articles), list(batch.deleted_pmids), store, report, extractor=extractor)
    return report


def load_articles(articles: list[Article], deleted: list[str], store: GraphStore, report: BuildReport, *,
                  extractor: Extractor | None = None, force: bool = False, progress: Progress | None = None) -> None:
    """Extract the articles that changed and load them; delete ``deleted``. Caller holds the build lock."""
    tick = progress or (lambda phase, done, total: None)
    report.articles_parsed = len(articles)
    tick("parse", len(articles), len(articles))

    t0 = time.perf_counter()
    extractor = extractor or Extractor()
    create_schema(store)
    loader = GraphLoader(store, ConceptResolver(extractor.lexicons))
    unchanged = set() if force else loader.unchanged(articles, extractor.version)
    todo = [a for a in articles if a.pmid not in unchanged]
    report.articles_unchanged = len(unchanged)
    report.seconds["setup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    extractions = []
    for i, ex in enumerate(extractor.extract_many(todo), start=1):
        extractions.append(ex)
        why = refused(ex.warnings)
        if why:
            report.refused.append(f"{ex.pmid}: {why}")
        else:
            report.warnings.extend(f"{ex.pmid}: {w}" for w in ex.warnings)
        tick("extract", i, len(todo))
    report.seconds["extract"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    load = loader.load(zip(todo, extractions, strict=True))
    report.articles_deleted = loader.delete(deleted) if deleted else 0
    loader.finish()
    tick("load", len(todo), len(todo))
    report.articles_loaded = load.articles
    report.patients = load.patients
    report.rows_written = load.rows
    report.seconds["load"] = time.perf_counter() - t0
