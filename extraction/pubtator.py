"""PubTator files (``pmid|t|title``, ``pmid|a|abstract``, tab-separated mentions) as documents.

Offsets are 0-based into ``title + " " + abstract`` (end exclusive), the convention of every
corpus in ../shared/corpora. Corpus entity types are mapped onto the project's three NER labels;
other types (species, variants, cell lines, family names...) are ignored, as the field's
evaluations of these corpora do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LABEL_MAP = {
    "Chemical": "DRUG", "ChemicalEntity": "DRUG",
    "Disease": "DISEASE", "DiseaseOrPhenotypicFeature": "DISEASE", "SpecificDisease": "DISEASE",
    "DiseaseClass": "DISEASE", "CompositeMention": "DISEASE", "Modifier": "DISEASE",
    "Gene": "GENE", "GeneOrGeneProduct": "GENE",
}


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    text: str
    type: str  # the corpus type
    label: str | None  # DRUG | DISEASE | GENE, None when not mapped
    ids: tuple[str, ...] = ()


@dataclass(slots=True)
class PubtatorDoc:
    pmid: str
    title: str = ""
    abstract: str = ""
    mentions: list[Mention] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}" if self.abstract else self.title


def read_pubtator(path: Path) -> Iterator[PubtatorDoc]:
    doc: PubtatorDoc | None = None
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            if "|t|" in line[:20] and line.split("|", 2)[1] == "t":
                if doc is not None:
                    yield doc
                pmid, _, title = line.split("|", 2)
                doc = PubtatorDoc(pmid=pmid, title=title)
            elif "|a|" in line[:20] and line.split("|", 2)[1] == "a" and doc is not None:
                doc.abstract = line.split("|", 2)[2]
            elif doc is not None:
                parts = line.split("\t")
                if len(parts) >= 5 and parts[1].isdigit() and parts[2].isdigit():
                    kind = parts[4]
                    ids = tuple(i for i in (parts[5].replace(",", ";").split(";") if len(parts) > 5 else []) if i and i != "-")
                    doc.mentions.append(Mention(int(parts[1]), int(parts[2]), parts[3], kind, LABEL_MAP.get(kind), ids))
    if doc is not None:
        yield doc


def gold_spans(doc: PubtatorDoc) -> set[tuple[int, int, str]]:
    """Mapped mentions whose offsets match their text (a few corpus offsets do not)."""
    text = doc.text
    return {(m.start, m.end, m.label) for m in doc.mentions
            if m.label and text[m.start:m.end] == m.text}
