"""The local E-utilities server, through real HTTP and Bio.Entrez's own request builder and parser.

Bio.Entrez 1.88 hard-codes NCBI's host in ``esearch()``/``efetch()``, so requests are built with
``Entrez._build_request(server.url + "esearch.fcgi", params)`` (which also picks POST for >= 200 ids),
sent with ``urllib.request.urlopen`` and read with ``Entrez.read`` (DTDs resolved offline).
"""

from __future__ import annotations

import itertools

import http.client
import io
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import httpx
import pytest
from Bio import Entrez

from pmlkg.testing.eutils import (
    DEMO_XML, ESEARCH_DOCTYPE, FAULT_KINDS, PML_WORDS, PUBMED_DOCTYPE, EutilsServer, make_record,
    records_from_demo, running, synthetic_records,
)

EMAIL = "tests@example.org"


def request(server: EutilsServer, endpoint: str, params: dict[str, Any], *, post: bool | None = None,
            timeout: float = 5.0) -> tuple[urllib.request.Request, http.client.HTTPResponse]:
    req = Entrez._build_request(server.url + endpoint, dict(params, email=EMAIL), post=post)
    return req, urllib.request.urlopen(req, timeout=timeout)


def body_of(server: EutilsServer, endpoint: str, params: dict[str, Any], **kw: Any) -> bytes:
    _, response = request(server, endpoint, params, **kw)
    with response:
        return response.read()


def read(server: EutilsServer, endpoint: str, params: dict[str, Any], **kw: Any) -> Any:
    return Entrez.read(io.BytesIO(body_of(server, endpoint, params, **kw)))


def esearch(server: EutilsServer, **params: Any) -> Any:
    return read(server, "esearch.fcgi", dict({"db": "pubmed"}, **params))


def efetch(server: EutilsServer, **params: Any) -> Any:
    return read(server, "efetch.fcgi", dict({"db": "pubmed", "retmode": "xml"}, **params))


def pmids(fetched: Any) -> list[str]:
    return [str(a["MedlineCitation"]["PMID"]) for a in fetched["PubmedArticle"]]


def http_error(server: EutilsServer, endpoint: str, params: dict[str, Any]) -> urllib.error.HTTPError:
    with pytest.raises(urllib.error.HTTPError) as info:
        body_of(server, endpoint, params)
    return info.value


@pytest.fixture(scope="module")
def demo() -> dict:
    return records_from_demo()


@pytest.fixture(scope="module")
def server(demo: dict):
    with running(demo) as srv:
        yield srv


@pytest.fixture
def fresh(demo: dict):
    """A server of its own, for tests that change records, faults or rate limits."""
    with running(dict(demo), slow_seconds=0.4) as srv:
        yield srv


@pytest.fixture(scope="module")
def big():
    """Past PubMed's ESearch window: 10,050 records."""
    with running(synthetic_records(10_050)) as srv:
        yield srv


# -- records ---------------------------------------------------------------------------------------------

def test_demo_records_are_the_46_of_the_demo_file(demo):
    text = DEMO_XML.read_text(encoding="utf-8")
    assert len(demo) == 46
    assert set(demo) == set(re.findall(r'<PMID Version="\d+">(\d+)</PMID>', text))
    for record in demo.values():
        assert record.xml in text and record.xml.startswith("<PubmedArticle>")
        assert PML_WORDS <= record.terms
        assert {w for w in re.findall(r"[a-z0-9]+", record.title.lower())} <= record.terms
    medline = [r for r in demo.values() if "<MedlineDate>2019 Jan-Feb</MedlineDate>" in r.xml]
    assert len(medline) == 1 and medline[0].pub_date == date(2019, 1, 1)
    assert demo["90000001"].pub_date == date(2014, 6, 8)
    assert demo["90000001"].entrez_date == date(2014, 5, 6)


