"""The project's tokenizer rules, shared by the rules pipeline and every trained pipeline.

Biomedical mentions sit inside tokens that English rules keep whole: "CD40LG/CD40",
"IL-2Rγ", "(XLA)", "TNF-α-induced". Splitting also on slashes, brackets and hyphens moves
mentions onto token boundaries (measured in issue 4: 8% of NLM-Gene gene mentions were off
token boundaries with the default rules). A full stop after a capital or a digit ("cells/µL.")
ends its token, so the sentencizer sees the boundary.
"""

from __future__ import annotations

from collections.abc import Callable

import spacy
from spacy.language import Language
from spacy.util import compile_infix_regex, compile_suffix_regex

EXTRA_INFIXES = (
    r"[/\\]",  # slashes
    r"[()\[\]{}]",  # brackets inside a token
    r"(?<=[\w\u0370-\u03ff])[-\u2010-\u2013](?=[\w\u0370-\u03ff])",  # hyphens and dashes between word characters
    r"(?<=\w)\+(?=\w)",
    r"[,;:](?=\S)",
)
EXTRA_SUFFIXES = (r"(?<=[A-Zµμ³0-9])\.", r"\+")


def customize_tokenizer(nlp: Language) -> Language:
    infixes = list(nlp.Defaults.infixes or []) + list(EXTRA_INFIXES)
    suffixes = list(nlp.Defaults.suffixes or []) + list(EXTRA_SUFFIXES)
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.tokenizer.suffix_search = compile_suffix_regex(suffixes).search
    return nlp


@spacy.registry.callbacks("pmlkg.tokenizer.v1")
def tokenizer_callback() -> Callable[[Language], Language]:
    """For training configs: ``[initialize.before_init] @callbacks = "pmlkg.tokenizer.v1"``."""
    return customize_tokenizer
