"""The read-only Cypher catalogue: every query the API runs, parameterised, in the subset of
Cypher that both FalkorDB and Neo4j 5 accept (see README, "Cypher both backends run").

Each query is a :class:`Query` in :data:`CATALOGUE` with example parameters, so the test suite
can run every one of them against a real store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.store import GraphStore


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    cypher: str
    example: dict[str, Any] = field(default_factory=dict)


def _q(query_name: str, cypher: str, **example: Any) -> Query:
    query = Query(query_name, cypher.strip(), example)
    CATALOGUE[query_name] = query
    return query


CATALOGUE: dict[str, Query] = {}

PING = _q("ping", "RETURN 1 AS ok")
NODE_COUNTS = _q("node_counts", """
MATCH (n)
RETURN labels(n)[0] AS label, count(n) AS count
ORDER BY label
""")
EDGE_COUNTS = _q("edge_counts", """
MATCH ()-[r]->()
RETURN type(r) AS type, count(r) AS count
ORDER BY type
""")
ARTICLE = _q("article", """
MATCH (a:Article {pmid: $pmid})
RETURN a AS article
""", pmid="90000001")
ARTICLE_MENTIONS = _q("article_mentions", """
MATCH (a:Article {pmid: $pmid})-[m:MENTIONS]->(n)
RETURN labels(n)[0] AS label, coalesce(n.symbol, n.name, n.id) AS key,
       coalesce(n.display, n.name, n.symbol) AS name, m.count AS count, m.negated AS negated,
       m.text AS text, m.sentence AS sentence, m.start AS start, m.end AS end
ORDER BY label, key
""", pmid="90000001")
ARTICLE_PATIENTS = _q("article_patients", """
MATCH (a:Article {pmid: $pmid})-[:REPORTS]->(p:Patient)
OPTIONAL MATCH (p)-[hd:HAS_DEFECT]->(d:Defect)
WITH p, collect(DISTINCT {id: d.id, name: d.name, sentence: hd.sentence}) AS defects
OPTIONAL MATCH (d2:Defect)<-[:HAS_DEFECT]-(p)
OPTIONAL MATCH (d2)-[:CAUSED_BY]->(g:Gene)
WITH p, defects, collect(DISTINCT g.symbol) AS genes
OPTIONAL MATCH (p)-[r:RECEIVED]->(dr:Drug)
WITH p, defects, genes, collect(DISTINCT {drug: dr.name, role: r.role, negated: r.negated,
     n_patients: r.n_patients, sentence: r.sentence, start: r.start, end: r.end}) AS drugs
OPTIONAL MATCH (p)-[ho:HAD_OUTCOME]->(o:Outcome)
RETURN p AS patient, defects, genes, drugs,
       collect(DISTINCT {outcome: o.id, months: ho.months, sentence: ho.sentence}) AS outcomes
ORDER BY patient.index
""", pmid="90000001")
DRUG = _q("drug", """
MATCH (d:Drug)
WHERE d.name = toLower($name) OR d.drugbank_id = $name
OPTIONAL MATCH (a:Article)-[:MENTIONS]->(d)
WITH d, count(DISTINCT a) AS articles
OPTIONAL MATCH (p:Patient)-[r:RECEIVED]->(d)
WHERE r.negated = false
RETURN d AS drug, articles, r.role AS role, count(DISTINCT p) AS patients
ORDER BY role
""", name="rituximab")
DEFECT = _q("defect", """
MATCH (x:Defect)
WHERE x.id = $key OR x.name_lower = toLower($key)
OPTIONAL MATCH (x)-[:CAUSED_BY]->(g:Gene)
WITH x, collect(DISTINCT g.symbol) AS genes
OPTIONAL MATCH (p:Patient)-[:HAS_DEFECT]->(x)
WITH x, genes, collect(DISTINCT p) AS patients
RETURN x AS defect, genes, size(patients) AS patients,
       size([p IN patients WHERE p.outcome = 'died']) AS deaths,
       [p IN patients | p.pmid] AS pmids
