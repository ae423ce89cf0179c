"""The default PubMed query: PML (or JC virus) AND an inborn error of immunity.

Rationale (also in README): the PML side takes the MeSH heading and the free-text names, so
records not yet indexed with MeSH (in-process, ahead-of-print) are still found; the immunity
side takes the MeSH trees for primary immunodeficiencies and the syndromes and genes that the
PML case literature names most (CD40 ligand deficiency, DOCK8, GATA2, STAT1, WAS, CVID,
idiopathic CD4 lymphopenia, XLA, SCID, ADA, MAGT1...). HIV, natalizumab-only and transplant-only
PML are outside the question and are not searched for, but are not excluded either: an
inborn-error record that mentions them still matches.
"""

from __future__ import annotations

PML_TERMS = (
    '"Leukoencephalopathy, Progressive Multifocal"[MeSH Terms]',
    '"progressive multifocal leukoencephalopathy"[Title/Abstract]',
    '"progressive multifocal leucoencephalopathy"[Title/Abstract]',
    '"JC Virus"[MeSH Terms]',
    '"JC virus"[Title/Abstract]',
    '"JC polyomavirus"[Title/Abstract]',
    'JCPyV[Title/Abstract]',
)
IMMUNITY_TERMS = (
    '"Primary Immunodeficiency Diseases"[MeSH Terms]',
    '"Immunologic Deficiency Syndromes"[MeSH Terms]',
    '"inborn error of immunity"[Title/Abstract]',
    '"inborn errors of immunity"[Title/Abstract]',
    '"primary immunodeficiency"[Title/Abstract]',
    '"primary immune deficiency"[Title/Abstract]',
    '"idiopathic CD4"[Title/Abstract]',
    '"CD4 lymphopenia"[Title/Abstract]',
    '"CD4 lymphocytopenia"[Title/Abstract]',
    '"common variable immunodeficiency"[Title/Abstract]',
    '"hyper-IgM"[Title/Abstract]',
    '"hyper IgM"[Title/Abstract]',
    '"CD40 ligand"[Title/Abstract]',
    'CD40LG[Title/Abstract]',
    'DOCK8[Title/Abstract]',
    'GATA2[Title/Abstract]',
    'MonoMAC[Title/Abstract]',
    '"STAT1 gain-of-function"[Title/Abstract]',
    '"chronic mucocutaneous candidiasis"[Title/Abstract]',
    '"Wiskott-Aldrich"[Title/Abstract]',
    'agammaglobulinemia[Title/Abstract]',
    '"severe combined immunodeficiency"[Title/Abstract]',
    '"adenosine deaminase deficiency"[Title/Abstract]',
    'MAGT1[Title/Abstract]',
    '"XMEN disease"[Title/Abstract]',
    '"hyper-IgE"[Title/Abstract]',
    '"NEMO deficiency"[Title/Abstract]',
    '"activated PI3K"[Title/Abstract]',
    '"combined immunodeficiency"[Title/Abstract]',
)
DEFAULT_QUERY = f"({' OR '.join(PML_TERMS)}) AND ({' OR '.join(IMMUNITY_TERMS)})"
