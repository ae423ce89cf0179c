"""The rules pipeline's components on sentences written for these tests."""

from __future__ import annotations

import pytest
from spacy.language import Language

from pmlkg.extraction.abbreviations import find_abbreviations
from pmlkg.extraction.facts import months_in, parse_value
from pmlkg.extraction.pipeline import EXTRACT_PIPELINE, NER_PIPELINES, RULES_PIPELINE, load_pipeline, pipeline_path
from pmlkg.extraction.roles import RoleContext, classify_role


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_pipeline(RULES_PIPELINE)  # a view of pmlkg_extract: its lexicons and rules, no model


def test_schwartz_hearst_pairs() -> None:
    text = ("A man with idiopathic CD4 lymphopenia (ICL) had JC virus (JCV) in the cerebrospinal fluid (CSF); "
            "the promyelocytic leukemia (PML) protein is unrelated (p < 0.05).")
    pairs = {(a.short, a.long) for a in find_abbreviations(text)}
    assert pairs == {("ICL", "idiopathic CD4 lymphopenia"), ("JCV", "JC virus"), ("CSF", "cerebrospinal fluid"),
                     ("PML", "promyelocytic leukemia")}


def test_short_forms_inherit_the_long_forms_entity(nlp: Language) -> None:
    doc = nlp("We describe activated phosphoinositide 3-kinase delta syndrome (APDSX) in a boy. "
              "Later the APDSX worsened after rituximab.")
    assert not [e for e in doc.ents if e.text == "APDSX"]  # not a lexicon long form: nothing to inherit
    doc = nlp("Idiopathic CD4 lymphopenia (ICDL) was diagnosed. ICDL progressed.")
    icl = [e for e in doc.ents if e.text == "ICDL"]
    assert len(icl) == 2 and all(e.label_ == "DEFECT" and e.kb_id_ == "pmlkg:idiopathic-cd4-lymphopenia" for e in icl)


@pytest.mark.parametrize("sentence, drug, negated, hedged", [
    ("He had never received rituximab.", "rituximab", True, False),
    ("She had no prior rituximab or azathioprine therapy.", "azathioprine", True, False),
    ("None had received rituximab.", "rituximab", True, False),
    ("Rituximab was not given.", "rituximab", True, False),
    ("Possible rituximab exposure was reported.", "rituximab", False, True),
    ("He received rituximab but no corticosteroids.", "rituximab", False, False),
    ("Pembrolizumab was considered but not given.", "pembrolizumab", True, False),
    ("Cidofovir was discussed, but not started.", "cidofovir", True, False),
    ("Mefloquine was not available.", "mefloquine", True, False),
    ("Natalizumab had never been indicated.", "natalizumab", True, False),
])
def test_negation_and_hedging(nlp: Language, sentence: str, drug: str, negated: bool, hedged: bool) -> None:
    ent = next(e for e in nlp(sentence).ents if e.kb_id_ == drug)
    assert (ent._.negated, ent._.hedged) == (negated, hedged)


@pytest.mark.parametrize("sentence, drug, role", [
    ("She had received rituximab for immune thrombocytopenia.", "rituximab", "exposure"),
    ("Rituximab and azathioprine had been given for two years.", "azathioprine", "exposure"),
    ("He was treated with mefloquine and mirtazapine.", "mirtazapine", "treatment"),
    ("Azathioprine was withdrawn and cytarabine was administered.", "azathioprine", "exposure"),
    ("Azathioprine was withdrawn and cytarabine was administered.", "cytarabine", "treatment"),
    ("PML after rituximab.", "rituximab", "exposure"),
    ("Cyclosporine was given as prophylaxis against graft-versus-host disease.", "cyclosporine", "exposure"),
    ("Pembrolizumab was started for PML.", "pembrolizumab", "treatment"),
])
def test_roles(nlp: Language, sentence: str, drug: str, role: str) -> None:
    doc = nlp(sentence)
    ent = next(e for e in doc.ents if e.kb_id_ == drug)
    ctx = RoleContext(sentence=doc.text, mention_start=ent.start_char, mention_end=ent.end_char,
                      before_diagnosis=False, classes=frozenset())
    previous = [e for e in doc.ents if e.end_char <= ent.start_char]
    if previous:
        prev_ctx = RoleContext(sentence=doc.text, mention_start=previous[-1].start_char,
                               mention_end=previous[-1].end_char, before_diagnosis=False, classes=frozenset())
        ctx = RoleContext(ctx.sentence, ctx.mention_start, ctx.mention_end, False, frozenset(),
                          previous=(previous[-1].end_char, classify_role(prev_ctx)))
    assert classify_role(ctx) == role


