"""Time from PML diagnosis to death, per reported patient, grouped for Kaplan-Meier curves.

Only patients described one by one count: a series reports its deaths as a total, with no time
per patient. A patient who died at a stated time is an event; one reported alive at a stated
follow-up is censored there; a patient with no time is left out (and counted as such). These are
reported cases, not a cohort: publication favours the dramatic and the cured alike, so the curves
describe the literature, not a risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from graph.queries.catalogue import query, run
from graph.store import GraphStore

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


@dataclass(slots=True)
class SurvivalGroup:
    name: str
    durations: list[float] = field(default_factory=list)
    events: list[bool] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SurvivalData:
    groups: list[SurvivalGroup]
    without_time: int  # individually described patients with no time to outcome
    patients: int


def survival_data(store: GraphStore, *, group_by: GroupBy, drugs: list[str] | None = None,
                  drug_label: str | None = None, year_min: int | None = None,
                  year_max: int | None = None) -> SurvivalData:
    """``group_by="exposure"``: exposed to any of ``drugs`` (keys: a drug and, for a class, its
    members) before PML vs not; ``category`` / ``defect``: by each defect the patient has."""
    rows: list[dict[str, Any]] = run(store, SURVIVAL_CASES, year_min=year_min, year_max=year_max)
    groups: dict[str, SurvivalGroup] = {}
    without = 0
    wanted = set(drugs or [])
    for row in rows:
        months, outcome = row["months"], row["outcome"]
        if months is None or outcome not in ("died", "survived"):
            without += 1
            continue
        if group_by == "exposure":
            label = drug_label or "the drug"
            names = [f"exposed to {label}" if wanted & set(row["exposures"]) else f"not exposed to {label}"]
        elif group_by == "category":
            names = sorted({d["category"] or "uncategorised" for d in row["diseases"]}) or ["no defect named"]
        elif group_by == "defect":
            names = sorted({d["name"] for d in row["diseases"]}) or ["no defect named"]
        else:
            names = ["all reported patients"]
        for name in names:
            g = groups.setdefault(name, SurvivalGroup(name))
            g.durations.append(float(months))
            g.events.append(outcome == "died")
            g.cases.append(row["id"])
    ordered = sorted(groups.values(), key=lambda g: (-len(g.durations), g.name))
    return SurvivalData(groups=ordered, without_time=without, patients=len(rows))
