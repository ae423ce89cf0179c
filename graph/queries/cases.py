"""Cases (patients and unseparated series) with their assertions and the evidence behind each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pmlkg.graph.queries.catalogue import props, query, run, whole
from pmlkg.graph.queries.counting import (attributable, deaths_of, patients_given, patients_of, survivors_of,
                                          unknown_outcome)
from pmlkg.schema import SERIES_SUMMARIES
from pmlkg.graph.stores import GraphStore


def evidence_map(rel: str) -> str:
    """The evidence properties of relationship variable ``rel`` as a Cypher map (schema.yaml)."""
    keys = ("pmid", "sentence", "sentence_start", "start", "end", "text", "confidence", "negated", "hedged",
            "extractor_version")
    return "{" + ", ".join(f"{k}: {rel}.{k}" for k in keys) + "}"


# ``given``: with a drug filter, the patient count of each RECEIVED edge that matches it, as
# /associations counts them (graph/queries/counting.py), so the totals match the map's cell.
_FILTERED = f"""
MATCH (a:Publication)-[:REPORTS]->(c:Case)
WHERE ($sex IS NULL OR c.sex = $sex) AND ($outcome IS NULL OR c.outcome = $outcome)
  AND ($age_min IS NULL OR c.age_years >= $age_min) AND ($age_max IS NULL OR c.age_years <= $age_max)
  AND ($year_min IS NULL OR a.year >= $year_min) AND ($year_max IS NULL OR a.year <= $year_max)
  AND ($pmid IS NULL OR a.pmid = $pmid)
  AND ($attributable = false OR {attributable()})
WITH a, c,
     CASE WHEN $defect IS NULL AND $category IS NULL THEN 1 ELSE size([(c)-[hd:HAS_DISEASE]->(x:Disease)
          WHERE hd.negated = false AND ($defect IS NULL OR x.id = $defect OR x.name_lower = toLower($defect))
            AND ($category IS NULL OR x.iuis_category = $category) | x]) END AS by_defect,
     CASE WHEN $gene IS NULL THEN 1 ELSE size([(c)-[hg:HAS_GENE]->(g:Gene)
          WHERE hg.negated = false AND g.symbol = $gene | g]) END AS by_gene,
     CASE WHEN $drugs IS NULL THEN [1] ELSE [(c)-[rd:RECEIVED]->(d)
          WHERE rd.negated = false AND ($role IS NULL OR rd.role = $role)
            AND (d.name IN $drugs OR d.id IN $drugs) | {patients_given("c", "rd")}] END AS given
WHERE by_defect > 0 AND by_gene > 0 AND size(given) > 0
"""
_EXAMPLE = dict(sex=None, outcome=None, age_min=None, age_max=None, year_min=None, year_max=None, pmid=None,
                defect=None, category=None, gene=None, drugs=["rituximab"], role="exposure", attributable=False)

CASE_PAGE = query("case_page", _FILTERED + """
RETURN c.id AS id
ORDER BY a.year DESC, c.pmid, c.index
SKIP $skip LIMIT $limit
""", **_EXAMPLE, skip=0, limit=20)
CASE_TOTAL = query("case_total", _FILTERED + f"""
RETURN count(c) AS cases, sum({patients_of()}) AS patients,
       sum(reduce(m = 0, w IN given | CASE WHEN w > m THEN w ELSE m END)) AS given
