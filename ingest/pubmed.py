"""PubmedArticleSet XML -> :class:`~ingest.records.Article`, through Biopython's Entrez parser.

Biopython validates against the NLM DTDs it bundles, so parsing works offline. A file is parsed
whole before any record is returned: a truncated or malformed file yields an error and no partial
records, which is what lets the loader promise "nothing partial from a bad file".
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from Bio import Entrez

from ingest.records import AbstractSection, Article, Author, Chemical, MeshHeading

log = logging.getLogger(__name__)

# Inline markup that PubMed keeps inside titles and abstracts (Biopython returns it verbatim).
_INLINE_TAG = re.compile(r"</?(?:i|b|u|sup|sub|mml:[a-z]+)(?:\s[^>]*)?>", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_MISSING_DTD = re.compile(r"Failed to access (pubmed_\d{6}\.dtd)")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}


class PubmedParseError(ValueError):
    """A PubMed XML document could not be parsed; says which source and why."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: not a readable PubMed XML file ({reason})")
        self.source = source
        self.reason = reason


@dataclass(slots=True)
class PubmedBatch:
    """Everything one PubMed XML document says: records to upsert and PMIDs to delete."""

    articles: list[Article] = field(default_factory=list)
    deleted_pmids: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason per record not turned into an Article


