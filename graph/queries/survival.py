"""Time from PML diagnosis to death, per reported patient, grouped for Kaplan-Meier curves.

A patient who died at a stated time is an event; one reported alive at a stated follow-up is
censored there; a patient with no time is left out (and counted as such). A series states its
times as a summary (median and range), not per patient, so it contributes what it can: its
patients enter the curves only when the summary is one time they all share (``months_kind``
"single", or a range whose ends meet) and they all had the same outcome (deaths or survivors =
cohort size) and all fall in one group (for ``exposure``: all or none given the drug, counted as
graph/queries/counting.py counts them); every other series is left out, and the result lists it
with its stated counts and summary and the reason (``series``, ``series_left_out``). These are
reported cases, not a cohort: publication favours the dramatic and the cured alike, so the curves
describe the literature, not a risk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pmlkg.graph.queries.catalogue import query, run, whole
from pmlkg.graph.queries.counting import patients_given
from pmlkg.graph.statistics import SurvivalGroup, kaplan_meier
from pmlkg.graph.stores import GraphStore

GroupBy = Literal["exposure", "category", "defect", "none"]

SURVIVAL_CASES = query("survival_cases", """
MATCH (a:Publication)-[:REPORTS]->(c:Case)
WHERE c.cohort_size = 1
  AND ($year_min IS NULL OR a.year >= $year_min) AND ($year_max IS NULL OR a.year <= $year_max)
WITH c, [(c)-[h:HAS_DISEASE]->(x:Disease) WHERE h.negated = false | {id: x.id, name: x.name,
         category: x.iuis_category}] AS diseases,
     [(c)-[r:RECEIVED]->(d) WHERE r.negated = false AND r.role = 'exposure' | coalesce(d.id, d.name)] AS exposures
RETURN c.id AS id, c.outcome AS outcome, c.months_to_outcome AS months, diseases, exposures
ORDER BY id
""", year_min=None, year_max=None)
SURVIVAL_SERIES = query("survival_series", f"""
MATCH (a:Publication)-[:REPORTS]->(c:Case)
WHERE c.cohort_size > 1
  AND ($year_min IS NULL OR a.year >= $year_min) AND ($year_max IS NULL OR a.year <= $year_max)
WITH c, [(c)-[h:HAS_DISEASE]->(x:Disease) WHERE h.negated = false | {{id: x.id, name: x.name,
         category: x.iuis_category}}] AS diseases,
     [(c)-[r:RECEIVED]->(d) WHERE r.negated = false AND r.role = 'exposure' | {{key: coalesce(d.id, d.name),
         patients: {patients_given("c", "r")}}}] AS exposures
RETURN c.id AS id, c.cohort_size AS cohort_size, c.deaths AS deaths, c.survivors AS survivors,
       c.months_median AS months_median, c.months_low AS months_low, c.months_high AS months_high,
       c.months_kind AS months_kind, diseases, exposures
