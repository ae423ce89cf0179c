"""PubMed E-utilities through Bio.Entrez: search with the history server, fetch in batches.

Bio.Entrez builds every request (tool, email, api_key, POST for long id lists) and parses every
answer; this module adds what a long unattended fetch needs and Bio.Entrez does not give: a base
URL that can point at a mirror or a test server (``NCBI_EUTILS_URL``), one rate limiter for all
threads, timeouts, and retries with backoff on 429/5xx, dropped connections and truncated or
invalid XML (a batch is fetched again until it parses whole).
"""

from __future__ import annotations

import errno
import http.client
import io
import logging
import os
import random
import socket
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from Bio import Entrez

from pmlkg.ingest.pubmed import PubmedBatch, PubmedParseError, parse_pubmed_xml
from pmlkg.ingest.ratelimit import RateLimiter, limiter_for

log = logging.getLogger(__name__)

NCBI_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
ESEARCH_MAX = 9_999  # PubMed's ESearch returns ids only up to retstart+retmax = 10,000
FETCH_BATCH = 500
TOOL = "pmlkg"


class EntrezError(RuntimeError):
    """E-utilities kept failing after every retry; the message says what the last failure was."""


class EntrezUnreachable(EntrezError):
    """No answer at all from the E-utilities host (no network, DNS failure, refused)."""


@dataclass(frozen=True, slots=True)
class EntrezConfig:
    base_url: str = NCBI_EUTILS_URL
    email: str | None = None
    api_key: str | None = None
    tool: str = TOOL
    timeout: float = 60.0
    max_attempts: int = 6
    backoff: float = 0.5  # first retry delay; doubles each attempt, capped by max_backoff
    max_backoff: float = 16.0

    @classmethod
    def from_env(cls, **overrides: Any) -> "EntrezConfig":
        env = {
            "base_url": os.environ.get("NCBI_EUTILS_URL") or NCBI_EUTILS_URL,
            "email": os.environ.get("NCBI_EMAIL") or None,
            "api_key": os.environ.get("NCBI_API_KEY") or None,
            "tool": os.environ.get("NCBI_TOOL") or TOOL,
        }
        env.update({k: v for k, v in overrides.items() if v is not None})
        base = str(env["base_url"])
        env["base_url"] = base if base.endswith("/") else base + "/"
        return cls(**env)  # type: ignore[arg-type]

    @property
    def rate(self) -> float:
        return 10.0 if self.api_key else 3.0


@dataclass(slots=True)
class SearchResult:
    count: int
    ids: list[str]
    webenv: str | None = None
    query_key: str | None = None


@dataclass(slots=True)
class FetchStats:
    requests: int = 0
    retries: int = 0
    failures: list[str] = field(default_factory=list)