@pytest.mark.parametrize("label, text, value", [
    ("AGE", "a 34-year-old man", 34.0),
    ("AGE", "a 15-month-old girl", 1.25),
    ("AGE", "aged 7 years", 7.0),
    ("CD4", "CD4+ T-cell count of 112 cells/µL", 112),
    ("CD4", "CD4 count 45/mm3", 45),
    ("CD4", "CD4+ T-cell count at that time was 96 cells/µL", 96),
    ("SEX", "a 34-year-old woman", "female"),
    ("PATIENT_COUNT", "two brothers", 2),
])
def test_fact_values(label: str, text: str, value: object) -> None:
    assert parse_value(label, text) == value


def test_cd4_never_reads_cd40() -> None:
    assert parse_value("CD4", "CD40 ligand deficiency") is None


@pytest.mark.parametrize("text, months", [
    ("He died 8 months after diagnosis.", 8.0),
    ("She was alive at 2-year follow-up.", 24.0),
    ("He died three weeks later.", 0.7),
])
def test_time_to_outcome(text: str, months: float) -> None:
    assert months_in(text) == months


# ---------------------------------------------------------------- dictionary features and merging

def _features(terms: list[tuple[str, str, bool]]):
    from pmlkg.extraction.ner_features import DictFeatures
    component = DictFeatures()
    for text, label, cs in terms:
        component.add(text, label, cs)
    return component


def test_dictionary_features_tag_longest_matches_per_label(nlp: Language) -> None:
    features = _features([("progressive multifocal leukoencephalopathy", "DISEASE", False),
                          ("leukoencephalopathy", "DISEASE", False), ("rituximab", "DRUG", False),
                          ("BTK", "GENE", True), ("IL-10", "GENE", True), ("il-10", "DRUG", False)])
    doc = features(nlp.make_doc("Progressive multifocal leukoencephalopathy after Rituximab; btk and BTK; IL-10."))
    tags = {t.text: t.tag_ for t in doc}
    assert [t.tag_ for t in doc[:3]] == ["DISEASE-B", "DISEASE-I", "DISEASE-I"]  # the longest, not its tail
    assert tags["Rituximab"] == "DRUG-B"  # names fold case
    assert [t.tag_ for t in doc if t.text in ("btk", "BTK")] == ["", "GENE-B"]  # symbols do not
    assert [t.tag_ for t in doc if t.text in ("IL", "10")] == ["DRUG-B|GENE-B", "DRUG-I|GENE-I"]  # both dictionaries
    assert all(t.tag_ == "" for t in doc if t.text in ("after", ";", "and", "."))


def test_dictionary_features_survive_a_save_and_load(tmp_path, nlp: Language) -> None:
    from pmlkg.extraction.ner_features import DictFeatures
    features = _features([("rituximab", "DRUG", False), ("BTK", "GENE", True)])
    features.to_disk(tmp_path)
    assert (tmp_path / "terms.tsv").is_file()  # not the committed table: saved as a copy of its own
    loaded = DictFeatures().from_disk(tmp_path)
    assert loaded.digest() == features.digest() and len(loaded) == 2
    text = "BTK and rituximab"
    assert [t.tag_ for t in loaded(nlp.make_doc(text))] == [t.tag_ for t in features(nlp.make_doc(text))]
    assert _features([("rituximab", "DRUG", False)]).digest() != features.digest()