""", **_EXAMPLE)

CASE_DETAILS = query("case_details", f"""
UNWIND $ids AS cid
MATCH (a:Publication)-[:REPORTS]->(c:Case {{id: cid}})
OPTIONAL MATCH (c)-[h:HAS_DISEASE]->(x:Disease)
WITH a, c, collect({{id: x.id, name: x.name, category: x.iuis_category, evidence: {evidence_map("h")}}}) AS diseases
OPTIONAL MATCH (c)-[hg:HAS_GENE]->(g:Gene)
WITH a, c, diseases, collect({{symbol: g.symbol, ncbi_gene_id: g.ncbi_gene_id, evidence: {evidence_map("hg")}}}) AS genes
OPTIONAL MATCH (c)-[r:RECEIVED]->(d)
WITH a, c, diseases, genes, collect({{key: coalesce(d.id, d.name), name: coalesce(d.display, d.name),
     kind: labels(d)[0], role: r.role, n_patients: r.n_patients,
     patients: CASE WHEN r.negated = false THEN {patients_given("c", "r")} ELSE 0 END,
     evidence: {evidence_map("r")}}}) AS drugs
OPTIONAL MATCH (c)-[ho:HAD_OUTCOME]->(o:Outcome)
WITH a, c, diseases, genes, drugs, collect({{outcome: o.id, months: ho.months, evidence: {evidence_map("ho")}}}) AS outcomes
OPTIONAL MATCH (e:Evidence)-[s:SUPPORTS]->(c)
RETURN c AS case, a.pmid AS pmid, a.title AS title, a.year AS year, a.journal AS journal, diseases, genes, drugs,
       outcomes, {deaths_of("c")} AS counted_deaths, {survivors_of("c")} AS counted_survivors,
       collect({{id: e.id, text: e.text, start: e.start, end: e.end, facts: s.facts, fact_starts: s.fact_starts,
                fact_ends: s.fact_ends}}) AS sentences
""", ids=["90000001:0"])

# The facts of SUPPORTS.facts (schema.yaml) that are a series' group facts, besides drug:<key>.
SERIES_FACTS = ("died", "survived", "months_to_outcome", "age_years", "cd4_per_ul", "sex", "previously_published",
                "outcome")
DRUG_KEYS = query("drug_keys", """
MATCH (d:Drug)
WHERE d.name = toLower($drug) OR d.drugbank_id = $drug
RETURN d.name AS key, [] AS members
UNION
MATCH (k:DrugClass {id: toLower($drug)})
OPTIONAL MATCH (m:Drug)-[:MEMBER_OF]->(k)
RETURN k.id AS key, collect(m.name) AS members
""", drug="anti-cd20")


@dataclass(frozen=True, slots=True)
class CaseFilter:
    gene: str | None = None
    defect: str | None = None
    category: str | None = None
    drug: str | None = None  # a drug name, DrugBank id or drug class id (its members count too)
    role: str | None = None
    outcome: str | None = None
    sex: str | None = None
    age_min: float | None = None
    age_max: float | None = None
    year_min: int | None = None
    year_max: int | None = None
    pmid: str | None = None
    attributable: bool = False  # only cases /associations counts (not mixed-defect series)


def drug_keys(store: GraphStore, drug: str) -> list[str]:
    """A drug name, DrugBank id or class id -> the Drug and DrugClass keys it covers (a class
    covers its member drugs). Unknown names give [] (then nothing matches, as it should)."""
    keys: list[str] = []
    for row in run(store, DRUG_KEYS, drug=drug):
        keys += [row["key"], *row["members"]]
    return sorted(set(keys))


def _params(store: GraphStore, f: CaseFilter) -> dict[str, Any]:
    return {"sex": f.sex, "outcome": f.outcome, "age_min": f.age_min, "age_max": f.age_max,
            "year_min": f.year_min, "year_max": f.year_max, "pmid": f.pmid, "defect": f.defect,
            "category": f.category, "gene": f.gene, "role": f.role,
            "drugs": None if f.drug is None else drug_keys(store, f.drug), "attributable": f.attributable}


def case_page(store: GraphStore, f: CaseFilter, *, skip: int,
              limit: int) -> tuple[dict[str, int | None], list[dict[str, Any]]]:
    params = _params(store, f)
    total = run(store, CASE_TOTAL, **params)[0]
    ids = [r["id"] for r in run(store, CASE_PAGE, **params, skip=skip, limit=limit)]
    totals = {"cases": total["cases"], "patients": whole(total["patients"]),
              "given": None if f.drug is None else whole(total["given"])}
    return totals, case_details(store, ids)


def _sentences(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Evidence sentences of a case, each with the facts it states and their mention offsets."""
    out = []
    for e in rows:
        if not e.get("id"):
            continue
        facts = e.get("facts") or []
        starts, ends = e.get("fact_starts") or [], e.get("fact_ends") or []
        out.append({"id": e["id"], "text": e["text"], "start": e["start"], "end": e["end"], "facts": list(facts),
                    "mentions": {f: (starts[i] if i < len(starts) else None, ends[i] if i < len(ends) else None)
                                 for i, f in enumerate(facts)}})
    return sorted(out, key=lambda e: e["start"])


