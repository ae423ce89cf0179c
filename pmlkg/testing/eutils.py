"""A local HTTP server that answers like NCBI's E-utilities (ESearch, EFetch, EPost) for PubMed.

Pure standard library: a :class:`http.server.ThreadingHTTPServer` on ``127.0.0.1`` and a free port,
served from a daemon thread, so tests and ``bench/`` can import it::

    from pmlkg.testing.eutils import EutilsServer, records_from_demo, running

    with running(records_from_demo()) as server:
        client = EntrezClient(EntrezConfig(base_url=server.url))   # http://127.0.0.1:PORT/entrez/eutils/
        ...
        assert len(server.requests) == 3

What it mirrors (NCBI's "E-utilities In-Depth", NBK25499, plus what clients have observed and reported
where the documentation is silent -- sources in the notes below):

* ``esearch.fcgi``: ``db=pubmed``, ``term``, ``retstart``, ``retmax`` (default 20), ``usehistory=y``
  (a fresh ``WebEnv`` and ``QueryKey`` 1; the same ``WebEnv`` passed back gets query keys 2, 3, ...),
  ``datetype`` = ``pdat`` | ``edat`` | ``mdat`` with ``mindate`` *and* ``maxdate`` (``YYYY``,
  ``YYYY/MM`` or ``YYYY/MM/DD``, inclusive; one of the two alone is ignored, as NCBI does), ``reldate``,
  ``rettype=count``. ``sort`` and ``retmode`` are ignored (always XML). Ids come in descending PMID
  order. The answer is NCBI's ``eSearchResult`` with its real DOCTYPE, which Biopython resolves to its
  bundled ``esearch.dtd``, so ``Bio.Entrez.read`` parses it offline.
* PubMed's ESearch window: only the first 9,999 ids of a result can be listed (``esearch_limit``).
  ``retstart`` > 9,998 on a larger result is an ``<ERROR>`` ("'retstart' cannot be larger than 9998 ...",
  HTTP 200, ``Count`` still the total); a ``retstart + retmax`` past the window is *clamped*, not an error,
  with the ``WarningList/OutputMessage`` "Restrictions achieved. start and count adjusted to S, N".
  (esearch.dtd makes ``Count`` and ``ERROR`` alternatives; ``Count`` is sent before ``ERROR`` anyway so
  that ``Entrez.read(..., ignore_errors=True)`` still gives the total -- whether NCBI sends it there is
  not documented. Without ``ignore_errors``, ``Entrez.read`` raises ``RuntimeError(<the message>)``.)
* ``efetch.fcgi``: ``db=pubmed``, ``retmode=xml`` (``rettype`` ignored), either ``id=`` (comma list, GET
  or POST; unknown ids are simply absent; order kept, duplicates dropped) or ``WebEnv`` + ``query_key``
  + ``retstart`` + ``retmax`` (at most 10,000 a request; no ``retmax`` = the whole set up to 10,000).
  The answer is the ``PubmedArticleSet`` with the DOCTYPE of ``ingest/demo/pml_pid_demo.xml``.
  An unknown ``WebEnv``/``query_key``, or a ``retstart`` past the end of the set, is HTTP 400 with an
  ``eFetchResult``/``ERROR`` body (NCBI's efetch.dtd is *not* bundled with Biopython: parse these
  bodies with ElementTree, not ``Bio.Entrez.read``, which would try to download the DTD).
* ``epost.fcgi``: ``id=`` list -> ``ePostResult`` with ``QueryKey`` and ``WebEnv`` (appended to a given
  known ``WebEnv``); usable by EFetch.
* Parameter names are matched case-insensitively (``WebEnv`` and ``webenv`` both work, as at NCBI);
  GET query strings and ``application/x-www-form-urlencoded`` POST bodies are merged.
* Records are read at request time, so ``server.records[...] = ...``, :meth:`EutilsServer.add`,
  :meth:`EutilsServer.remove` and :meth:`EutilsServer.revise` between calls are seen by the next request
  (history sets hold ids only, as at NCBI).

The query language is deliberately tiny (this is not PubMed's parser):

* ``*``, ``all`` or ``all[sb]`` matches every record.
* Otherwise field tags (``[tiab]``, ``[MeSH Terms]``...), quotes, parentheses and the booleans
  ``AND``/``OR`` are dropped, the rest is split into lower-case words (``[a-z0-9]+``), and a record
  matches when **any** word is in its ``terms`` (or equals its PMID). A word right after ``NOT`` is
  ignored rather than negated. ``EutilsServer(match="all")`` makes it require every word instead.
  No hit gives ``Count`` 0 with NCBI's ``ErrorList/PhraseNotFound`` and "No items found." warning.

Fault injection (:meth:`EutilsServer.inject`, thread-safe, consumed one per matching request, optionally
``after`` N requests) and an optional per-client rate limit (``enforce_rate=3.0``; 10/s with an
``api_key`` parameter) reproduce NCBI's failure modes; every request is logged in
:attr:`EutilsServer.requests` (:class:`RequestLog`: endpoint, method, params, time, fault, status and
the PMIDs ``sent``).

Notes on sources (observed NCBI behaviour, not all in NCBI's documentation):

* the 9,999-id window and the retstart error text: biopython/biopython#4189 and #4353,
  cyanheads/pubmed-mcp-server#95 (retstart=9999 -> ERROR, retstart=9998&retmax=1000 -> RetMax 1,
  a small result with retstart 9999 -> empty page, no ERROR);
* history errors are HTTP 400 with ``eFetchResult/ERROR`` (massimoaria/pubmedR#7, "Cannot retrieve history
  data: OUT OF RANGE ..."); the unknown/expired WebEnv text ("Cannot retrieve history data. query_key: 1,
  WebEnv: ..., retstart: ..., retmax: ...") is from a client's captured NCBI answer;
* the 429 body ``{"error":"API rate limit exceeded","api-key":"<ip>","count":"5","limit":"3"}``:
  biocommons/bioutils#16, ropensci/rentrez#132;
* some clients report EFetch-by-history on PubMed refusing ``retstart`` > 9,998 too (HTTP 400,
  "Search backend cannot retrieve history data. Reason: Exception: 'retstart' cannot be larger than
  9998..."); this is off by default and switched on with ``EutilsServer(history_limit=9999)``.
"""