ORDER BY id
""", year_min=None, year_max=None)


@dataclass(slots=True)
class SeriesSurvival:
    """A series as the curves see it: its stated counts and time summary, and what it contributed."""

    case: str
    cohort_size: int
    deaths: int | None
    survivors: int | None
    months_median: float | None
    months_low: float | None
    months_high: float | None
    months_kind: str | None
    groups: list[str]  # the groups its patients belong to (two when only some were given the drug)
    given: int | None  # group_by="exposure": its patients given the drug (counting.py)
    shared_months: float | None  # the one time all its patients share, when its summary says so
    contributed: int  # patients entered in the curves (all of them or none)
    reason: str | None  # why it was left out


@dataclass(slots=True)
class SurvivalData:
    groups: list[SurvivalGroup]
    without_time: int  # individually described patients with no time to outcome
    patients: int
    series: list[SeriesSurvival] = field(default_factory=list)

    @property
    def series_left_out(self) -> int:
        return sum(1 for s in self.series if not s.contributed)

    @property
    def series_patients_left_out(self) -> int:
        return sum(s.cohort_size for s in self.series if not s.contributed)


def _shared_time(row: dict[str, Any]) -> float | None:
    """The one time every patient of a series shares, when its summary says so."""
    median, low, high = row["months_median"], row["months_low"], row["months_high"]
    if row["months_kind"] == "single" and median is not None and low in (None, median) and high in (None, median):
        return float(median)
    if low is not None and low == high and median in (None, low):
        return float(low)
    return None


def _series(row: dict[str, Any], group_by: GroupBy, wanted: set[str], label: str) -> SeriesSurvival:
    size = int(row["cohort_size"])
    given = None
    if group_by == "exposure":
        given = max((whole(e["patients"]) for e in row["exposures"] if e["key"] in wanted), default=0)
        groups = ([f"exposed to {label}"] if given >= size else [f"not exposed to {label}"] if given == 0
                  else [f"exposed to {label}", f"not exposed to {label}"])
    else:
        groups = _group_names(group_by, row["diseases"])
    deaths, survivors = row["deaths"], row["survivors"]
    t = _shared_time(row)
    reason = None
    if t is None:
        stated = any(row[k] is not None for k in ("months_median", "months_low", "months_high"))
        reason = ("no time per patient: the series states a summary of its times" if stated
                  else "no time per patient: the series states no time")
    elif deaths != size and survivors != size:
        reason = "outcomes not the same for all its patients, so a time cannot be given an event or a censoring"
    elif len(groups) > 1 and group_by == "exposure":
        reason = "only some of its patients were given the drug, and the series does not say which"
    return SeriesSurvival(case=row["id"], cohort_size=size, deaths=deaths, survivors=survivors,
                          months_median=row["months_median"], months_low=row["months_low"],
                          months_high=row["months_high"], months_kind=row["months_kind"], groups=groups, given=given,
                          shared_months=t, contributed=0 if reason else size, reason=reason)


def _group_names(group_by: GroupBy, diseases: list[dict[str, Any]]) -> list[str]:
    if group_by == "category":
        return sorted({d["category"] or "uncategorised" for d in diseases}) or ["no defect named"]
    if group_by == "defect":
        return sorted({d["name"] for d in diseases}) or ["no defect named"]
    return ["all reported patients"]


def survival_data(store: GraphStore, *, group_by: GroupBy, drugs: list[str] | None = None,
                  drug_label: str | None = None, year_min: int | None = None,
                  year_max: int | None = None) -> SurvivalData:
    """``group_by="exposure"``: exposed to any of ``drugs`` (keys: a drug and, for a class, its
    members) before PML vs not; ``category`` / ``defect``: by each defect the patient has."""
    rows: list[dict[str, Any]] = run(store, SURVIVAL_CASES, year_min=year_min, year_max=year_max)
    groups: dict[str, SurvivalGroup] = {}
    without = 0
    wanted = set(drugs or [])
    label = drug_label or "the drug"
    for row in rows:
        months, outcome = row["months"], row["outcome"]
        if months is None or outcome not in ("died", "survived"):
            without += 1
            continue
        if group_by == "exposure":
            names = [f"exposed to {label}" if wanted & set(row["exposures"]) else f"not exposed to {label}"]
        else:
            names = _group_names(group_by, row["diseases"])
        for name in names:
            g = groups.setdefault(name, SurvivalGroup(name))
            g.durations.append(float(months))
            g.events.append(outcome == "died")
            g.cases.append(row["id"])
    series = [_series(row, group_by, wanted, label)
              for row in run(store, SURVIVAL_SERIES, year_min=year_min, year_max=year_max)]
    for s in series:
        if not s.contributed or s.shared_months is None:
            continue
        for name in s.groups:
            g = groups.setdefault(name, SurvivalGroup(name))
            g.durations += [s.shared_months] * s.cohort_size
            g.events += [s.deaths == s.cohort_size] * s.cohort_size
            g.cases += [s.case] * s.cohort_size
    ordered = sorted(groups.values(), key=lambda g: (-len(g.durations), g.name))
    return SurvivalData(groups=ordered, without_time=without, patients=len(rows), series=series)


def curves(data: SurvivalData, *, max_groups: int = 8) -> dict[str, Any]:
    """The Kaplan-Meier curves of ``data``'s groups, with what was left out and why."""
    return {**kaplan_meier(data.groups, max_groups=max_groups),
            "without_time": data.without_time, "patients": data.patients,
            "series_considered": len(data.series), "series_left_out": data.series_left_out,
            "series_patients_left_out": data.series_patients_left_out,
            "series": [asdict(s) for s in data.series]}
