"""Drug (or drug class) x defect (or gene) associations: counts, outcomes, 2x2 table, statistics.

Counting rules, the same in every query here:
- patients as ``graph/queries/counting.py`` counts them: a series by the number it says received
  the drug; a series with more than one defect counts 0 (its counts cannot be attributed);
- negated assertions ("had never received rituximab") never count;
- the universe of the 2x2 table is the reported cases with a (non-negated) defect, or gene for
  the gene axis, within the same year range; ``category`` filters the rows shown, never the
  comparison, so a ROR means the same whatever the filter.
Deaths and survivors among a cell's patients follow counting.py: a patient's own outcome; a
series' totals only when they determine the outcome of the patients given the drug (all of the
series given it, or all died / all survived), else its patients count as outcome unknown. The median
time to death is over individual times (patients described one by one); a series' stated summary
is listed with the cell (``series``), never pooled with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pmlkg.graph.queries.catalogue import query, run, whole
from pmlkg.graph.queries.counting import (attributable, deaths_given, patients_given, patients_given_any, patients_of,
                                          survivors_given, unknown_outcome)
from pmlkg.graph.statistics import TwoByTwo, fisher_exact_p, median, reporting_odds_ratio
from pmlkg.graph.stores import GraphStore
from pmlkg.schema import Role

RowAxis = Literal["drug", "drug_class"]
ColAxis = Literal["defect", "gene"]
DENOMINATOR = ("reported cases in the literature graph, not incidence: patients described in PubMed articles, "
               "compared among reported cases with a known defect (gene), this defect against all other defects")

_CASES = f"""MATCH (a:Publication)-[:REPORTS]->(c:Case)
WHERE {attributable()}
  AND ($year_min IS NULL OR a.year >= $year_min) AND ($year_max IS NULL OR a.year <= $year_max)"""
_ROWS = {  # -> c, r, row_key, row_name
    "drug": """
MATCH (c)-[r:RECEIVED]->(t:Drug)
WHERE r.negated = false AND r.role = $role AND ($rows IS NULL OR t.name IN $rows)
WITH a, c, r, t.name AS row_key, coalesce(t.display, t.name) AS row_name""",
    "drug_class": """
MATCH (c)-[r:RECEIVED]->(t)
WHERE r.negated = false AND r.role = $role AND (t:Drug OR t:DrugClass)
OPTIONAL MATCH (t)-[:MEMBER_OF]->(k:DrugClass)
WITH a, c, r, CASE WHEN k IS NULL THEN t ELSE k END AS item
WHERE labels(item)[0] = 'DrugClass' AND ($rows IS NULL OR item.id IN $rows)
WITH a, c, r, item.id AS row_key, item.name AS row_name""",
}
_COL_PATTERN = {"defect": "(c)-[h:HAS_DISEASE]->(x:Disease)", "gene": "(c)-[h:HAS_GENE]->(x:Gene)"}
_COL_KEY = {"defect": "x.id", "gene": "x.symbol"}
_COL_NAME = {"defect": "x.name", "gene": "x.symbol"}
_COL_CATEGORY = {"defect": "x.iuis_category", "gene": "null"}
_COL_MATCH = {"defect": "x.id = $col OR x.name_lower = toLower($col)", "gene": "x.symbol = $col"}
_EXAMPLE = dict(role="exposure", rows=None, col=None, category=None, year_min=None, year_max=None)


def _in_universe(col: ColAxis) -> str:
    return (f"WITH a, c, size([{_COL_PATTERN[col]} WHERE h.negated = false | x]) AS n_cols\n"
            "WHERE n_cols > 0")


def _cells(row: RowAxis, col: ColAxis) -> str:
    """Counts per (row, col) and the ids of the cases behind them; no evidence (see _EVIDENCE):
    building evidence maps for every cell cost 5x the counting on a 10,000-case graph."""
    return f"""{_CASES}
{_ROWS[row].strip()}
MATCH {_COL_PATTERN[col]}
WHERE h.negated = false AND ($col IS NULL OR {_COL_MATCH[col]})
  AND ($category IS NULL OR {_COL_CATEGORY[col]} = $category)
WITH row_key, row_name, {_COL_KEY[col]} AS col_key, {_COL_NAME[col]} AS col_name,
     {_COL_CATEGORY[col]} AS category, c, {patients_given_any()} AS weight