def test_dictionary_features_of_the_committed_table_store_a_reference(tmp_path, monkeypatch) -> None:
    """The lexicon directory's table is saved as its sha256 only, read back from there, and a changed
    table is refused (the models were trained with the one the reference names)."""
    import json

    from pmlkg.extraction.ner_features import DictFeatures
    lexicons = tmp_path / "lexicons"
    lexicons.mkdir()
    table = lexicons / "ner_features.tsv"
    table.write_text("term\tlabels\tcase_sensitive\nBTK\tGENE\t1\nrituximab\tDRUG\t0\n", encoding="utf-8")
    monkeypatch.setenv("PMLKG_LEXICON_DIR", str(lexicons))
    features = _features([("rituximab", "DRUG", False), ("BTK", "GENE", True)])
    features.to_disk(tmp_path / "saved")
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == ["table.json"]
    assert json.loads((tmp_path / "saved" / "table.json").read_text())["file"] == "ner_features.tsv"
    assert DictFeatures().from_disk(tmp_path / "saved").digest() == features.digest()
    table.write_text(table.read_text(encoding="utf-8") + "JCV\tGENE\t1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sha256"):
        DictFeatures().from_disk(tmp_path / "saved")
    table.unlink()
    with pytest.raises(FileNotFoundError, match="ner_features.tsv"):
        DictFeatures().from_disk(tmp_path / "saved")


def test_views_are_parts_of_the_shipped_pipeline(nlp: Language) -> None:
    """pmlkg_rules and each NER model alone load from pmlkg_extract (no copies on disk)."""
    from pmlkg.extraction.pipeline import MODEL_FACTORIES, extract_components
    components = extract_components()
    assert set(nlp.pipe_names) < set(components) and not MODEL_FACTORIES & {components[c] for c in nlp.pipe_names}
    assert nlp.get_pipe("pmlkg_lexicon_ner").spans_key is None  # without the merger, the dictionary sets doc.ents
    assert nlp.meta["name"] == RULES_PIPELINE
    doc = nlp("PML after rituximab in a boy with a BTK mutation.")
    assert {(e.text, e.label_, e._.source) for e in doc.ents} >= {("rituximab", "DRUG", "dictionary"),
                                                                   ("BTK", "GENE", "dictionary")}
    assert not [n for n in NER_PIPELINES if (pipeline_path(n) / "config.cfg").exists()]
    gene = load_pipeline("pmlkg_ner_gene")
    assert gene.pipe_names == ["pmlkg_dict_features", "ner_gene"]
    assert gene.meta["pmlkg"]["run"] == "gene"  # the model's own meta, kept in pmlkg_extract's (pmlkg.models)
    assert {e.label_ for e in gene("Mutations in BTK and CD40LG cause agammaglobulinemia.").ents} == {"GENE"}


def test_spacy_loads_the_shipped_folder_without_importing_pmlkg() -> None:
    """The spacy_factories / spacy_callbacks entry points register the components; the dictionary
    features find their table in the lexicon directory."""
    import subprocess
    import sys
    code = ("import sys, spacy; nlp = spacy.load(sys.argv[1]); print(' '.join(nlp.pipe_names)); "
            "print(' '.join(e.label_ for e in nlp('BTK deficiency and rituximab.').ents))")
    out = subprocess.run([sys.executable, "-c", code, str(pipeline_path(EXTRACT_PIPELINE))], capture_output=True,
                         text=True, check=True, cwd="/", timeout=300).stdout.splitlines()
    assert "pmlkg_dict_features" in out[0].split() and "ner_gene" in out[0].split() and out[1]