def _series(case: dict[str, Any], pmid: str, drugs: list[dict[str, Any]], sentences: list[dict[str, Any]],
            deaths: int, survivors: int) -> dict[str, Any] | None:
    """A series' group facts as stated, each with the sentence that states it; None for a patient."""
    size = int(case.get("cohort_size") or 1)
    if size <= 1:
        return None
    evidence: dict[str, dict[str, Any]] = {}
    for e in sentences:
        for fact, (start, end) in e["mentions"].items():
            if fact in SERIES_FACTS or fact.startswith("drug:"):
                evidence.setdefault(fact, {"fact": fact, "id": e["id"], "pmid": pmid, "sentence": e["text"],
                                           "sentence_start": e["start"], "start": start, "end": end})

    def summary(prefix: str) -> dict[str, Any] | None:
        values = {k: case.get(f"{prefix}_{k}") for k in ("median", "low", "high", "kind")}
        return None if all(values[k] is None for k in ("median", "low", "high")) else values

    return {
        "cohort_size": size, "deaths": case.get("deaths"), "survivors": case.get("survivors"),
        "unknown_outcome": unknown_outcome(size, deaths, survivors),
        **{name: summary(prefix) for name, prefix in SERIES_SUMMARIES.items()},
        "n_male": case.get("n_male"), "n_female": case.get("n_female"),
        "previously_published": case.get("previously_published"),
        "drugs": [{"key": d["key"], "name": d.get("name"), "role": d["role"], "n_patients": d.get("n_patients"),
                   "patients": whole(d["patients"]), "evidence": evidence.get(f"drug:{d['key']}")}
                  for d in drugs if not d["evidence"].get("negated")],
        "evidence": dict(sorted(evidence.items())),
    }


def case_details(store: GraphStore, ids: list[str]) -> list[dict[str, Any]]:
    """Cases in the order of ``ids``, each with its assertions, their evidence, its sentences (with
    the facts each states) and, for a series, its group facts with their sentences."""
    if not ids:
        return []
    found = {}
    for row in run(store, CASE_DETAILS, ids=ids):
        case = props(row["case"])
        drugs = sorted((d for d in row["drugs"] if d.get("key")), key=lambda d: (d["role"], d["key"]))
        sentences = _sentences(row["sentences"])
        found[case["id"]] = {
            **case,
            "deaths": case.get("deaths"), "survivors": case.get("survivors"),
            "publication": {"pmid": row["pmid"], "title": row["title"], "year": row["year"], "journal": row["journal"]},
            "diseases": [d for d in row["diseases"] if d.get("id")],
            "genes": [g for g in row["genes"] if g.get("symbol")],
            "drugs": [{**d, "patients": whole(d["patients"])} for d in drugs],
            "outcomes": [o for o in row["outcomes"] if o.get("outcome")],
            "sentences": [{k: v for k, v in e.items() if k != "mentions"} for e in sentences],
            "series": _series(case, row["pmid"], drugs, sentences, whole(row["counted_deaths"]),
                              whole(row["counted_survivors"])),
        }
    return [found[i] for i in ids if i in found]