def test_synthetic_records_are_valid_pubmed_xml_spread_over_the_dates():
    records = synthetic_records(25, start_pmid=95_000_001, start=date(1990, 1, 1), end=date(2025, 12, 31))
    assert records == synthetic_records(25)                       # deterministic
    ordered = [records[k] for k in sorted(records, key=int)]
    assert ordered[0].pmid == "95000001" and ordered[-1].pmid == "95000025"
    assert ordered[0].pub_date == date(1990, 1, 1) and ordered[-1].pub_date == date(2025, 12, 31)
    assert all(a.pub_date <= b.pub_date for a, b in itertools.pairwise(ordered))
    document = "\n".join(['<?xml version="1.0" ?>', PUBMED_DOCTYPE, "<PubmedArticleSet>",
                          *(r.xml for r in ordered), "</PubmedArticleSet>"])
    parsed = Entrez.read(io.BytesIO(document.encode()), validate=True)   # against pubmed_250101.dtd
    assert pmids(parsed) == [r.pmid for r in ordered]
    one = make_record(12345, version=3, pub_date=date(2001, 2, 3), title="A <b>&</b> title", abstract="Text.",
                      terms=["Natalizumab"])
    article = Entrez.read(io.BytesIO(("<?xml version='1.0'?>" + PUBMED_DOCTYPE + "<PubmedArticleSet>"
                                      + one.xml + "</PubmedArticleSet>").encode()))["PubmedArticle"][0]
    assert article["MedlineCitation"]["PMID"].attributes["Version"] == "3"
    assert article["MedlineCitation"]["Article"]["ArticleTitle"] == "A <b>&</b> title"
    assert one.terms == {"natalizumab"}


# -- ESearch -------------------------------------------------------------------------------------------

def test_esearch_answer_is_ncbis_esearch_xml(server, demo):
    body = body_of(server, "esearch.fcgi", {"db": "pubmed", "term": "progressive multifocal leukoencephalopathy"})
    assert body.splitlines()[1].decode() == ESEARCH_DOCTYPE
    result = Entrez.read(io.BytesIO(body), validate=True)
    assert result["Count"] == "46" and result["RetMax"] == "20" and result["RetStart"] == "0"
    assert result["IdList"] == sorted(demo, key=int, reverse=True)[:20]     # newest PMID first
    assert "WebEnv" not in result                                          # no usehistory
    assert result["TranslationSet"] == [] and "progressive" in result["QueryTranslation"]


def test_esearch_terms_or_words_ignore_tags_and_all_matches_everything(server, demo):
    assert esearch(server, term="*", retmax=0)["Count"] == "46"
    assert esearch(server, term="all[sb]", retmax=0)["Count"] == "46"
    title_word = {w for r in demo.values() for w in r.terms} - PML_WORDS
    rare = sorted(title_word, key=lambda w: sum(w in r.terms for r in demo.values()))[0]
    expected = sorted((p for p, r in demo.items() if rare in r.terms), key=int, reverse=True)
    result = esearch(server, term=f'("{rare}"[Title/Abstract]) AND zzzunknown[MeSH Terms]', retmax=100)
    assert result["IdList"] == expected                                    # an OR over the words
    none = esearch(server, term="zzzunknown[tiab]")
    assert none["Count"] == "0" and none["IdList"] == []
    assert none["ErrorList"]["PhraseNotFound"] == ["zzzunknown"]
    assert none["WarningList"]["OutputMessage"] == ["No items found."]
    with pytest.raises(RuntimeError, match="Empty term"):
        esearch(server, term="")


def test_esearch_paging_with_retstart_and_retmax(server, demo):
    everything = sorted(demo, key=int, reverse=True)
    pages = [esearch(server, term="pml", retstart=start, retmax=15) for start in range(0, 46, 15)]
    assert [p["RetMax"] for p in pages] == ["15", "15", "15", "1"]
    assert [p["RetStart"] for p in pages] == ["0", "15", "30", "45"]
    assert [i for p in pages for i in p["IdList"]] == everything
    past = esearch(server, term="pml", retstart=100)
    assert past["Count"] == "46" and past["IdList"] == []