from __future__ import annotations

import calendar
import collections
import dataclasses
import html
import json
import re
import socket
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from pmlkg.ingest.files import DEMO_CORPUS

__all__ = [
    "DEMO_XML", "ESEARCH_LIMIT", "EFETCH_MAX", "FAULT_KINDS", "PUBMED_DOCTYPE", "ESEARCH_DOCTYPE",
    "EPOST_DOCTYPE", "EFETCH_ERROR_DOCTYPE", "EutilsServer", "Record", "RequestLog", "make_record",
    "records_from_demo", "synthetic_records", "running", "words",
]

DEMO_XML = DEMO_CORPUS

ESEARCH_LIMIT = 9_999   # PubMed ESearch lists ids 0..9998 of a result, never further
EFETCH_MAX = 10_000     # EFetch: "retmax ... up to a maximum of 10,000"
FAULT_KINDS = ("429", "500", "502", "503", "slow", "truncated", "invalid", "drop", "reset")
ENDPOINTS = ("esearch", "efetch", "epost")
PML_WORDS = frozenset({"pml", "progressive", "multifocal", "leukoencephalopathy"})

XML_DECL = '<?xml version="1.0" encoding="UTF-8" ?>\n'
ESEARCH_DOCTYPE = ('<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
                   '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">')
EPOST_DOCTYPE = ('<!DOCTYPE ePostResult PUBLIC "-//NLM//DTD epost 20090526//EN" '
                 '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20090526/epost.dtd">')
EFETCH_ERROR_DOCTYPE = ('<!DOCTYPE eEfetchResult PUBLIC "-//NLM//DTD efetch 20131226//EN" '
                        '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">')
PUBMED_DOCTYPE = ('<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
                  '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">')
XML_TYPE = "text/xml; charset=UTF-8"

RETSTART_ERROR = (
    "Search Backend failed: Exception:\n'retstart' cannot be larger than {last}. For PubMed, ESearch can "
    "only retrieve the first {limit:,} records matching the query. To obtain more than {limit:,} PubMed "
    "records, consider using EDirect that contains additional logic to batch PubMed search results "
    "automatically so that an arbitrary number can be retrieved. For details see "
    "https://www.ncbi.nlm.nih.gov/books/NBK25499/"
)

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    """The lower-case ``[a-z0-9]+`` words of ``text``: how record terms and query terms are split."""
    return set(_WORD.findall(text.lower()))


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """One PubMed record as the server holds it.

    ``xml`` is the whole ``<PubmedArticle>...</PubmedArticle>`` element. ``pub_date`` is what
    ``datetype=pdat`` filters on; ``entrez_date`` (``edat``) and ``modified`` (``mdat``) default to it.
    """

    pmid: str
    version: int
    pub_date: date
    terms: frozenset[str]
    xml: str
    title: str = ""
    entrez_date: date | None = None
    modified: date | None = None

    def date_for(self, datetype: str) -> date:
        if datetype == "edat":
            return self.entrez_date or self.pub_date
        if datetype == "mdat":
            return self.modified or self.entrez_date or self.pub_date
        return self.pub_date


def _ymd(d: date) -> str:
    return f"<Year>{d.year:04d}</Year><Month>{d.month:02d}</Month><Day>{d.day:02d}</Day>"