WITH row_key, row_name, col_key, col_name, category,
     sum(weight) AS patients, count(DISTINCT c.pmid) AS articles,
     sum({deaths_given("c", "weight")}) AS deaths,
     sum({survivors_given("c", "weight")}) AS survivors,
     collect(CASE WHEN c.cohort_size = 1 AND c.outcome = 'died' THEN c.months_to_outcome END) AS death_months,
     collect(CASE WHEN c.cohort_size > 1 THEN {{case: c.id, cohort_size: c.cohort_size, patients: weight,
             deaths: c.deaths, survivors: c.survivors, months_median: c.months_median, months_low: c.months_low,
             months_high: c.months_high, months_kind: c.months_kind}} END) AS series,
     collect(DISTINCT c.pmid) AS pmids, collect(c.id) AS cases
WHERE patients >= $min_patients
RETURN row_key, row_name, col_key, col_name, category, patients, articles, deaths, survivors, death_months,
       series, pmids, cases"""


def _evidence(col: ColAxis) -> str:
    """The evidence of the listed cases of the cells shown: ``$items`` = [{row, col, keys, cases}],
    ``keys`` the drug (or the class and its member drugs) the row stands for."""
    return f"""
UNWIND $items AS it
UNWIND it.cases AS cid
MATCH (c:Case {{id: cid}})-[r:RECEIVED]->(t)
WHERE r.negated = false AND r.role = $role AND (t.name IN it.keys OR t.id IN it.keys)
MATCH {_COL_PATTERN[col]}
WHERE h.negated = false AND {_COL_KEY[col]} = it.col
OPTIONAL MATCH (c)-[ho:HAD_OUTCOME]->(o:Outcome)
WHERE o.id IN ['died', 'survived']
RETURN it.row AS row_key, it.col AS col_key,
       collect({{case: c.id, pmid: r.pmid, sentence: r.sentence, sentence_start: r.sentence_start, start: r.start,
                end: r.end, text: r.text, n_patients: r.n_patients, patients: {patients_given()},
                cohort_size: c.cohort_size, deaths: c.deaths, survivors: c.survivors, confidence: r.confidence,
                defect_sentence: h.sentence, defect_text: h.text, outcome: c.outcome,
                outcome_sentence: ho.sentence}})[0] AS evidence, cid AS case_id"""


def _row_totals(row: RowAxis, col: ColAxis) -> str:
    return f"""{_CASES}
{_in_universe(col)}
{_ROWS[row].strip()}
WITH row_key, c, {patients_given_any()} AS weight
RETURN row_key, sum(weight) AS exposed"""


def _col_totals(col: ColAxis) -> str:
    return f"""{_CASES}
