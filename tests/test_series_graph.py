"""Series facts end to end: hand-built extractions loaded by the real loader into a real FalkorDB,
then read through the query catalogue and the API models, with exact values.

The graph (one article each; ICL = idiopathic CD4 lymphopenia, CVID = common variable immunodeficiency):

- S1, a series of 11 with ICL: rituximab in 3, cyclophosphamide in 5, mefloquine named without a
  number; 7 died (survivors not stated); median 8 months (2-30); median age 57 (34-76); 6 men,
  5 women; median CD4 104; 2 previously published; each fact with its sentence;
- P2, a patient with ICL given rituximab, who died at 4 months;
- P3, a patient with CVID (TNFRSF13B) given rituximab, who survived at 12 months;
- S4, a series of 4 with ICL, all 4 given rituximab, all 4 died at 3 months (one time for all);
- S5, a series of 5 with CVID (TNFRSF13B), rituximab in 2, none died and all 5 survived;
- S6, a series of 6 mixing ICL and CVID, rituximab in 2, 3 died: attributable to neither defect.

Deaths among the patients given a drug (graph/queries/counting.py): known for a patient, for a
series all of whose patients were given it (S4), or whose patients all died or all survived (S5);
S1's 3 rituximab patients are outcome unknown (0 to 3 of its 7 deaths).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pmlkg.api.models import Association, Case, Defect, Drug, Gene
from pmlkg.api.routers.survival import SurvivalResult
from pmlkg.extraction.lexicons import load_lexicons
from pmlkg.extraction.records import ArticleExtraction, DrugUse, Entity, Evidence, Patient, SeriesFacts, Summary
from pmlkg.graph.queries.survival import curves
from pmlkg.extraction.concepts import ConceptResolver
from pmlkg.graph.load import GraphLoader
from pmlkg.graph.queries import counting, entities
from pmlkg.graph.queries.associations import AssociationQuery, associations, with_evidence
from pmlkg.graph.queries.cases import CaseFilter, case_details, case_page
from pmlkg.graph.queries.survival import survival_data
from pmlkg.graph.constraints import create_schema
from pmlkg.graph.stores import GraphStore
from pmlkg.ingest.records import AbstractSection, Article
from pmlkg.testing.graph_dump import dump
from tests.neo4j_guide import load_build_guide

ICL = "pmlkg:idiopathic-cd4-lymphopenia"
CVID = "iuis:common-variable-immune-deficiency-with-no-gene-defect-specified"
EXTRACTOR = "pmlkg-test 0.1.0"


@dataclass
class _Text:
    """An article written sentence by sentence, each mention's offsets into ``Article.text()``."""

    pmid: str
    title: str
    sentences: list[str] = field(default_factory=list)

    def _start(self, i: int) -> int:
        return len(self.title) + 1 + sum(len(s) + 1 for s in self.sentences[:i])

    def add(self, sentence: str) -> int:
        self.sentences.append(sentence)
        return len(self.sentences) - 1

    def ev(self, i: int, phrase: str) -> Evidence:
        sentence, start = self.sentences[i], self._start(i)
        at = sentence.index(phrase)
        return Evidence(sentence, start, start + at, start + at + len(phrase))

    def ent(self, i: int, phrase: str, label: str, key: str, negated: bool = False) -> Entity:
        e = self.ev(i, phrase)
        return Entity(phrase, label, e.start, e.end, key, negated=negated, evidence=e,  # type: ignore[arg-type]
                      source="dictionary")

    def article(self) -> Article:
        return Article(pmid=self.pmid, title=self.title, abstract=(AbstractSection(" ".join(self.sentences)),),
                       year=2020, journal="J Test", publication_types=("Case Reports",))


def _drug(t: _Text, i: int, phrase: str, key: str, role: str = "exposure") -> DrugUse:
    return DrugUse(drug=key, is_class=False, role=role, entity=t.ent(i, phrase, "DRUG", key))  # type: ignore[arg-type]


