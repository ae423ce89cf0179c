"""Which graph node each extracted entity is: the lexicons' identifiers, names and synonyms.

Extraction owns the lexicons, so it also answers "which Gene / Disease / Drug node is this
mention, with which properties" (``ConceptResolver.resolve``) and "which of a case's genes cause
which of its defects" (``causal_pairs``); the graph loader asks these through its ``Concepts``
protocol and never reads a lexicon itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from pmlkg.extraction.lexicons import DrugClass, Lexicons
from pmlkg.extraction.records import Concept, Entity

MAX_SYNONYMS = 40  # per drug: enough for search, bounded for drugs with hundreds of brand names


class ConceptResolver:
    def __init__(self, lexicons: Lexicons):
        self.lex = lexicons

    def resolve(self, ent: Entity) -> Concept | None:
        """The node an entity maps to; None for a disease that is not an immune defect (no node in this model)."""
        normalised = ent.id is not None
        if ent.label == "GENE":
            key = ent.id or ent.text
            hgnc = self.lex.hgnc.get(key) if normalised else None
            iuis = self.lex.genes.get(key) if normalised else None
            ncbi = self.lex.ncbi_gene_id(key) if normalised else None
            return Concept("Gene", key, {
                "ncbi_gene_id": ncbi, "hgnc_id": hgnc.hgnc_id if hgnc else None,
                "name": hgnc.name if hgnc else None, "iuis": iuis is not None,
                "synonyms": sorted({a.lower() for a in iuis.aliases}) if iuis else [],
                "normalised": normalised and (ncbi is not None or hgnc is not None)})
        if ent.label == "DEFECT":
            entry = self.lex.defects.get(ent.id) if ent.id else None
            name = entry.name if entry else ent.text
            return Concept("Disease", ent.id or "unnormalised:" + ent.text.lower(), {
                "name": name, "name_lower": name.lower(), "omim": list(entry.omim) if entry else [],
                "curie": entry.curie if entry else None,
                "synonyms": sorted({s.lower() for s in entry.synonyms}) if entry else [],
                "iuis_category": entry.iuis_category if entry else None,
                "iuis_table": entry.iuis_table if entry else None, "normalised": entry is not None})
        if ent.label == "DRUG_CLASS":
            cls = self.lex.drug_classes.get(ent.id) if ent.id else None
            if cls is not None:
                return _class_concept(cls)
            return Concept("DrugClass", ent.id or ent.text.lower(),
                           {"name": ent.text, "atc": None, "mesh_id": None, "synonyms": [], "normalised": False})
        if ent.label == "DRUG":
            drug = self.lex.drugs.get(ent.id) if ent.id else None
            if drug is None:
                return Concept("ChemicalEntity", ent.text.lower(), {})
            classes = tuple(_class_concept(c) for c in (self.lex.drug_classes.get(i) for i in drug.classes) if c)
            return Concept("Drug", drug.name, {
                "display": drug.display, "drugbank_id": drug.drugbank_id, "mesh_id": drug.mesh_id,
                "synonyms": sorted({f.lower() for f in self.lex.forms("DRUG", drug.name)})[:MAX_SYNONYMS],
                "normalised": True}, classes)
        return None

    def causal_pairs(self, diseases: Sequence[str], genes: Sequence[str]) -> list[tuple[str, str, str]]:
        """(defect, gene, basis) of one case where the gene causes the defect: the IUIS tables link them
        (basis ``iuis``), or the defect lists no genes (or is unknown) and the case names exactly one gene
        (``case``: what the article observes, not a classification; schema.yaml's ``causal_basis``)."""
        pairs = []
        for disease in diseases:
            entry = self.lex.defects.get(disease)
            for gene in genes:
                if entry is not None and gene in entry.genes:
                    pairs.append((disease, gene, "iuis"))
                elif (entry is None or not entry.genes) and len(genes) == 1:
                    pairs.append((disease, gene, "case"))
        return pairs


def _class_concept(cls: DrugClass) -> Concept:
    return Concept("DrugClass", cls.id, {"name": cls.name, "atc": cls.atc, "mesh_id": cls.mesh_id,
                                         "synonyms": sorted({s.lower() for s in cls.synonyms}), "normalised": True})
