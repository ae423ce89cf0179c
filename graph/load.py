"""Batched, idempotent loading of articles and their extractions into the graph (model: schema.yaml).

Every write is a MERGE on a stable key inside ``UNWIND $rows``. An article's previous cases,
evidence and mention edges are removed before its new ones are merged, and the publication's
``digest`` and ``extractor`` are set last: a killed load leaves those unset (or stale), so the
next run reloads exactly the unfinished articles and converges to the same graph.

Every assertion edge carries its evidence (``_evidence``): PMID, sentence, the Evidence node of
that sentence, mention offsets and text, extractor name and version, a heuristic confidence,
and the negated/hedged flags. Negated assertions are stored as such; no query counts them.

A series (``cohort_size`` > 1) keeps its group facts (``Patient.series``) on its Case node as
typed properties (``deaths``, ``survivors``, ``months_median``/``_low``/``_high``/``_kind``, the
same for ``age`` and ``cd4``, ``n_male``, ``n_female``, ``previously_published``), and each
fact's sentence as an Evidence node whose SUPPORTS edge lists the facts it states (``facts``,
with the mention offsets in ``fact_starts``/``fact_ends``); every other assertion's sentence
names its fact there too (``defect:<id>``, ``exposure:<drug>``, ``outcome``, ``age_years``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pmlkg.extraction.records import ArticleExtraction, Concept, Entity, Evidence, Patient, SeriesFacts, Summary
from pmlkg.schema import OUTCOME_NAMES, SCHEMA, SERIES_SUMMARIES
from pmlkg.graph.stores import GraphStore
from pmlkg.ingest.records import Article

BATCH_SIZE = 500

_EXISTING = """
UNWIND $pmids AS pmid
MATCH (a:Publication {pmid: pmid})
RETURN a.pmid AS pmid, a.digest AS digest, a.extractor AS extractor
"""
_DELETE_ARTICLE_FACTS = """
UNWIND $pmids AS pmid
MATCH (a:Publication {pmid: pmid})
OPTIONAL MATCH (a)-[:REPORTS]->(c:Case)
DETACH DELETE c
WITH DISTINCT a
OPTIONAL MATCH (a)<-[:FROM_PUBLICATION]-(e:Evidence)
DETACH DELETE e
WITH DISTINCT a
OPTIONAL MATCH (a)-[m:MENTIONS]->()
DELETE m
"""
_DELETE_ARTICLES = """
UNWIND $pmids AS pmid
MATCH (a:Publication {pmid: pmid})
OPTIONAL MATCH (a)-[:REPORTS]->(c:Case)
OPTIONAL MATCH (a)<-[:FROM_PUBLICATION]-(e:Evidence)
DETACH DELETE c, e, a
"""
# Entities nothing points at any more: first the ones cases, articles and diseases point at,
# then drug classes, which also stay while a remaining drug is a member.
_DELETE_ORPHANS = """
MATCH (n)
WHERE (n:Gene OR n:Drug OR n:ChemicalEntity OR n:Disease OR n:Outcome)
  AND NOT (n)<-[:HAS_DISEASE|HAS_GENE|RECEIVED|HAD_OUTCOME|MENTIONS|CAUSED_BY]-()