def test_esearch_history_webenv_and_query_keys(server):
    first = esearch(server, term="pml", usehistory="y", retmax=0)
    assert first["QueryKey"] == "1" and first["WebEnv"].startswith("MCID_") and first["IdList"] == []
    second = esearch(server, term="natalizumab", usehistory="y", WebEnv=first["WebEnv"])
    third = esearch(server, term="rituximab", usehistory="y", WebEnv=first["WebEnv"])
    assert (second["WebEnv"], second["QueryKey"]) == (first["WebEnv"], "2")
    assert (third["WebEnv"], third["QueryKey"]) == (first["WebEnv"], "3")
    other = esearch(server, term="pml", usehistory="y")
    assert other["WebEnv"] != first["WebEnv"] and other["QueryKey"] == "1"


@pytest.mark.parametrize("mindate, maxdate, lo, hi", [
    ("2014", "2014", date(2014, 1, 1), date(2014, 12, 31)),
    ("2019/01", "2019/02", date(2019, 1, 1), date(2019, 2, 28)),          # holds the MedlineDate record
    ("2014/06/08", "2014/06/08", date(2014, 6, 8), date(2014, 6, 8)),      # one day, inclusive
    ("2010/03/23", "2016/01/07", date(2010, 3, 23), date(2016, 1, 7)),
])
def test_esearch_publication_date_range(server, demo, mindate, maxdate, lo, hi):
    expected = sorted((p for p, r in demo.items() if lo <= r.pub_date <= hi), key=int, reverse=True)
    assert expected
    result = esearch(server, term="pml", datetype="pdat", mindate=mindate, maxdate=maxdate, retmax=100)
    assert result["IdList"] == expected and result["Count"] == str(len(expected))
    assert server.search("pml", mindate=mindate, maxdate=maxdate) == expected


def test_esearch_entrez_date_and_half_open_ranges(server, demo):
    expected = sorted((p for p, r in demo.items() if date(2014, 1, 1) <= r.entrez_date <= date(2014, 12, 31)),
                      key=int, reverse=True)
    assert esearch(server, term="pml", datetype="edat", mindate="2014", maxdate="2014", retmax=100)["IdList"] == expected
    # NCBI wants mindate and maxdate together; one alone does not filter
    assert esearch(server, term="pml", datetype="pdat", mindate="2024", retmax=0)["Count"] == "46"


def test_esearch_pubmed_window_of_9999_ids(big):
    assert esearch(big, term="synthetic", retmax=0)["Count"] == "10050"
    capped = esearch(big, term="*", retmax=100_000)
    assert capped["Count"] == "10050" and len(capped["IdList"]) == 9_999 and capped["RetMax"] == "9999"
    assert capped["WarningList"]["OutputMessage"] == ["Restrictions achieved. start and count adjusted to 0, 9999"]
    last = esearch(big, term="*", retstart=9_998, retmax=1_000)         # clamped, not an error
    assert last["RetMax"] == "1" and last["IdList"] == [str(95_000_001 + 10_050 - 1 - 9_998)]
    with pytest.raises(RuntimeError, match="'retstart' cannot be larger than 9998"):
        esearch(big, term="*", retstart=9_999, retmax=10)
    body = body_of(big, "esearch.fcgi", {"db": "pubmed", "term": "*", "retstart": 10_000})
    tolerant = Entrez.read(io.BytesIO(body), ignore_errors=True)
    assert tolerant["Count"] == "10050" and "9,999 records" in tolerant["ERROR"]
    # a result inside the window (1,005 hits) pages normally, and past its end is empty, not an error
    assert esearch(big, term="natalizumab", retstart=1_000, retmax=10)["IdList"] == [
        str(95_000_001 + 40 - 10 * k) for k in range(5)]
    assert esearch(big, term="natalizumab", retstart=9_999)["IdList"] == []


# -- EFetch ---------------------------------------------------------------------------------------------

