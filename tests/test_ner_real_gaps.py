"""NER gaps found on real PML case reports, checked through the shipped pipeline (``pmlkg_extract``).

The sentences are written for this test (no abstract text): drug abbreviations (MTX, AZA, HCQ,
IVIG/IgIV, HAART/cART/ART...), interferons, a salt word kept with its drug ("glatiramer acetate"),
and what is never a drug or gene (organisms, JC/BK virus, MR-spectroscopy metabolites). Each
case lists every entity the pipeline must return, as (text, label, id); id "" = unnormalised.
"""

from __future__ import annotations

import pytest
from spacy.language import Language

from pmlkg.extraction.pipeline import EXTRACT_PIPELINE, load_pipeline, pipeline_path

Ents = list[tuple[str, str, str]]
IVIG, SCIG, ART = "immunoglobulins, intravenous", "immunoglobulins, subcutaneous", "antiretroviral"

ABBREVIATIONS: list[tuple[str, Ents]] = [
    ("Methotrexate (MTX) was given weekly; MTX was stopped.",
     [("Methotrexate", "DRUG", "methotrexate"), ("MTX", "DRUG", "methotrexate"), ("MTX", "DRUG", "methotrexate")]),
    ("She took AZA and HCQ for years.", [("AZA", "DRUG", "azathioprine"), ("HCQ", "DRUG", "hydroxychloroquine")]),
    ("Maintenance MMF was continued.", [("MMF", "DRUG", "mycophenolate mofetil")]),
    ("IVIG, IVIg and IgIV were infused; SCIG was given later.",
     [("IVIG", "DRUG", IVIG), ("IVIg", "DRUG", IVIG), ("IgIV", "DRUG", IVIG), ("SCIG", "DRUG", SCIG)]),
    ("He started HAART; cART was later simplified and ART adherence was good.",
     [("HAART", "DRUG_CLASS", ART), ("cART", "DRUG_CLASS", ART), ("ART", "DRUG_CLASS", ART)]),
    ("CsA and 6-MP were stopped, and CYC was started.",
     [("CsA", "DRUG", "cyclosporine"), ("6-MP", "DRUG", "mercaptopurine"), ("CYC", "DRUG", "cyclophosphamide")]),
    ("TNF inhibitors had been prescribed before.", [("TNF inhibitors", "DRUG_CLASS", "anti-tnf")]),
    ("He had been on TNF-alpha blockers; TNFi were avoided.",
     [("TNF-alpha blockers", "DRUG_CLASS", "anti-tnf"), ("TNFi", "DRUG_CLASS", "anti-tnf")]),
]

INTERFERONS: list[tuple[str, Ents]] = [
    ("She received interferon beta-1a, then IFN-β-1b.",
     [("interferon beta-1a", "DRUG", "interferon beta-1a"), ("IFN-β-1b", "DRUG", "interferon beta-1b")]),
    ("He was switched from IFN-β to natalizumab.",
     [("IFN-β", "DRUG", "interferon beta"), ("natalizumab", "DRUG", "natalizumab")]),
    ("Peginterferon and IFN-alpha were given in turn.",
     [("Peginterferon", "DRUG", "peginterferon"), ("IFN-alpha", "DRUG", "interferon-alpha")]),
    ("Recombinant interferon gamma was started.", [("Recombinant interferon gamma", "DRUG", "interferon gamma")]),
    ("Interferon gamma was given subcutaneously.", [("Interferon gamma", "DRUG", "interferon gamma")]),
]

SALTS: list[tuple[str, Ents]] = [
    ("She had been treated with glatiramer acetate.", [("glatiramer acetate", "DRUG", "glatiramer")]),
    ("Mycophenolate mofetil and dimethyl fumarate were given.",
     [("Mycophenolate mofetil", "DRUG", "mycophenolate mofetil"), ("dimethyl fumarate", "DRUG", "dimethyl fumarate")]),
    ("Natalizumab was stopped.", [("Natalizumab", "DRUG", "natalizumab")]),
]

NEVER_DRUGS: list[tuple[str, Ents]] = [
    ("Cultures grew Cryptococcus neoformans and Aspergillus fumigatus.", []),
    ("Candida albicans and Toxoplasma gondii were not found.", []),
    ("Cryptococcus antigen was negative.", []),
    ("MR spectroscopy showed low NAA, high choline, a lactate peak and raised myo-inositol.", []),
    ("Spectroscopy was done. It showed low N-acetylaspartate and high creatine and lipid.", []),
    ("JC virus (JCV) DNA was found; JCV and BK virus loads were measured.", []),
    ("JC polyomavirus was detected by PCR.", []),
    ("Treatment with mefloquine against JC virus failed.", [("mefloquine", "DRUG", "mefloquine")]),
]

# Where the ambiguous forms must NOT be drugs: the safety side of the choices above.
GUARDS: list[tuple[str, Ents]] = [
    ("5-AZA was added to the culture.", []),  # 5-azacytidine, not azathioprine
    ("Couples using assisted reproductive technology (ART) were enrolled; ART failed twice.", []),
    ("Choline supplementation was given.", [("Choline", "DRUG", "choline")]),  # no MR spectroscopy here
]


@pytest.fixture(scope="module")
def nlp() -> Language:
    if not (pipeline_path(EXTRACT_PIPELINE) / "config.cfg").exists():
        pytest.skip(f"{EXTRACT_PIPELINE} is not built (make models)")
    return load_pipeline(EXTRACT_PIPELINE)


def _ents(nlp: Language, text: str) -> Ents:
    return [(e.text, e.label_, e.kb_id_) for e in nlp(text).ents]


@pytest.mark.parametrize("text, expected", ABBREVIATIONS + INTERFERONS + SALTS + NEVER_DRUGS + GUARDS,
                         ids=lambda v: v[:40] if isinstance(v, str) else None)
def test_entities_of_the_gap_sentences(nlp: Language, text: str, expected: Ents) -> None:
    assert _ents(nlp, text) == expected


def test_a_cytokine_name_outside_a_therapy_context_stays_a_gene(nlp: Language) -> None:
    """IFN-γ as a measured cytokine is the gene model's (BioRED, NLM-Gene annotate it as a gene)."""
    assert _ents(nlp, "IFN-γ levels were high.") == [("IFN-γ", "GENE", "")]
    assert [e for e in _ents(nlp, "IL-4 and IFN-gamma production by T cells was measured.") if e[1] == "DRUG"] == []


def test_organisms_and_viruses_are_never_drugs_or_genes(nlp: Language) -> None:
    text = ("Prophylaxis against Pneumocystis jirovecii was given. Cryptococcus, Candida glabrata and Toxoplasma "
            "were excluded; JCV, JCPyV and BK polyomavirus were tested.")
    assert [e for e in _ents(nlp, text) if e[1] in ("DRUG", "DRUG_CLASS", "GENE")] == []


def test_short_forms_defined_in_the_text_follow_their_definition(nlp: Language) -> None:
    ents = _ents(nlp, "He was started on highly active antiretroviral therapy (HAART). HAART was continued.")
    assert ents == [("highly active antiretroviral therapy", "DRUG_CLASS", ART), ("HAART", "DRUG_CLASS", ART),
                    ("HAART", "DRUG_CLASS", ART)]
