"""How the queries count patients and outcomes: one set of rules, used by every query that counts
(Cypher fragments, and the one piece of arithmetic the callers do on their results).

A case is a patient or a series the abstract does not separate (``cohort_size`` > 1; its group
facts are Case properties, see pmlkg/schema.yaml).

- **Patients of a case** (:func:`patients_of`): its cohort size (1 for a patient).
- **Patients given a drug** (:func:`patients_given`, per RECEIVED edge; :func:`patients_given_any` per
  case when several of its edges match, e.g. a class and its member drug: the largest, never the sum): a patient counts 1; a series counts the
  number it says received the drug (``RECEIVED.n_patients``). A series that names a drug without
  a number counts 1: the text asserts that at least one of its patients received it, so 1 is the
  lower bound, and it keeps every case a cell lists counting at least one patient (0 would list a
  case under a cell that does not count it; the cohort size would assume what the text does not say).
- **Deaths and survivors of a case** (:func:`deaths_of`, :func:`survivors_of`): a patient 1 or 0 by
  its outcome; a series its stated ``deaths`` / ``survivors`` (0 when it states none: those patients
  are outcome unknown). Survivors are never inferred as cohort size minus deaths.
- **Deaths and survivors among the patients given a drug** (:func:`deaths_given`,
  :func:`survivors_given`): a patient's own outcome; for a series the abstract gives one total for
  all its patients, so the outcome of the ``k`` given the drug is known only when the total
  determines it: everyone was given it (``k`` >= cohort size: the series' totals), or all died
  (deaths = cohort size: ``k`` deaths) or all survived (likewise). Otherwise (say 7 of 11 died and 3
  got rituximab: anywhere from 0 to 3 of them died) its ``k`` patients count as outcome unknown.
  "Nobody died" (deaths = 0) gives 0 deaths among the ``k``; their survival is known only if the
  series states its survivors the same way.
- **Unknown outcome** (:func:`unknown_outcome`): patients minus deaths minus survivors, never below 0.
- **Attribution to a defect** (:func:`attributable`): a series with more than one defect cannot
  attribute its counts to any one of them, so queries that count per defect (or per gene) leave it out.
- **Times**: a series states a summary (median, mean or one value, with a range), never a time per
  patient; summaries are reported as stated and never pooled with individual times (a median of
  medians is no median). Kaplan-Meier takes a series only when its summary is one time every patient
  shares and all its patients had the same outcome, and (grouped by exposure) all or none of them were
  given the drug by :func:`patients_given`: that eligibility is survival's own rule, applied in
  ``graph/queries/survival.py`` (``_series``) to the counts these functions define.
"""

from __future__ import annotations


def patients_of(case: str = "c") -> str:
    """How many patients case ``case`` is."""
    return f"{case}.cohort_size"


def patients_given(case: str = "c", rel: str = "r") -> str:
    """How many patients case ``case`` counts for through its RECEIVED edge ``rel``."""
    return f"CASE WHEN {case}.cohort_size > 1 THEN coalesce({rel}.n_patients, 1) ELSE 1 END"


def patients_given_any(case: str = "c", rel: str = "r") -> str:
    """Patients of ``case`` given any of the drugs its matching RECEIVED edges ``rel`` name (an
    aggregate: the largest edge count, since a series stating 3 for rituximab and 3 for anti-CD20 means
    the same 3 patients, not 6)."""
    return f"max({patients_given(case, rel)})"


def deaths_of(case: str = "c") -> str:
    """Deaths among all the patients of ``case``."""
    return (f"CASE WHEN {case}.cohort_size > 1 THEN coalesce({case}.deaths, 0) "
            f"WHEN {case}.outcome = 'died' THEN 1 ELSE 0 END")


def survivors_of(case: str = "c") -> str:
    """Survivors among all the patients of ``case``."""
    return (f"CASE WHEN {case}.cohort_size > 1 THEN coalesce({case}.survivors, 0) "
            f"WHEN {case}.outcome = 'survived' THEN 1 ELSE 0 END")


def _known_among(case: str, given: str, total: str, outcome: str) -> str:
    return (f"CASE WHEN {case}.cohort_size = 1 THEN (CASE WHEN {case}.outcome = '{outcome}' THEN 1 ELSE 0 END) "
            f"WHEN {case}.{total} IS NULL THEN 0 "
            f"WHEN {given} >= {case}.cohort_size THEN {case}.{total} "
            f"WHEN {case}.{total} >= {case}.cohort_size THEN {given} ELSE 0 END")


def deaths_given(case: str = "c", given: str = "weight") -> str:
    """Known deaths among the ``given`` patients of ``case`` who received a drug (``given``: a Cypher
    expression, usually :func:`patients_given` or a variable holding it)."""
    return _known_among(case, given, "deaths", "died")


def survivors_given(case: str = "c", given: str = "weight") -> str:
    """Known survivors among the ``given`` patients of ``case`` who received a drug."""
    return _known_among(case, given, "survivors", "survived")


def unknown_outcome(patients: int, deaths: int, survivors: int) -> int:
    """Patients whose outcome the counts leave unknown."""
    return max(int(patients) - int(deaths) - int(survivors), 0)


def attributable(case: str = "c") -> str:
    """True for the cases whose counts belong to each of their defects (not mixed-defect series)."""
    return f"({case}.cohort_size = 1 OR {case}.n_diseases = 1)"