DETACH DELETE n
"""
_DELETE_ORPHAN_CLASSES = """
MATCH (k:DrugClass)
WHERE NOT (k)<-[:RECEIVED|MENTIONS|MEMBER_OF]-()
DELETE k
"""
_MERGE_ARTICLES = """
UNWIND $rows AS row
MERGE (a:Publication {pmid: row.pmid})
SET a += row.props, a.digest = null, a.extractor = null
"""
_MARK_LOADED = """
UNWIND $rows AS row
MATCH (a:Publication {pmid: row.pmid})
SET a.digest = row.digest, a.extractor = row.extractor
"""
ENTITY_LABELS = ("Gene", "Drug", "DrugClass", "ChemicalEntity", "Disease", "Outcome")
_MERGE_NODES = {label: f"UNWIND $rows AS row MERGE (n:{label} {{{SCHEMA.key_of(label)}: row.key}}) SET n += row.props"
                for label in ENTITY_LABELS}
_MERGE_MEMBER_OF = """
UNWIND $rows AS row
MATCH (d:Drug {name: row.drug}), (k:DrugClass {id: row.class})
MERGE (d)-[r:MEMBER_OF]->(k)
SET r.source = 'lexicon'
"""
_MERGE_CASES = """
UNWIND $rows AS row
MATCH (a:Publication {pmid: row.pmid})
MERGE (c:Case {id: row.id})
SET c += row.props
MERGE (a)-[r:REPORTS]->(c)
SET r.pmid = row.pmid
"""
_MERGE_EVIDENCE = """
UNWIND $rows AS row
MATCH (a:Publication {pmid: row.pmid}), (c:Case {id: row.case})
MERGE (e:Evidence {id: row.id})
SET e += row.props
MERGE (e)-[:FROM_PUBLICATION]->(a)
MERGE (e)-[s:SUPPORTS]->(c)
SET s.facts = row.facts, s.fact_starts = row.fact_starts, s.fact_ends = row.fact_ends
"""


def _merge_case_edge(rel: str, label: str, rel_key: str = "") -> str:
    """A Case -> entity edge (entity matched on its schema key), merged on ``rel_key`` if given."""
    return f"""
UNWIND $rows AS row
MATCH (c:Case {{id: row.case}}), (x:{label} {{{SCHEMA.key_of(label)}: row.key}})
MERGE (c)-[r:{rel}{rel_key}]->(x)
SET r += row.props
"""


_MERGE_HAS_DISEASE = _merge_case_edge("HAS_DISEASE", "Disease")
_MERGE_HAS_GENE = _merge_case_edge("HAS_GENE", "Gene")
_MERGE_HAD_OUTCOME = _merge_case_edge("HAD_OUTCOME", "Outcome")
_MERGE_RECEIVED = {label: _merge_case_edge("RECEIVED", label, " {role: row.role}") for label in ("Drug", "DrugClass")}
# One CAUSED_BY edge per supporting article (keyed by its PMID), so reloading an article
# replaces exactly its own support and the edges stay independent of load order.
_MERGE_CAUSED_BY = """
UNWIND $rows AS row
MATCH (d:Disease {id: row.disease}), (g:Gene {symbol: row.gene})
MERGE (d)-[r:CAUSED_BY {pmid: row.pmid}]->(g)
SET r.extractor = row.extractor, r.basis = row.basis
"""
_DELETE_CAUSED_BY = """
MATCH (:Disease)-[c:CAUSED_BY]->(:Gene)
WHERE c.pmid IN $pmids
DELETE c
"""
_MERGE_MENTIONS = {
    label: f"""