def test_merge_takes_sources_in_priority_order_and_normalises(nlp: Language) -> None:
    """Two rule-based stand-ins for the trained models claim overlapping spans; priority decides."""
    import spacy

    from pmlkg.extraction.lexicons import load_lexicons
    from pmlkg.extraction.tokenizer import customize_tokenizer

    def pipeline(priority: list) -> Language:
        p = customize_tokenizer(spacy.blank("en"))
        lexicon = p.add_pipe("pmlkg_lexicon_ner", config={"spans_key": "lexicon"})
        lexicon.add_terms(load_lexicons().terms())
        p.add_pipe("entity_ruler", name="gene_model").add_patterns([{"label": "GENE", "pattern": "insulin"}])
        p.add_pipe("pmlkg_ents_to_spans", name="gene_spans", config={"spans_key": "gene_model"})
        p.add_pipe("entity_ruler", name="disease_model").add_patterns(
            [{"label": "DISEASE", "pattern": "X-linked agammaglobulinemia"},
             {"label": "DISEASE", "pattern": [{"LOWER": "leukoencephalopathy"}]}])
        p.add_pipe("pmlkg_merge_entities", config={"priority": priority})
        return p

    text = "Insulin and insulin levels in X-linked agammaglobulinemia with leukoencephalopathy."
    gene_first = pipeline([["gene_model", None], ["lexicon", None], ["ents", None]])(text)
    got = {(e.text, e.label_, e.kb_id_) for e in gene_first.ents}
    assert ("insulin", "GENE", "") in got  # the gene model wins its span over the drug dictionary
    assert ("X-linked agammaglobulinemia", "DEFECT", "iuis:btk-deficiency-x-linked-agammaglobulinemia") in got
    assert ("leukoencephalopathy", "DISEASE", "") in got  # a model span no lexicon knows: kept, unnormalised
    drug_first = pipeline([["lexicon", ["DRUG"]], ["gene_model", None], ["ents", None]])(text)
    assert ("insulin", "DRUG", "insulin") in {(e.text, e.label_, e.kb_id_) for e in drug_first.ents}
    assert not drug_first.spans["gene_model"] or all(
        not (e.start < s.end and s.start < e.end) or e.label_ == "DRUG"
        for s in drug_first.spans["gene_model"] for e in drug_first.ents)
    ents_only = pipeline([["ents", ["DISEASE"]]])(text)  # labels filter a source
    assert {e.label_ for e in ents_only.ents} == {"DEFECT", "DISEASE"}


# ---------------------------------------------------------------- salt words, non-entities, therapy context

def _dict_ents(nlp: Language, text: str) -> list[tuple[str, str, str]]:
    return [(e.text, e.label_, e.kb_id_) for e in nlp(text).ents]


def test_a_salt_word_stays_with_its_drug(nlp: Language) -> None:
    assert _dict_ents(nlp, "Glatiramer acetate was given.") == [("Glatiramer acetate", "DRUG", "glatiramer")]
    assert _dict_ents(nlp, "He received diclofenac sodium.") == [("diclofenac sodium", "DRUG", "diclofenac")]
    assert _dict_ents(nlp, "Glatiramer and acetate.") == [("Glatiramer", "DRUG", "glatiramer"),  # not adjacent
                                                          ("acetate", "DRUG", "acetate")]


def test_non_entities_are_never_dictionary_drugs(nlp: Language) -> None:
    assert _dict_ents(nlp, "Candida albicans was cultured.") == []  # the allergen extract is gone
    assert _dict_ents(nlp, "MR spectroscopy showed increased choline and creatine.") == []
    assert _dict_ents(nlp, "Choline and creatine were given.") == [("Choline", "DRUG", "choline"),
                                                                  ("creatine", "DRUG", "creatine")]
    assert _dict_ents(nlp, "Spectroscopy was normal. Choline was high.") == []  # the sentence after counts too


def test_cytokine_named_drugs_need_a_therapy_context(nlp: Language) -> None:
    assert _dict_ents(nlp, "She was treated with IFN-β.") == [("IFN-β", "DRUG", "interferon beta")]
    assert _dict_ents(nlp, "IFN-γ was started at 50 µg.") == [("IFN-γ", "DRUG", "interferon gamma")]
    assert _dict_ents(nlp, "IFN-β levels and interferon gamma production were measured.") == []
    assert _dict_ents(nlp, "Interferon beta-1b was stopped.") == [("Interferon beta-1b", "DRUG", "interferon beta-1b")]


def test_ambiguous_drug_abbreviations_match_where_safe(nlp: Language) -> None:
    assert _dict_ents(nlp, "AZA was stopped.") == [("AZA", "DRUG", "azathioprine")]
    assert _dict_ents(nlp, "5-AZA was used and aza was not.") == []
    assert _dict_ents(nlp, "ART was restarted; art was not.") == [("ART", "DRUG_CLASS", "antiretroviral")]
    assert _dict_ents(nlp, "After assisted reproductive technology (ART), ART was repeated.") == []
    assert _dict_ents(nlp, "After antiretroviral therapy (ART), ART was repeated.") == [
        ("antiretroviral therapy", "DRUG_CLASS", "antiretroviral"), ("ART", "DRUG_CLASS", "antiretroviral"),
        ("ART", "DRUG_CLASS", "antiretroviral")]