def _series_s1() -> tuple[Article, ArticleExtraction]:
    t = _Text("70000001", "PML in idiopathic CD4 lymphopenia: a series of 11 patients")
    s_intro = t.add("We describe 11 patients with idiopathic CD4 lymphopenia and PML.")
    s_age = t.add("Their median age was 57 years (range 34-76); 6 were men and 5 women.")
    s_cd4 = t.add("The median CD4 count was 104 cells/uL.")
    s_ritux = t.add("Three had received rituximab and five cyclophosphamide before PML.")
    s_treat = t.add("Some were treated with mefloquine.")
    s_died = t.add("Seven patients died, at a median of 8 months (range 2-30).")
    s_lit = t.add("Two further patients were previously published.")
    defect = t.ent(s_intro, "idiopathic CD4 lymphopenia", "DEFECT", ICL)
    drugs = [_drug(t, s_ritux, "rituximab", "rituximab"), _drug(t, s_ritux, "cyclophosphamide", "cyclophosphamide"),
             _drug(t, s_treat, "mefloquine", "mefloquine", "treatment")]
    series = SeriesFacts(
        drug_counts={"rituximab": 3, "cyclophosphamide": 5}, died=7, survived=None,
        months_to_outcome=Summary(8.0, 2.0, 30.0), age_years=Summary(57.0, 34.0, 76.0), cd4_per_ul=Summary(104.0),
        sex={"male": 6, "female": 5}, previously_published=2,
        evidence={"died": t.ev(s_died, "Seven patients died"), "months_to_outcome": t.ev(s_died, "median of 8 months"),
                  "age_years": t.ev(s_age, "median age was 57 years"), "sex": t.ev(s_age, "6 were men and 5 women"),
                  "cd4": t.ev(s_cd4, "104 cells/uL"), "previously_published": t.ev(s_lit, "Two further patients"),
                  "drug:rituximab": t.ev(s_ritux, "Three"), "drug:cyclophosphamide": t.ev(s_ritux, "five")})
    p = Patient(index=0, cohort_size=11, defects=[defect], drugs=drugs, outcome="died",
                outcome_evidence=t.ev(s_died, "died"), series=series)
    return t.article(), ArticleExtraction(t.pmid, EXTRACTOR, True, True, entities=[defect, *(d.entity for d in drugs)],
                                          patients=[p])


def _patient(pmid: str, defect_id: str, defect_text: str, outcome: str, months: float,
             gene: str | None = None) -> tuple[Article, ArticleExtraction]:
    t = _Text(pmid, f"PML after rituximab in {defect_text}")
    s_intro = t.add(f"A 40-year-old man with {defect_text}" + (f" ({gene})" if gene else "") + " developed PML.")
    s_ritux = t.add("He had received rituximab for cytopenia.")
    verb = "died" if outcome == "died" else "survived"
    s_out = t.add(f"He {verb} {int(months)} months after diagnosis.")
    defect = t.ent(s_intro, defect_text, "DEFECT", defect_id)
    genes = [t.ent(s_intro, gene, "GENE", gene)] if gene else []
    drug = _drug(t, s_ritux, "rituximab", "rituximab")
    p = Patient(index=0, age_years=40.0, sex="male", defects=[defect], genes=genes, drugs=[drug],
                outcome=outcome, months_to_outcome=months, outcome_evidence=t.ev(s_out, verb),  # type: ignore[arg-type]
                facts_evidence={"age": t.ev(s_intro, "40-year-old"), "sex": t.ev(s_intro, "man")})
    return t.article(), ArticleExtraction(pmid, EXTRACTOR, True, True, entities=[defect, *genes, drug.entity],
                                          patients=[p])