UNWIND $rows AS row
MATCH (a:Publication {{pmid: row.pmid}}), (n:{label} {{{SCHEMA.key_of(label)}: row.key}})
MERGE (a)-[r:MENTIONS]->(n)
SET r += row.props
"""
    for label in ENTITY_LABELS if label != "Outcome"  # what an article mentions; outcomes are the cases'
}

# Every statement the loader sends, by name: the Neo4j lint test checks them all.
WRITE_STATEMENTS: dict[str, str] = {
    "existing": _EXISTING, "delete_article_facts": _DELETE_ARTICLE_FACTS, "delete_articles": _DELETE_ARTICLES,
    "delete_orphans": _DELETE_ORPHANS, "delete_orphan_classes": _DELETE_ORPHAN_CLASSES, "merge_articles": _MERGE_ARTICLES, "mark_loaded": _MARK_LOADED,
    "merge_member_of": _MERGE_MEMBER_OF, "merge_cases": _MERGE_CASES, "merge_evidence": _MERGE_EVIDENCE,
    "merge_has_disease": _MERGE_HAS_DISEASE, "merge_has_gene": _MERGE_HAS_GENE, "merge_had_outcome": _MERGE_HAD_OUTCOME,
    "merge_caused_by": _MERGE_CAUSED_BY, "delete_caused_by": _DELETE_CAUSED_BY,
    **{f"merge_{label.lower()}": c for label, c in _MERGE_NODES.items()},
    **{f"merge_received_{label.lower()}": c for label, c in _MERGE_RECEIVED.items()},
    **{f"merge_mentions_{label.lower()}": c for label, c in _MERGE_MENTIONS.items()},
}


@dataclass(slots=True)
class LoadReport:
    articles: int = 0
    patients: int = 0
    rows: int = 0  # rows sent to the store, all statements together


@dataclass(slots=True)
class _Rows:
    articles: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {k: {} for k in _MERGE_NODES})
    member_of: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    has_disease: list[dict[str, Any]] = field(default_factory=list)
    has_gene: list[dict[str, Any]] = field(default_factory=list)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in _MERGE_RECEIVED})
    had_outcome: list[dict[str, Any]] = field(default_factory=list)
    caused_by: list[dict[str, Any]] = field(default_factory=list)
    mentions: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in _MERGE_MENTIONS})
    marks: list[dict[str, Any]] = field(default_factory=list)


# Fact names of SUPPORTS.facts (schema.yaml) for the names extraction uses in Patient.facts_evidence
# and SeriesFacts.evidence; a name not listed here is stored as extraction gave it.
FACT_ALIASES = {"age": "age_years", "cd4": "cd4_per_ul", "months": "months_to_outcome", "deaths": "died",
                "survivors": "survived"}


def fact_name(name: str) -> str:
    return FACT_ALIASES.get(name, name)


def series_props(p: Patient) -> dict[str, Any]:
    """The Case properties of a case's outcome counts and, for a series, its group facts: a patient
    has deaths/survivors 0 or 1 by its outcome and no series properties (null); a series has what
    its abstract states, null for what it does not (survivors never as cohort size minus deaths: only what the words say or imply, "all but one died")."""
    s: SeriesFacts | None = p.series if p.cohort_size > 1 else None
    if p.cohort_size == 1:
        out: dict[str, Any] = {"deaths": 1 if p.outcome == "died" else 0,
                               "survivors": 1 if p.outcome == "survived" else 0}
    else:
        out = {"deaths": s.died if s else None, "survivors": s.survived if s else None}
    for field_name, prefix in SERIES_SUMMARIES.items():
        summary: Summary | None = getattr(s, field_name) if s else None
        out.update({f"{prefix}_median": summary.median if summary else None,
                    f"{prefix}_low": summary.low if summary else None,
                    f"{prefix}_high": summary.high if summary else None,
                    f"{prefix}_kind": summary.kind if summary else None})
    out.update({"n_male": s.sex.get("male") if s else None, "n_female": s.sex.get("female") if s else None,
                "previously_published": s.previously_published if s else None})
    return out


def evidence_id(pmid: str, ev: Evidence) -> str:
    return f"{pmid}:{ev.sentence_start}-{ev.sentence_start + len(ev.sentence)}"


class Concepts(Protocol):
    """What the loader needs to know about entities beyond the extraction records: which node an
    entity is (``extraction.concepts.ConceptResolver`` answers from the lexicons), so the graph
    layer never reads a lexicon itself."""

    def resolve(self, ent: Entity) -> Concept | None: ...

    def causal_pairs(self, diseases: Sequence[str], genes: Sequence[str]) -> list[tuple[str, str, str]]: ...


class GraphLoader:
    def __init__(self, store: GraphStore, concepts: Concepts, batch_size: int = BATCH_SIZE):
        self.store = store
        self.concepts = concepts
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
        self.store.write(_DELETE_ORPHAN_CLASSES)
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
            (_MERGE_MEMBER_OF, list(rows.member_of.values())),
            (_MERGE_CASES, rows.cases),
            (_MERGE_EVIDENCE, [_evidence_row(r) for r in rows.evidence.values()]),
            (_MERGE_HAS_DISEASE, rows.has_disease),
            (_MERGE_HAS_GENE, rows.has_gene),
            (_MERGE_HAD_OUTCOME, rows.had_outcome),
            (_MERGE_CAUSED_BY, rows.caused_by),
        ]
        steps += [(_MERGE_RECEIVED[label], r) for label, r in rows.received.items()]
        steps += [(_MERGE_MENTIONS[label], m) for label, m in rows.mentions.items()]
        steps.append((_MARK_LOADED, rows.marks))
        for cypher, data in steps:
            for chunk in _chunks(data, 1000):
                self.store.write(cypher, {"rows": chunk})
        report.articles += len(batch)
        report.patients += len(rows.cases)
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
            "n_cases": sum(p.cohort_size for p in ex.patients),
        }})
        rows.marks.append({"pmid": article.pmid, "digest": article.digest(), "extractor": ex.extractor})
        mentions: dict[tuple[str, str], dict[str, Any]] = {}
        for ent in ex.entities:
            node = self._node(ent, rows)
            if node is None:
                continue  # a disease that is not an immune defect: no node for it in this model
            m = mentions.get(node)
            if m is None:
                mentions[node] = {"pmid": article.pmid, "key": node[1], "props": {
                    **_evidence(article.pmid, ent, ex.extractor), "count": 1}}
            else:
                m["props"]["count"] += 1
                if m["props"]["negated"] and not ent.negated:  # keep a positive sentence as evidence
                    m["props"].update(_evidence(article.pmid, ent, ex.extractor), count=m["props"]["count"])
        for (label, _), m in mentions.items():
            rows.mentions[label].append(m)
        for patient in ex.patients:
            self._collect_case(article, ex, patient, rows)

    def _collect_case(self, article: Article, ex: ArticleExtraction, p: Patient, rows: _Rows) -> None:
        cid = f"{article.pmid}:{p.index}"
        rows.cases.append({"pmid": article.pmid, "id": cid, "props": {
            "pmid": article.pmid, "index": p.index, "cohort_size": p.cohort_size, "age_years": p.age_years,
            "sex": p.sex, "cd4_per_ul": p.cd4_per_ul, "outcome": p.outcome,
            "months_to_outcome": p.months_to_outcome, "iris": p.iris, "jcv_detection": p.jcv_detection,
            **series_props(p),
            "n_diseases": len({d.id for d in p.defects}),  # a mixed-defect series cannot attribute drug counts
            "extractor": ex.extractor,
        }})

        def supported(ent_or_ev: Entity | Evidence | None, fact: str) -> None:
            """The sentence behind ``fact`` of this case: an Evidence node, SUPPORTS listing the fact."""
            ev = ent_or_ev.evidence if isinstance(ent_or_ev, Entity) else ent_or_ev
            if ev is not None:
                key = evidence_id(article.pmid, ev)
                row = rows.evidence.setdefault((key, cid), {"id": key, "pmid": article.pmid, "case": cid, "props": {
                    "pmid": article.pmid, "text": ev.sentence, "start": ev.sentence_start,
                    "end": ev.sentence_start + len(ev.sentence)}, "facts": {}})
                row["facts"].setdefault(fact, (ev.start, ev.end))

        disease_ids: list[str] = []
        for d in p.defects:
            node = self._node(d, rows)
            if node and node[1] not in disease_ids:
                disease_ids.append(node[1])
                rows.has_disease.append({"case": cid, "key": node[1], "props": _evidence(article.pmid, d, ex.extractor)})
                supported(d, f"defect:{node[1]}")
        gene_ids: list[str] = []
        for g in p.genes:
            node = self._node(g, rows)
            if node and node[1] not in gene_ids:
                gene_ids.append(node[1])
                rows.has_gene.append({"case": cid, "key": node[1], "props": _evidence(article.pmid, g, ex.extractor)})
                supported(g, f"gene:{node[1]}")
        for disease, gene, basis in self.concepts.causal_pairs(disease_ids, gene_ids):
            pair = {"disease": disease, "gene": gene, "pmid": article.pmid, "basis": basis, "extractor": ex.extractor}
            if pair not in rows.caused_by:
                rows.caused_by.append(pair)
        received: dict[tuple[str, str, str], dict[str, Any]] = {}
        for use in p.drugs:
            node = self._node(use.entity, rows)
            if node is None or node[0] == "ChemicalEntity":
                continue
            # a patient: 1; a series: the number it states, null when it names the drug without one
            n = 1 if p.cohort_size == 1 else p.series.drug_counts.get(use.drug) if p.series else None
            current = received.get((*node, use.role))
            if current is None or (current["props"]["negated"] and not use.entity.negated):
                received[(*node, use.role)] = {"case": cid, "key": node[1], "role": use.role, "props": {
                    **_evidence(article.pmid, use.entity, ex.extractor), "n_patients": n}}
            supported(use.entity, f"{use.role}:{node[1]}")
        for (label, _, _), row in received.items():
            rows.received[label].append(row)
        outcomes = ([p.outcome] if p.outcome != "unknown" else []) + (["iris"] if p.iris else [])
        for outcome in outcomes:
            rows.nodes["Outcome"].setdefault(outcome, {"key": outcome, "props": {"name": OUTCOME_NAMES[outcome]}})
            ev = p.outcome_evidence if outcome != "iris" else None
            rows.had_outcome.append({"case": cid, "key": outcome, "props": {
                **_sentence_evidence(article.pmid, ev, ex.extractor),
                "months": p.months_to_outcome if outcome != "iris" else None}})
            supported(ev, "outcome")
        for name, ev in p.facts_evidence.items():
            supported(ev, fact_name(name))
        if p.series is not None and p.cohort_size > 1:
            for name, ev in p.series.evidence.items():
                supported(ev, fact_name(name))

    def _node(self, ent: Entity, rows: _Rows) -> tuple[str, str] | None:
        """The (label, key) an entity maps to, recording the node (and its classes) the first time."""
        concept = self.concepts.resolve(ent)
        if concept is None:
            return None
        for node in (concept, *concept.classes):
            rows.nodes[node.label].setdefault(node.key, {"key": node.key, "props": node.props})
        for cls in concept.classes:
            rows.member_of.setdefault((concept.key, cls.key), {"drug": concept.key, "class": cls.key})
        return concept.label, concept.key


def _evidence_row(row: dict[str, Any]) -> dict[str, Any]:
    """An Evidence row as _MERGE_EVIDENCE takes it: the facts it supports sorted by name, with
    their mention offsets as parallel lists (a property cannot hold a map)."""
    facts = sorted(row["facts"].items())
    return {**{k: v for k, v in row.items() if k != "facts"}, "facts": [f for f, _ in facts],
            "fact_starts": [start for _, (start, _) in facts], "fact_ends": [end for _, (_, end) in facts]}


def _evidence(pmid: str, ent: Entity, extractor: str) -> dict[str, Any]:
    ev = ent.evidence
    return {**_sentence_evidence(pmid, ev, extractor), "start": ent.start, "end": ent.end, "text": ent.text,
            "confidence": ent.confidence, "negated": ent.negated, "hedged": ent.hedged}


def _sentence_evidence(pmid: str, ev: Evidence | None, extractor: str) -> dict[str, Any]:
    name, _, version = extractor.partition(" ")
    return {"pmid": pmid, "sentence": ev.sentence if ev else None,
            "sentence_start": ev.sentence_start if ev else None,
            "evidence": evidence_id(pmid, ev) if ev else None,
            "start": ev.start if ev else None, "end": ev.end if ev else None,
            "extractor": name, "extractor_version": version or None,
            "confidence": None, "negated": False, "hedged": False}


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]
