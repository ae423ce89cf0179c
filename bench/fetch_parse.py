"""Benchmark: fetch+parse records/s against the local E-utilities server (no faults), and
parse-only records/s beside a bare ``lxml.etree.iterparse`` pass over the same XML (ratio).

The server replays NCBI's formats on 127.0.0.1 (pmlkg/testing/eutils.py); the client runs with an
API key's rate (10 requests/s), so the fetch figure includes NCBI's politeness limit.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pmlkg.ingest.cache import PubmedCache  # noqa: E402
from pmlkg.ingest.entrez import EntrezClient, EntrezConfig  # noqa: E402
from pmlkg.ingest.fetch import fetch_query  # noqa: E402
from pmlkg.ingest.pubmed import parse_pubmed_xml  # noqa: E402
from pmlkg.testing.eutils import PUBMED_DOCTYPE, EutilsServer, synthetic_records  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()
    records = synthetic_records(args.records)
    with EutilsServer(records) as server, tempfile.TemporaryDirectory() as tmp:
        client = EntrezClient(EntrezConfig(base_url=server.url, email="bench@example.org", api_key="bench"))
        t0 = time.perf_counter()
        report = fetch_query(client, PubmedCache.for_query(Path(tmp), "all"), "all")
        fetch_s = time.perf_counter() - t0
    xml = ('<?xml version="1.0" ?>\n' + PUBMED_DOCTYPE + "\n<PubmedArticleSet>\n"
           + "\n".join(records[p].xml for p in sorted(records)) + "\n</PubmedArticleSet>\n").encode("utf-8")
    t0 = time.perf_counter()
    parsed = len(parse_pubmed_xml(io.BytesIO(xml)).articles)
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bare = 0
    for _, element in etree.iterparse(io.BytesIO(xml), tag="PubmedArticle", load_dtd=False):
        bare += 1
        element.clear()
    bare_s = time.perf_counter() - t0
    print(f"records: {report.count} ({report.ranges} date ranges, {client.stats.requests} requests)")
    print(f"fetch+parse (10 req/s limit): {report.fetched / fetch_s:8.0f} records/s  ({fetch_s:.2f} s)")
    print(f"parse only (Bio.Entrez):      {parsed / parse_s:8.0f} records/s  ({parse_s:.2f} s)")
    print(f"bare lxml iterparse:          {bare / bare_s:8.0f} records/s  ({bare_s:.2f} s)")
    print(f"parse-only / bare lxml time ratio: {parse_s / bare_s:.1f}x")


if __name__ == "__main__":
    main()
