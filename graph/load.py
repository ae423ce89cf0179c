"""Batched, idempotent loading of articles and their extractions into the graph.

Every write is a MERGE on a stable key inside ``UNWIND $rows``. An article's previous patients
and mention edges are removed before its new ones are merged, and the article's ``digest`` and
``extractor`` are set last: a killed load leaves those unset (or stale), so the next run
reloads exactly the unfinished articles and converges to the same graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from extraction.lexicons import Lexicons
from extraction.records import ArticleExtraction, Entity, Patient
from graph.schema import OUTCOMES
from graph.store import GraphStore
from ingest.records import Article

BATCH_SIZE = 500

_EXISTING = """
UNWIND $pmids AS pmid
MATCH (a:Article {pmid: pmid})
RETURN a.pmid AS pmid, a.digest AS digest, a.extractor AS extractor
"""
_DELETE_ARTICLE_FACTS = """
UNWIND $pmids AS pmid
MATCH (a:Article {pmid: pmid})
OPTIONAL MATCH (a)-[:REPORTS]->(p:Patient)
DETACH DELETE p
WITH DISTINCT a
OPTIONAL MATCH (a)-[m:MENTIONS]->()
DELETE m
"""
_DELETE_ARTICLES = """
UNWIND $pmids AS pmid
MATCH (a:Article {pmid: pmid})
OPTIONAL MATCH (a)-[:REPORTS]->(p:Patient)
DETACH DELETE p, a
"""
_DELETE_ORPHANS = """
MATCH (n)
WHERE (n:Gene OR n:Drug OR n:Defect OR n:Outcome) AND NOT (n)--()
DELETE n
"""
_MERGE_ARTICLES = """
UNWIND $rows AS row
MERGE (a:Article {pmid: row.pmid})
SET a += row.props, a.digest = null, a.extractor = null
"""
_MARK_LOADED = """
UNWIND $rows AS row
MATCH (a:Article {pmid: row.pmid})
SET a.digest = row.digest, a.extractor = row.extractor
"""
_MERGE_NODES = {
    "Gene": "UNWIND $rows AS row MERGE (n:Gene {symbol: row.key}) SET n += row.props",
    "Drug": "UNWIND $rows AS row MERGE (n:Drug {name: row.key}) SET n += row.props",
    "Defect": "UNWIND $rows AS row MERGE (n:Defect {id: row.key}) SET n += row.props",
    "Outcome": "UNWIND $rows AS row MERGE (n:Outcome {id: row.key}) SET n += row.props",
}
_MERGE_PATIENTS = """
UNWIND $rows AS row
MATCH (a:Article {pmid: row.pmid})
MERGE (p:Patient {id: row.id})
SET p += row.props
MERGE (a)-[r:REPORTS]->(p)
SET r.pmid = row.pmid
"""
_MERGE_HAS_DEFECT = """
UNWIND $rows AS row
MATCH (p:Patient {id: row.patient}), (d:Defect {id: row.key})
MERGE (p)-[r:HAS_DEFECT]->(d)
SET r += row.props
"""
_MERGE_RECEIVED = """
UNWIND $rows AS row
MATCH (p:Patient {id: row.patient}), (d:Drug {name: row.key})
MERGE (p)-[r:RECEIVED {role: row.role}]->(d)
SET r += row.props
"""
_MERGE_HAD_OUTCOME = """
UNWIND $rows AS row
MATCH (p:Patient {id: row.patient}), (o:Outcome {id: row.key})
MERGE (p)-[r:HAD_OUTCOME]->(o)
SET r += row.props
"""
# One CAUSED_BY edge per supporting article (keyed by its PMID), so reloading an article
# replaces exactly its own support and the edges stay independent of load order.
_MERGE_CAUSED_BY = """
UNWIND $rows AS row
MATCH (d:Defect {id: row.defect}), (g:Gene {symbol: row.gene})
MERGE (d)-[r:CAUSED_BY {pmid: row.pmid}]->(g)
SET r.extractor = row.extractor
"""
_DELETE_CAUSED_BY = """
MATCH (:Defect)-[c:CAUSED_BY]->(:Gene)
WHERE c.pmid IN $pmids
DELETE c
"""
_MERGE_MENTIONS = {
    label: f"""
