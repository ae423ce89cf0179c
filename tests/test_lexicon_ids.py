"""Registered identifiers in the committed lexicons: one OMIM/ORDO CURIE per immune defect and one
MeSH descriptor per drug class where the sources support one (``nlp_models/recipe/build_lexicons.py``,
rules in ``nlp_models/lexicons/SOURCES.md``), and the graph concepts that carry them."""

from __future__ import annotations

from collections import Counter

import pytest

from pmlkg.extraction.concepts import ConceptResolver
from pmlkg.extraction.lexicons import LEXICON_DIR, Lexicons, load_lexicons
from pmlkg.extraction.records import Entity

CURIE_SOURCES = {"iuis-omim-phenotype", "hpo-orpha-name", "hpo-gene-only-disease"}
MESH_SOURCES = {"bc5cdr-annotation", "drug-ner-class-term"}


def _rows(name: str) -> list[dict[str, str]]:
    lines = (LEXICON_DIR / name).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


@pytest.fixture(scope="module")
def defects() -> dict[str, dict[str, str]]:
    return {r["id"]: r for r in _rows("defects.tsv")}


@pytest.fixture(scope="module")
def classes() -> dict[str, dict[str, str]]:
    return {r["class_id"]: r for r in _rows("drug_classes.tsv")}


@pytest.fixture(scope="module")
def lex() -> Lexicons:
    return load_lexicons()


@pytest.mark.parametrize(("defect", "curie", "source"), [
    ("iuis:a20-deficiency", "OMIM:616744", "iuis-omim-phenotype"),  # IUIS lists the phenotype MIM itself
    ("iuis:ataxia-telangiectasia", "ORDO:Orphanet_100", "hpo-orpha-name"),  # IUIS lists only the ATM gene MIM
    ("pmlkg:good-syndrome", "ORDO:Orphanet_169105", "hpo-orpha-name"),  # a curated entry goes through the same rules
    ("iuis:cd3d-deficiency", "OMIM:615617", "hpo-gene-only-disease"),  # CD3D's one OMIM disease: Immunodeficiency 19
    ("iuis:c5-deficiency", "OMIM:609536", "hpo-gene-only-disease"),  # OMIM name 'C5 deficiency' shares 'c5'
    # IUIS gives 4-1BBL deficiency (TNFSF9) OMIM 620282, which HPO links to TNFRSF9 only: it is CD137 deficiency's
    ("iuis:cd137-deficiency", "OMIM:620282", "hpo-gene-only-disease"),
    ("iuis:4-1-bbl-deficiency", "", ""),
    ("iuis:rnasel-deficiency", "", ""),  # RNASEL's only OMIM disease is hereditary prostate cancer
    ("iuis:il-10-deficiency", "", ""),  # IL10's only OMIM disease is rheumatoid arthritis
    ("iuis:ikaros-gof", "", ""),  # IKZF1 has three IUIS diseases and one OMIM disease
    ("iuis:stat1-gof", "", ""),  # its synonym names Orphanet's CMC, which HPO does not link to STAT1
    ("iuis:rela-haplosufficiency", "", ""),  # shares its one OMIM number with RELA interferonopathy
    ("iuis:rela-interferonopathy", "", ""),
])
def test_defect_curies(defects: dict[str, dict[str, str]], defect: str, curie: str, source: str) -> None:
    assert (defects[defect]["curie"], defects[defect]["curie_source"]) == (curie, source)


def test_defect_curie_columns_are_consistent(defects: dict[str, dict[str, str]]) -> None:
    curies = [r["curie"] for r in defects.values() if r["curie"]]
    assert all(c.startswith(("OMIM:", "ORDO:Orphanet_")) for c in curies)
    assert all(bool(r["curie"]) == bool(r["curie_source"]) for r in defects.values())
    assert {r["curie_source"] for r in defects.values()} - {""} == CURIE_SOURCES
    assert not [c for c, n in Counter(curies).items() if n > 1]  # an id names one defect
    assert 250 <= len(curies) <= len(defects)


@pytest.mark.parametrize(("cls", "mesh_id", "source"), [
    ("corticosteroid", "D000305", "bc5cdr-annotation"),  # 'corticosteroid(s)' 16 of 16 mentions
    ("alkylating-agent", "D000477", "bc5cdr-annotation"),  # 'alkylating agents' 5 of 5
    ("calcineurin-inhibitor", "D065095", "drug-ner-class-term"),  # also the id of tacrolimus and cyclosporine
    ("anti-cd20", "", ""),  # no source
    ("anticonvulsant", "", ""),  # the dictionary's id for 'anticonvulsants' is one no member carries
    ("regimen-r-chop", "", ""),
])
def test_drug_class_mesh_ids(classes: dict[str, dict[str, str]], cls: str, mesh_id: str, source: str) -> None:
    assert (classes[cls]["mesh_id"], classes[cls]["mesh_source"]) == (mesh_id, source)


def test_drug_class_mesh_columns_are_consistent(classes: dict[str, dict[str, str]]) -> None:
    assert all(bool(r["mesh_id"]) == bool(r["mesh_source"]) for r in classes.values())
    assert {r["mesh_source"] for r in classes.values()} - {""} <= MESH_SOURCES
    assert all(r["mesh_id"][:1] == "D" and r["mesh_id"][1:].isdigit() for r in classes.values() if r["mesh_id"])
    assert classes["anti-cd20"]["atc"] == "L01FA"  # ATC stays in its own column (no Biolink prefix)


def test_lexicon_records_carry_the_ids(lex: Lexicons) -> None:
    assert lex.defects["iuis:a20-deficiency"].curie == "OMIM:616744"
    assert lex.defects["iuis:rnasel-deficiency"].curie is None
    assert lex.drug_classes["corticosteroid"].mesh_id == "D000305"
    assert lex.drug_classes["anti-cd20"].mesh_id is None


def test_concepts_carry_the_ids(lex: Lexicons) -> None:
    resolve = ConceptResolver(lex).resolve
    disease = resolve(Entity("ataxia telangiectasia", "DEFECT", 0, 21, "iuis:ataxia-telangiectasia"))
    assert disease is not None and disease.label == "Disease" and disease.props["curie"] == "ORDO:Orphanet_100"
    none = resolve(Entity("RNASEL deficiency", "DEFECT", 0, 17, "iuis:rnasel-deficiency"))
    assert none is not None and none.props["curie"] is None
    unknown = resolve(Entity("odd syndrome", "DEFECT", 0, 12, None))
    assert unknown is not None and unknown.props["curie"] is None
    cls = resolve(Entity("calcineurin inhibitors", "DRUG_CLASS", 0, 22, "calcineurin-inhibitor"))
    assert cls is not None and cls.props["mesh_id"] == "D065095"
    unknown_cls = resolve(Entity("gizmo blockers", "DRUG_CLASS", 0, 14, None))
    assert unknown_cls is not None and unknown_cls.props["mesh_id"] is None
    drug = resolve(Entity("tacrolimus", "DRUG", 0, 10, "tacrolimus"))
    assert drug is not None and {c.key: c.props["mesh_id"] for c in drug.classes}["calcineurin-inhibitor"] == "D065095"
