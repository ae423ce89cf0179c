"""PubmedArticleSet XML -> :class:`~ingest.records.Article`, through Biopython's Entrez parser.

Biopython validates against the NLM DTDs it bundles, so parsing works offline. A file is parsed
whole before any record is returned: a truncated or malformed file yields an error and no partial
records, which is what lets the loader promise "nothing partial from a bad file".

Parsing never leaves the machine and reads no file the document names. Biopython, left to itself,
downloads a DTD it does not bundle and resolves any external entity a document declares (a
relative system id is joined to NCBI's https URL, so ``<!ENTITY x SYSTEM "x.ent">`` is a network
fetch); :class:`_OfflineHandler` resolves DTDs only from the bundled DTDs (and ``PMLKG_DTD_DIR``),
by file name, and refuses every entity declared by the document itself. PubMed XML declares none.

Within a document, a record whose PMID is not a PubMed id is refused and named by its position;
the others still load. A PMID given twice keeps one record (see :func:`_dedupe`) and says so.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from Bio.Entrez.Parser import DataHandler

from pmlkg.ingest.records import (
    AbstractSection,
    Article,
    Author,
    BadPmid,
    Chemical,
    MeshHeading,
    valid_pmid,
)

log = logging.getLogger(__name__)

# Inline markup that PubMed keeps inside titles and abstracts (Biopython returns it verbatim).
_INLINE_TAG = re.compile(r"</?(?:i|b|u|sup|sub|mml:[a-z]+)(?:\s[^>]*)?>", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_PUBMED_DTD = re.compile(r"pubmed_\d{6}\.dtd")
_SHOWN = 10  # records a duplicate's message lists
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}


class PubmedParseError(ValueError):
    """A PubMed XML document could not be parsed; says which source and why."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: not a readable PubMed XML file ({reason})")
        self.source = source
        self.reason = reason


class ExternalEntityRefused(ValueError):
    """The document declares an entity or names an external resource that is not a bundled DTD."""


@dataclass(frozen=True, slots=True)
class DuplicatePmid:
    """One PMID given by several records of one document, and the record kept.

    ``records`` are 1-based positions among the document's ``PubmedArticle`` elements, with the
    ``<PMID Version>`` of each in ``versions``; ``kept`` is the position of the record loaded.
    """

    source: str
    pmid: str
    records: tuple[int, ...]
    versions: tuple[int, ...]
    kept: int

    def message(self) -> str:
        """One line, whatever the count: the first ``_SHOWN`` records, then how many more."""
        shown = [f"#{p} (version {v})" for p, v in zip(self.records[:_SHOWN], self.versions, strict=False)]
        more = len(self.records) - _SHOWN
        where = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
        return f"{self.source}: PMID {self.pmid} is given by {len(self.records)} records ({where}); kept #{self.kept}"

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "pmid": self.pmid, "records": list(self.records),
                "versions": list(self.versions), "kept": self.kept, "message": self.message()}


@dataclass(slots=True)
class PubmedBatch:
    """Everything one PubMed XML document says: records to upsert and PMIDs to delete."""

    articles: list[Article] = field(default_factory=list)
    deleted_pmids: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason per record not turned into an Article
    duplicates: list[DuplicatePmid] = field(default_factory=list)  # PMIDs given twice; one record kept