def make_record(pmid: int | str, version: int = 1, pub_date: date = date(2020, 1, 1), *,
                title: str | None = None, abstract: str | None = None,
                terms: Iterable[str] | None = None, journal: str = "Synthetic Journal of Neurovirology",
                entrez_date: date | None = None, modified: date | None = None) -> Record:
    """A valid synthetic ``PubmedArticle`` (the shape of the demo corpus records, DTD pubmed_250101).

    ``terms`` defaults to the words of the title and abstract; given terms are lower-cased and used
    as they are (the PMID always matches too).
    """
    pmid = str(int(pmid))
    title = title if title is not None else (
        f"Progressive multifocal leukoencephalopathy in a synthetic patient, record {pmid}.")
    abstract = abstract if abstract is not None else (
        f"Synthetic abstract for record {pmid}: progressive multifocal leukoencephalopathy (PML) "
        "with JC virus DNA in the cerebrospinal fluid. Generated for tests; not a real publication.")
    edat = entrez_date or pub_date
    mdat = modified or edat
    term_set = frozenset(t.lower() for t in terms) if terms is not None else frozenset(
        words(title) | words(abstract))
    iso = "".join(w[0] for w in journal.split() if w[:1].isalpha())
    xml = f"""<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM" IndexingMethod="Automated">
    <PMID Version="{int(version)}">{pmid}</PMID>
    <DateRevised>{_ymd(mdat)}</DateRevised>
    <Article PubModel="Print-Electronic">
      <Journal>
        <ISSN IssnType="Electronic">2999-0099</ISSN>
        <JournalIssue CitedMedium="Internet"><Volume>{pub_date.year - 1980}</Volume><Issue>{pub_date.month}</Issue><PubDate><Year>{pub_date.year:04d}</Year><Month>{calendar.month_abbr[pub_date.month]}</Month><Day>{pub_date.day:02d}</Day></PubDate></JournalIssue>
        <Title>{escape(journal)}</Title>
        <ISOAbbreviation>{escape(iso)}</ISOAbbreviation>
      </Journal>
      <ArticleTitle>{escape(title)}</ArticleTitle>
      <Pagination><StartPage>1</StartPage><EndPage>9</EndPage><MedlinePgn>1-9</MedlinePgn></Pagination>
      <ELocationID EIdType="doi" ValidYN="Y">10.5555/pmlkg-synthetic.{pmid}</ELocationID>
      <Abstract>
        <AbstractText>{escape(abstract)}</AbstractText>
        <CopyrightInformation>Synthetic text generated for pmlkg tests; not a real publication.</CopyrightInformation>
      </Abstract>
      <AuthorList CompleteYN="Y">
        <Author ValidYN="Y">
          <LastName>Synthetic</LastName><ForeName>Author</ForeName><Initials>A</Initials>
          <AffiliationInfo><Affiliation>Department of Test Fixtures, Nowhere University, Testville.</Affiliation></AffiliationInfo>
        </Author>
      </AuthorList>
      <Language>eng</Language>
      <PublicationTypeList><PublicationType UI="D002363">Case Reports</PublicationType><PublicationType UI="D016428">Journal Article</PublicationType></PublicationTypeList>
      <ArticleDate DateType="Electronic">{_ymd(edat)}</ArticleDate>
    </Article>
    <MedlineJournalInfo><Country>United States</Country><MedlineTA>{escape(iso)}</MedlineTA><NlmUniqueID>9990099</NlmUniqueID><ISSNLinking>2999-0099</ISSNLinking></MedlineJournalInfo>
    <CitationSubset>IM</CitationSubset>
    <MeshHeadingList>
      <MeshHeading><DescriptorName UI="D006801" MajorTopicYN="N">Humans</DescriptorName></MeshHeading>
      <MeshHeading><DescriptorName UI="D007968" MajorTopicYN="Y">Leukoencephalopathy, Progressive Multifocal</DescriptorName></MeshHeading>
    </MeshHeadingList>
  </MedlineCitation>
  <PubmedData>
    <History>
      <PubMedPubDate PubStatus="pubmed">{_ymd(edat)}<Hour>6</Hour><Minute>0</Minute></PubMedPubDate>
      <PubMedPubDate PubStatus="entrez">{_ymd(edat)}<Hour>0</Hour><Minute>12</Minute></PubMedPubDate>
    </History>
    <PublicationStatus>ppublish</PublicationStatus>
    <ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId><ArticleId IdType="doi">10.5555/pmlkg-synthetic.{pmid}</ArticleId></ArticleIdList>
  </PubmedData>
</PubmedArticle>"""
    return Record(pmid=pmid, version=int(version), pub_date=pub_date, terms=term_set, xml=xml, title=title,
                  entrez_date=entrez_date, modified=modified)


def _element_date(element: ET.Element | None) -> date | None:
    """A date from ``<Year>/<Month>/<Day>`` or ``<MedlineDate>`` ("2019 Jan-Feb"); missing parts -> 1."""
    if element is None:
        return None
    year_text = element.findtext("Year")
    month_text = element.findtext("Month") or ""
    day_text = element.findtext("Day") or ""
    if not year_text:
        medline = element.findtext("MedlineDate") or ""
        match = re.match(r"\s*(\d{4})\s*([A-Za-z]+)?", medline)
        if not match:
            return None
        year_text, month_text = match.group(1), match.group(2) or ""
    month_key = month_text.strip().lower()
    if month_key.isdigit():
        month = int(month_key)
    else:
        month = _MONTHS.get(month_key[:3]) or _SEASONS.get(month_key) or 1
    day = int(day_text) if day_text.strip().isdigit() else 1
    year = int(year_text)
    day = min(max(day, 1), calendar.monthrange(year, month)[1])
    return date(year, month, day)


