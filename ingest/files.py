"""Local PubMed XML: files, folders, gzip, and the demo corpus shipped with the package.

Each file is parsed on its own so one bad file is reported by name and the others still load;
within a file, a bad record (a PMID that is not a PubMed id) is named by its position and the
other records still load (``ingest.pubmed.parse_pubmed_xml``).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pmlkg.ingest.pubmed import PubmedBatch, PubmedParseError, parse_pubmed_xml

DEMO_CORPUS = Path(__file__).resolve().parent / "demo" / "pml_pid_demo.xml"
XML_SUFFIXES = (".xml", ".xml.gz")


@dataclass(slots=True)
class FileResult:
    path: Path
    batch: PubmedBatch | None = None
    error: str | None = None


def find_xml_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their PubMed XML files (sorted, so runs are reproducible)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(XML_SUFFIXES)))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def read_file(path: Path) -> FileResult:
    """Parse one file; errors are returned, not raised, so a caller can go on with the others."""
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            return FileResult(path, batch=parse_pubmed_xml(handle, source=str(path)))
    except PubmedParseError as exc:
        return FileResult(path, error=str(exc))
    except (OSError, EOFError) as exc:  # unreadable file, bad gzip stream
        return FileResult(path, error=f"{path}: cannot be read ({exc})")


def read_files(paths: Iterable[Path]) -> Iterator[FileResult]:
    for path in find_xml_files(paths):
        yield read_file(path)
