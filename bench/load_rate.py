"""Benchmark: GraphLoader's load rate (rows/s) on K synthetic articles into a fresh FalkorDB graph,
beside a bare ``UNWIND $rows AS row CREATE ...`` of the same rows, and the reload of the same
articles (idempotent MERGE on existing keys).

Why: the loader pays for idempotence (MERGE on indexed keys, deleting an article's old facts
before writing its new ones, marking articles loaded last). The bare CREATE is the floor for
writing the same graph through the same client and server, so loader / bare says what that
idempotence costs, and the reload says what re-running a build over unchanged articles costs.

How the rows are made comparable:

* the loader's rows are captured first, by running GraphLoader on a dry-run store that records
  every statement and its parameters (no server): the bare load is built from exactly those rows.
* bare = plain CREATE, no MERGE: first every node (``CREATE (n:Label {key: row.key}) SET n +=
  row.props``, no lookup at all), then every relationship (``MATCH`` both ends on their indexed
  key, ``CREATE`` the edge, ``SET r += row.props``), in chunks of 1000 rows as the loader's
  statements are chunked.
* what differs, by construction, and is printed per label/type: the loader MERGEs the lexicon
  nodes (genes, drugs, classes, diseases, outcomes) and MEMBER_OF again in every batch of 500
  articles, the bare load creates each once; the loader writes a Case and its REPORTS edge in
  one row, an Evidence node and its two edges in one row, and marks each article loaded in a
  second row, where the bare load writes one row per node and per edge and puts the mark in the
  Publication row. The two delete statements the loader sends per batch carry PMID lists, not
  rows, and are not counted (LoadReport.rows does not count them either).
* so the two graphs are identical (``--verify``, default on, compares canonical dumps of both),
  and "graph elements/s" (nodes + edges of the final graph per second) is the like-for-like
  rate; rows/s is printed too, each with its own row count.

Each repeat uses fresh graphs on one embedded FalkorDB (bare, then loader, then the reload on
the loader's graph); the table gives the median of ``--repeat`` runs. ``finish()`` (orphan
deletion and AOF rewrite) is timed apart and left out of the rates. FalkorDB only. The machine is
shared: quote the ratios. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic_graph import synthetic_pairs  # noqa: E402
from pmlkg.extraction.lexicons import load_lexicons  # noqa: E402
from pmlkg.graph.stores.embedded import EmbeddedFalkorDB  # noqa: E402
from pmlkg.extraction.concepts import ConceptResolver  # noqa: E402
from pmlkg.graph.load import ENTITY_LABELS, WRITE_STATEMENTS, GraphLoader  # noqa: E402
from pmlkg.graph.constraints import create_schema  # noqa: E402
from pmlkg.schema import SCHEMA  # noqa: E402
from pmlkg.graph.stores import GraphStore, open_store  # noqa: E402
from pmlkg.testing.graph_dump import dump  # noqa: E402

CHUNK = 1000
_NAME_OF = {cypher: name for name, cypher in WRITE_STATEMENTS.items()}


class DryRunStore:
    """Records what the loader writes; runs nothing."""

    backend = "falkordb"
    uri = "dry-run:"

    def __init__(self) -> None:
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.writes.append((_NAME_OF.get(cypher, cypher), dict(params or {})))
        return []

    def read(self, cypher: str, params: Mapping[str, Any] | None = None, *, timeout_ms: int | None = None) -> list:
        return []

    def create_index(self, label: str, prop: str) -> None: ...
    def create_unique(self, label: str, prop: str) -> None: ...
    def compact(self) -> None: ...
    def close(self) -> None: ...


# -- the bare statements -------------------------------------------------------------------------

def _node_cypher(label: str) -> str:
    return f"UNWIND $rows AS row CREATE (n:{label} {{{SCHEMA.key_of(label)}: row.key}}) SET n += row.props"


def _edge_cypher(a: str, rel: str, b: str, rel_map: str = "") -> str:
    """Both ends matched on their schema keys, as the loader's MERGEs match them."""
    return (f"UNWIND $rows AS row MATCH (x:{a} {{{SCHEMA.key_of(a)}: row.a}}), (y:{b} {{{SCHEMA.key_of(b)}: row.b}}) "
            f"CREATE (x)-[r:{rel}{rel_map}]->(y) SET r += row.props")