def _small_series(pmid: str, size: int, defects: list[tuple[str, str]], given: int, died: int, survived: int | None,
                  months: Summary | None = None, gene: str | None = None) -> tuple[Article, ArticleExtraction]:
    t = _Text(pmid, f"PML in a series of {size}")
    names = " or ".join(text for _, text in defects)
    s_intro = t.add(f"We report {size} patients with {names}" + (f" ({gene})" if gene else "") + ".")
    s_ritux = t.add(f"{given} had received rituximab.")
    s_out = t.add(f"{died} died and {survived if survived is not None else 'the others'} survived.")
    ents = [t.ent(s_intro, text, "DEFECT", key) for key, text in defects]
    genes = [t.ent(s_intro, gene, "GENE", gene)] if gene else []
    drug = _drug(t, s_ritux, "rituximab", "rituximab")
    series = SeriesFacts(drug_counts={"rituximab": given}, died=died, survived=survived, months_to_outcome=months,
                         evidence={"died": t.ev(s_out, f"{died} died"), "drug:rituximab": t.ev(s_ritux, str(given))})
    p = Patient(index=0, cohort_size=size, defects=ents, genes=genes, drugs=[drug],
                outcome="died" if died else "survived", series=series)
    return t.article(), ArticleExtraction(pmid, EXTRACTOR, True, True, entities=[*ents, *genes, drug.entity],
                                          patients=[p])


def _pairs() -> list[tuple[Article, ArticleExtraction]]:
    return [
        _series_s1(),
        _patient("70000002", ICL, "idiopathic CD4 lymphopenia", "died", 4.0),
        _patient("70000003", CVID, "common variable immunodeficiency", "survived", 12.0, gene="TNFRSF13B"),
        _small_series("70000004", 4, [(ICL, "idiopathic CD4 lymphopenia")], given=4, died=4, survived=None,
                      months=Summary(3.0, kind="single")),
        _small_series("70000005", 5, [(CVID, "common variable immunodeficiency")], given=2, died=0, survived=5,
                      gene="TNFRSF13B"),
        _small_series("70000006", 6, [(ICL, "idiopathic CD4 lymphopenia"), (CVID, "common variable immunodeficiency")],
                      given=2, died=3, survived=None),
    ]


def _load(store: GraphStore) -> None:
    create_schema(store)
    loader = GraphLoader(store, ConceptResolver(load_lexicons()))
    loader.load(_pairs())
    loader.finish()


@pytest.fixture
def store(any_store: GraphStore) -> GraphStore:
    """This module's loader tests run on every backend (FalkorDB embedded, the local Neo4j)."""
    return any_store


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    _load(store)
    return store


def _cell(rows: list[dict], drug: str, defect: str) -> dict:
    return next(r for r in rows if r["row_key"] == drug and r["col_key"] == defect)


# ------------------------------------------------------------------ the graph model

def test_series_facts_are_typed_case_properties(graph: GraphStore) -> None:
    c = graph.read("MATCH (c:Case {id: '70000001:0'}) RETURN c")[0]["c"]
    assert {k: c.get(k) for k in ("cohort_size", "deaths", "survivors", "months_median", "months_low", "months_high",
                                  "months_kind", "age_median", "age_low", "age_high", "age_kind", "cd4_median",
                                  "cd4_low", "cd4_high", "n_male", "n_female", "previously_published")} == {
        "cohort_size": 11, "deaths": 7, "survivors": None, "months_median": 8.0, "months_low": 2.0,
        "months_high": 30.0, "months_kind": "median", "age_median": 57.0, "age_low": 34.0, "age_high": 76.0,
        "age_kind": "median", "cd4_median": 104.0, "cd4_low": None, "cd4_high": None, "n_male": 6, "n_female": 5,
        "previously_published": 2}
    patient = graph.read("MATCH (c:Case {id: '70000002:0'}) RETURN c")[0]["c"]
    assert (patient["deaths"], patient["survivors"], patient["months_to_outcome"]) == (1, 0, 4.0)
    series_keys = {f"{a}_{b}" for a in ("months", "age", "cd4") for b in ("median", "low", "high", "kind")}
    assert not series_keys & set(patient) and "n_male" not in patient  # a patient keeps its own facts only
    received = {r["drug"]: r["n"] for r in graph.read(
        "MATCH (:Case {id: '70000001:0'})-[r:RECEIVED]->(d:Drug) RETURN d.name AS drug, r.n_patients AS n")}
    assert received == {"rituximab": 3, "cyclophosphamide": 5, "mefloquine": None}  # named without a number


