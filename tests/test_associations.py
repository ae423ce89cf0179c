"""The association statistics end to end on hand-built graphs in a real FalkorDB, against scipy.

The graph is written with the loader's own schema (Case {deaths, survivors}, Disease, Drug, RECEIVED
{role, negated, n_patients}) so the counting rules of graph/queries/counting.py are what is checked:
series count by their numbers, a series' deaths count only where they settle the outcome of the
patients given the drug, mixed-defect series and negated mentions never count, the universe is the
cases with a defect, a category filter narrows the rows but not the comparison. (The loader's own
writing of series facts is tests/test_series_graph.py.)
"""

from __future__ import annotations

import pytest
from scipy import stats

from pmlkg.graph.queries.associations import AssociationQuery, associations, with_evidence
from pmlkg.graph.stores import GraphStore

CASES = [  # (id, cohort_size, n_diseases, outcome, months, diseases, [(drug, role, negated, n_patients)])
    *[(f"1:{i}", 1, 1, o, m, ["iuis:x"], [("d", "exposure", False, 1), ("e", "exposure", False, 1)])
      for i, (o, m) in enumerate([("died", 4.0), ("died", 10.0)])],
    ("1:2", 1, 1, "survived", 24.0, ["iuis:x"], [("d", "exposure", False, 1)]),
    ("1:3", 1, 1, "unknown", None, ["iuis:x"], []),
    ("2:0", 5, 1, "died", None, ["iuis:x"], [("d", "exposure", False, 2)]),  # series: 2 of 5 received d, 3 died
    ("3:0", 10, 2, "died", None, ["iuis:x", "iuis:y"], [("d", "exposure", False, 4)]),  # mixed: counts 0
    ("4:0", 1, 1, "died", 3.0, ["iuis:y"], [("d", "exposure", False, 1)]),
    ("4:1", 1, 1, "survived", None, ["iuis:y"], [("d", "exposure", True, 1)]),  # "had never received d"
    *[(f"4:{i}", 1, 1, "unknown", None, ["iuis:y"], []) for i in range(2, 6)],
    *[(f"5:{i}", 1, 1, "unknown", None, ["iuis:z"], [("d", "treatment", False, 1)]) for i in range(4)],
    ("6:0", 1, 0, "died", None, [], [("d", "exposure", False, 1)]),  # no known defect: outside the universe
]
SERIES_OUTCOMES = {"2:0": (3, 2), "3:0": (10, 0)}  # (deaths, survivors) a series states; a patient's follow its outcome


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    for cid, size, n_dis, outcome, months, diseases, drugs in CASES:
        pmid = cid.split(":")[0]
        store.write("MERGE (a:Publication {pmid: $pmid}) SET a.year = 2020 "
                    "CREATE (a)-[:REPORTS]->(:Case {id: $id, pmid: $pmid, cohort_size: $size, n_diseases: $n, "
                    "outcome: $outcome, months_to_outcome: $months, deaths: $deaths, survivors: $survivors})",
                    {"pmid": pmid, "id": cid, "size": size, "n": n_dis, "outcome": outcome, "months": months,
                     "deaths": SERIES_OUTCOMES.get(cid, (int(outcome == "died"), 0))[0],
                     "survivors": SERIES_OUTCOMES.get(cid, (0, int(outcome == "survived")))[1]})
        for d in diseases:
            store.write("MATCH (c:Case {id: $id}) MERGE (x:Disease {id: $d}) "
                        "SET x.name = $d, x.name_lower = $d, x.iuis_category = $cat "
                        "CREATE (c)-[:HAS_DISEASE {negated: false, pmid: $pmid}]->(x)",
                        {"id": cid, "d": d, "pmid": pmid, "cat": "antibody" if d == "iuis:x" else "other"})
        for drug, role, negated, n in drugs:
            store.write("MATCH (c:Case {id: $id}) MERGE (g:Drug {name: $drug}) "
                        "CREATE (c)-[:RECEIVED {role: $role, negated: $neg, n_patients: $n, pmid: $pmid, "
                        "sentence: 'received ' + $drug, text: $drug}]->(g)",
                        {"id": cid, "drug": drug, "role": role, "neg": negated, "n": n, "pmid": pmid})
    return store


