"""Publications, drugs (and drug classes), genes and immune defects by their keys.

Every count follows graph/queries/counting.py: patients given a drug as a series states them,
deaths and survivors among them only where a series' totals determine them; a gene's or a defect's
patients and outcomes leave out the mixed-defect series (``mixed_series`` says how many), as
/associations does.
"""

from __future__ import annotations

from typing import Any

from pmlkg.graph.queries.cases import case_details, evidence_map
from pmlkg.graph.queries.catalogue import props, query, run, whole
from pmlkg.graph.queries.counting import (attributable, deaths_given, deaths_of, patients_given, patients_given_any,
                                          patients_of, survivors_given, survivors_of, unknown_outcome)
from pmlkg.graph.stores import GraphStore

_KEY = "coalesce(n.symbol, n.id, n.name)"  # the key of any mention target (schema.yaml keys)
# Outcomes among the patients given a drug, from a case ``c`` and its patient count ``weight``.
_OUTCOMES_GIVEN = (f"sum({deaths_given('c', 'weight')}) AS deaths, "
                   f"sum({survivors_given('c', 'weight')}) AS survivors")
# A gene's or a defect's cases ``c``: every case record, but patients and outcomes of the attributable
# ones only (a mixed-defect series cannot attribute its patients to any one of its defects).
_CASE_COUNTS = (f"count(c) AS cases, sum(CASE WHEN {attributable()} THEN {patients_of()} ELSE 0 END) AS patients, "
                f"sum(CASE WHEN {attributable()} THEN {deaths_of()} ELSE 0 END) AS deaths, "
                f"sum(CASE WHEN {attributable()} THEN {survivors_of()} ELSE 0 END) AS survivors, "
                f"sum(CASE WHEN c IS NULL OR {attributable()} THEN 0 ELSE 1 END) AS mixed_series, "
                "collect(DISTINCT c.pmid) AS pmids")

PUBLICATION = query("publication", """
MATCH (a:Publication {pmid: $pmid})
OPTIONAL MATCH (a)-[:REPORTS]->(c:Case)
WITH a, c ORDER BY c.index
RETURN a AS publication, collect(c.id) AS cases
""", pmid="90000001")
PUBLICATION_MENTIONS = query("publication_mentions", f"""
MATCH (a:Publication {{pmid: $pmid}})-[m:MENTIONS]->(n)
RETURN labels(n)[0] AS label, {_KEY} AS key, coalesce(n.display, n.name, n.symbol) AS name,
       m.count AS count, {evidence_map("m")} AS evidence
ORDER BY label, key
""", pmid="90000001")

DRUG = query("drug", """
MATCH (d:Drug)
WHERE d.name = toLower($name) OR d.drugbank_id = $name OR d.mesh_id = $name
OPTIONAL MATCH (d)-[:MEMBER_OF]->(k:DrugClass)
RETURN d AS drug, collect(k.id) AS classes
""", name="rituximab")
DRUG_CLASS = query("drug_class", """
MATCH (k:DrugClass {id: toLower($name)})
OPTIONAL MATCH (m:Drug)-[:MEMBER_OF]->(k)
RETURN k AS drug_class, collect(m.name) AS members
""", name="anti-cd20")
# A drug stands for itself; a class for itself and its member drugs ($keys holds them all).
DRUG_USE = query("drug_use", f"""
MATCH (c:Case)-[r:RECEIVED]->(n)
WHERE r.negated = false AND (n.name IN $keys OR n.id IN $keys)
WITH r.role AS role, c, {patients_given_any()} AS weight
RETURN role, count(c) AS cases, sum(weight) AS patients, {_OUTCOMES_GIVEN}
ORDER BY role
""", keys=["rituximab"])
DRUG_ARTICLES = query("drug_articles", """
MATCH (a:Publication)-[:MENTIONS]->(n)
WHERE n.name IN $keys OR n.id IN $keys
RETURN count(DISTINCT a) AS articles
""", keys=["rituximab"])
DRUG_DEFECTS = query("drug_defects", f"""
MATCH (c:Case)-[r:RECEIVED]->(n)
WHERE r.negated = false AND (n.name IN $keys OR n.id IN $keys) AND {attributable()}
MATCH (c)-[h:HAS_DISEASE]->(x:Disease)
WHERE h.negated = false
WITH x, r.role AS role, c, {patients_given_any()} AS weight
RETURN x.id AS defect_id, x.name AS defect, role, sum(weight) AS patients, count(DISTINCT c.pmid) AS articles,
       {_OUTCOMES_GIVEN}
ORDER BY patients DESC, defect_id
""", keys=["rituximab"])

