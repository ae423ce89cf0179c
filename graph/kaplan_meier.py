"""Kaplan-Meier curves of time from PML diagnosis to death, with lifelines (a maintained library).

For each group: the step function with its 95% confidence band (lifelines' exponential
Greenwood interval), the censoring times, numbers at risk at regular times (for the table under
the plot), and the median survival where the curve crosses 0.5; across groups, the log-rank test.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from pmlkg.graph.queries.survival import SurvivalData

AT_RISK_STEP_MONTHS = 6


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def curves(data: SurvivalData, *, max_groups: int = 8) -> dict[str, Any]:
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    groups = [g for g in data.groups if g.durations][:max_groups]
    horizon = max((max(g.durations) for g in groups), default=0.0)
    ticks = list(range(0, int(horizon) + AT_RISK_STEP_MONTHS, AT_RISK_STEP_MONTHS))
    out = []
    for g in groups:
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
    if len(groups) >= 2:
        durations = [d for g in groups for d in g.durations]
        events = [e for g in groups for e in g.events]
        labels = [g.name for g in groups for _ in g.durations]
        result = multivariate_logrank_test(durations, labels, events)
        logrank = {"statistic": _num(result.test_statistic), "p": _num(result.p_value),
                   "groups": len(groups)}
    return {"groups": out, "at_risk_times": ticks, "logrank": logrank,
            "without_time": data.without_time, "patients": data.patients,
            "series_considered": len(data.series), "series_left_out": data.series_left_out,
            "series_patients_left_out": data.series_patients_left_out,
            "series": [asdict(s) for s in data.series]}
