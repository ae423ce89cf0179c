"""The fetch job: every PubMed record a query matches, exactly once, into the raw cache.

ESearch (with the history server) lists the PMIDs; a query over 9,999 hits is split by
publication-date ranges until every range fits under PubMed's ESearch ceiling. Records the
cache lacks are fetched in batches of at most 500 — through the history server (WebEnv,
query_key) when a whole date range is new, by POSTed id lists otherwise — and records modified
since the last run (ESearch on the modification date) are fetched again; only new versions or
changed content replace what the cache holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pmlkg.ingest.cache import PubmedCache
from pmlkg.ingest.entrez import ESEARCH_MAX, FETCH_BATCH, EntrezClient, EntrezError, SearchResult
from pmlkg.ingest.pubmed import PubmedBatch

log = logging.getLogger(__name__)
EARLIEST = date(1800, 1, 1)
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class FetchReport:
    query: str
    count: int = 0
    fetched: int = 0
    new: int = 0
    revised: int = 0
    missing: list[str] = field(default_factory=list)  # listed by ESearch, absent from EFetch
    cache_dir: str = ""
    ranges: int = 0


@dataclass(slots=True)
class DateRange:
    lo: date
    hi: date
    search: SearchResult


def search_ranges(client: EntrezClient, query: str, lo: date, hi: date) -> list[DateRange]:
    """Split [lo, hi] until every range's hits fit in one ESearch answer."""
    result = client.esearch(query, mindate=lo, maxdate=hi)
    if result.count <= ESEARCH_MAX:
        if len(result.ids) < result.count:  # a short IdList: ask again for the whole list
            result = client.esearch(query, mindate=lo, maxdate=hi, retmax=result.count)
        return [DateRange(lo, hi, result)]
    if lo >= hi:
        raise EntrezError(f"{result.count} records on {lo.isoformat()} alone: more than ESearch can list")
    mid = lo + timedelta(days=(hi - lo).days // 2)
    return search_ranges(client, query, lo, mid) + search_ranges(client, query, mid + timedelta(days=1), hi)


def fetch_query(client: EntrezClient, cache: PubmedCache, query: str, *, since: date | None = None,
                max_records: int | None = None, progress: Progress | None = None) -> FetchReport:
    tick = progress or (lambda phase, done, total: None)
    report = FetchReport(query=query, cache_dir=str(cache.dir))
    ranges = search_ranges(client, query, since or EARLIEST, date.today())
    report.ranges = len(ranges)
    listed: list[str] = []
    seen: set[str] = set()
    for r in ranges:
        for pmid in r.search.ids:
            if pmid not in seen:
                seen.add(pmid)
                listed.append(pmid)
    if max_records is not None:
        listed = listed[:max_records]
        seen = set(listed)
    report.count = len(listed)
    known = cache.known()
    todo = [p for p in listed if p not in known]
    last = cache.last_run()
    if last:
        modified = client.esearch(query, mindate=datetime.fromisoformat(last).date(), maxdate=date.today(),
                                  datetype="mdat")
        todo += [p for p in modified.ids if p in known and p in seen]
    tick("fetch", 0, len(todo))

    def store(xml: bytes, batch: PubmedBatch, asked: list[str]) -> None:
        got = {a.pmid for a in batch.articles}
        report.missing += [p for p in asked if p not in got]
        result = cache.store_batch(xml, batch)
        report.fetched += len(got & set(asked))
        report.new += len(result.new)
        report.revised += len(result.revised)
        tick("fetch", report.fetched + len(report.missing), len(todo))

    todo_set = set(todo)
    done: set[str] = set()
    for r in ranges:  # whole new ranges through the history server
        ids = [p for p in r.search.ids if p in todo_set]
        if not ids or len(ids) != len(r.search.ids) or not r.search.webenv or max_records is not None:
            continue
        for start in range(0, len(ids), FETCH_BATCH):
            asked = ids[start:start + FETCH_BATCH]
            xml, batch = client.efetch_history(r.search.webenv, r.search.query_key or "1", start, len(asked))
            if [a.pmid for a in batch.articles] != asked:  # history expired or reordered: use ids
                log.info("history batch %d of %s..%s differs from the ESearch list; fetching by id", start, r.lo, r.hi)
                xml, batch = client.efetch_ids(asked)
            store(xml, batch, asked)
            done.update(asked)
    rest = [p for p in dict.fromkeys(todo) if p not in done]
    for start in range(0, len(rest), FETCH_BATCH):
        asked = rest[start:start + FETCH_BATCH]
        xml, batch = client.efetch_ids(asked)
        store(xml, batch, asked)
    cache.record_run(query=query, since=since.isoformat() if since else None, count=report.count,
                     fetched=report.fetched, new=report.new, revised=report.revised,
                     missing=report.missing[:1000], eutils_url=client.config.base_url)
    return report
