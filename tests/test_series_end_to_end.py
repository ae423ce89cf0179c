"""A series abstract, from text to the drug x defect map: the real extractor, loader and query.

The abstract is written for this test in the shapes real series use (distributive counts, "all but
one", a median with its range); it is not a development text. The map must count the series' drug by
its per-drug count, not by the series' size.
"""

from __future__ import annotations

import dataclasses

import pytest

from pmlkg.extraction.extractor import Extractor, article_from_text
from pmlkg.extraction.concepts import ConceptResolver
from pmlkg.graph.load import GraphLoader
from pmlkg.graph.queries.associations import AssociationQuery, associations
from pmlkg.graph.constraints import create_schema
from pmlkg.graph.stores import GraphStore

COL = "iuis:common-variable-immune-deficiency-with-no-gene-defect-specified"  # CVID, no gene named
TEXT = ("Progressive multifocal leukoencephalopathy in common variable immunodeficiency: a series\n\n"
        "We describe 10 patients with common variable immunodeficiency who developed PML. Before PML, "
        "rituximab had been given in 4 patients, azathioprine in 3, and methotrexate and mycophenolate "
        "mofetil in one patient each. All but one patient died, after a median of 7 months (range 2-15) "
        "from diagnosis.")


@pytest.fixture
def store(any_store: GraphStore) -> GraphStore:
    """This module's loader tests run on every backend (FalkorDB embedded, the local Neo4j)."""
    return any_store


def test_a_series_drug_counts_by_its_per_drug_count_on_the_map(store: GraphStore) -> None:
    extractor = Extractor()
    article = dataclasses.replace(article_from_text(TEXT, pmid="91000001"), publication_types=("Journal Article",),
                                  year=2024)
    ex = extractor.extract(article)
    (series,) = ex.patients
    assert series.cohort_size == 10 and series.series is not None
    assert series.series.drug_counts == {"rituximab": 4, "azathioprine": 3, "methotrexate": 1,
                                         "mycophenolate mofetil": 1}
    assert (series.series.died, series.series.survived) == (9, 1)
    months = series.series.months_to_outcome
    assert months is not None and (months.median, months.low, months.high) == (7.0, 2.0, 15.0)

    create_schema(store)
    loader = GraphLoader(store, ConceptResolver(extractor.lexicons))
    loader.load([(article, ex)])
    loader.finish()
    rows = associations(store, AssociationQuery(role="exposure")).rows
    assert {r["col_key"] for r in rows} == {COL}
    cells = {r["row_key"]: r["patients"] for r in rows}
    assert cells == {"rituximab": 4, "azathioprine": 3, "methotrexate": 1, "mycophenolate mofetil": 1}
