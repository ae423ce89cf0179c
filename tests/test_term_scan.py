"""The one longest-match dictionary scan (extraction/term_scan.py) that the lexicon NER, the
dictionary features and the lexicon recipe's score share: exact spans on made-up sentences."""

from __future__ import annotations

import re

import spacy

from pmlkg.extraction.term_scan import doc_tokens, greedy_scan, longest_match, term_key, windows

_TOKEN = re.compile(r"\w+|[^\w\s]")


def bounds(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _TOKEN.finditer(text)]


def dictionary(exact: set[str], folded: set[str]):  # noqa: ANN201
    def lookup(candidate: str, first: int, last: int) -> str | None:
        return candidate if candidate in exact or candidate.lower() in folded else None
    return lookup


def scan(text: str, exact: set[str], folded: set[str], max_tokens: int = 12, **kw: object) -> list[str]:
    toks = bounds(text)
    return [text[toks[i][0]: toks[j][1]]
            for i, j, _ in greedy_scan(text, toks, dictionary(exact, folded), max_tokens, **kw)]  # type: ignore[arg-type]


def test_term_key_collapses_whitespace_and_folds_on_request() -> None:
    assert term_key("  Wiskott-Aldrich\t syndrome\n") == "Wiskott-Aldrich syndrome"
    assert term_key("  Wiskott-Aldrich\t syndrome\n", folded=True) == "wiskott-aldrich syndrome"
    assert term_key("WAS") == "WAS"


def test_windows_run_longest_first_and_stop_at_the_window_limit() -> None:
    text = "a b c d"
    assert list(windows(text, bounds(text), 0, 3)) == [(2, "a b c"), (1, "a b"), (0, "a")]
    assert list(windows(text, bounds(text), 2, 5)) == [(3, "c d"), (2, "c")]  # the text ends first


def test_the_longest_match_wins() -> None:
    text = "X-linked agammaglobulinemia was diagnosed"
    folded = {"x-linked", "agammaglobulinemia", "x-linked agammaglobulinemia"}
    assert scan(text, set(), folded) == ["X-linked agammaglobulinemia"]
    assert longest_match(text, bounds(text), 0, dictionary(set(), folded), 12) == (3, "X-linked agammaglobulinemia")
    assert longest_match(text, bounds(text), 4, dictionary(set(), folded), 12) is None  # "was"


def test_overlapping_terms_the_first_match_takes_its_tokens() -> None:
    text = "interleukin 7 receptor deficiency"
    folded = {"interleukin 7", "7 receptor deficiency", "receptor deficiency"}
    # from "interleukin" the longest is "interleukin 7"; "7 receptor deficiency" then starts inside it
    assert scan(text, set(), folded) == ["interleukin 7", "receptor deficiency"]


def test_exact_case_and_folded_terms() -> None:
    exact, folded = {"WAS"}, {"rituximab"}
    assert scan("WAS was treated with Rituximab and RITUXIMAB", exact, folded) == ["WAS", "Rituximab", "RITUXIMAB"]
    assert scan("it was", exact, folded) == []


def test_the_window_limit_bounds_the_term_length() -> None:
    text = "severe combined immune deficiency"
    folded = {"severe combined immune deficiency"}
    assert scan(text, set(), folded, max_tokens=3) == []
    assert scan(text, set(), folded, max_tokens=4) == ["severe combined immune deficiency"]


def test_newlines_and_double_spaces() -> None:
    folded = {"wiskott-aldrich syndrome", "wiskott-aldrich"}
    assert scan("Wiskott-Aldrich\nsyndrome", set(), folded) == ["Wiskott-Aldrich"]  # a term never spans lines
    text = "Wiskott-Aldrich\nsyndrome"
    assert [last for last, _ in windows(text, bounds(text), 0, 12)] == [2, 1, 0]  # not 3: across the newline
    assert list(windows(text, bounds(text), 0, 12, within_line=False))[0] == (3, text)
    text = "Wiskott-Aldrich  syndrome"
    toks = bounds(text)
    hits = list(greedy_scan(text, toks, dictionary(set(), folded), 12, squeeze_spaces=True))
    assert hits == [(0, 3, "Wiskott-Aldrich syndrome")]  # the squeezed candidate is what is looked up
    assert scan(text, set(), folded) == ["Wiskott-Aldrich"]
    assert scan("Wiskott-Aldrich\tsyndrome", set(), folded, squeeze_spaces=True) == ["Wiskott-Aldrich"]  # only "  "


def test_starts_and_resolve() -> None:
    text = "( natalizumab ) given , glatiramer acetate"
    toks = bounds(text)
    folded = {"natalizumab", "glatiramer", "( natalizumab"}
    opens = [tok not in "(),." for tok in (text[a:b] for a, b in toks)]
    hits = list(greedy_scan(text, toks, dictionary(set(), folded), 12, starts=opens))
    assert hits == [(1, 1, "natalizumab"), (5, 5, "glatiramer")]

    def resolve(first: int, last: int, value: str) -> tuple[int, str] | None:
        if value == "natalizumab":
            return None  # vetoed
        return last + 1, value + " +salt"  # takes the next token along

    assert list(greedy_scan(text, toks, dictionary(set(), folded), 12, starts=opens, resolve=resolve)) == [
        (5, 6, "glatiramer +salt")]


def test_a_vetoed_match_still_passes_over_its_tokens() -> None:
    text = "JC virus disease"
    toks = bounds(text)
    folded = {"jc virus", "virus disease"}
    hits = list(greedy_scan(text, toks, dictionary(set(), folded), 12, resolve=lambda first, last, value: None))
    assert hits == []  # "virus disease" starts inside the vetoed "JC virus"


def test_doc_tokens_of_a_spacy_doc() -> None:
    doc = spacy.blank("en")("PML, in  XLA.")
    assert doc_tokens(doc) == ([(0, 3), (3, 4), (5, 7), (8, 9), (9, 12), (12, 13)],
                               [True, False, True, False, True, False])