def test_each_sentence_says_which_facts_it_supports(graph: GraphStore) -> None:
    rows = graph.read("MATCH (e:Evidence)-[s:SUPPORTS]->(:Case {id: '70000001:0'}) "
                      "RETURN e.text AS text, s.facts AS facts, s.fact_starts AS starts, s.fact_ends AS ends")
    by_text = {r["text"]: r for r in rows}
    died = by_text["Seven patients died, at a median of 8 months (range 2-30)."]
    assert died["facts"] == ["died", "months_to_outcome", "outcome"]
    article = _series_s1()[0].text()
    assert [article[a:b] for a, b in zip(died["starts"], died["ends"], strict=True)] == ["Seven patients died", "median of 8 months",
                                                                            "died"]
    assert by_text["Three had received rituximab and five cyclophosphamide before PML."]["facts"] == [
        "drug:cyclophosphamide", "drug:rituximab", "exposure:cyclophosphamide", "exposure:rituximab"]
    age = "Their median age was 57 years (range 34-76); 6 were men and 5 women."
    assert by_text[age]["facts"] == ["age_years", "sex"]
    assert by_text["The median CD4 count was 104 cells/uL."]["facts"] == ["cd4_per_ul"]  # "cd4", named as schema.yaml
    assert by_text["We describe 11 patients with idiopathic CD4 lymphopenia and PML."]["facts"] == [f"defect:{ICL}"]
    patient = graph.read("MATCH (e:Evidence)-[s:SUPPORTS]->(:Case {id: '70000002:0'}) RETURN s.facts AS facts")
    assert sorted(f for r in patient for f in r["facts"]) == sorted(
        ["age_years", "sex", f"defect:{ICL}", "exposure:rituximab", "outcome"])


def test_reloading_converges_to_the_same_graph(graph: GraphStore) -> None:
    before = dump(graph)
    _load(graph)
    assert dump(graph) == before


# ------------------------------------------------------------------ /associations

def test_association_cells_count_series_by_the_rules(graph: GraphStore) -> None:
    q = AssociationQuery(role="exposure")
    result = associations(graph, q)
    assert result.universe_cases == 11 + 1 + 1 + 4 + 5  # the mixed series S6 is outside
    ritux_icl = _cell(result.rows, "rituximab", ICL)
    # S1: 3 given, outcome unknown (7 of 11 died); P2: 1 died; S4: 4 given of 4, all died
    assert {k: ritux_icl[k] for k in ("patients", "articles", "deaths", "survivors", "unknown_outcome",
                                      "median_months_to_death", "timed_deaths")} == {
        "patients": 8, "articles": 3, "deaths": 5, "survivors": 0, "unknown_outcome": 3,
        "median_months_to_death": 4.0, "timed_deaths": 1}  # S4's 3 months is a series' time, not pooled
    assert ritux_icl["table"] == {"a": 8, "b": 16 - 8, "c": 11 - 8, "d": 22 - 16 - 3}
    assert ritux_icl["series"] == [
        {"case": "70000001:0", "cohort_size": 11, "patients": 3, "deaths": 7, "survivors": None, "months_median": 8.0,
         "months_low": 2.0, "months_high": 30.0, "months_kind": "median"},
        {"case": "70000004:0", "cohort_size": 4, "patients": 4, "deaths": 4, "survivors": None, "months_median": 3.0,
         "months_low": None, "months_high": None, "months_kind": "single"}]
    ritux_cvid = _cell(result.rows, "rituximab", CVID)
    # P3 survived; S5: 2 given of 5, and all 5 survived
    assert (ritux_cvid["patients"], ritux_cvid["deaths"], ritux_cvid["survivors"], ritux_cvid["unknown_outcome"]) == (
        3, 0, 3, 0)
    cyclo = _cell(result.rows, "cyclophosphamide", ICL)
    assert (cyclo["patients"], cyclo["deaths"], cyclo["survivors"], cyclo["unknown_outcome"]) == (5, 0, 0, 5)
    mefloquine = _cell(associations(graph, AssociationQuery(role="treatment")).rows, "mefloquine", ICL)
    assert mefloquine["patients"] == 1 and mefloquine["unknown_outcome"] == 1  # named without a number: counts 1
    shown = with_evidence(graph, q, [ritux_icl])[0]
    Association.model_validate(shown)
    s1 = next(e for e in shown["evidence"] if e["case"] == "70000001:0")
    assert (s1["n_patients"], s1["patients"], s1["cohort_size"], s1["deaths"], s1["text"]) == (3, 3, 11, 7, "rituximab")