@dataclass(slots=True)
class BarePlan:
    """(what, cypher, rows) in the order they are sent: nodes first, then relationships."""

    steps: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(r) for _, _, r in self.steps)

    def statements(self, chunk: int) -> int:
        return sum(-(-len(r) // chunk) for _, _, r in self.steps)


def bare_plan(writes: list[tuple[str, dict[str, Any]]]) -> BarePlan:
    """The graph the loader's statements write, as one CREATE row per node and per edge."""
    by: dict[str, list[dict[str, Any]]] = {}
    for name, params in writes:
        by.setdefault(name, []).extend(params.get("rows") or [])
    marks = {m["pmid"]: m for m in by.get("mark_loaded", [])}
    plan = BarePlan()
    plan.steps.append(("Publication", _node_cypher("Publication"), [
        {"key": r["pmid"], "props": {**r["props"], "digest": marks[r["pmid"]]["digest"],
                                     "extractor": marks[r["pmid"]]["extractor"]}}
        for r in _distinct(by.get("merge_articles", []), lambda r: r["pmid"])]))
    for label in ENTITY_LABELS:
        rows = _distinct(by.get(f"merge_{label.lower()}", []), lambda r: r["key"])
        plan.steps.append((label, _node_cypher(label), [{"key": r["key"], "props": r["props"]} for r in rows]))
    cases = by.get("merge_cases", [])
    plan.steps.append(("Case", _node_cypher("Case"), [{"key": r["id"], "props": r["props"]} for r in cases]))
    evidence = by.get("merge_evidence", [])
    plan.steps.append(("Evidence", _node_cypher("Evidence"),
                       [{"key": r["id"], "props": r["props"]} for r in _distinct(evidence, lambda r: r["id"])]))
    # relationships, each by the key its MERGE in the loader matches on (so duplicates collapse the same way)
    plan.steps.append(("MEMBER_OF", _edge_cypher("Drug", "MEMBER_OF", "DrugClass"), [
        {"a": r["drug"], "b": r["class"], "props": {"source": "lexicon"}}
        for r in _distinct(by.get("merge_member_of", []), lambda r: (r["drug"], r["class"]))]))
    plan.steps.append(("REPORTS", _edge_cypher("Publication", "REPORTS", "Case"),
                       [{"a": r["pmid"], "b": r["id"], "props": {"pmid": r["pmid"]}} for r in cases]))
    plan.steps.append(("FROM_PUBLICATION", _edge_cypher("Evidence", "FROM_PUBLICATION", "Publication"),
                       [{"a": r["id"], "b": r["pmid"], "props": {}}
                        for r in _distinct(evidence, lambda r: (r["id"], r["pmid"]))]))
    plan.steps.append(("SUPPORTS", _edge_cypher("Evidence", "SUPPORTS", "Case"),
                       [{"a": r["id"], "b": r["case"], "props": {}}
                        for r in _distinct(evidence, lambda r: (r["id"], r["case"]))]))
    for rel, name, label in (("HAS_DISEASE", "merge_has_disease", "Disease"), ("HAS_GENE", "merge_has_gene", "Gene"),
                             ("HAD_OUTCOME", "merge_had_outcome", "Outcome")):
        plan.steps.append((rel, _edge_cypher("Case", rel, label), [
            {"a": r["case"], "b": r["key"], "props": r["props"]}
            for r in _distinct(by.get(name, []), lambda r: (r["case"], r["key"]))]))
    for label in ("Drug", "DrugClass"):
        plan.steps.append((f"RECEIVED->{label}", _edge_cypher("Case", "RECEIVED", label, " {role: row.role}"), [
            {"a": r["case"], "b": r["key"], "role": r["role"], "props": r["props"]}
            for r in _distinct(by.get(f"merge_received_{label.lower()}", []), lambda r: (r["case"], r["key"], r["role"]))]))
    plan.steps.append(("CAUSED_BY", _edge_cypher("Disease", "CAUSED_BY", "Gene", " {pmid: row.pmid}"), [
        {"a": r["disease"], "b": r["gene"], "pmid": r["pmid"], "props": {"extractor": r["extractor"]}}
        for r in _distinct(by.get("merge_caused_by", []), lambda r: (r["disease"], r["gene"], r["pmid"]))]))
    for label in ENTITY_LABELS:
        if label == "Outcome":
            continue
        plan.steps.append((f"MENTIONS->{label}", _edge_cypher("Publication", "MENTIONS", label), [
            {"a": r["pmid"], "b": r["key"], "props": r["props"]}
            for r in _distinct(by.get(f"merge_mentions_{label.lower()}", []), lambda r: (r["pmid"], r["key"]))]))
    plan.steps = [s for s in plan.steps if s[2]]
    return plan


def _distinct(rows: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    out = []
    for r in rows:
        k = key(r)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


# -- what the loader sends, per label / relationship ---------------------------------------------

# loader statement -> what its rows write (a row of merge_cases writes a Case and its REPORTS edge)
_LOADER_WRITES = {
    "merge_articles": "Publication", "mark_loaded": "Publication (mark loaded)",
    **{f"merge_{label.lower()}": label for label in ENTITY_LABELS},
    "merge_cases": "Case + REPORTS", "merge_evidence": "Evidence + FROM_PUBLICATION + SUPPORTS",
    "merge_member_of": "MEMBER_OF", "merge_has_disease": "HAS_DISEASE", "merge_has_gene": "HAS_GENE",
    "merge_had_outcome": "HAD_OUTCOME", "merge_caused_by": "CAUSED_BY",
    "merge_received_drug": "RECEIVED->Drug", "merge_received_drugclass": "RECEIVED->DrugClass",
    **{f"merge_mentions_{label.lower()}": f"MENTIONS->{label}" for label in ENTITY_LABELS if label != "Outcome"},
}


def loader_rows(writes: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, int], int]:
    """Rows per thing written (they add up to LoadReport.rows), and statements sent."""
    out: dict[str, int] = {}
    for name, params in writes:
        if name in _LOADER_WRITES:
            out[_LOADER_WRITES[name]] = out.get(_LOADER_WRITES[name], 0) + len(params.get("rows") or [])
    return out, len(writes)


# -- running -------------------------------------------------------------------------------------

def run_bare(store: GraphStore, plan: BarePlan, chunk: int) -> float:
    t0 = time.perf_counter()
    for _, cypher, rows in plan.steps:
        for i in range(0, len(rows), chunk):
            store.write(cypher, {"rows": rows[i: i + chunk]})
    return time.perf_counter() - t0


def graph_counts(store: GraphStore) -> dict[str, int]:
    counts = {r["l"]: int(r["n"]) for r in store.read("MATCH (n) RETURN labels(n)[0] AS l, count(n) AS n")}
    for r in store.read("MATCH (a)-[r]->(b) RETURN type(r) AS t, labels(b)[0] AS b, count(r) AS n"):
        name = r["t"] if r["t"] not in ("RECEIVED", "MENTIONS") else f"{r['t']}->{r['b']}"
        counts[name] = counts.get(name, 0) + int(r["n"])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000, help="K synthetic articles (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="fresh-graph runs; the median is shown (default 3)")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="rows per bare statement (the loader's chunk: 1000)")
    parser.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                        help="compare canonical dumps of the bare and the loader graph (first run)")
    args = parser.parse_args()

    t_start = time.perf_counter()
    lex = load_lexicons()
    pairs = synthetic_pairs(args.articles, args.seed, lex)
    dry = DryRunStore()
    GraphLoader(dry, ConceptResolver(lex)).load(pairs)  # type: ignore[arg-type]
    per_loader, loader_statements = loader_rows(dry.writes)
    plan = bare_plan(dry.writes)
    bare_rows = {what: len(rows) for what, _, rows in plan.steps}

    runs: list[dict[str, float]] = []
    counts: dict[str, dict[str, int]] = {}
    verified: str = "not checked (--no-verify)"
    reload_rows = load_rows = 0
    tmp = Path(tempfile.mkdtemp(prefix="pmlkg-bench-load-"))
    server = EmbeddedFalkorDB(tmp)
    try:
        server.start()
        for i in range(args.repeat):
            bare = open_store("falkordb:", tmp, graph_name=f"bare_{i}", start=False)
            loaded = open_store("falkordb:", tmp, graph_name=f"loader_{i}", start=False)
            try:
                create_schema(bare)
                bare_s = run_bare(bare, plan, args.chunk)
                create_schema(loaded)
                loader = GraphLoader(loaded, ConceptResolver(lex))
                t0 = time.perf_counter()
                load_rows = loader.load(pairs).rows
                load_s = time.perf_counter() - t0
                if i == 0:  # the graph the rates are of: the fresh load, before the reload and finish()
                    counts = {"bare": graph_counts(bare), "loader": graph_counts(loaded)}
                    if args.verify:
                        t0 = time.perf_counter()
                        same = dump(bare) == dump(loaded)
                        verified = (f"identical, every node and edge with its properties "
                                    f"(checked in {time.perf_counter() - t0:.0f}s)" if same else "DIFFERENT")
                t0 = time.perf_counter()
                reload_rows = loader.load(pairs).rows
                reload_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                loader.finish()
                finish_s = time.perf_counter() - t0
                runs.append({"bare": bare_s, "load": load_s, "reload": reload_s, "finish": finish_s})
                print(f"  .. run {i + 1}: bare {bare_s:.2f}s, loader {load_s:.2f}s, reload {reload_s:.2f}s, "
                      f"finish {finish_s:.2f}s", flush=True)
            finally:
                for store in (bare, loaded):
                    store.clear()
                    store.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    n_el = sum(counts["loader"].values())
    patients = sum(p.cohort_size for _, ex in pairs for p in ex.patients)
    print()
    print(f"{args.articles:,} synthetic articles (seed {args.seed}): {sum(len(ex.patients) for _, ex in pairs):,} "
          f"Case nodes, {patients:,} patients; final graph {n_el:,} elements "
          f"({sum(v for k, v in counts['loader'].items() if k in SCHEMA.nodes):,} of them nodes)")
    print(f"bare graph vs loader graph after the first load: {verified} "
          f"(counts {'equal' if counts['bare'] == counts['loader'] else 'DIFFER'})")
    print()
    print("rows sent, by what they write (loader rows are LoadReport.rows; see the module doc):")
    header = f"{'label / relationship':<40}{'loader rows':>12}{'bare rows':>11}{'in graph':>10}"
    print(header)
    print("-" * len(header))
    order = ["Publication", "Publication (mark loaded)", "Case + REPORTS", "Case", "REPORTS",
             "Evidence + FROM_PUBLICATION + SUPPORTS", "Evidence", "FROM_PUBLICATION", "SUPPORTS"]
    names = list(dict.fromkeys([*order, *per_loader, *bare_rows]))

    def cell(value: int | None, width: int) -> str:
        return f"{'' if value is None else f'{value:,}':>{width}}"

    for what in names:
        if what in per_loader or what in bare_rows:
            print(f"{what:<40}{cell(per_loader.get(what), 12)}{cell(bare_rows.get(what), 11)}"
                  f"{cell(counts['loader'].get(what), 10)}")
    print(f"{'total':<40}{load_rows:>12,}{plan.rows:>11,}{n_el:>10,}")
    print(f"{'statements sent (loader: + 2 deletes/batch)':<40}{loader_statements:>12,}"
          f"{plan.statements(args.chunk):>11,}")
    print()
    print(f"median of {len(runs)} run(s), fresh graphs each; finish() (orphans + AOF rewrite) "
          f"{med['finish']:.2f}s, not in the rates")
    header = f"{'phase':<34}{'seconds':>9}{'rows':>10}{'rows/s':>10}{'elements/s':>12}"
    print(header)
    print("-" * len(header))
    for phase, secs, rows in (("bare UNWIND ... CREATE", med["bare"], plan.rows),
                              ("GraphLoader.load, fresh graph", med["load"], load_rows),
                              ("GraphLoader.load again (reload)", med["reload"], reload_rows)):
        print(f"{phase:<34}{secs:>9.2f}{rows:>10,}{rows / secs:>10,.0f}{n_el / secs:>12,.0f}")
    print()
    print(f"loader / bare: {med['load'] / med['bare']:.2f}x the time for the same graph "
          f"(elements/s ratio {med['bare'] / med['load']:.2f}; rows/s ratio "
          f"{(load_rows / med['load']) / (plan.rows / med['bare']):.2f}, rows counted differently as above)")
    print(f"reload / load: {med['reload'] / med['load']:.2f}x the time (same {reload_rows:,} rows; each article's "
          f"cases, evidence and mentions deleted and re-created, its entity nodes MERGEd on existing keys)")
    print(f"wall time {time.perf_counter() - t_start:.0f}s")


if __name__ == "__main__":
    main()