""", key="iuis:cd40-ligand-deficiency")
DEFECT_DRUGS = _q("defect_drugs", """
MATCH (x:Defect {id: $id})<-[:HAS_DEFECT]-(p:Patient)-[r:RECEIVED]->(d:Drug)
WHERE r.negated = false
RETURN d.name AS drug, r.role AS role, count(DISTINCT p) AS patients
ORDER BY patients DESC, drug
""", id="iuis:cd40-ligand-deficiency")
_ASSOC_MATCH = """
MATCH (d:Drug)<-[r:RECEIVED]-(p:Patient)-[:HAS_DEFECT]->(x:Defect)
WHERE r.negated = false
  AND ($role IS NULL OR r.role = $role)
  AND ($drug IS NULL OR d.name = toLower($drug))
  AND ($defect IS NULL OR x.id = $defect OR x.name_lower = toLower($defect))
WITH d, x,
     sum(CASE WHEN p.cohort_size > 1 AND p.n_defects > 1 THEN 0 ELSE coalesce(r.n_patients, 1) END) AS patients,
     collect(DISTINCT r.pmid) AS pmids,
     collect(DISTINCT r.role) AS roles
WHERE patients >= $min_patients
"""
ASSOCIATIONS = _q("drug_defect_associations", _ASSOC_MATCH + """
RETURN d.name AS drug, x.id AS defect_id, x.name AS defect, patients, size(pmids) AS articles, pmids, roles
ORDER BY patients DESC, articles DESC, drug, defect_id
SKIP $skip LIMIT $limit
""", role="exposure", drug=None, defect=None, min_patients=1, skip=0, limit=50)
ASSOCIATIONS_TOTAL = _q("drug_defect_associations_total", _ASSOC_MATCH + """
RETURN count(*) AS total
""", role="exposure", drug=None, defect=None, min_patients=1)


def run(store: GraphStore, query: Query, **params: Any) -> list[dict[str, Any]]:
    return store.read(query.cypher, params)


def stats(store: GraphStore) -> dict[str, dict[str, int]]:
    return {
        "nodes": {r["label"]: r["count"] for r in run(store, NODE_COUNTS)},
        "edges": {r["type"]: r["count"] for r in run(store, EDGE_COUNTS)},
    }


def article(store: GraphStore, pmid: str) -> dict[str, Any] | None:
    rows = run(store, ARTICLE, pmid=pmid)
    if not rows:
        return None
    patients = []
    for row in run(store, ARTICLE_PATIENTS, pmid=pmid):
        patients.append({
            **_props(row["patient"]),
            "defects": [d for d in row["defects"] if d.get("id")],
            "genes": row["genes"],
            "drugs": [d for d in row["drugs"] if d.get("drug")],
            "outcomes": [o for o in row["outcomes"] if o.get("outcome")],
        })
    return {**_props(rows[0]["article"]), "mentions": run(store, ARTICLE_MENTIONS, pmid=pmid), "patients": patients}


def drug(store: GraphStore, name: str) -> dict[str, Any] | None:
    rows = run(store, DRUG, name=name)
    if not rows:
        return None
    node = _props(rows[0]["drug"])
    by_role = {r["role"]: r["patients"] for r in rows if r["role"] is not None}
    return {**node, "articles": rows[0]["articles"], "patients_by_role": by_role}


def defect(store: GraphStore, key: str) -> dict[str, Any] | None:
    rows = run(store, DEFECT, key=key)
    if not rows:
        return None
    row = rows[0]
    node = _props(row["defect"])
    return {**node, "genes": sorted(row["genes"]), "patients": row["patients"], "deaths": row["deaths"],
            "pmids": sorted(set(row["pmids"])), "drugs": run(store, DEFECT_DRUGS, id=node["id"])}


def drug_defect_associations(store: GraphStore, *, role: str | None, drug: str | None, defect: str | None,
                             min_patients: int, skip: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    params = {"role": role, "drug": drug, "defect": defect, "min_patients": min_patients}
    total = run(store, ASSOCIATIONS_TOTAL, **params)[0]["total"]
    rows = run(store, ASSOCIATIONS, **params, skip=skip, limit=limit)
    for row in rows:
        row["pmids"] = sorted(row["pmids"])
        row["roles"] = sorted(row["roles"])
    return total, rows


def _props(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if not k.startswith("_")}