GENE = query("gene", """
MATCH (g:Gene)
WHERE g.symbol = $symbol OR g.symbol = toUpper($symbol)
OPTIONAL MATCH (x:Disease)-[cb:CAUSED_BY]->(g)
WITH g, collect(DISTINCT {id: x.id, name: x.name, category: x.iuis_category}) AS diseases,
     collect(DISTINCT cb.pmid) AS support
OPTIONAL MATCH (a:Publication)-[:MENTIONS]->(g)
RETURN g AS gene, diseases, support, count(DISTINCT a) AS articles
""", symbol="CD40LG")
GENE_CASES = query("gene_cases", f"""
MATCH (c:Case)-[h:HAS_GENE]->(g:Gene {{symbol: $symbol}})
WHERE h.negated = false
RETURN {_CASE_COUNTS}
""", symbol="CD40LG")
GENE_DRUGS = query("gene_drugs", f"""
MATCH (c:Case)-[h:HAS_GENE]->(g:Gene {{symbol: $symbol}})
WHERE h.negated = false AND {attributable()}
MATCH (c)-[r:RECEIVED]->(d)
WHERE r.negated = false
WITH coalesce(d.id, d.name) AS drug, r.role AS role, c, {patients_given()} AS weight
RETURN drug, role, sum(weight) AS patients, {_OUTCOMES_GIVEN}
ORDER BY patients DESC, drug
""", symbol="CD40LG")

DEFECT = query("defect", f"""
MATCH (x:Disease)
WHERE x.id = $key OR x.name_lower = toLower($key)
OPTIONAL MATCH (x)-[:CAUSED_BY]->(g:Gene)
WITH x, collect(DISTINCT g.symbol) AS genes
OPTIONAL MATCH (c:Case)-[h:HAS_DISEASE]->(x)
WHERE h.negated = false
RETURN x AS defect, genes, {_CASE_COUNTS}
""", key="iuis:cd40-ligand-deficiency")
DEFECT_DRUGS = query("defect_drugs", f"""
MATCH (x:Disease {{id: $id}})<-[h:HAS_DISEASE]-(c:Case)-[r:RECEIVED]->(d)
WHERE h.negated = false AND r.negated = false AND {attributable()}
WITH coalesce(d.id, d.name) AS drug, labels(d)[0] AS kind, r.role AS role, c, {patients_given()} AS weight
RETURN drug, kind, role, sum(weight) AS patients, {_OUTCOMES_GIVEN}
ORDER BY patients DESC, drug
""", id="iuis:cd40-ligand-deficiency")


def publication(store: GraphStore, pmid: str) -> dict[str, Any] | None:
    rows = run(store, PUBLICATION, pmid=pmid)
    if not rows:
        return None
    return {**props(rows[0]["publication"]), "mentions": run(store, PUBLICATION_MENTIONS, pmid=pmid),
            "cases": case_details(store, [c for c in rows[0]["cases"] if c])}


def drug(store: GraphStore, name: str) -> dict[str, Any] | None:
    """A drug (by name, DrugBank or MeSH id) or a drug class (by id), with its use in cases."""
    rows = run(store, DRUG, name=name)
    if rows:
        node = {**props(rows[0]["drug"]), "kind": "drug", "classes": sorted(rows[0]["classes"]), "members": []}
        keys = [node["name"]]
    else:
        rows = run(store, DRUG_CLASS, name=name)
        if not rows:
            return None
        klass = props(rows[0]["drug_class"])
        node = {**klass, "name": klass["id"], "display": klass.get("name"), "kind": "drug_class", "classes": [],
                "members": sorted(rows[0]["members"])}
        keys = [klass["id"], *node["members"]]
    by_role = {r["role"]: {"cases": r["cases"], **_outcomes(r)} for r in run(store, DRUG_USE, keys=keys)}
    defects = [{**r, **_outcomes(r)} for r in run(store, DRUG_DEFECTS, keys=keys)]
    return {**node, "articles": run(store, DRUG_ARTICLES, keys=keys)[0]["articles"], "by_role": by_role,
            "defects": defects}


def gene(store: GraphStore, symbol: str) -> dict[str, Any] | None:
    rows = run(store, GENE, symbol=symbol)
    if not rows:
        return None
    row = rows[0]
    node = props(row["gene"])
    cases = run(store, GENE_CASES, symbol=node["symbol"])[0]
    return {**node, "diseases": [d for d in row["diseases"] if d.get("id")], "support_pmids": sorted(row["support"]),
            "articles": row["articles"], **_case_counts(cases),
            "drugs": [{**r, **_outcomes(r)} for r in run(store, GENE_DRUGS, symbol=node["symbol"])]}


def defect(store: GraphStore, key: str) -> dict[str, Any] | None:
    rows = run(store, DEFECT, key=key)
    if not rows:
        return None
    row = rows[0]
    node = props(row["defect"])
    return {**node, "genes": sorted(row["genes"]), **_case_counts(row),
            "drugs": [{**r, **_outcomes(r)} for r in run(store, DEFECT_DRUGS, id=node["id"])]}


def _outcomes(row: dict[str, Any]) -> dict[str, int]:
    """Patients, deaths, survivors and unknown outcomes of a counting row, as ints."""
    patients, deaths, survivors = whole(row["patients"]), whole(row["deaths"]), whole(row["survivors"])
    return {"patients": patients, "deaths": deaths, "survivors": survivors,
            "unknown_outcome": unknown_outcome(patients, deaths, survivors)}


def _case_counts(row: dict[str, Any]) -> dict[str, Any]:
    return {"cases": whole(row["cases"]), **_outcomes(row), "mixed_series": whole(row["mixed_series"]),
            "pmids": sorted(set(row["pmids"]))}
