"""Typed article records: the one shape every later stage reads.

The parser fills these from PubMed XML; extraction, the graph loader and the API never see the
XML. Evidence offsets in the graph refer to :meth:`Article.text`, so that function is the single
definition of "the document" for the whole pipeline.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

# A PMID is a positive integer written in canonical decimal: 1 to 9 ASCII digits, no leading zero.
# PubMed's ids are below 10^8 today; nine digits leave room and match the API's path patterns.
# Leading zeros are refused because "0123" and "123" would otherwise be two keys for one article.
PMID_RULE = "1 to 9 digits, no leading zero"
_PMID = re.compile(r"[1-9][0-9]{0,8}")


class BadPmid(ValueError):
    """A record's PMID is not a PubMed id; the record is refused, never loaded under that key."""


def valid_pmid(raw: object) -> str:
    """The PMID as loaded, or :class:`BadPmid`.

    Every key of the graph hangs off the PMID (cases are ``<pmid>:<n>``, evidence ``<pmid>:...``),
    so a record whose PMID is empty, signed, or text (``abc' OR 1=1 //``, ``../../etc``) is refused
    where records are made, and no later stage has to wonder. Whitespace around the text of the
    element (XML indentation) is not part of it.
    """
    text = str(raw).strip()
    if not _PMID.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise BadPmid(f"PMID {shown!r} is not a PubMed id ({PMID_RULE})")
    return text


@dataclass(frozen=True, slots=True)
class AbstractSection:
    text: str
    label: str | None = None  # e.g. "CASE PRESENTATION"
    category: str | None = None  # NlmCategory, e.g. "RESULTS"


@dataclass(frozen=True, slots=True)
class Author:
    last_name: str | None
    fore_name: str | None = None
    initials: str | None = None
    collective_name: str | None = None
    orcid: str | None = None
    affiliations: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        if self.collective_name:
            return self.collective_name
        return " ".join(p for p in (self.last_name, self.initials) if p)


@dataclass(frozen=True, slots=True)
class MeshHeading:
    descriptor: str
    ui: str | None = None
    major_topic: bool = False
    qualifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chemical:
    name: str
    ui: str | None = None
    registry_number: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    pmid: str
    title: str
    version: int = 1
    abstract: tuple[AbstractSection, ...] = ()
    journal: str | None = None  # ISO abbreviation, falling back to the full title
    journal_title: str | None = None
    year: int | None = None
    pub_date: str | None = None  # ISO date, as precise as the record allows (YYYY[-MM[-DD]])
    doi: str | None = None
    pmcid: str | None = None
    authors: tuple[Author, ...] = ()
    mesh: tuple[MeshHeading, ...] = ()
    publication_types: tuple[str, ...] = ()
    chemicals: tuple[Chemical, ...] = ()
    keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    retracted: bool = False
    notices: tuple[str, ...] = field(default=())  # e.g. "RetractionIn:90000009", "ErratumIn:..."

    def text(self) -> str:
        """Title, then each abstract section on its own line: the text evidence offsets index."""
        parts = [self.title] + [s.text for s in self.abstract]
        return "\n".join(p for p in parts if p)

    @property
    def abstract_text(self) -> str:
        return "\n".join(s.text for s in self.abstract)

    @property
    def mesh_descriptors(self) -> frozenset[str]:
        return frozenset(m.descriptor for m in self.mesh)

    def digest(self) -> str:
        """Content hash: a re-fetched record with the same digest needs no reload."""
        blob = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
