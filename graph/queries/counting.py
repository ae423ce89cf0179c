"""How the queries count patients: one rule, used by every query that counts (Cypher fragments).

- A case is a patient (counts 1) or a series the abstract does not separate. Given a drug, a
  series counts the number it says received it (``RECEIVED.n_patients``; at least 1 when it names
  the drug without a number): :func:`patients_given`.
- A series with more than one defect cannot attribute its counts to any one of them, so queries
  that count per defect leave it out: :func:`attributable`.
"""

from __future__ import annotations


def patients_given(case: str = "c", rel: str = "r") -> str:
    """How many patients case ``case`` counts for through its RECEIVED edge ``rel``."""
    return f"CASE WHEN {case}.cohort_size > 1 THEN coalesce({rel}.n_patients, 1) ELSE 1 END"


def attributable(case: str = "c") -> str:
    """True for the cases whose counts belong to each of their defects (not mixed-defect series)."""
    return f"({case}.cohort_size = 1 OR {case}.n_diseases = 1)"