def records_from_demo(path: str | Path = DEMO_XML) -> dict[str, Record]:
    """The records of the bundled demo corpus (46), their XML kept byte for byte as in the file.

    Each matches the words "pml", "progressive", "multifocal", "leukoencephalopathy" and the
    lower-cased words of its title; ``pub_date`` is its ``PubDate`` (or ``MedlineDate``; missing
    month/day -> 1), ``entrez_date`` its History ``entrez`` date, ``modified`` its ``DateRevised``.
    """
    text = Path(path).read_text(encoding="utf-8")
    out: dict[str, Record] = {}
    for match in re.finditer(r"<PubmedArticle>.*?</PubmedArticle>", text, flags=re.S):
        chunk = match.group(0)
        element = ET.fromstring(chunk)
        pmid_el = element.find("MedlineCitation/PMID")
        assert pmid_el is not None and pmid_el.text, "PubmedArticle without PMID"
        title = "".join(element.find("MedlineCitation/Article/ArticleTitle").itertext())  # type: ignore[union-attr]
        pub_date = _element_date(element.find("MedlineCitation/Article/Journal/JournalIssue/PubDate"))
        entrez = _element_date(element.find("PubmedData/History/PubMedPubDate[@PubStatus='entrez']"))
        revised = _element_date(element.find("MedlineCitation/DateRevised"))
        pmid = pmid_el.text.strip()
        out[pmid] = Record(pmid=pmid, version=int(pmid_el.get("Version", "1")),
                           pub_date=pub_date or date((entrez or date(2000, 1, 1)).year, 1, 1),
                           terms=frozenset(PML_WORDS | words(title)), xml=chunk, title=title,
                           entrez_date=entrez, modified=revised)
    return out


SYNTHETIC_TOPICS = ("natalizumab", "rituximab", "hiv", "transplant", "lymphoma", "sarcoidosis",
                    "fingolimod", "dock8", "cd40lg", "idiopathic")