# ------------------------------------------------------------------ /patients

def test_a_series_returns_its_facts_with_their_sentences(graph: GraphStore) -> None:
    case = Case.model_validate(case_details(graph, ["70000001:0"])[0])
    s = case.series
    assert s is not None and case.deaths == 7 and case.survivors is None
    assert (s.cohort_size, s.deaths, s.survivors, s.unknown_outcome) == (11, 7, None, 4)
    assert s.months_to_outcome is not None and s.months_to_outcome.model_dump() == {
        "median": 8.0, "low": 2.0, "high": 30.0, "kind": "median"}
    assert s.age_years is not None and (s.age_years.median, s.age_years.low, s.age_years.high) == (57.0, 34.0, 76.0)
    assert s.cd4_per_ul is not None and (s.cd4_per_ul.median, s.cd4_per_ul.low) == (104.0, None)
    assert (s.n_male, s.n_female, s.previously_published) == (6, 5, 2)
    assert [(d.key, d.role, d.n_patients, d.patients) for d in s.drugs] == [
        ("cyclophosphamide", "exposure", 5, 5), ("rituximab", "exposure", 3, 3), ("mefloquine", "treatment", None, 1)]
    assert sorted(s.evidence) == ["age_years", "cd4_per_ul", "died", "drug:cyclophosphamide", "drug:rituximab",
                                  "months_to_outcome", "outcome", "previously_published", "sex"]
    for fact, ev in s.evidence.items():  # each fact's mention sits in its sentence
        assert ev.fact == fact and ev.sentence and ev.start is not None and ev.end is not None
        assert ev.sentence_start is not None and 0 <= ev.start - ev.sentence_start < ev.end - ev.sentence_start
    died = s.evidence["died"]
    assert died.sentence is not None and died.sentence_start is not None and died.start is not None
    mention = died.sentence[died.start - died.sentence_start: (died.end or 0) - died.sentence_start]
    assert mention == "Seven patients died"
    assert s.drugs[1].evidence is not None and s.drugs[1].evidence.sentence == (
        "Three had received rituximab and five cyclophosphamide before PML.")
    assert {f for sentence in case.sentences for f in sentence.facts} >= {"died", "sex", "exposure:rituximab"}
    patient = Case.model_validate(case_details(graph, ["70000002:0"])[0])
    assert patient.series is None and (patient.deaths, patient.survivors) == (1, 0)
    assert [d.patients for d in patient.drugs] == [1]


def test_patients_given_a_drug_match_the_cell(graph: GraphStore) -> None:
    totals, items = case_page(graph, CaseFilter(drug="rituximab", role="exposure", defect=ICL, attributable=True),
                              skip=0, limit=50)
    assert totals == {"cases": 3, "patients": 11 + 1 + 4, "given": 8}
    assert {c["id"] for c in items} == {"70000001:0", "70000002:0", "70000004:0"}


# ------------------------------------------------------------------ entity pages

