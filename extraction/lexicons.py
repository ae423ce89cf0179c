"""Load the committed lexicons (``nlp_models/lexicons/*.tsv``) into typed, read-only records.

The TSVs are derived by ``nlp_models/recipe/build_lexicons.py`` (see ``SOURCES.md`` there); this
module only reads them, so it has no dependency on the packages or shared data they came from.
``Lexicons.terms()`` is the single place that decides which surface forms the dictionary matcher
sees and whether they match in exact case: symbols and abbreviations (``WAS``, ``XLA``, ``IVIG``)
exact case only, spelled-out names case-insensitively, 1-2 character strings never; a few drug
names that are also cytokine/gene names ("IFN-β", "interferon gamma") only in a therapy context.
The stream it returns also carries the curated non-entity forms (``non_entities.tsv``: organisms,
viruses, MR-spectroscopy metabolites) that the matcher and the entity merger must never keep as a
drug or gene.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pmlkg.nlp_models import lexicon_dir
from pmlkg.schema import EntityLabel

LEXICON_DIR: Path = lexicon_dir()
FILES = ("genes.tsv", "defects.tsv", "drugs.tsv", "drug_classes.tsv", "hgnc_genes.tsv", "non_entities.tsv")
MIN_TERM_CHARS = 3  # 1-2 character strings (C3, γc) are too ambiguous to match in free text

Label = EntityLabel  # the lexicons name GENE, DRUG, DRUG_CLASS and DEFECT terms (pmlkg/schema.yaml)


@dataclass(frozen=True, slots=True)
class Term:
    """One surface form for the matcher."""

    text: str
    label: str  # "GENE" | "DRUG" | "DRUG_CLASS" | "DEFECT"
    id: str  # gene symbol / drug canonical name / drug class id / defect id
    case_sensitive: bool
    curated: bool = False  # the PML/immunodeficiency vocabulary: outranks the trained models
    context: str = ""  # "" = anywhere; "therapy" = only where the text speaks of giving it (see components)


# Words after a genus that name a product made from the organism, not its species: a drug.
PRODUCT_WORDS = frozenset({"vaccine", "vaccines", "immunoglobulin", "immunoglobulins", "globulin", "antigen", "antigens",
                           "extract", "extracts", "toxoid", "lysate", "filtrate", "strain"})


def is_genus(term: str) -> bool:
    """A non-entity written as one capitalised word (``Candida``): an organism genus."""
    return " " not in term and term[:1].isupper() and term[1:].islower()


def is_species_of(text: str, genera: Mapping[str, object] | set[str]) -> bool:
    """``Candida albicans``: a genus of ``genera`` (case-folded keys) and a lower-case epithet."""
    head, _, tail = " ".join(text.split()).partition(" ")
    return (bool(tail) and " " not in tail and tail.isalpha() and tail.islower() and tail not in PRODUCT_WORDS
            and head.casefold() in genera)


@dataclass(frozen=True, slots=True)
class NonEntity:
    """A form that is never an entity of ``labels`` (an organism, a virus, an MRS metabolite)."""

    text: str
    case_sensitive: bool
    labels: tuple[str, ...]  # e.g. ("DRUG", "GENE")
    context: str = ""  # "" = anywhere; "mr-spectroscopy" = only in an MR-spectroscopy passage


class TermStream(Iterator[Term]):
    """The matcher's terms, in priority order, plus the non-entity forms the matcher must reject.

    Iterating gives :class:`Term` objects as before; ``non_entities`` rides along so that a matcher
    fed ``lex.terms()`` (``LexiconNER.add_terms``) learns both from one call.
    """

    def __init__(self, terms: Iterator[Term], non_entities: tuple[NonEntity, ...]):
        self._terms = terms
        self.non_entities = non_entities

    def __iter__(self) -> TermStream:
        return self

    def __next__(self) -> Term:
        return next(self._terms)


@dataclass(frozen=True, slots=True)
class Gene:
    symbol: str
    ncbi_gene_id: int | None
    aliases: tuple[str, ...]
    defect_ids: tuple[str, ...]
    iuis_categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HgncGene:
    """Any approved human gene (HGNC): what a model-found gene outside the IUIS list normalises to."""

    symbol: str
    hgnc_id: str | None
    ncbi_gene_id: int | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Defect:
    id: str
    name: str
    synonyms: tuple[str, ...]
    genes: tuple[str, ...]
    omim: tuple[str, ...]
    iuis_table: str | None
    iuis_category: str | None
    curie: str | None = None  # a registered id (OMIM:, ORDO:) where the sources give one (defects.tsv curie_source)


@dataclass(frozen=True, slots=True)
class Drug:
    name: str
    display: str
    drugbank_id: str | None
    mesh_id: str | None
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DrugClass:
    id: str
    name: str
    synonyms: tuple[str, ...]
    members: tuple[str, ...]  # a regimen's components
    atc: str | None
    kind: Literal["class", "regimen"] = "class"  # a regimen ("R-CHOP") is all of its members at once
    mesh_id: str | None = None  # MeSH descriptor where the sources give one (drug_classes.tsv mesh_source)


@dataclass(frozen=True, slots=True)
class _Forms:
    """Matcher forms of one record, split by case rule (kept apart from the public records)."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]
    therapy_exact: tuple[str, ...] = ()  # matched only in a therapy context
    therapy_folded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicons:
    genes: Mapping[str, Gene]
    defects: Mapping[str, Defect]
    drugs: Mapping[str, Drug]
    drug_classes: Mapping[str, DrugClass]
    hgnc: Mapping[str, HgncGene]
    version: str  # sha256 prefix over the TSV files, part of the extractor version
    _forms: Mapping[tuple[str, str], _Forms] = field(default_factory=dict, repr=False, compare=False)
    _preferred_defect: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    _curated_defects: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)
    _hgnc_alias: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    non_entities: tuple[NonEntity, ...] = ()

    def terms(self) -> TermStream:
        """Every surface form once (see :meth:`_terms`), carrying :attr:`non_entities` along."""
        return TermStream(self._terms(), self.non_entities)

    def _terms(self) -> Iterator[Term]:
        """Every surface form once, in priority order: defects (curated first), genes, classes, drugs.

        A matcher that keeps the first label per surface form (``dict.setdefault``) thus resolves
        a clash such as ``WAS`` (Wiskott-Aldrich syndrome / WAS gene) to the disease, whose gene
        the case assembler adds anyway, and ``steroids`` to the class rather than a drug.
        """
        seen: set[tuple[bool, str]] = set()
        for label, key in self._term_order():
            forms = self._forms.get((label, key))
            if forms is None:
                continue
            for case_sensitive, texts, context in ((True, forms.exact, ""), (False, forms.folded, ""),
                                                   (True, forms.therapy_exact, "therapy"),
                                                   (False, forms.therapy_folded, "therapy")):
                for text in texts:
                    k = (case_sensitive, text if case_sensitive else text.casefold())
                    if len(text) < MIN_TERM_CHARS or k in seen:
                        continue
                    seen.add(k)
                    yield Term(text=text, label=label, id=key, case_sensitive=case_sensitive,
                               curated=self._is_curated(label, key), context=context)

    def forms(self, label: str, key: str) -> tuple[str, ...]:
        """Every surface form of a record (symbols and names alike), for search and display."""
        f = self._forms.get((label, key))
        return (f.exact + f.folded + f.therapy_exact + f.therapy_folded) if f else ()

    def _is_curated(self, label: str, key: str) -> bool:
        """Immune defects, drug classes and the drugs placed in a class (the exposures and treatments
        this product is about, e.g. interleukin-7 for PML) are what the dictionary knows better than
        a model trained on other corpora; the rest of the 15k drugs are a broad, generic list."""
        return label in ("DEFECT", "DRUG_CLASS") or (label == "DRUG" and bool(self.drugs[key].classes))

    def hgnc_terms(self) -> Iterator[Term]:
        """Every HGNC symbol and unambiguous alias as a GENE form that normalises (never matches)."""
        for symbol in sorted(self.hgnc):
            yield Term(text=symbol, label="GENE", id=symbol, case_sensitive=True)
        for alias, symbol in sorted(self._hgnc_alias.items()):
            yield Term(text=alias, label="GENE", id=symbol, case_sensitive=True)

    def _term_order(self) -> Iterator[tuple[Label, str]]:
        curated = sorted(self._curated_defects)
        yield from (("DEFECT", d) for d in curated)
        yield from (("DEFECT", d) for d in sorted(self.defects) if d not in self._curated_defects)
        yield from (("GENE", g) for g in sorted(self.genes))
        yield from (("DRUG_CLASS", c) for c in sorted(self.drug_classes))
        yield from (("DRUG", d) for d in sorted(self.drugs))

    def ncbi_gene_id(self, symbol: str) -> int | None:
        gene = self.genes.get(symbol)
        if gene is not None and gene.ncbi_gene_id is not None:
            return gene.ncbi_gene_id
        hgnc = self.hgnc.get(symbol)
        return hgnc.ncbi_gene_id if hgnc else None

    def defect_for_gene(self, symbol: str) -> Defect | None:
        """The gene's preferred defect: a curated one (the form the literature means) first."""
        defect_id = self._preferred_defect.get(symbol) or self._preferred_defect.get(symbol.upper())
        return self.defects.get(defect_id) if defect_id else None


