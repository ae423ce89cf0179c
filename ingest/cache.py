"""The raw PubMed cache: every EFetch batch as fetched (gzip) plus a manifest.

The manifest names, per PMID, the version and the batch file that holds its current record,
with the query, dates and tool versions of every run: a snapshot that can be cited and rebuilt
with no network (``pmlkg build --from-cache``). Files are written to a temporary name and
renamed, and the manifest is rewritten after each batch, so a killed fetch loses at most the
batch in flight and the next run resumes from the manifest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from importlib.metadata import version

import Bio

from pmlkg.ingest.pubmed import PubmedBatch, parse_pubmed_xml
from pmlkg.ingest.records import Article

MANIFEST = "manifest.json"


def query_key(query: str) -> str:
    return hashlib.sha256(" ".join(query.split()).encode("utf-8")).hexdigest()[:12]


def cache_root(data_dir: Path) -> Path:
    return data_dir / "cache" / "pubmed"


@dataclass(frozen=True, slots=True)
class StoreResult:
    new: list[str]
    revised: list[str]
    unchanged: list[str]


class PubmedCache:
    """One cache directory per query (by hash of the normalised query text)."""

    def __init__(self, directory: Path, query: str | None = None):
        self.dir = directory
        self.batches = directory / "batches"
        path = directory / MANIFEST
        if path.exists():
            self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        else:
            if query is None:
                raise FileNotFoundError(f"{directory}: no PubMed cache manifest there")
            now = _now()
            self.manifest = {"query": query, "query_key": query_key(query), "created": now, "updated": now,
                             "count": 0, "runs": [], "records": {}}

    @classmethod
    def for_query(cls, data_dir: Path, query: str) -> "PubmedCache":
        return cls(cache_root(data_dir) / query_key(query), query)

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        return self.manifest["records"]

    def known(self) -> dict[str, int]:
        return {pmid: int(r["version"]) for pmid, r in self.records.items()}

    def last_run(self) -> str | None:
        runs = self.manifest["runs"]
        return runs[-1]["date"] if runs else None

    def store_batch(self, xml: bytes, batch: PubmedBatch) -> StoreResult:
        """Keep the batch file and point the manifest at the records that are new or changed."""
        new, revised, unchanged = [], [], []
        changed: dict[str, dict[str, Any]] = {}
        for article in batch.articles:
            entry = {"version": article.version, "digest": article.digest()}
            old = self.records.get(article.pmid)
            if old is None:
                new.append(article.pmid)
            elif (old["version"], old["digest"]) != (entry["version"], entry["digest"]):
                revised.append(article.pmid)
            else:
                unchanged.append(article.pmid)
                continue
            changed[article.pmid] = entry
        for pmid in batch.deleted_pmids:
            self.records.pop(pmid, None)
        if changed:
            self.batches.mkdir(parents=True, exist_ok=True)
            name = f"{len(list(self.batches.glob('*.xml.gz'))) + 1:06d}-{hashlib.sha256(xml).hexdigest()[:12]}.xml.gz"
            _atomic_write(self.batches / name, gzip.compress(xml, mtime=0))
            for pmid, entry in changed.items():
                self.records[pmid] = {**entry, "batch": name}
        self.save()
        return StoreResult(new, revised, unchanged)

    def record_run(self, **run: Any) -> None:
        self.manifest["runs"].append({"date": _now(), **run, "tools": tool_versions()})
        self.manifest["count"] = len(self.records)
        self.save()

    def save(self) -> None:
        self.manifest["updated"] = _now()
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.dir / MANIFEST, json.dumps(self.manifest, indent=1, sort_keys=True).encode("utf-8"))

    def articles(self) -> Iterator[Article]:
        """The current record of every cached PMID (older versions in older batches are skipped)."""
        wanted: dict[str, set[str]] = {}
        for pmid, entry in self.records.items():
            wanted.setdefault(entry["batch"], set()).add(pmid)
        for name in sorted(wanted):
            with gzip.open(self.batches / name, "rb") as handle:
                batch = parse_pubmed_xml(handle, source=str(self.batches / name))
            for article in batch.articles:
                if article.pmid in wanted[name] and article.digest() == self.records[article.pmid]["digest"]:
                    yield article


def all_caches(data_dir: Path) -> list[PubmedCache]:
    root = cache_root(data_dir)
    return [PubmedCache(d) for d in sorted(root.iterdir()) if (d / MANIFEST).exists()] if root.exists() else []


def tool_versions() -> dict[str, str]:
    return {"pmlkg": version("pmlkg"), "biopython": Bio.__version__}


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