UNWIND $rows AS row
MATCH (a:Article {{pmid: row.pmid}}), (n:{label} {{{key}: row.key}})
MERGE (a)-[r:MENTIONS]->(n)
SET r += row.props
"""
    for label, key in (("Gene", "symbol"), ("Drug", "name"), ("Defect", "id"))
}
_LABEL_OF = {"GENE": "Gene", "DRUG": "Drug", "DRUG_CLASS": "Drug", "DEFECT": "Defect"}


@dataclass(slots=True)
class LoadReport:
    articles: int = 0
    patients: int = 0
    rows: int = 0  # rows sent to the store, all statements together


@dataclass(slots=True)
class _Rows:
    articles: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {k: {} for k in _MERGE_NODES})
    patients: list[dict[str, Any]] = field(default_factory=list)
    has_defect: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    had_outcome: list[dict[str, Any]] = field(default_factory=list)
    caused_by: list[dict[str, Any]] = field(default_factory=list)
    mentions: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in _MERGE_MENTIONS})
    marks: list[dict[str, Any]] = field(default_factory=list)


class GraphLoader:
    def __init__(self, store: GraphStore, lexicons: Lexicons, batch_size: int = BATCH_SIZE):
        self.store = store
        self.lex = lexicons
        self.batch_size = batch_size

    def unchanged(self, articles: Sequence[Article], extractor: str) -> set[str]:
        """PMIDs already loaded from the same content by the same extractor: nothing to redo."""
        digests = {a.pmid: a.digest() for a in articles}
        found: set[str] = set()
        for chunk in _chunks(list(digests), self.batch_size):
            for row in self.store.read(_EXISTING, {"pmids": chunk}):
                if row["digest"] == digests.get(row["pmid"]) and row["extractor"] == extractor:
                    found.add(row["pmid"])
        return found

    def load(self, pairs: Iterable[tuple[Article, ArticleExtraction]]) -> LoadReport:
        report = LoadReport()
        batch: list[tuple[Article, ArticleExtraction]] = []
        for pair in pairs:
            batch.append(pair)
            if len(batch) >= self.batch_size:
                self._load_batch(batch, report)
                batch = []
        if batch:
            self._load_batch(batch, report)
        return report

    def delete(self, pmids: Sequence[str]) -> int:
        for chunk in _chunks(list(pmids), self.batch_size):
            self.store.write(_DELETE_CAUSED_BY, {"pmids": chunk})
            self.store.write(_DELETE_ARTICLES, {"pmids": chunk})
        return len(pmids)

    def finish(self) -> None:
        """Drop entity nodes nothing points at any more, then compact the store's log."""
        self.store.write(_DELETE_ORPHANS)
        self.store.compact()

    def _load_batch(self, batch: list[tuple[Article, ArticleExtraction]], report: LoadReport) -> None:
        rows = _Rows()
        for article, extraction in batch:
            self._collect(article, extraction, rows)
        self.store.write(_MERGE_ARTICLES, {"rows": rows.articles})
        pmids = [a.pmid for a, _ in batch]
        self.store.write(_DELETE_ARTICLE_FACTS, {"pmids": pmids})
        self.store.write(_DELETE_CAUSED_BY, {"pmids": pmids})
        steps = [(_MERGE_NODES[label], list(nodes.values())) for label, nodes in rows.nodes.items()]
        steps += [
            (_MERGE_PATIENTS, rows.patients),
            (_MERGE_HAS_DEFECT, rows.has_defect),
            (_MERGE_RECEIVED, rows.received),
            (_MERGE_HAD_OUTCOME, rows.had_outcome),
            (_MERGE_CAUSED_BY, rows.caused_by),
        ]
        steps += [(_MERGE_MENTIONS[label], m) for label, m in rows.mentions.items()]
        steps.append((_MARK_LOADED, rows.marks))
        for cypher, data in steps:
            for chunk in _chunks(data, 1000):
                self.store.write(cypher, {"rows": chunk})
        report.articles += len(batch)
        report.patients += len(rows.patients)
        report.rows += len(rows.articles) + sum(len(d) for _, d in steps)

    # -- rows ---------------------------------------------------------------------------------

    def _collect(self, article: Article, ex: ArticleExtraction, rows: _Rows) -> None:
        rows.articles.append({"pmid": article.pmid, "props": {
            "title": article.title,
            "journal": article.journal,
            "year": article.year,
            "pub_date": article.pub_date,
            "doi": article.doi,
            "pmcid": article.pmcid,
            "version": article.version,
            "publication_types": list(article.publication_types),
            "mesh": sorted(article.mesh_descriptors),
            "retracted": article.retracted,
            "about_pml": ex.about_pml,
            "is_case": ex.is_case,
            "n_patients": sum(p.cohort_size for p in ex.patients),
        }})
        rows.marks.append({"pmid": article.pmid, "digest": article.digest(), "extractor": ex.extractor})
        mentions: dict[tuple[str, str], dict[str, Any]] = {}
        for ent in ex.entities:
            if ent.label not in _LABEL_OF:
                continue  # a disease that is not an immune defect: no node for it in this model
            label, key = self._node(ent, rows)
            m = mentions.get((label, key))
            if m is None:
                mentions[(label, key)] = {"pmid": article.pmid, "key": key, "props": {
                    **_evidence(article.pmid, ent, ex.extractor), "count": 1}}
            else:
                m["props"]["count"] += 1
                if m["props"]["negated"] and not ent.negated:  # keep a positive sentence as evidence
                    m["props"].update(_evidence(article.pmid, ent, ex.extractor), count=m["props"]["count"])
        for (label, _), m in mentions.items():
            rows.mentions[label].append(m)
        for patient in ex.patients:
            self._collect_patient(article, ex, patient, rows)

    def _collect_patient(self, article: Article, ex: ArticleExtraction, p: Patient, rows: _Rows) -> None:
        pid = f"{article.pmid}:{p.index}"
        rows.patients.append({"pmid": article.pmid, "id": pid, "props": {
            "pmid": article.pmid, "index": p.index, "cohort_size": p.cohort_size, "age_years": p.age_years,
            "sex": p.sex, "cd4_per_ul": p.cd4_per_ul, "outcome": p.outcome,
            "months_to_outcome": p.months_to_outcome, "iris": p.iris, "jcv_detection": p.jcv_detection,
            "deaths": p.counts.get("died") if p.cohort_size > 1 else (1 if p.outcome == "died" else 0),
            "n_defects": len({d.id for d in p.defects}),  # a mixed-defect series cannot attribute drug counts
        }})
        defect_ids: list[str] = []
        for d in p.defects:
            _, key = self._node(d, rows)
            if key not in defect_ids:
                defect_ids.append(key)
                rows.has_defect.append({"patient": pid, "key": key, "props": _evidence(article.pmid, d, ex.extractor)})
        gene_ids = []
        for g in p.genes:
            _, key = self._node(g, rows)
            if key not in gene_ids:
                gene_ids.append(key)
        for defect in defect_ids:
            entry = self.lex.defects.get(defect)
            for gene in gene_ids:
                linked = entry is not None and gene in entry.genes
                pair = {"defect": defect, "gene": gene, "pmid": article.pmid, "extractor": ex.extractor}
                if (linked or ((entry is None or not entry.genes) and len(gene_ids) == 1)) \
                        and pair not in rows.caused_by:
                    rows.caused_by.append(pair)
        received: dict[tuple[str, str], dict[str, Any]] = {}
        for use in p.drugs:
            _, key = self._node(use.entity, rows)
            n = p.counts.get(use.drug, p.cohort_size if p.cohort_size == 1 else None)
            current = received.get((key, use.role))
            if current is None or (current["props"]["negated"] and not use.entity.negated):
                received[(key, use.role)] = {"patient": pid, "key": key, "role": use.role, "props": {
                    **_evidence(article.pmid, use.entity, ex.extractor), "n_patients": n}}
        rows.received.extend(received.values())
        outcomes = ([p.outcome] if p.outcome != "unknown" else []) + (["iris"] if p.iris else [])
        for outcome in outcomes:
            rows.nodes["Outcome"].setdefault(outcome, {"key": outcome, "props": {"name": OUTCOMES[outcome]}})
            ev = p.outcome_evidence
            rows.had_outcome.append({"patient": pid, "key": outcome, "props": {
                "pmid": article.pmid, "extractor": ex.extractor,
                "months": p.months_to_outcome if outcome != "iris" else None,
                "sentence": ev.sentence if ev and outcome != "iris" else None,
                "start": ev.start if ev and outcome != "iris" else None,
                "end": ev.end if ev and outcome != "iris" else None,
            }})

    def _node(self, ent: Entity, rows: _Rows) -> tuple[str, str]:
        """The node an entity maps to, recording its properties the first time it is seen."""
        label = _LABEL_OF[ent.label]
        normalised = ent.id is not None
        if ent.label == "GENE":
            key = ent.id or ent.text
            ncbi = self.lex.ncbi_gene_id(key) if normalised else None
            hgnc = self.lex.hgnc.get(key) if normalised else None
            props = {"ncbi_gene_id": ncbi, "hgnc_id": hgnc.hgnc_id if hgnc else None,
                     "name": hgnc.name if hgnc else None, "normalised": normalised and (ncbi is not None or hgnc is not None)}
        elif ent.label == "DEFECT":
            entry = self.lex.defects.get(ent.id) if ent.id else None
            key = ent.id or "unnormalised:" + ent.text.lower()
            name = entry.name if entry else ent.text
            props = {"name": name, "name_lower": name.lower(), "omim": list(entry.omim) if entry else [],
                     "iuis_category": entry.iuis_category if entry else None,
                     "iuis_table": entry.iuis_table if entry else None, "normalised": entry is not None}
        elif ent.label == "DRUG_CLASS":
            cls = self.lex.drug_classes.get(ent.id) if ent.id else None
            key = ent.id or ent.text.lower()
            props = {"display": cls.name if cls else ent.text, "is_class": True, "classes": [key],
                     "drugbank_id": None, "mesh_id": None, "normalised": cls is not None}
        else:
            drug = self.lex.drugs.get(ent.id) if ent.id else None
            key = ent.id or ent.text.lower()
            props = {"display": drug.display if drug else ent.text, "is_class": False,
                     "classes": list(drug.classes) if drug else [], "drugbank_id": drug.drugbank_id if drug else None,
                     "mesh_id": drug.mesh_id if drug else None, "normalised": drug is not None}
        rows.nodes[label].setdefault(key, {"key": key, "props": props})
        return label, key


def _evidence(pmid: str, ent: Entity, extractor: str) -> dict[str, Any]:
    ev = ent.evidence
    return {"pmid": pmid, "sentence": ev.sentence if ev else None, "start": ent.start, "end": ent.end,
            "text": ent.text, "extractor": extractor, "negated": ent.negated, "hedged": ent.hedged}


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]