def _split(cell: str) -> tuple[str, ...]:
    return tuple(v for v in cell.split("|") if v)


def _read(path: Path) -> list[dict[str, str]]:
    """A builder-written TSV: header row, no quoting, no tabs or newlines inside cells."""
    with path.open(encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"), strict=True)) for line in f if line.strip()]


def _genes(rows: list[dict[str, str]], forms: dict, preferred: dict) -> dict[str, Gene]:
    genes = {}
    for r in rows:
        aliases, names, excluded = _split(r["aliases"]), _split(r["case_insensitive_aliases"]), set(_split(r["excluded_terms"]))
        genes[r["symbol"]] = Gene(symbol=r["symbol"], ncbi_gene_id=int(r["ncbi_gene_id"]) if r["ncbi_gene_id"] else None,
                                  aliases=aliases + names, defect_ids=_split(r["defect_ids"]),
                                  iuis_categories=_split(r["iuis_categories"]))
        exact = tuple(t for t in (r["symbol"], *aliases) if t not in excluded)
        forms[("GENE", r["symbol"])] = _Forms(exact=exact, folded=tuple(t for t in names if t not in excluded))
        if r["preferred_defect"]:
            preferred[r["symbol"]] = r["preferred_defect"]
    return genes


def _defects(rows: list[dict[str, str]], forms: dict, gene_terms: set[str]) -> tuple[dict[str, Defect], frozenset[str]]:
    """Defects; the name is a term unless it is an abbreviation (then listed exact-case) or a gene name.

    IUIS names some diseases by the bare gene (``MSH6``, ``TRIM22``): that string is left to the
    gene, which links to its defect anyway.
    """
    defects, curated = {}, set()
    for r in rows:
        folded, exact = _split(r["synonyms"]), _split(r["case_sensitive_synonyms"])
        defects[r["id"]] = Defect(id=r["id"], name=r["name"], synonyms=folded + exact, genes=_split(r["genes"]),
                                  omim=_split(r["omim"]), iuis_table=r["iuis_table"] or None,
                                  iuis_category=r["iuis_category"] or None, curie=r.get("curie") or None)
        name_folded = () if r["name"] in exact or r["name"] in gene_terms else (r["name"],)
        forms[("DEFECT", r["id"])] = _Forms(exact=exact, folded=name_folded + folded)
        if "curated" in _split(r["source"]):
            curated.add(r["id"])
    return defects, frozenset(curated)


def _drugs(rows: list[dict[str, str]], forms: dict) -> dict[str, Drug]:
    drugs = {}
    for r in rows:
        drugs[r["name"]] = Drug(name=r["name"], display=r["display"], drugbank_id=r["drugbank_id"] or None,
                                mesh_id=r["mesh_id"] or None, classes=_split(r["classes"]))
        forms[("DRUG", r["name"])] = _Forms(exact=_split(r["case_sensitive_variants"]), folded=_split(r["variants"]),
                                            therapy_exact=_split(r.get("therapy_case_sensitive_variants", "")),
                                            therapy_folded=_split(r.get("therapy_variants", "")))
    return drugs


def _classes(rows: list[dict[str, str]], forms: dict) -> dict[str, DrugClass]:
    classes = {}
    for r in rows:
        folded, exact = _split(r["synonyms"]), _split(r["case_sensitive_synonyms"])
        classes[r["class_id"]] = DrugClass(id=r["class_id"], name=r["name"], synonyms=folded + exact,
                                           members=_split(r["members"]), atc=r["atc"] or None,
                                           kind="regimen" if r.get("kind") == "regimen" else "class",
                                           mesh_id=r.get("mesh_id") or None)
        forms[("DRUG_CLASS", r["class_id"])] = _Forms(exact=exact, folded=(r["name"],) + folded)
    return classes


def _non_entities(rows: list[dict[str, str]]) -> tuple[NonEntity, ...]:
    return tuple(NonEntity(text=r["term"], case_sensitive=r["case_sensitive"] == "1", labels=_split(r["labels"]),
                           context=r["context"]) for r in rows)


def _hgnc(rows: list[dict[str, str]]) -> tuple[dict[str, HgncGene], dict[str, str]]:
    genes, aliases = {}, {}
    for r in rows:
        genes[r["symbol"]] = HgncGene(symbol=r["symbol"], hgnc_id=r["hgnc_id"] or None,
                                      ncbi_gene_id=int(r["ncbi_gene_id"]) if r["ncbi_gene_id"] else None,
                                      name=r["name"] or None)
        for alias in _split(r["aliases"]):
            aliases[alias] = r["symbol"]
    return genes, aliases


@functools.lru_cache(maxsize=8)
def load_lexicons(directory: Path | None = None) -> Lexicons:
    """Read the TSVs of ``directory`` (default ``LEXICON_DIR``); cached per directory."""
    directory = Path(directory) if directory is not None else LEXICON_DIR
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"lexicon directory {directory} lacks {', '.join(missing)} "
                                "(build it with `make models` or nlp_models/recipe/build_lexicons.py)")
    digest = hashlib.sha256()
    for name in FILES:
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes())
    forms: dict[tuple[str, str], _Forms] = {}
    preferred: dict[str, str] = {}
    genes = _genes(_read(directory / "genes.tsv"), forms, preferred)
    gene_terms = {t for (label, _), f in forms.items() if label == "GENE" for t in f.exact}
    defects, curated = _defects(_read(directory / "defects.tsv"), forms, gene_terms)
    drugs = _drugs(_read(directory / "drugs.tsv"), forms)
    classes = _classes(_read(directory / "drug_classes.tsv"), forms)
    hgnc, hgnc_alias = _hgnc(_read(directory / "hgnc_genes.tsv"))
    non_entities = _non_entities(_read(directory / "non_entities.tsv"))
    return Lexicons(genes=MappingProxyType(genes), defects=MappingProxyType(defects), drugs=MappingProxyType(drugs),
                    drug_classes=MappingProxyType(classes), hgnc=MappingProxyType(hgnc), version=digest.hexdigest()[:12],
                    _forms=MappingProxyType(forms), _preferred_defect=MappingProxyType(preferred),
                    _curated_defects=curated, _hgnc_alias=MappingProxyType(hgnc_alias), non_entities=non_entities)