MATCH {_COL_PATTERN[col]}
WHERE h.negated = false
RETURN {_COL_KEY[col]} AS col_key, sum({patients_of()}) AS cases"""


def _universe(col: ColAxis) -> str:
    return f"""{_CASES}
{_in_universe(col)}
RETURN sum({patients_of()}) AS cases, count(DISTINCT a.pmid) AS articles"""


# Orders of the rows (``sort=`` of /associations): most patients first, highest ROR, lowest p.
SORT_KEYS: dict[str, Any] = {
    "patients": lambda r: (-r["patients"], -r["articles"], r["row_key"], r["col_key"]),
    "ror": lambda r: (-(r["ror"] or 0.0), -r["patients"], r["row_key"], r["col_key"]),
    "p": lambda r: (r["fisher_p"], -r["patients"], r["row_key"], r["col_key"]),
}
CELLS = {(r, c): query(f"associations_{r}_{c}", _cells(r, c), **_EXAMPLE, min_patients=1)
         for r in _ROWS for c in _COL_PATTERN}
_EVIDENCE_EXAMPLE = {"defect": ("iuis:gata2-deficiency", "90000004:0"), "gene": ("GATA2", "90000004:0")}
EVIDENCE = {c: query(f"association_evidence_{c}", _evidence(c), role="exposure", items=[
    {"row": "rituximab", "col": _EVIDENCE_EXAMPLE[c][0], "keys": ["rituximab"], "cases": [_EVIDENCE_EXAMPLE[c][1]]}])
    for c in _COL_PATTERN}
MEMBERS = query("drug_class_members", """
MATCH (m:Drug)-[:MEMBER_OF]->(k:DrugClass)
WHERE k.id IN $ids
RETURN k.id AS id, collect(m.name) AS members
""", ids=["anti-cd20"])
ROW_TOTALS = {(r, c): query(f"association_row_totals_{r}_{c}", _row_totals(r, c),
                            role="exposure", rows=None, year_min=None, year_max=None)
              for r in _ROWS for c in _COL_PATTERN}
COL_TOTALS = {c: query(f"association_col_totals_{c}", _col_totals(c), year_min=None, year_max=None)
              for c in _COL_PATTERN}
UNIVERSE = {c: query(f"association_universe_{c}", _universe(c), year_min=None, year_max=None) for c in _COL_PATTERN}


@dataclass(frozen=True, slots=True)
class AssociationQuery:
    rows: RowAxis = "drug"
    cols: ColAxis = "defect"
    role: Role = "exposure"
    row_keys: list[str] | None = None  # restrict rows (drug names or class ids), resolved by the caller
    col: str | None = None  # one defect (id or name) or gene symbol
    category: str | None = None  # IUIS category of the defect (defect axis only)
    min_patients: int = 1
    year_min: int | None = None
    year_max: int | None = None
    evidence_limit: int = 5


@dataclass(frozen=True, slots=True)
class AssociationResult:
    universe_cases: int
    universe_articles: int
    rows: list[dict[str, Any]]


def associations(store: GraphStore, q: AssociationQuery) -> AssociationResult:
    """Every (row, col) cell with its counts and statistics; evidence is left to :func:`with_evidence`,
    which fetches it for the rows a caller shows."""
    years = {"year_min": q.year_min, "year_max": q.year_max}
    cells = run(store, CELLS[(q.rows, q.cols)], role=q.role, rows=q.row_keys, col=q.col, category=q.category,
                min_patients=q.min_patients, **years)
    universe = run(store, UNIVERSE[q.cols], **years)[0]
    n_all = universe["cases"] or 0
    exposed = {r["row_key"]: r["exposed"] for r in run(store, ROW_TOTALS[(q.rows, q.cols)], role=q.role,
                                                        rows=q.row_keys, **years)}
    cases = {r["col_key"]: r["cases"] for r in run(store, COL_TOTALS[q.cols], **years)}
    out = []
    for cell in cells:
        for count in ("patients", "articles", "deaths", "survivors"):
            cell[count] = whole(cell[count])
        table = TwoByTwo.from_margins(exposed_here=cell["patients"], cases_here=cases.get(cell["col_key"], 0),
                                      exposed_all=exposed.get(cell["row_key"], cell["patients"]), cases_all=n_all)
        ror = reporting_odds_ratio(table)
        months = [m for m in cell["death_months"] if m is not None]
        out.append({
            "row_key": cell["row_key"], "row_name": cell["row_name"], "col_key": cell["col_key"],
            "col_name": cell["col_name"], "category": cell["category"],
            "patients": cell["patients"], "articles": cell["articles"], "deaths": cell["deaths"],
            "survivors": cell["survivors"],
            "unknown_outcome": unknown_outcome(cell["patients"], cell["deaths"], cell["survivors"]),
            "median_months_to_death": median(months), "timed_deaths": len(months),
            "series": sorted(({**x, "patients": whole(x["patients"])} for x in cell["series"]),
                             key=lambda x: x["case"]),
            "table": {"a": table.a, "b": table.b, "c": table.c, "d": table.d},
            "fisher_p": fisher_exact_p(table),
            "ror": ror.ror if ror else None, "ror_ci_low": ror.ci_low if ror else None,
            "ror_ci_high": ror.ci_high if ror else None, "haldane_corrected": ror.corrected if ror else False,
            "pmids": sorted(cell["pmids"]), "cases": sorted(cell["cases"]), "n_evidence": len(cell["cases"]),
            "evidence": [],
        })
    return AssociationResult(universe_cases=n_all, universe_articles=universe["articles"] or 0, rows=out)


def with_evidence(store: GraphStore, q: AssociationQuery, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (from :func:`associations`) with the evidence of their first ``q.evidence_limit`` cases:
    for each case, the sentence of the drug, of the defect and of the outcome."""
    if q.evidence_limit <= 0 or not rows:
        return rows
    members: dict[str, list[str]] = {}
    if q.rows == "drug_class":
        ids = sorted({r["row_key"] for r in rows})
        members = {m["id"]: m["members"] for m in run(store, MEMBERS, ids=ids)}
    items = [{"row": r["row_key"], "col": r["col_key"], "keys": [r["row_key"], *members.get(r["row_key"], [])],
              "cases": r["cases"][: q.evidence_limit]} for r in rows]
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for e in run(store, EVIDENCE[q.cols], role=q.role, items=items):
        found.setdefault((e["row_key"], e["col_key"]), {})[e["case_id"]] = e["evidence"]
    for r in rows:
        got = found.get((r["row_key"], r["col_key"]), {})
        r["evidence"] = [got[c] for c in r["cases"][: q.evidence_limit] if c in got]
    return rows