def test_therapy_terms_and_non_entities_survive_a_save_and_load(tmp_path, nlp: Language) -> None:
    from pmlkg.extraction.components import LexiconNER
    lexicon = nlp.get_pipe("pmlkg_lexicon_ner")
    lexicon.to_disk(tmp_path)
    loaded = LexiconNER().from_disk(tmp_path)
    assert loaded.therapy_exact == lexicon.therapy_exact and loaded.therapy_folded == lexicon.therapy_folded
    assert (loaded.non_exact, loaded.non_folded, loaded.non_genera) == (
        lexicon.non_exact, lexicon.non_folded, lexicon.non_genera)
    assert "JCV" in loaded.non_exact and "candida" in loaded.non_genera and "interferon gamma" in loaded.therapy_folded


def test_merge_drops_non_entities_and_completes_salt_forms_of_model_spans() -> None:
    """Stand-in models tag an organism, JC virus and an MRS metabolite as drugs, and a drug
    without its salt word: the merger keeps none of the first three and completes the fourth."""
    import spacy

    from pmlkg.extraction.lexicons import load_lexicons
    from pmlkg.extraction.tokenizer import customize_tokenizer

    p = customize_tokenizer(spacy.blank("en"))
    p.add_pipe("sentencizer")
    p.add_pipe("pmlkg_lexicon_ner", config={"spans_key": "lexicon"}).add_terms(load_lexicons().terms())
    p.add_pipe("entity_ruler", name="model").add_patterns(
        [{"label": "DRUG", "pattern": t} for t in ("Cryptococcus", "JC virus", "lactate", "bupropion")]
        + [{"label": "GENE", "pattern": "JCV"}])
    p.add_pipe("pmlkg_ents_to_spans", name="model_spans", config={"spans_key": "model"})
    p.add_pipe("pmlkg_merge_entities", config={"priority": [["model", None], ["lexicon", None]]})
    doc = p("Cryptococcus and JC virus (JCV) were found. Serum lactate was normal. MR spectroscopy showed lactate. "
            "He took bupropion hydrochloride.")
    assert [(e.text, e.label_, e.kb_id_) for e in doc.ents] == [
        ("lactate", "DRUG", ""), ("bupropion hydrochloride", "DRUG", "bupropion")]
    assert doc.ents[0].start_char == doc.text.index("lactate")  # the serum lactate, not the MRS peak


def test_the_shipped_pipeline_asks_the_role_model_about_drug_pml_pairs() -> None:
    """The pair model is loaded with the pipeline and its probabilities reach the drug mentions of a
    PML sentence only; where no cue speaks, a confident model decides the role."""
    from pmlkg.extraction.extractor import Extractor
    nlp = Extractor().nlp
    assert nlp.get_pipe("pmlkg_pml_roles").model is not None  # type: ignore[attr-defined]
    doc = nlp("PML developed in a woman treated with natalizumab. Azathioprine was continued.")
    probs = {e.text: e._.pml_role for e in doc.ents if e.label_ == "DRUG"}
    assert set(probs) == {"natalizumab", "Azathioprine"} and probs["Azathioprine"] is None
    assert max(probs["natalizumab"], key=probs["natalizumab"].get) == "exposure"
    s = "PML developed in a woman treated with natalizumab."
    start = s.index("natalizumab")
    ctx = dict(sentence=s, mention_start=start, mention_end=start + len("natalizumab"), before_diagnosis=False,
               classes=frozenset(), names_pml=True)
    assert classify_role(RoleContext(**ctx)) == "treatment"  # the rules alone: "treated with" after PML
    assert classify_role(RoleContext(**ctx, model={"exposure": 0.97, "treatment": 0.02, "none": 0.01})) == "exposure"
    assert classify_role(RoleContext(**ctx, model={"exposure": 0.6, "treatment": 0.3, "none": 0.1})) == "treatment"