def synthetic_records(n: int, start_pmid: int = 95_000_001, start: date = date(1990, 1, 1),
                      end: date = date(2025, 12, 31)) -> dict[str, Record]:
    """``n`` synthetic records, PMIDs ``start_pmid..start_pmid+n-1``, publication dates spread evenly
    (and deterministically, increasing with the PMID) from ``start`` to ``end`` inclusive.

    Record ``i`` is about ``SYNTHETIC_TOPICS[i % 10]`` (a word of its title), so a query on one topic
    word selects every tenth record; all of them match the PML words and "synthetic".
    """
    span = (end - start).days
    out: dict[str, Record] = {}
    for i in range(n):
        pmid = start_pmid + i
        when = start + timedelta(days=(span * i) // (n - 1) if n > 1 else 0)
        topic = SYNTHETIC_TOPICS[i % len(SYNTHETIC_TOPICS)]
        title = f"Synthetic progressive multifocal leukoencephalopathy (PML) report {i + 1}: {topic}."
        record = make_record(pmid, pub_date=when, title=title,
                             terms=PML_WORDS | words(title) | {"synthetic", topic})
        out[record.pmid] = record
    return out


# --------------------------------------------------------------------------------------------------
# Query and dates
# --------------------------------------------------------------------------------------------------

def _query_words(term: str) -> tuple[list[str], bool]:
    """(words, matches_everything) of an ESearch term, see the module docstring."""
    stripped = term.strip()
    if stripped.lower() in {"*", "all", "all[sb]", "all[all]"}:
        return [], True
    text = re.sub(r"\[[^\]]*\]", " ", stripped)
    tokens = re.findall(r"[A-Za-z0-9]+", text)
    out: list[str] = []
    skip_next = False
    for token in tokens:
        upper = token.upper()
        if upper in {"AND", "OR"}:
            continue
        if upper == "NOT":
            skip_next = True
            continue
        if skip_next:
            skip_next = False
            continue
        word = token.lower()
        if word not in out:
            out.append(word)
    return out, False


def _parse_edate(value: str, upper: bool) -> date:
    """``YYYY``, ``YYYY/MM`` or ``YYYY/MM/DD`` (also ``-`` or ``.``); ``upper`` = end of the period."""
    parts = [p for p in re.split(r"[/\-.]", value.strip()) if p]
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(value)
    year = int(parts[0])
    month = int(parts[1]) if len(parts) > 1 else (12 if upper else 1)
    if len(parts) > 2:
        day = int(parts[2])
    else:
        day = calendar.monthrange(year, month)[1] if upper else 1
    return date(year, month, day)


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------

@dataclass
class RequestLog:
    """One request as received. ``time`` is ``time.monotonic()`` at arrival, ``wall`` is ``time.time()``.

    ``params`` is the merged GET/POST parameters (last value wins). ``fault`` is the injected fault
    kind that answered it, or ``"rate"`` when the rate limiter refused it; ``status`` is the HTTP
    status sent (``None`` for ``drop``/``reset``). ``sent`` is the PMIDs the answer delivered whole:
    the records of an EFetch answer, the ``IdList`` of an ESearch answer (empty for error answers and
    for every fault but ``slow``). Entries also read like dicts: ``entry["endpoint"]``,
    ``entry.get("sent", [])``.
    """

    endpoint: str
    method: str
    params: dict[str, str]
    time: float
    wall: float
    client: str
    fault: str | None = None
    status: int | None = None
    sent: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.__dataclass_fields__ else default

    def keys(self) -> list[str]:
        return list(self.__dataclass_fields__)


@dataclass
class _Fault:
    kind: str
    remaining: int
    endpoint: str | None
    skip: int = 0


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = XML_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: "EutilsServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or vanish (slow/drop/reset faults) are normal here: stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pmlkg-eutils-test/1.0"
    sys_version = ""
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            pairs += parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        self.server.app._serve(self, method, split.path, dict(pairs))

    # -- writing ----------------------------------------------------------------------------------

    def _head_bytes(self, reply: _Reply) -> bytes:
        lines = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}",
                 f"Date: {self.date_time_string()}", f"Server: {self.server_version}",
                 f"Content-Type: {reply.content_type}", f"Content-Length: {len(reply.body)}"]
        lines += [f"{k}: {v}" for k, v in reply.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, reply: _Reply, body: bytes | None = None) -> None:
        body = reply.body if body is None else body
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _reset(self, reply: _Reply) -> None:
        """Half of the header block, then an abortive close (TCP RST)."""
        head = self._head_bytes(reply)
        self.wfile.write(head[: len(head) // 2])
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            self.close_connection = True
            self.connection.close()
            self.rfile.close()


class EutilsServer:
    """NCBI E-utilities for PubMed on ``127.0.0.1``: see the module docstring.

    ``records`` may be a ``{pmid: Record}`` mapping or an iterable of :class:`Record`.
    ``enforce_rate``: answer 429 when a client (its ``api_key``, else its IP) sends more than this many
    requests in any ``rate_window`` seconds (``enforce_rate_with_key`` when an ``api_key`` is given).
    ``rate_slack`` (0.05 s) shortens the window so that a client spaced at exactly ``1/enforce_rate``
    seconds is not refused for a few milliseconds of scheduling jitter (set it to 0 for a strict
    window; NCBI itself is strict enough that Biopython spaces its requests 0.37 s apart). Refused
    requests do not use up the budget but are included in the ``count`` of the 429 body. ``slow_seconds``: the delay of the ``slow`` fault.
    ``esearch_limit``: PubMed's ESearch window (9,999). ``efetch_max``: most records an EFetch returns.
    ``history_limit``: if set, EFetch-by-history refuses ``retstart`` >= it (see the module notes).
    ``match``: ``"any"`` (default, OR of the query words) or ``"all"``.
    """

    def __init__(self, records: Mapping[str, Record] | Iterable[Record] | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, enforce_rate: float | None = None,
                 enforce_rate_with_key: float = 10.0, rate_window: float = 1.0, rate_slack: float = 0.05,
                 slow_seconds: float = 2.0,
                 esearch_limit: int = ESEARCH_LIMIT, efetch_max: int = EFETCH_MAX,
                 history_limit: int | None = None, match: str = "any"):
        if match not in {"any", "all"}:
            raise ValueError("match must be 'any' or 'all'")
        if isinstance(records, Mapping):
            self.records: dict[str, Record] = dict(records)
        else:
            self.records = {r.pmid: r for r in (records or ())}
        self.host, self._port = host, port
        self.enforce_rate = enforce_rate
        self.enforce_rate_with_key = enforce_rate_with_key
        self.rate_window = rate_window
        self.rate_slack = rate_slack
        self.slow_seconds = slow_seconds
        self.esearch_limit = esearch_limit
        self.efetch_max = efetch_max
        self.history_limit = history_limit
        self.match = match
        self.requests: list[RequestLog] = []
        self._faults: list[_Fault] = []
        self._history: dict[str, list[list[str]]] = {}
        self._rate: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._arrivals: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> "EutilsServer":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self._port), _Handler)
        httpd.app = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"eutils-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()          # wakes handlers sleeping in a "slow" fault
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> "EutilsServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/entrez/eutils/`` (with the trailing slash)."""
        return f"http://{self.host}:{self.port}/entrez/eutils/"

    # -- records --------------------------------------------------------------------------------------

    def add(self, *records: Record) -> None:
        with self._lock:
            for record in records:
                self.records[record.pmid] = record

    def remove(self, pmid: str | int) -> Record | None:
        with self._lock:
            return self.records.pop(str(pmid), None)

    def revise(self, pmid: str | int, title: str | None = None, modified: date | None = None) -> Record:
        """Bump the record's ``PMID Version``, change its title (default: "<old title> [revised vN]")
        and set its ``DateRevised``/``mdat`` to ``modified`` (default today). Returns the new record."""
        with self._lock:
            old = self.records[str(pmid)]
            version = old.version + 1
            new_title = title if title is not None else f"{old.title.rstrip()} [revised v{version}]"
            when = modified or date.today()
            xml = re.sub(r'(<PMID Version=")\d+(">)', rf"\g<1>{version}\g<2>", old.xml, count=1)
            xml = re.sub(r"<ArticleTitle>.*?</ArticleTitle>", lambda _: f"<ArticleTitle>{escape(new_title)}</ArticleTitle>",
                         xml, count=1, flags=re.S)
            revised = f"<DateRevised>{_ymd(when)}</DateRevised>"
            if "<DateRevised>" in xml:
                xml = re.sub(r"<DateRevised>.*?</DateRevised>", revised, xml, count=1, flags=re.S)
            else:
                xml = re.sub(r"(<PMID Version=\"\d+\">\d+</PMID>)", lambda m: m.group(1) + revised, xml, count=1)
            new = dataclasses.replace(old, version=version, title=new_title, xml=xml, modified=when,
                                      terms=frozenset(old.terms | words(new_title)))
            self.records[new.pmid] = new
            return new

    def search(self, term: str, *, datetype: str = "pdat", mindate: str | date | None = None,
               maxdate: str | date | None = None) -> list[str]:
        """Every id ESearch would count for this query (descending PMID, no 9,999 window): for
        expectations in tests and benchmarks."""
        lo = _parse_edate(mindate, False) if isinstance(mindate, str) else mindate
        hi = _parse_edate(maxdate, True) if isinstance(maxdate, str) else maxdate
        return self._matching(term, datetype, lo, hi)

    def _matching(self, term: str, datetype: str, lo: date | None, hi: date | None) -> list[str]:
        query, everything = _query_words(term)
        wanted = set(query)
        with self._lock:
            snapshot = list(self.records.values())
        hits = []
        for record in snapshot:
            if not everything:
                have = record.terms | {record.pmid}
                if self.match == "all":
                    if not wanted or not wanted <= have:
                        continue
                elif not wanted & have:
                    continue
            if lo is not None and hi is not None and not lo <= record.date_for(datetype) <= hi:
                continue
            hits.append(record.pmid)
        hits.sort(key=lambda p: int(p) if p.isdigit() else -1, reverse=True)
        return hits

    # -- faults and log ---------------------------------------------------------------------------------

    def inject(self, kind: str, times: int = 1, endpoint: str | None = None, after: int = 0) -> None:
        """Answer the next ``times`` requests (to ``endpoint``, e.g. ``"efetch"`` or ``"efetch.fcgi"``,
        or to any endpoint) with fault ``kind``, one of :data:`FAULT_KINDS`; with ``after=N``, let the
        next N matching requests through first. Faults queue up in order: a request is taken by the
        oldest pending fault that matches it and is not still letting requests through (each fault
        counts every matching request towards its ``after``)."""
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        if times < 1 or after < 0:
            raise ValueError("times must be >= 1 and after >= 0")
        name = _endpoint_name(endpoint) if endpoint else None
        if endpoint and name not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        with self._lock:
            self._faults.append(_Fault(kind, times, name, after))

    def pending_faults(self) -> list[tuple[str, int, str | None]]:
        with self._lock:
            return [(f.kind, f.remaining, f.endpoint) for f in self._faults if f.remaining > 0]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_to(self, endpoint: str) -> list[RequestLog]:
        name = _endpoint_name(endpoint)
        with self._lock:
            return [r for r in self.requests if r.endpoint == name]

    def _take_fault(self, endpoint: str) -> str | None:
        taken: _Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0 or fault.endpoint not in (None, endpoint):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                elif taken is None:
                    taken = fault
            if taken is None:
                return None
            taken.remaining -= 1
            if taken.remaining == 0:
                self._faults.remove(taken)
            return taken.kind

    def _rate_check(self, key: str, limit: float, now: float) -> int | None:
        """None if this request may be served, else the number of requests (served or refused) that
        arrived in the window. Only served requests use up the budget, so a client that slows down
        gets through again as soon as its last ``limit`` served requests are a window old."""
        with self._lock:
            served, arrived = self._rate[key], self._arrivals[key]
            for window in (served, arrived):
                while window and window[0] <= now - (self.rate_window - self.rate_slack):
                    window.popleft()
            arrived.append(now)
            if len(served) + 1 > limit:
                return len(arrived)
            served.append(now)
            return None

    # -- request handling -------------------------------------------------------------------------------

    def _serve(self, handler: _Handler, method: str, path: str, raw: dict[str, str]) -> None:
        params = {k.lower(): v for k, v in raw.items()}
        name = _endpoint_name(path.rsplit("/", 1)[-1]) if path.startswith("/entrez/eutils/") else ""
        entry = RequestLog(endpoint=name or path, method=method, params=dict(raw), time=time.monotonic(),
                           wall=time.time(), client=handler.client_address[0])
        with self._lock:
            self.requests.append(entry)
        if name not in ENDPOINTS:
            reply = _Reply(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
            entry.status = reply.status
            handler._send(reply)
            return

        api_key = params.get("api_key") or ""
        who = api_key or entry.client
        if self.enforce_rate is not None:
            limit = self.enforce_rate_with_key if api_key else self.enforce_rate
            over = self._rate_check(who, limit, entry.time)
            if over is not None:
                entry.fault, entry.status = "rate", 429
                handler._send(_rate_reply(who, over, limit))
                return

        fault = self._take_fault(name)
        entry.fault = fault
        if fault == "drop":
            handler.close_connection = True   # no status line, no headers: the connection just closes
            return
        if fault == "429":
            reply = _rate_reply(who, 11 if api_key else 4, 10 if api_key else 3)
        elif fault in {"500", "502", "503"}:
            reply = _error_page(int(fault), entry)
        elif fault == "invalid":
            reply = _error_page(500, entry, status=200)
        else:
            if fault == "slow":
                self._stopping.wait(self.slow_seconds)
            try:
                reply = getattr(self, f"_{name}")(params)
            except Exception as exc:  # a bug here must be visible to the test, not a hung client
                reply = _Reply(500, f"eutils test server error: {exc!r}".encode(), "text/plain")
        entry.status = None if fault == "reset" else reply.status
        entry.sent = list(reply.sent) if fault in (None, "slow") else []
        if fault == "reset":
            handler._reset(reply)
        elif fault == "truncated":
            handler._send(reply, reply.body[: len(reply.body) // 2])
        else:
            handler._send(reply)

    # ESearch ---------------------------------------------------------------------------------------------

    def _esearch(self, p: dict[str, str]) -> _Reply:
        db = p.get("db", "pubmed")
        if db != "pubmed":
            return _esearch_error(f"Invalid db name specified: {db}")
        term = p.get("term", "")
        if not term.strip():
            return _esearch_error("Empty term and query_key - nothing todo")
        datetype = (p.get("datetype") or "pdat").lower()
        lo = hi = None
        try:
            if p.get("mindate") and p.get("maxdate"):
                lo, hi = _parse_edate(p["mindate"], False), _parse_edate(p["maxdate"], True)
            elif p.get("reldate", "").strip().isdigit():
                hi = date.today()
                lo = hi - timedelta(days=int(p["reldate"]))
        except ValueError as exc:
            return _esearch_error(f"Invalid date: {exc}")
        try:
            retstart = max(0, int(p.get("retstart") or 0))
            retmax = max(0, int(p.get("retmax") or 20))
        except ValueError:
            return _esearch_error("Invalid retstart or retmax")
        ids = self._matching(term, datetype, lo, hi)
        count = len(ids)
        if p.get("rettype", "").lower() == "count":
            return _xml_reply(ESEARCH_DOCTYPE, f"<eSearchResult><Count>{count}</Count></eSearchResult>")

        limit = self.esearch_limit
        if retstart > limit - 1 and count > limit:
            message = RETSTART_ERROR.format(last=limit - 1, limit=limit)
            return _xml_reply(ESEARCH_DOCTYPE, f"<eSearchResult><Count>{count}</Count>"
                                               f"<ERROR>{escape(message)}</ERROR></eSearchResult>")
        end = min(retstart + retmax, count)
        messages: list[str] = []
        if end > limit:
            end = limit
            messages.append(f"Restrictions achieved. start and count adjusted to {retstart}, {limit - retstart}")
        page = ids[retstart:end] if retstart < end else []

        history = ""
        if p.get("usehistory", "").lower() == "y":
            webenv, key = self._remember(p.get("webenv"), ids)
            history = f"<QueryKey>{key}</QueryKey><WebEnv>{webenv}</WebEnv>"
        query, everything = _query_words(term)
        translation = "all[sb]" if everything else " OR ".join(f'"{w}"[All Fields]' for w in query)
        errors = ""
        if count == 0 and not everything:
            errors = "<ErrorList>" + "".join(f"<PhraseNotFound>{escape(w)}</PhraseNotFound>"
                                             for w in query) + "</ErrorList>"
            messages.append("No items found.")
        warnings = ("<WarningList>" + "".join(f"<OutputMessage>{escape(m)}</OutputMessage>" for m in messages)
                    + "</WarningList>") if messages else ""
        id_list = "<IdList>\n" + "".join(f"<Id>{i}</Id>\n" for i in page) + "</IdList>" if page else "<IdList/>"
        body = (f"<eSearchResult><Count>{count}</Count><RetMax>{len(page)}</RetMax><RetStart>{retstart}</RetStart>"
                f"{history}{id_list}<TranslationSet/><QueryTranslation>{escape(translation)}</QueryTranslation>"
                f"{errors}{warnings}</eSearchResult>")
        reply = _xml_reply(ESEARCH_DOCTYPE, body)
        reply.sent = list(page)
        return reply

    def _remember(self, webenv: str | None, ids: list[str]) -> tuple[str, int]:
        with self._lock:
            if not webenv or webenv not in self._history:
                webenv = f"MCID_{uuid.uuid4().hex[:24]}"
                self._history[webenv] = []
            self._history[webenv].append(list(ids))
            return webenv, len(self._history[webenv])

    # EFetch ----------------------------------------------------------------------------------------------

    def _efetch(self, p: dict[str, str]) -> _Reply:
        db = p.get("db", "pubmed")
        if db != "pubmed":
            return _efetch_error(f"Invalid db name specified: {db}")
        if "id" in p:
            ids = [i.strip() for i in p["id"].split(",") if i.strip()]
            if not ids:
                return _efetch_error("Empty id list - nothing todo")
            ids = list(dict.fromkeys(ids))
        elif p.get("webenv") or p.get("query_key"):
            webenv, key = p.get("webenv", ""), p.get("query_key", "")
            retstart_text, retmax_text = p.get("retstart") or "0", p.get("retmax")
            with self._lock:
                sets = self._history.get(webenv)
                stored = sets[int(key) - 1] if sets and key.isdigit() and 0 < int(key) <= len(sets) else None
            if stored is None:
                return _efetch_error(f"Cannot retrieve history data. query_key: {key}, WebEnv: {webenv}, "
                                     f"retstart: {retstart_text}, retmax: {retmax_text or ''}")
            try:
                retstart = max(0, int(retstart_text))
                retmax = min(self.efetch_max, max(0, int(retmax_text))) if retmax_text else self.efetch_max
            except ValueError:
                return _efetch_error("Invalid retstart or retmax")
            if self.history_limit is not None and retstart > self.history_limit - 1:
                return _efetch_error(
                    "Search backend cannot retrieve history data. Reason: Exception: 'retstart' cannot be "
                    f"larger than {self.history_limit - 1}. For PubMed, ESearch can only retrieve the first "
                    f"{self.history_limit:,} records matching the query.")
            if retstart >= len(stored):
                return _efetch_error(
                    f"Cannot retrieve history data: OUT OF RANGE. Parameter retstart={retstart} + 1 is greater "
                    f"than number of records available in history. History includes {len(stored)} IDs.")
            end = retstart + retmax
            if self.history_limit is not None:
                end = min(end, self.history_limit)
            ids = stored[retstart:end]
        else:
            return _efetch_error("Empty id list - nothing todo")
        with self._lock:
            found = [self.records[i] for i in ids if i in self.records]
        xml = "\n".join(r.xml for r in found)
        body = "<PubmedArticleSet>\n" + xml + ("\n" if found else "") + "</PubmedArticleSet>"
        reply = _xml_reply(PUBMED_DOCTYPE, body, decl='<?xml version="1.0" ?>\n')
        reply.sent = [r.pmid for r in found]
        return reply

    # EPost -----------------------------------------------------------------------------------------------

    def _epost(self, p: dict[str, str]) -> _Reply:
        ids = [i.strip() for i in p.get("id", "").split(",") if i.strip()]
        valid = list(dict.fromkeys(i for i in ids if i.isdigit()))
        invalid = [i for i in ids if not i.isdigit()]
        if not valid:
            return _xml_reply(EPOST_DOCTYPE, "<ePostResult><ERROR>Empty id list - nothing todo</ERROR></ePostResult>")
        webenv, key = self._remember(p.get("webenv"), valid)
        bad = ("<InvalidIdList>" + "".join(f"<Id>{escape(i)}</Id>" for i in invalid) + "</InvalidIdList>") \
            if invalid else ""
        return _xml_reply(EPOST_DOCTYPE, f"<ePostResult>{bad}<QueryKey>{key}</QueryKey>"
                                         f"<WebEnv>{webenv}</WebEnv></ePostResult>")


def _endpoint_name(value: str) -> str:
    name = value.rsplit("/", 1)[-1]
    return name[: -len(".fcgi")] if name.endswith(".fcgi") else name


def _xml_reply(doctype: str, body: str, status: int = 200, decl: str = XML_DECL) -> _Reply:
    return _Reply(status, (decl + doctype + "\n" + body + "\n").encode("utf-8"))


def _esearch_error(message: str) -> _Reply:
    return _xml_reply(ESEARCH_DOCTYPE, f"<eSearchResult><ERROR>{escape(message)}</ERROR></eSearchResult>")


def _efetch_error(message: str) -> _Reply:
    return _xml_reply(EFETCH_ERROR_DOCTYPE, f"<eFetchResult>\n\t<ERROR>{escape(message)}</ERROR>\n</eFetchResult>",
                      status=400)


def _rate_reply(who: str, count: int, limit: float) -> _Reply:
    body = json.dumps({"error": "API rate limit exceeded", "api-key": who, "count": str(count),
                       "limit": str(int(limit))}, separators=(",", ":"))
    return _Reply(429, body.encode(), "application/json", {"Retry-After": "0"})


_PAGE_TITLES = {500: "Server Error", 502: "Bad Gateway", 503: "Service unavailable"}
_PAGE_TEXT = {
    500: "Your request could not be processed due to a problem on our Web server. This could be a "
         "transient problem, please try the query again.",
    502: "Error reading from remote server",
    503: "The server is temporarily unable to service your request due to maintenance downtime or "
         "capacity problems. Please try again later.",
}


def _error_page(code: int, entry: RequestLog, status: int | None = None) -> _Reply:
    """An HTML page like NCBI's "WWW Error 500 Diagnostic" (sent with ``status``, default ``code``)."""
    body = (f"<!DOCTYPE html>\n<html><head><title>NCBI/eutils - WWW Error {code} Diagnostic</title></head>\n"
            f"<body><h1 class=\"error\">{_PAGE_TITLES[code]}</h1><p>{_PAGE_TEXT[code]}</p><hr/>"
            f"<p>Diagnostic Information:</p><div class=\"diags\">Error: {code}</div>"
            f"<div class=\"diags\">URL: {html.escape(entry.endpoint)}.fcgi</div></body></html>\n")
    return _Reply(code if status is None else status, body.encode(), "text/html; charset=UTF-8")


@contextmanager
def running(records: Mapping[str, Record] | Iterable[Record] | None = None, **kw: Any) -> Iterator[EutilsServer]:
    """``with running(records, enforce_rate=3.0) as server:`` -- started, and stopped afterwards."""
    server = EutilsServer(records, **kw).start()
    try:
        yield server
    finally:
        server.stop()

