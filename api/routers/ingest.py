"""Write endpoints: they need the API key of the environment (PMLKG_API_KEY), never a default."""

from __future__ import annotations

import io
import threading

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from pmlkg.api.deps import AppSettings, Store, require_api_key
from pmlkg.api.errors import ApiError, InvalidParameter
from pmlkg.api.models import DuplicateRecord, ErrorResponse, IngestResult
from pmlkg.ingest.pubmed import PubmedBatch, PubmedParseError, parse_pubmed_xml

router = APIRouter(tags=["write"], responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
                                              408: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
                                              422: {"model": ErrorResponse},
                                              503: {"model": ErrorResponse}})
_extractor_lock = threading.Lock()


def _extractor(request: Request):  # noqa: ANN202 - extraction.extractor.Extractor, imported lazily
    """One extraction pipeline per app, loaded on the first ingest (spaCy takes seconds to load)."""
    with _extractor_lock:
        if getattr(request.app.state, "extractor", None) is None:
            from pmlkg.extraction.extractor import Extractor
            request.app.state.extractor = Extractor()
        return request.app.state.extractor


@router.post("/ingest", response_model=IngestResult, dependencies=[Depends(require_api_key)],
             openapi_extra={"requestBody": {"required": True, "content": {"application/xml": {
                 "schema": {"type": "string", "format": "binary"}}},
                 "description": "PubMed XML (a PubmedArticleSet, as EFetch returns it)"}})
async def post_ingest(request: Request, store: Store, settings: AppSettings) -> IngestResult:
    """Parse PubMed XML, extract, and load it (idempotent: unchanged articles are skipped).

    Parsing, extraction and loading run in worker threads: a 10 MB document takes seconds to
    parse, and on the event loop those seconds stalled every other request of the server.
    """
    from pmlkg.build import ingest_batch

    body = await request.body()  # read whole, within size and time, by api.limits.BodyLimit
    if not body.strip():
        raise InvalidParameter("body", "empty", "the body is empty: send PubMed XML", location="body")
    try:
        batch: PubmedBatch = await run_in_threadpool(parse_pubmed_xml, io.BytesIO(body), "POST /ingest")
    except PubmedParseError as exc:
        raise ApiError(422, "invalid_xml", str(exc),
                       [{"field": "body", "location": "body", "problem": "not PubMed XML"}]) from exc
    extractor = await run_in_threadpool(_extractor, request)
    report = await run_in_threadpool(ingest_batch, batch, store, settings.data_dir, extractor=extractor)
    return IngestResult(articles_parsed=report.articles_parsed, articles_loaded=report.articles_loaded,
                        articles_unchanged=report.articles_unchanged, cases=report.patients,
                        skipped_records=report.skipped_records,
                        duplicates=[DuplicateRecord.model_validate(d.as_dict()) for d in report.duplicates])