def test_efetch_by_id_get_keeps_order_and_skips_unknown_ids(server, demo):
    req, response = request(server, "efetch.fcgi", {"db": "pubmed", "id": "90000003,1,90000001,90000003"})
    with response:
        body = response.read()
        assert response.headers["Content-Type"].startswith("text/xml")
    assert req.method == "GET" and body.splitlines()[1].decode() == PUBMED_DOCTYPE
    fetched = Entrez.read(io.BytesIO(body), validate=True)
    assert pmids(fetched) == ["90000003", "90000001"]
    assert body.decode().count(demo["90000001"].xml) == 1


def test_efetch_post_with_300_ids():
    records = synthetic_records(300)
    ids = sorted(records, key=int, reverse=True) + ["99999999"]
    with running(records) as srv:
        req, response = request(srv, "efetch.fcgi", {"db": "pubmed", "id": ids, "retmode": "xml"})
        with response:
            fetched = Entrez.read(response)
        assert req.method == "POST" and "?" not in req.full_url                  # Bio.Entrez chose POST
        assert pmids(fetched) == ids[:-1]
        logged = srv.requests_to("efetch")[-1]
        assert logged.method == "POST" and len(logged.params["id"].split(",")) == 301
        assert logged.params["tool"] == "biopython" and logged.params["email"] == EMAIL


def test_efetch_by_history_in_batches(server):
    search = esearch(server, term="pml", usehistory="y", retmax=100)
    batches = [efetch(server, WebEnv=search["WebEnv"], query_key=search["QueryKey"], retstart=start, retmax=10)
               for start in range(0, 46, 10)]
    assert [len(b["PubmedArticle"]) for b in batches] == [10, 10, 10, 10, 6]
    assert [p for b in batches for p in pmids(b)] == search["IdList"]
    whole = efetch(server, webenv=search["WebEnv"], query_key=search["QueryKey"])   # lower-case names work
    assert pmids(whole) == search["IdList"]


def test_efetch_history_errors_are_http_400_with_efetch_error_xml(server):
    unknown = http_error(server, "efetch.fcgi", {"db": "pubmed", "WebEnv": "MCID_nope", "query_key": "1",
                                                 "retstart": 0, "retmax": 5})
    assert unknown.code == 400
    message = ET.fromstring(unknown.read()).findtext("ERROR")
    assert message.startswith("Cannot retrieve history data. query_key: 1, WebEnv: MCID_nope")
    search = esearch(server, term="pml", usehistory="y", retmax=0)
    bad_key = http_error(server, "efetch.fcgi", {"db": "pubmed", "WebEnv": search["WebEnv"], "query_key": "7"})
    assert bad_key.code == 400
    past = http_error(server, "efetch.fcgi", {"db": "pubmed", "WebEnv": search["WebEnv"], "query_key": "1",
                                              "retstart": 46, "retmax": 10})
    assert "OUT OF RANGE" in ET.fromstring(past.read()).findtext("ERROR")


def test_efetch_history_limit_option():
    with running(synthetic_records(30), history_limit=20) as srv:
        search = esearch(srv, term="*", usehistory="y", retmax=0)
        key = {"WebEnv": search["WebEnv"], "query_key": "1"}
        assert len(efetch(srv, retstart=15, retmax=10, **key)["PubmedArticle"]) == 5   # clamped at 20
        refused = http_error(srv, "efetch.fcgi", dict(key, db="pubmed", retstart=20, retmax=10))
        assert refused.code == 400 and "cannot be larger than 19" in ET.fromstring(refused.read()).findtext("ERROR")


def test_epost_then_efetch(server):
    posted = read(server, "epost.fcgi", {"db": "pubmed", "id": "90000002,90000001,abc"})
    assert posted["QueryKey"] == "1" and posted["WebEnv"].startswith("MCID_")
    assert posted["InvalidIdList"] == ["abc"]
    assert pmids(efetch(server, WebEnv=posted["WebEnv"], query_key="1")) == ["90000002", "90000001"]