def parse_pubmed_xml(handle: IO[bytes], source: str = "<stream>") -> PubmedBatch:
    """Parse a whole PubmedArticleSet; raise :class:`PubmedParseError` on anything unreadable."""
    data = handle.read()
    try:
        parsed = _entrez_read(data)
    except Exception as exc:  # Biopython raises several unrelated types for bad XML
        raise PubmedParseError(source, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(parsed, Mapping) or "PubmedArticle" not in parsed:
        raise PubmedParseError(source, "no PubmedArticleSet root element")
    batch = PubmedBatch()
    for record in parsed.get("PubmedArticle", []):
        try:
            batch.articles.append(article_from_entrez(record))
        except (KeyError, TypeError, ValueError) as exc:
            batch.skipped.append(f"{source}: PubmedArticle skipped ({exc!r})")
    for book in parsed.get("PubmedBookArticle", []):
        pmid = str(book.get("BookDocument", {}).get("PMID", "?"))
        batch.skipped.append(f"{source}: PubmedBookArticle {pmid} skipped (books are not case reports)")
    for deleted in parsed.get("DeleteCitation", []) or []:
        batch.deleted_pmids.extend(str(p) for p in _as_list(deleted.get("PMID") if isinstance(deleted, Mapping) else deleted))
    for reason in batch.skipped:
        log.info(reason)
    return batch


def _entrez_read(data: bytes) -> Any:
    """Entrez.read, offline even for a DTD newer than Biopython's bundle.

    Biopython fetches a DTD it does not bundle (e.g. a future ``pubmed_260101.dtd``) from NCBI,
    even with ``validate=False``. Offline, that fails; the document is then read against
    ``PMLKG_DTD_DIR`` (if it holds that DTD) or against the newest bundled PubMed DTD, which
    parses every element the older DTDs define.
    """
    try:
        return Entrez.read(io.BytesIO(data), validate=False)
    except RuntimeError as exc:
        missing = _MISSING_DTD.search(str(exc))
        if not missing:
            raise
    local = os.environ.get("PMLKG_DTD_DIR")
    if local and (Path(local) / missing.group(1)).exists():
        Entrez.local_dtd_dir = local
        return Entrez.read(io.BytesIO(data), validate=False)
    newest = _newest_bundled_pubmed_dtd()
    log.warning("%s is not bundled with Biopython and cannot be fetched; reading with %s instead",
                missing.group(1), newest)
    head, body = data[:2048], data[2048:]
    head = re.sub(rb"pubmed_\d{6}\.dtd", newest.encode("ascii"), head, count=1)
    return Entrez.read(io.BytesIO(head + body), validate=False)


def _newest_bundled_pubmed_dtd() -> str:
    bundled = Path(Entrez.__file__).parent / "DTDs"
    return max(p.name for p in bundled.glob("pubmed_*.dtd"))


def article_from_entrez(record: Mapping[str, Any]) -> Article:
    """Map one Entrez ``PubmedArticle`` dict onto an :class:`Article`."""
    citation = record["MedlineCitation"]
    art = citation["Article"]
    pubmed_data = record.get("PubmedData", {})
    pmid_el = citation["PMID"]
    journal = art.get("Journal", {})
    year, iso_date = _publication_date(journal.get("JournalIssue", {}).get("PubDate", {}), art.get("ArticleDate", []))
    ids = {el.attributes.get("IdType"): str(el) for el in pubmed_data.get("ArticleIdList", [])}
    doi = ids.get("doi") or next(
        (str(e) for e in art.get("ELocationID", []) if e.attributes.get("EIdType") == "doi"), None)
    notices = tuple(
        f"{c.attributes.get('RefType')}:{c.get('PMID', c.get('RefSource', ''))}"
        for c in citation.get("CommentsCorrectionsList", [])
        if c.attributes.get("RefType") in {"RetractionIn", "ErratumIn", "ExpressionOfConcernIn", "RetractionOf"}
    )
    return Article(
        pmid=str(pmid_el),
        version=int(pmid_el.attributes.get("Version", 1)),
        title=clean_text(str(art.get("ArticleTitle", "") or art.get("VernacularTitle", ""))),
        abstract=tuple(_abstract_sections(art.get("Abstract", {}))),
        journal=str(journal.get("ISOAbbreviation") or journal.get("Title") or "") or None,
        journal_title=str(journal.get("Title", "")) or None,
        year=year,
        pub_date=iso_date,
        doi=doi,
        pmcid=ids.get("pmc"),
        authors=tuple(_authors(art.get("AuthorList", []))),
        mesh=tuple(_mesh(citation.get("MeshHeadingList", []))),
        publication_types=tuple(str(p) for p in art.get("PublicationTypeList", [])),
        chemicals=tuple(
            Chemical(name=str(c["NameOfSubstance"]), ui=c["NameOfSubstance"].attributes.get("UI"),
                     registry_number=str(c.get("RegistryNumber", "")) or None)
            for c in citation.get("ChemicalList", [])
        ),
        keywords=tuple(clean_text(str(k)) for kl in citation.get("KeywordList", []) for k in kl),
        languages=tuple(str(lang) for lang in art.get("Language", [])),
        retracted=any(n.startswith("RetractionIn:") for n in notices)
        or "Retracted Publication" in {str(p) for p in art.get("PublicationTypeList", [])},
        notices=notices,
    )


def clean_text(text: str) -> str:
    """Drop inline markup and collapse runs of spaces; newlines are kept (offsets stay meaningful)."""
    return _SPACE.sub(" ", _INLINE_TAG.sub("", text)).strip()


def _abstract_sections(abstract: Mapping[str, Any]) -> Iterable[AbstractSection]:
    for el in abstract.get("AbstractText", []):
        attrs = getattr(el, "attributes", {})
        text = clean_text(str(el))
        if text:
            yield AbstractSection(text=text, label=attrs.get("Label"), category=attrs.get("NlmCategory"))


def _authors(author_list: Iterable[Mapping[str, Any]]) -> Iterable[Author]:
    for a in author_list:
        orcid = next((str(i) for i in a.get("Identifier", []) if i.attributes.get("Source") == "ORCID"), None)
        yield Author(
            last_name=a.get("LastName"),
            fore_name=a.get("ForeName"),
            initials=a.get("Initials"),
            collective_name=a.get("CollectiveName"),
            orcid=orcid.rsplit("/", 1)[-1] if orcid else None,
            affiliations=tuple(str(i["Affiliation"]) for i in a.get("AffiliationInfo", []) if i.get("Affiliation")),
        )


def _mesh(headings: Iterable[Mapping[str, Any]]) -> Iterable[MeshHeading]:
    for h in headings:
        d = h["DescriptorName"]
        yield MeshHeading(
            descriptor=str(d),
            ui=d.attributes.get("UI"),
            major_topic=d.attributes.get("MajorTopicYN") == "Y"
            or any(q.attributes.get("MajorTopicYN") == "Y" for q in h.get("QualifierName", [])),
            qualifiers=tuple(str(q) for q in h.get("QualifierName", [])),
        )


def _publication_date(pub_date: Mapping[str, Any], article_dates: Iterable[Mapping[str, Any]]) -> tuple[int | None, str | None]:
    """Year and ISO date from PubDate, falling back to MedlineDate ("2019 Jan-Feb") and ArticleDate."""
    year_s = pub_date.get("Year")
    month = _month(pub_date.get("Month"))
    day = pub_date.get("Day")
    if not year_s and pub_date.get("MedlineDate"):
        m = re.match(r"\s*(\d{4})(?:\s+([A-Za-z]{3}))?", str(pub_date["MedlineDate"]))
        if m:
            year_s, month, day = m.group(1), _month(m.group(2)), None
    if not year_s:
        for ad in article_dates:
            if ad.get("Year"):
                year_s, month, day = ad["Year"], _month(ad.get("Month")), ad.get("Day")
                break
    if not year_s:
        return None, None
    year = int(year_s)
    iso = f"{year:04d}"
    if month:
        iso += f"-{month:02d}"
        if day and str(day).isdigit():
            iso += f"-{int(day):02d}"
    return year, iso


def _month(value: Any) -> int | None:
    if value is None:
        return None
    s = str(value).strip()
    if s.isdigit():
        return int(s) if 1 <= int(s) <= 12 else None
    return _MONTHS.get(s[:3].lower())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
