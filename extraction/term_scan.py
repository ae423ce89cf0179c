"""The longest-match dictionary scan: one rule for every dictionary matcher of the project.

A term is looked up as the text of a run of whole tokens, from its first character to its
last; from each starting token the longest run (at most ``max_tokens`` tokens) that the
dictionary knows wins. Three callers share it:

- ``pmlkg_lexicon_ner`` (:mod:`extraction.components`): non-overlapping matches, left to right
  (:func:`greedy_scan`), with a veto and a salt-word extension per match (``resolve``);
- ``pmlkg_dict_features`` (:mod:`extraction.ner_features`): per label, every run from a token
  longest first (:func:`windows`), since each label keeps its own longest match;
- the lexicon recipe's dictionary score (``nlp_models/recipe/build_lexicons.py``), which
  measures the drug dictionary "with the pipeline's longest-match rule" on regex tokens.

Tokens are given as character bounds (``(start, end)`` per token), so a spaCy ``Doc``
(:func:`doc_tokens`) and a regex tokenisation scan alike. Dictionary keys are built with
:func:`term_key`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

V = TypeVar("V")
Bounds = Sequence[tuple[int, int]]  # per token: (first character, one past its last)
Lookup = Callable[[str, int, int], V | None]  # (candidate text, first token, last token) -> value; falsy: no match


class _Token(Protocol):
    idx: int
    is_space: bool
    is_punct: bool

    def __len__(self) -> int: ...


def term_key(text: str, *, folded: bool = False) -> str:
    """A surface form as a dictionary key: whitespace runs as one space, lower-cased if ``folded``."""
    key = " ".join(text.split())
    return key.lower() if folded else key


def doc_tokens(doc: Iterable[_Token]) -> tuple[list[tuple[int, int]], list[bool]]:
    """A spaCy doc's token bounds, and per token whether a term may start there (not a space
    or a punctuation token)."""
    bounds: list[tuple[int, int]] = []
    opens: list[bool] = []
    for tok in doc:
        bounds.append((tok.idx, tok.idx + len(tok)))
        opens.append(not (tok.is_space or tok.is_punct))
    return bounds, opens


def windows(text: str, bounds: Bounds, first: int, max_tokens: int, *, within_line: bool = True,
            squeeze_spaces: bool = False) -> Iterator[tuple[int, str]]:
    """``(last, candidate)`` for the runs of 1..``max_tokens`` tokens starting at ``first``, longest first.

    ``within_line``: a run whose text holds a newline is skipped (a shorter one may still match).
    ``squeeze_spaces``: a candidate holding a run of two or more spaces is looked up with all its
    whitespace collapsed to single spaces (one spelled "X  Y" matches the term "X Y"); a candidate
    without a double space is looked up as written.
    """
    start = bounds[first][0]
    for last in range(min(len(bounds), first + max_tokens) - 1, first - 1, -1):
        candidate = text[start: bounds[last][1]]
        if within_line and "\n" in candidate:
            continue
        if squeeze_spaces and "  " in candidate:
            candidate = " ".join(candidate.split())
        yield last, candidate


def longest_match(text: str, bounds: Bounds, first: int, lookup: Lookup[V], max_tokens: int, *,
                  within_line: bool = True, squeeze_spaces: bool = False) -> tuple[int, V] | None:
    """``(last, value)`` of the longest run from token ``first`` that ``lookup`` knows, else None."""
    for last, candidate in windows(text, bounds, first, max_tokens, within_line=within_line,
                                   squeeze_spaces=squeeze_spaces):
        value = lookup(candidate, first, last)
        if value:
            return last, value
    return None


def greedy_scan(text: str, bounds: Bounds, lookup: Lookup[V], max_tokens: int, *,
                starts: Sequence[bool] | None = None,
                resolve: Callable[[int, int, V], tuple[int, V] | None] | None = None,
                within_line: bool = True, squeeze_spaces: bool = False) -> Iterator[tuple[int, int, V]]:
    """Non-overlapping longest matches, left to right: ``(first, last, value)``, token indices inclusive.

    ``starts[i]``: may a match start at token ``i`` (default: every token). ``resolve(first, last,
    value)``: what a match becomes, ``None`` to veto it (its tokens are still passed over), else
    ``(last, value)`` again, ``last`` possibly further on (words the match takes along). The scan
    goes on after the match's last token, or at the next token when none starts here.
    """
    i, n = 0, len(bounds)
    while i < n:
        if starts is not None and not starts[i]:
            i += 1
            continue
        hit = longest_match(text, bounds, i, lookup, max_tokens, within_line=within_line,
                            squeeze_spaces=squeeze_spaces)
        if hit is None:
            i += 1
            continue
        last, value = hit
        if resolve is not None:
            resolved = resolve(i, last, value)
            if resolved is None:
                i = last + 1
                continue
            last, value = resolved
        yield i, last, value
        i = last + 1
