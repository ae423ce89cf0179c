"""Association statistics against scipy.stats on tables written to hit the edge cases."""

from __future__ import annotations

import itertools
import math

import pytest
from scipy import stats

from pmlkg.graph.statistics import TwoByTwo, fisher_exact_p, median, reporting_odds_ratio

TABLES = [
    (3, 1, 1, 3), (10, 2, 5, 40), (0, 5, 7, 20), (5, 0, 3, 9), (4, 6, 0, 12), (2, 3, 4, 0),
    (0, 0, 3, 4), (1, 0, 0, 1), (12, 30, 40, 100), (1, 1, 1, 1), (0, 1, 1, 0), (50, 3, 2, 60),
    (7, 7, 7, 7), (0, 9, 0, 9), (9, 0, 0, 9),
] + [t for t in itertools.product(range(4), repeat=4)]


@pytest.mark.parametrize("cells", TABLES)
def test_fisher_matches_scipy(cells: tuple[int, int, int, int]) -> None:
    a, b, c, d = cells
    expected = stats.fisher_exact([[a, b], [c, d]], alternative="two-sided").pvalue
    assert fisher_exact_p(TwoByTwo(a, b, c, d)) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("cells", [t for t in TABLES if 0 not in t])
def test_ror_and_woolf_ci_match_scipy(cells: tuple[int, int, int, int]) -> None:
    a, b, c, d = cells
    ref = stats.contingency.odds_ratio([[a, b], [c, d]], kind="sample")
    ci = ref.confidence_interval(confidence_level=0.95)
    # scipy's "sample" CI is Woolf's log-normal interval
    got = reporting_odds_ratio(TwoByTwo(a, b, c, d))
    assert got is not None and not got.corrected
    assert got.ror == pytest.approx(ref.statistic, rel=1e-12)
    assert (got.ci_low, got.ci_high) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))


@pytest.mark.parametrize("cells", [(0, 5, 7, 20), (5, 0, 3, 9), (4, 6, 0, 12), (2, 3, 4, 0), (3, 0, 0, 4)])
def test_zero_cells_get_the_haldane_correction(cells: tuple[int, int, int, int]) -> None:
    """scipy takes integer tables only: the doubled table (2x+1) has the corrected table's odds
    ratio, and its Woolf standard error is the corrected one divided by sqrt(2)."""
    got = reporting_odds_ratio(TwoByTwo(*cells))
    assert got is not None and got.corrected
    doubled = [[2 * cells[0] + 1, 2 * cells[1] + 1], [2 * cells[2] + 1, 2 * cells[3] + 1]]
    ref = stats.contingency.odds_ratio(doubled, kind="sample")
    assert got.ror == pytest.approx(ref.statistic, rel=1e-12)
    z = stats.norm.ppf(0.975)
    se = math.sqrt(2) * (math.log(ref.confidence_interval(0.95).high) - math.log(ref.statistic)) / z
    assert got.ci_low == pytest.approx(math.exp(math.log(ref.statistic) - z * se), rel=1e-9)
    assert got.ci_high == pytest.approx(math.exp(math.log(ref.statistic) + z * se), rel=1e-9)
    assert math.isfinite(got.ci_high) and got.ci_low < got.ror < got.ci_high


def test_no_comparison_without_exposed_cases_or_other_defects() -> None:
    assert reporting_odds_ratio(TwoByTwo(0, 5, 0, 9)) is None  # nobody received the drug
    assert reporting_odds_ratio(TwoByTwo(3, 2, 0, 0)) is None  # no other defect in the graph
    assert fisher_exact_p(TwoByTwo(0, 0, 0, 0)) == 1.0


def test_cells_from_graph_margins() -> None:
    t = TwoByTwo.from_margins(exposed_here=4, cases_here=10, exposed_all=6, cases_all=30)
    assert (t.a, t.b, t.c, t.d) == (4, 6, 2, 18) and t.n == 30
    with pytest.raises(ValueError):
        TwoByTwo(-1, 0, 0, 0)


def test_median() -> None:
    assert median([4, None, 1, 9]) == 4
    assert median([8, 2]) == 5
    assert median([None]) is None and median([]) is None


def test_kaplan_meier_against_a_hand_computed_curve() -> None:
    """Deaths at 1 and 3 months, censored at 2 and 4: S = 3/4 after 1, 3/4 x 1/2 after 3 (the
    product-limit estimate by hand); median 3, where S first falls to 0.5 or below."""
    from pmlkg.graph.queries.survival import curves
    from pmlkg.graph.queries.survival import SurvivalData, SurvivalGroup

    group = SurvivalGroup("g", durations=[1.0, 2.0, 3.0, 4.0], events=[True, False, True, False],
                          cases=["a", "b", "c", "d"])
    out = curves(SurvivalData(groups=[group], without_time=1, patients=5))
    (g,) = out["groups"]
    assert {s["t"]: s["survival"] for s in g["steps"]} == {0.0: 1.0, 1.0: 0.75, 2.0: 0.75, 3.0: 0.375, 4.0: 0.375}
    assert g["median_months"] == 3.0 and g["deaths"] == 2 and g["censored"] == [2.0, 4.0]
    assert out["at_risk_times"] == [0, 6] and g["at_risk"] == [4, 0]
    assert out["logrank"] is None and out["without_time"] == 1