def _row(rows: list[dict], drug: str, defect: str) -> dict:
    return next(r for r in rows if r["row_key"] == drug and r["col_key"] == defect)


def test_counts_table_and_statistics_match_scipy(graph: GraphStore) -> None:
    result = associations(graph, AssociationQuery(role="exposure"))
    assert result.universe_cases == 9 + 6 + 4  # x: 4 patients + a 5-patient series; y: 6; z: 4
    x = _row(result.rows, "d", "iuis:x")
    assert x["patients"] == 5 and x["articles"] == 2  # 3 patients + 2 of the series; the mixed series adds 0
    # 2 died and 1 survived of the patients; 3 of the series' 5 died, but which of its 2 given d is unknown
    assert (x["deaths"], x["survivors"], x["unknown_outcome"]) == (2, 1, 2)
    assert x["timed_deaths"] == 2 and [(s["case"], s["patients"], s["deaths"]) for s in x["series"]] == [("2:0", 2, 3)]
    assert x["median_months_to_death"] == 7.0
    assert x["table"] == {"a": 5, "b": 4, "c": 1, "d": 9}
    y = _row(result.rows, "d", "iuis:y")
    assert y["patients"] == 1 and y["table"] == {"a": 1, "b": 5, "c": 5, "d": 8}  # the negated case is unexposed
    for row in (x, y):
        t = row["table"]
        table = [[t["a"], t["b"]], [t["c"], t["d"]]]
        assert row["fisher_p"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-9)
        ref = stats.contingency.odds_ratio(table, kind="sample")
        ci = ref.confidence_interval(0.95)
        assert row["ror"] == pytest.approx(ref.statistic) and not row["haldane_corrected"]
        assert (row["ror_ci_low"], row["ror_ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert not [r for r in result.rows if r["col_key"] == "iuis:z"]  # z's patients got d as treatment only


def test_a_zero_cell_gets_the_haldane_correction(graph: GraphStore) -> None:
    e = _row(associations(graph, AssociationQuery(role="exposure")).rows, "e", "iuis:x")
    assert e["table"] == {"a": 2, "b": 7, "c": 0, "d": 10} and e["haldane_corrected"]
    corrected = (2.5 * 10.5) / (7.5 * 0.5)
    assert e["ror"] == pytest.approx(corrected) and e["ror_ci_low"] < corrected < e["ror_ci_high"]
    assert e["fisher_p"] == pytest.approx(stats.fisher_exact([[2, 7], [0, 10]]).pvalue)


def test_role_category_and_min_patients(graph: GraphStore) -> None:
    treated = associations(graph, AssociationQuery(role="treatment"))
    z = _row(treated.rows, "d", "iuis:z")
    assert z["patients"] == 4 and z["table"]["c"] == 0
    narrowed = associations(graph, AssociationQuery(role="exposure", category="antibody"))
    assert {r["col_key"] for r in narrowed.rows} == {"iuis:x"}
    assert narrowed.universe_cases == 19 and _row(narrowed.rows, "d", "iuis:x")["table"] == {"a": 5, "b": 4, "c": 1, "d": 9}
    assert {r["col_key"] for r in associations(graph, AssociationQuery(min_patients=2)).rows} == {"iuis:x"}
    q = AssociationQuery(evidence_limit=2)
    rows = with_evidence(graph, q, associations(graph, q).rows)
    evidence = _row(rows, "d", "iuis:x")
    assert len(evidence["evidence"]) == 2 and evidence["n_evidence"] == 4
    assert all(e["text"] == "d" and e["sentence"] == "received d" and e["case"] in evidence["cases"]
               for e in evidence["evidence"])