class EntrezClient:
    def __init__(self, config: EntrezConfig | None = None, limiter: RateLimiter | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config or EntrezConfig.from_env()
        self.limiter = limiter or limiter_for(self.config.rate)
        self.stats = FetchStats()
        self._sleep = sleep
        if not self.config.email and self.config.base_url == NCBI_EUTILS_URL:
            log.warning("NCBI_EMAIL is not set: NCBI asks for a contact address with E-utilities requests")

    # -- E-utilities ------------------------------------------------------------------------

    def esearch(self, term: str, *, mindate: date | None = None, maxdate: date | None = None,
                datetype: str = "pdat", retmax: int = ESEARCH_MAX, usehistory: bool = True) -> SearchResult:
        params: dict[str, Any] = {"db": "pubmed", "term": term, "retmax": retmax, "retmode": "xml"}
        if usehistory:
            params["usehistory"] = "y"
        if mindate or maxdate:
            params.update(datetype=datetype, mindate=_edate(mindate or date(1800, 1, 1)),
                          maxdate=_edate(maxdate or date.today()))

        def parse(body: bytes) -> SearchResult:
            record = Entrez.read(io.BytesIO(body), validate=False)
            if "Count" not in record:
                raise ValueError(f"ESearch answer without Count: {str(record.get('ERROR', record))[:200]}")
            return SearchResult(count=int(record["Count"]), ids=[str(i) for i in record.get("IdList", [])],
                                webenv=record.get("WebEnv"), query_key=record.get("QueryKey"))

        return self._call("esearch.fcgi", params, parse)

    def efetch_ids(self, ids: list[str]) -> tuple[bytes, PubmedBatch]:
        """Fetch these PMIDs (POSTed when many); returns the raw XML and its parsed records."""
        params = {"db": "pubmed", "id": ",".join(ids), "retmode": "xml"}
        return self._call("efetch.fcgi", params, _parse_fetch, post=len(ids) > 200)

    def efetch_history(self, webenv: str, query_key: str, retstart: int, retmax: int) -> tuple[bytes, PubmedBatch]:
        params = {"db": "pubmed", "WebEnv": webenv, "query_key": query_key, "retstart": retstart,
                  "retmax": retmax, "retmode": "xml"}
        return self._call("efetch.fcgi", params, _parse_fetch)

    # -- transport ----------------------------------------------------------------------------

    def _call(self, endpoint: str, params: Mapping[str, Any], parse: Callable[[bytes], Any], *,
              post: bool | None = None) -> Any:
        cfg = self.config
        full = dict(params, tool=cfg.tool, email=cfg.email, api_key=cfg.api_key)
        last = ""
        reached = False
        for attempt in range(1, cfg.max_attempts + 1):
            with warnings.catch_warnings():  # Bio.Entrez warns on every request without an email
                warnings.simplefilter("ignore", UserWarning)
                request = Entrez._build_request(cfg.base_url + endpoint, full, post=post)
            self.limiter.acquire()
            self.stats.requests += 1
            delay = min(cfg.max_backoff, cfg.backoff * 2 ** (attempt - 1)) * (0.75 + random.random() / 2)
            try:
                with urllib.request.urlopen(request, timeout=cfg.timeout) as response:
                    body = response.read()
                reached = True
                return parse(body)
            except urllib.error.HTTPError as exc:
                reached = True
                if exc.code != 429 and exc.code < 500:
                    raise EntrezError(f"{endpoint}: HTTP {exc.code} {exc.reason}: "
                                      f"{exc.read()[:300].decode('utf-8', 'replace')}") from exc
                retry_after = _retry_after(exc)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                if exc.code == 429:
                    self.limiter.penalise(delay)
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                    http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(exc).__name__}: {reason}"
                reached = reached or not _unreachable(reason)
                if not reached and attempt >= 2:
                    break  # nobody answers: no point in backing off for a minute
            except (PubmedParseError, ValueError, RuntimeError) as exc:  # truncated or invalid XML
                reached = True
                last = f"unreadable answer ({str(exc)[:200]})"
            if attempt < cfg.max_attempts:
                self.stats.retries += 1
                log.info("%s attempt %d failed (%s); retrying in %.1f s", endpoint, attempt, last, delay)
                self._sleep(delay)
        message = f"{endpoint} failed {cfg.max_attempts} times; last: {last}"
        self.stats.failures.append(message)
        if not reached:
            raise EntrezUnreachable(
                f"PubMed E-utilities cannot be reached at {cfg.base_url} ({last}); build offline with "
                f"`pmlkg build --from-cache` or `pmlkg build --input PATH`")
        raise EntrezError(message)


def _parse_fetch(body: bytes) -> tuple[bytes, PubmedBatch]:
    return body, parse_pubmed_xml(io.BytesIO(body), source="efetch")


def _unreachable(reason: object) -> bool:
    """No host answered at all (as opposed to one that answered badly or too slowly)."""
    if isinstance(reason, (socket.gaierror, ConnectionRefusedError)):
        return True
    return isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)


def _edate(d: date) -> str:
    return d.strftime("%Y/%m/%d")


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