def parse_pubmed_xml(handle: IO[bytes], source: str = "<stream>") -> PubmedBatch:
    """Parse a whole PubmedArticleSet; raise :class:`PubmedParseError` on anything unreadable.

    A record that cannot become an Article (a bad PMID, a missing citation) is skipped with its
    position named, so one bad record never costs the others.
    """
    data = handle.read()
    try:
        parsed = _entrez_read(data)
    except Exception as exc:  # Biopython raises several unrelated types for bad XML
        raise PubmedParseError(source, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(parsed, Mapping) or "PubmedArticle" not in parsed:
        raise PubmedParseError(source, "no PubmedArticleSet root element")
    batch = PubmedBatch()
    found: list[tuple[int, Article]] = []
    for position, record in enumerate(parsed.get("PubmedArticle", []), start=1):
        try:
            found.append((position, article_from_entrez(record)))
        except BadPmid as exc:
            batch.skipped.append(f"{source}: PubmedArticle #{position} refused ({exc})")
        except (KeyError, TypeError, ValueError) as exc:
            batch.skipped.append(f"{source}: PubmedArticle #{position} skipped ({exc!r})")
    batch.articles, batch.duplicates = _dedupe(found, source)
    for position, book in enumerate(parsed.get("PubmedBookArticle", []), start=1):
        pmid = str(book.get("BookDocument", {}).get("PMID", "?"))[:40]
        batch.skipped.append(f"{source}: PubmedBookArticle #{position} ({pmid!r}) skipped "
                             "(books are not case reports)")
    position = 0
    for deleted in parsed.get("DeleteCitation", []) or []:
        for raw in _as_list(deleted.get("PMID") if isinstance(deleted, Mapping) else deleted):
            position += 1
            try:
                batch.deleted_pmids.append(valid_pmid(raw))
            except BadPmid as exc:
                batch.skipped.append(f"{source}: DeleteCitation PMID #{position} refused ({exc})")
    for reason in batch.skipped:
        log.info(reason)
    for duplicate in batch.duplicates:
        log.warning(duplicate.message())
    return batch


def _dedupe(found: Sequence[tuple[int, Article]], source: str) -> tuple[list[Article], list[DuplicatePmid]]:
    """One record per PMID: the highest ``<PMID Version>``, and of equal versions the last one.

    PubMed versions a record whose content was revised under the same PMID (``Version="2"``), so
    the highest version is the newest text; among equal versions the document's order decides, as
    an update file lists later revisions after earlier ones. The others are reported, not loaded:
    loading both would have the second silently overwrite the first.
    """
    by_pmid: dict[str, list[tuple[int, Article]]] = {}
    for position, article in found:
        by_pmid.setdefault(article.pmid, []).append((position, article))
    kept: list[tuple[int, Article]] = []
    duplicates: list[DuplicatePmid] = []
    for pmid, records in by_pmid.items():
        winner = max(records, key=lambda r: (r[1].version, r[0]))
        kept.append(winner)
        if len(records) > 1:
            duplicates.append(DuplicatePmid(source=source, pmid=pmid, records=tuple(p for p, _ in records),
                                            versions=tuple(a.version for _, a in records), kept=winner[0]))
    kept.sort(key=lambda r: r[0])
    return [a for _, a in kept], duplicates


class _OfflineHandler(DataHandler):
    """Bio.Entrez's parser with every external resource resolved locally or refused.

    Bio.Entrez (1.88) resolves each external reference in ``externalEntityRefHandler``: from its
    DTD folders by file name, else by downloading it, joining a relative system id to NCBI's URL;
    it also downloads an XML Schema named by ``xsi:noNamespaceSchemaLocation``. Here:

    * the DTD of the DOCTYPE, and the modules and entity sets it includes (parameter entities,
      ``context is None``), are read from the bundled DTDs or ``PMLKG_DTD_DIR`` by file name: the
      system id is never opened, so ``file:///etc/passwd`` reads nothing and a URL fetches nothing;
    * a PubMed DTD newer than the bundle (``pubmed_990101.dtd``) is read as the newest bundled
      PubMed DTD, which parses every element the older DTDs define;
    * anything else (an external general entity in the content, an unknown DTD file, a schema) is
      refused, and so is any entity declared by the document itself, outside the trusted DTDs:
      PubMed XML declares none, and refusing them also refuses entity-expansion bombs.
    """

    def __init__(self, dtd_dirs: Sequence[Path]) -> None:
        super().__init__(validate=False, escape=False, ignore_errors=False)
        self._dtd_dirs = tuple(dtd_dirs)
        self._in_dtd = 0  # > 0 while a trusted local DTD file is being read
        self.parser.EntityDeclHandler = self._entity_declared

    def externalEntityRefHandler(self, context: str | None, base: str | None, system_id: str | None,
                                 public_id: str | None) -> int:
        if context is not None:
            raise ExternalEntityRefused(f"external entity {system_id!r} refused: pmlkg reads no external entities")
        path = self._local_dtd(system_id or "")
        parser = self.parser.ExternalEntityParserCreate(context)
        parser.ElementDeclHandler = self.elementDecl
        self._in_dtd += 1
        try:
            with path.open("rb") as handle:
                parser.ParseFile(handle)
        finally:
            self._in_dtd -= 1
        self.parser.StartElementHandler = self.startElementHandler
        return 1

    def schemaHandler(self, name: str, attrs: Mapping[str, str]) -> None:
        raise ExternalEntityRefused("an XML Schema reference is refused: PubMed XML uses its DTD")

    def _entity_declared(self, name: str, is_parameter: bool, value: str | None, base: str | None,
                         system_id: str | None, public_id: str | None, notation: str | None) -> None:
        if not self._in_dtd:
            kind = "external " if system_id else ""
            raise ExternalEntityRefused(f"the document declares the {kind}entity {name!r}: refused, PubMed XML "
                                        "declares none")

    def _local_dtd(self, system_id: str) -> Path:
        name = os.path.basename(urlsplit(system_id).path)
        for folder in self._dtd_dirs:
            candidate = folder / name
            if name and candidate.is_file():
                return candidate
        if _PUBMED_DTD.fullmatch(name):
            newest = _newest_bundled_pubmed_dtd()
            log.warning("%s is not bundled with Biopython and is never fetched; reading with %s instead",
                        name, newest.name)
            return newest
        raise ExternalEntityRefused(f"external DTD {system_id!r} refused: not a bundled DTD, and pmlkg fetches none")


def _dtd_dirs() -> list[Path]:
    """``PMLKG_DTD_DIR`` first (DTDs newer than the bundle, placed there by hand), then Biopython's
    bundled DTDs. Not Biopython's per-user download cache: what it holds was fetched from a URL."""
    local = os.environ.get("PMLKG_DTD_DIR")
    return [*([Path(local)] if local else []), Path(DataHandler.global_dtd_dir)]


def _entrez_read(data: bytes) -> Any:
    """The Entrez parse of ``data``, offline (see :class:`_OfflineHandler`)."""
    return _OfflineHandler(_dtd_dirs()).read(io.BytesIO(data))


def _newest_bundled_pubmed_dtd() -> Path:
    bundled = Path(DataHandler.global_dtd_dir)
    return max(bundled.glob("pubmed_*.dtd"), key=lambda p: p.name)


def article_from_entrez(record: Mapping[str, Any]) -> Article:
    """Map one Entrez ``PubmedArticle`` dict onto an :class:`Article`; :class:`BadPmid` for a bad PMID."""
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
        pmid=valid_pmid(pmid_el),
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