def test_records_change_between_calls(fresh):
    before = pmids(efetch(fresh, id="90000001"))
    revised = fresh.revise("90000001", title="A corrected title.", modified=date(2030, 5, 1))
    assert before == ["90000001"] and revised.version == 2
    article = efetch(fresh, id="90000001")["PubmedArticle"][0]["MedlineCitation"]
    assert article["PMID"].attributes["Version"] == "2"
    assert article["Article"]["ArticleTitle"] == "A corrected title."
    assert esearch(fresh, term="pml", datetype="mdat", mindate="2030", maxdate="2030")["IdList"] == ["90000001"]
    fresh.add(make_record(90000100, pub_date=date(2026, 1, 2)))
    fresh.records["90000101"] = make_record(90000101, title="Nothing to do with it.", abstract="None.")
    assert esearch(fresh, term="pml", retmax=1)["IdList"] == ["90000100"]
    assert esearch(fresh, term="pml", retmax=0)["Count"] == "47"
    fresh.remove("90000100")
    assert esearch(fresh, term="pml", retmax=0)["Count"] == "46"


# -- faults ---------------------------------------------------------------------------------------------

def _expect_fault(srv: EutilsServer, kind: str, params: dict[str, Any], whole: bytes) -> None:
    """One esearch answered by fault ``kind``: check it looks the way that fault should."""
    if kind in {"429", "500", "502", "503"}:
        error = http_error(srv, "esearch.fcgi", params)
        assert error.code == int(kind)
        if kind == "429":
            assert error.headers["Retry-After"] == "0"
            assert json.loads(error.read()) == {"error": "API rate limit exceeded", "api-key": "127.0.0.1",
                                                "count": "4", "limit": "3"}
        else:
            assert error.headers["Content-Type"].startswith("text/html")
    elif kind == "slow":
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            body_of(srv, "esearch.fcgi", params, timeout=0.1)
    elif kind in {"truncated", "invalid"}:
        _, response = request(srv, "esearch.fcgi", params)
        with response:
            body = response.read()
            assert response.status == 200 and int(response.headers["Content-Length"]) == len(body)
        if kind == "truncated":
            assert len(body) == len(whole) // 2 and whole.startswith(body)
            with pytest.raises(Entrez.Parser.CorruptedXMLError):
                Entrez.read(io.BytesIO(body))
        else:
            assert response.headers["Content-Type"].startswith("text/html")
            with pytest.raises(Entrez.Parser.NotXMLError):
                Entrez.read(io.BytesIO(body))
    elif kind == "drop":
        with pytest.raises(http.client.RemoteDisconnected):
            body_of(srv, "esearch.fcgi", params)
    elif kind == "reset":
        with pytest.raises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
            body_of(srv, "esearch.fcgi", params)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_happens_exactly_the_injected_number_of_times(fresh, kind):
    params = {"db": "pubmed", "term": "pml", "retmax": 3}
    whole = body_of(fresh, "esearch.fcgi", params)
    fresh.reset_log()
    fresh.inject(kind, times=2, endpoint="esearch.fcgi")
    assert len(efetch(fresh, id="90000001")["PubmedArticle"]) == 1          # other endpoints unaffected
    _expect_fault(fresh, kind, params, whole)
    _expect_fault(fresh, kind, params, whole)
    assert fresh.pending_faults() == []
    assert body_of(fresh, "esearch.fcgi", params) == whole                  # and then it stops
    assert [r.fault for r in fresh.requests_to("esearch")] == [kind, kind, None]
    assert fresh.requests_to("efetch")[0].fault is None


def test_slow_fault_answers_after_the_delay(fresh):
    fresh.slow_seconds = 0.3
    fresh.inject("slow")
    started = time.monotonic()
    assert esearch(fresh, term="pml", retmax=0)["Count"] == "46"
    assert time.monotonic() - started >= 0.3


def test_faults_are_thread_safe(fresh):
    fresh.inject("503", times=5)
    statuses: list[int] = []

    def one() -> None:
        try:
            body_of(fresh, "esearch.fcgi", {"db": "pubmed", "term": "pml", "retmax": 0})
            statuses.append(200)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 15 + [503] * 5
    assert sum(r.fault == "503" for r in fresh.requests) == 5