def test_gene_drug_and_defect_pages_count_series_by_the_rules(graph: GraphStore) -> None:
    icl = Defect.model_validate(entities.defect(graph, ICL))
    # S1 (7 died), P2 (died), S4 (4 died); S6 mixes two defects: listed, not counted
    assert (icl.cases, icl.patients, icl.deaths, icl.survivors, icl.unknown_outcome, icl.mixed_series) == (
        4, 16, 12, 0, 4, 1)
    assert "70000006" in icl.pmids
    by_drug = {(d.drug, d.role): (d.patients, d.deaths, d.survivors, d.unknown_outcome) for d in icl.drugs}
    assert by_drug == {("rituximab", "exposure"): (8, 5, 0, 3), ("cyclophosphamide", "exposure"): (5, 0, 0, 5),
                       ("mefloquine", "treatment"): (1, 0, 0, 1)}
    cvid = Defect.model_validate(entities.defect(graph, CVID))
    assert (cvid.patients, cvid.deaths, cvid.survivors, cvid.unknown_outcome) == (6, 0, 6, 0)
    gene = Gene.model_validate(entities.gene(graph, "TNFRSF13B"))
    assert (gene.cases, gene.patients, gene.deaths, gene.survivors, gene.unknown_outcome, gene.mixed_series) == (
        2, 6, 0, 6, 0, 0)
    assert [(d.drug, d.patients, d.survivors) for d in gene.drugs] == [("rituximab", 3, 3)]
    drug = Drug.model_validate(entities.drug(graph, "rituximab"))
    exposure = drug.by_role["exposure"]
    # every case, mixed S6 too (2 given, 3 of 6 died: unknown): P2 + S4 died, P3 + S5's 2 survived
    assert (exposure.cases, exposure.patients, exposure.deaths, exposure.survivors, exposure.unknown_outcome) == (
        6, 3 + 1 + 1 + 4 + 2 + 2, 5, 3, 5)
    assert {(d.defect_id, d.patients, d.deaths, d.survivors) for d in drug.defects} == {(ICL, 8, 5, 0), (CVID, 3, 0, 3)}


# ------------------------------------------------------------------ /survival

def test_survival_takes_what_a_series_can_give_and_says_what_it_left_out(graph: GraphStore) -> None:
    data = survival_data(graph, group_by="exposure", drugs=["rituximab"], drug_label="rituximab")
    out = SurvivalResult(group_by="exposure", note="", **curves(data))
    assert [g.name for g in out.groups] == ["exposed to rituximab"]
    exposed = out.groups[0]
    # P2 died at 4, P3 censored at 12, S4's 4 patients all died at the one time it states (3 months)
    assert (exposed.patients, exposed.deaths, exposed.censored) == (6, 5, [12.0])
    assert sorted(exposed.cases) == ["70000002:0", "70000003:0", *["70000004:0"] * 4]
    assert (out.patients, out.without_time) == (2, 0)
    assert (out.series_considered, out.series_left_out, out.series_patients_left_out) == (4, 3, 11 + 5 + 6)
    by_case = {s.case: s for s in out.series}
    assert by_case["70000004:0"].contributed == 4 and by_case["70000004:0"].shared_months == 3.0
    assert by_case["70000001:0"].contributed == 0 and "summary" in (by_case["70000001:0"].reason or "")
    assert by_case["70000005:0"].reason == "no time per patient: the series states no time"
    assert by_case["70000006:0"].groups == ["exposed to rituximab", "not exposed to rituximab"]  # 2 of 6 given
    by_category = survival_data(graph, group_by="none")
    assert by_category.series_left_out == 3 and sum(len(g.durations) for g in by_category.groups) == 6


# ------------------------------------------------------------------ one rule, everywhere

def test_the_saved_browser_queries_use_the_counting_rules() -> None:
    saved = {q.name: q.cypher for q in load_build_guide().load_saved_queries()}
    drugs = saved["Drugs before PML, by immune defect"]
    assert counting.patients_given() in drugs and counting.deaths_given("c", "given") in drugs
    assert counting.survivors_given("c", "given") in drugs and counting.attributable() in drugs
    category = saved["Deaths by defect category"]
    assert counting.deaths_of() in category and counting.survivors_of() in category


@pytest.mark.parametrize(("size", "deaths", "given", "expected"), [
    (11, 7, 3, 0),  # only some given, some died: unknown
    (11, 7, 11, 7),  # everyone given it: the series' total
    (4, 4, 2, 2),  # all died: every one given it died
    (5, 0, 2, 0),  # nobody died
    (5, None, 5, 0),  # deaths not stated
])
def test_deaths_among_those_given_a_drug(store: GraphStore, size: int, deaths: int | None, given: int,
                                         expected: int) -> None:
    row = store.read(f"WITH {{cohort_size: $size, deaths: $deaths, outcome: 'died'}} AS c, $given AS weight "
                     f"RETURN {counting.deaths_given()} AS d", {"size": size, "deaths": deaths, "given": given})
    assert row == [{"d": expected}]
