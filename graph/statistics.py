"""The statistics pmlkg reports, computed from what the graph returns: a drug x defect
association's disproportionality, and Kaplan-Meier survival after PML.

Disproportionality on reported cases, as pharmacovigilance does it (the reporting odds ratio of
Rothman et al., Pharmacoepidemiol Drug Saf 2004;13:519-23): among the PML cases in the graph,
how much more often was the drug reported with this defect than with all other defects. The
denominator is reported cases, never a population at risk, so these numbers rank signals; they
are not incidences or risks.

2x2 table (cases with a known defect only)::

                        drug reported   drug not reported
    this defect               a                 b
    other defects             c                 d

Fisher's exact test, two-sided, sums the hypergeometric probabilities of every table with the
same margins that is no more probable than the observed one (the convention of R's
``fisher.test`` and ``scipy.stats.fisher_exact``, with the same 1e-7 relative tolerance for ties).
The ROR's 95% CI is Woolf's (log scale, 1.96 standard errors); when any cell is zero, 0.5 is
added to every cell first (Haldane-Anscombe), so the ROR and CI stay finite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Z_95 = 1.959963984540054
_TIES = 1 + 1e-7


@dataclass(frozen=True, slots=True)
class TwoByTwo:
    a: int  # this defect, drug reported
    b: int  # this defect, drug not reported
    c: int  # other defects, drug reported
    d: int  # other defects, drug not reported

    def __post_init__(self) -> None:
        if min(self.a, self.b, self.c, self.d) < 0:
            raise ValueError(f"negative cell in {self}")

    @classmethod
    def from_margins(cls, exposed_here: int, cases_here: int, exposed_all: int, cases_all: int) -> TwoByTwo:
        """Cells from what the graph counts: exposed cases with the defect, cases with the defect,
        exposed cases overall and cases overall (all within the same universe of cases)."""
        a = int(exposed_here)
        b = max(int(cases_here) - a, 0)
        c = max(int(exposed_all) - a, 0)
        d = max(int(cases_all) - a - b - c, 0)
        return cls(a, b, c, d)

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d


@dataclass(frozen=True, slots=True)
class OddsRatio:
    ror: float
    ci_low: float
    ci_high: float
    corrected: bool  # Haldane-Anscombe 0.5 added to every cell


def _log_hypergeom(k: int, row1: int, col1: int, n: int) -> float:
    """log P(X = k) for X ~ Hypergeometric(n, successes col1, draws row1)."""
    return (_log_choose(col1, k) + _log_choose(n - col1, row1 - k) - _log_choose(n, row1))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact_p(t: TwoByTwo) -> float:
    """Two-sided p of Fisher's exact test (1.0 for an empty or degenerate table)."""
    row1, col1, n = t.a + t.b, t.a + t.c, t.n
    if n == 0 or row1 in (0, n) or col1 in (0, n):
        return 1.0
    lo, hi = max(0, row1 + col1 - n), min(row1, col1)
    observed = _log_hypergeom(t.a, row1, col1, n)
    cutoff = observed + math.log(_TIES)
    total = 0.0
    for k in range(lo, hi + 1):
        lp = _log_hypergeom(k, row1, col1, n)
        if lp <= cutoff:
            total += math.exp(lp)
    return min(1.0, total)


def reporting_odds_ratio(t: TwoByTwo) -> OddsRatio | None:
    """ROR = (a/b)/(c/d) with Woolf's 95% CI; None when a row or column is empty (no comparison)."""
    if t.a + t.c == 0 or t.a + t.b == 0 or t.c + t.d == 0:
        return None
    corrected = 0 in (t.a, t.b, t.c, t.d)
    a, b, c, d = (x + 0.5 if corrected else float(x) for x in (t.a, t.b, t.c, t.d))
    log_ror = math.log(a * d / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return OddsRatio(ror=math.exp(log_ror), ci_low=math.exp(log_ror - Z_95 * se),
                     ci_high=math.exp(log_ror + Z_95 * se), corrected=corrected)


def median(values: Iterable[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None)
    if not known:
        return None
    mid = len(known) // 2
    return known[mid] if len(known) % 2 else (known[mid - 1] + known[mid]) / 2


# -- survival -----------------------------------------------------------------------------------
# Kaplan-Meier curves of time from PML diagnosis to death, with lifelines (a maintained library):
# for each group, the step function with its 95% confidence band (lifelines' exponential Greenwood
# interval), the censoring times, numbers at risk at regular times (for the table under the plot),
# and the median survival where the curve crosses 0.5; across groups, the log-rank test.

AT_RISK_STEP_MONTHS = 6


@dataclass(slots=True)
class SurvivalGroup:
    name: str
    durations: list[float] = field(default_factory=list)
    events: list[bool] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def kaplan_meier(groups: Iterable[SurvivalGroup], *, max_groups: int = 8) -> dict[str, Any]:
    """Curves of the first ``max_groups`` groups with any time, the at-risk table's times, the log-rank test."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    timed = [g for g in groups if g.durations][:max_groups]
    horizon = max((max(g.durations) for g in timed), default=0.0)
    ticks = list(range(0, int(horizon) + AT_RISK_STEP_MONTHS, AT_RISK_STEP_MONTHS))
    out = []
    for g in timed:
        kmf = KaplanMeierFitter(label=g.name).fit(g.durations, event_observed=g.events)
        sf = kmf.survival_function_[g.name]
        ci = kmf.confidence_interval_survival_function_
        low, high = ci.iloc[:, 0], ci.iloc[:, 1]
        steps = [{"t": _num(t), "survival": _num(sf[t]), "ci_low": _num(low[t]), "ci_high": _num(high[t])}
                 for t in sf.index]
        censored = sorted(d for d, e in zip(g.durations, g.events, strict=True) if not e)
        at_risk = [sum(1 for d in g.durations if d >= t) for t in ticks]
        median = kmf.median_survival_time_
        out.append({"name": g.name, "patients": len(g.durations), "deaths": sum(g.events),
                    "censored": censored, "steps": steps, "at_risk": at_risk,
                    "median_months": _num(median), "cases": g.cases})
    logrank = None
    if len(timed) >= 2:
        durations = [d for g in timed for d in g.durations]
        events = [e for g in timed for e in g.events]
        labels = [g.name for g in timed for _ in g.durations]
        result = multivariate_logrank_test(durations, labels, events)
        logrank = {"statistic": _num(result.test_statistic), "p": _num(result.p_value),
                   "groups": len(timed)}
    return {"groups": out, "at_risk_times": ticks, "logrank": logrank}