def test_inject_after_lets_requests_through_first(fresh):
    fresh.inject("500", times=2, endpoint="efetch", after=1)
    fresh.inject("502", times=1, endpoint="efetch")
    codes = []
    for _ in range(5):
        try:
            body_of(fresh, "efetch.fcgi", {"db": "pubmed", "id": "90000001"})
            codes.append(200)
        except urllib.error.HTTPError as exc:
            codes.append(exc.code)
    assert codes == [502, 500, 500, 200, 200]


def test_log_entries_read_like_dicts_and_say_what_was_sent(fresh):
    search = esearch(fresh, term="pml", retmax=3)
    efetch(fresh, id="90000002,1,90000001")
    fresh.inject("truncated", endpoint="efetch")
    body_of(fresh, "efetch.fcgi", {"db": "pubmed", "id": "90000001"})
    first, second, third = fresh.requests
    assert first["endpoint"] == "esearch" and first["sent"] == search["IdList"]
    assert second.get("sent") == ["90000002", "90000001"] and second["params"]["id"] == "90000002,1,90000001"
    assert (third["status"], third["fault"], third.get("sent")) == (200, "truncated", [])
    assert third.get("nothing", "default") == "default" and "sent" in third.keys()
    with pytest.raises(KeyError):
        third["nothing"]


def test_inject_rejects_unknown_kinds(fresh):
    with pytest.raises(ValueError):
        fresh.inject("418")
    with pytest.raises(ValueError):
        fresh.inject("500", endpoint="esummary")


# -- rate limit ----------------------------------------------------------------------------------------

def test_rate_limit_like_ncbi():
    with running(records_from_demo(), enforce_rate=3.0) as srv:
        codes = []
        for _ in range(5):
            try:
                body_of(srv, "esearch.fcgi", {"db": "pubmed", "term": "pml", "retmax": 0})
                codes.append(200)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
                if exc.code == 429:
                    answer = json.loads(exc.read())
        assert codes == [200, 200, 200, 429, 429]
        assert answer["error"] == "API rate limit exceeded" and answer["limit"] == "3"
        assert [r.fault for r in srv.requests] == [None] * 3 + ["rate"] * 2
        # an api_key has its own budget of 10 a second
        keyed = []
        for _ in range(11):
            try:
                body_of(srv, "esearch.fcgi", {"db": "pubmed", "term": "pml", "retmax": 0, "api_key": "k1"})
                keyed.append(200)
            except urllib.error.HTTPError as exc:
                keyed.append(exc.code)
        assert keyed == [200] * 10 + [429]
        # a client that keeps to 3 a second (slots exactly 1/3 s apart) is never refused
        time.sleep(1.05)
        srv.reset_log()
        start = time.monotonic()
        for k in range(5):
            time.sleep(max(0.0, start + k / 3 - time.monotonic()))
            assert esearch(srv, term="pml", retmax=0)["Count"] == "46"
        assert [r.fault for r in srv.requests] == [None] * 5


# -- lifecycle and other clients -------------------------------------------------------------------------

def test_url_lifecycle_and_log():
    srv = EutilsServer(synthetic_records(3))
    with srv:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/entrez/eutils/", srv.url)
        port = srv.port
        esearch(srv, term="pml")
        assert len(srv.requests) == 1 and srv.requests[0].endpoint == "esearch"
        assert srv.requests[0].params["term"] == "pml" and srv.requests[0].status == 200
        srv.reset_log()
        assert srv.requests == []
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(srv.url + "esummary.fcgi?db=pubmed&id=1", timeout=5)
        assert missing.value.code == 404
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/entrez/eutils/esearch.fcgi?term=pml", timeout=2)


def test_httpx_keep_alive_get_and_form_post(server):
    with httpx.Client(base_url=server.url, timeout=5) as client:
        first = client.get("esearch.fcgi", params={"db": "pubmed", "term": "pml", "retmax": 2})
        second = client.post("efetch.fcgi", data={"db": "pubmed", "id": ",".join(Entrez.read(io.BytesIO(first.content))["IdList"])})
        assert first.status_code == second.status_code == 200
        assert pmids(Entrez.read(io.BytesIO(second.content))) == ["90000046", "90000045"]
