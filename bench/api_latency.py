"""Benchmark: GET /associations latency and throughput over HTTP, beside the same computation sent
straight to the store, on a synthetic graph of >= 10,000 cases.

What is measured, and why:

* the graph: synthetic articles (bench/synthetic_graph.py; one Case node each, a series being
  one Case node of 5-20 patients), as many as it takes for ``--cases`` (default 10,000) cases as
  /associations counts them (its ``universe_cases``: patients, a series by its size) - about
  3,950 articles; ``--articles N`` asks for N articles (= N Case nodes) instead. They are loaded
  with the real GraphLoader into a fresh embedded FalkorDB under a temp data dir; the graph size
  (Case nodes, patients, nodes, edges) and the load time are printed. ``--data-dir DIR --reuse``
  keeps the graph in DIR and reuses it on the next run. Why not 10,000 Case nodes by default:
  there one unfiltered request costs ~2 s of FalkorDB time, so the 32-client cells alone (32
  requests at least, on 2 query threads) take minutes.
* HTTP: the real app (api.app.create_app, via pmlkg/testing/live_server.py's ``serve``) on uvicorn,
  ``GET /associations?role=exposure&limit=50`` and the filtered variant ``&drug=rituximab``, at
  1, 8 and 32 concurrent clients (closed loop: one thread and one keep-alive httpx.Client per
  client, the next request sent when the previous one answers). The clients run in a child
  process by default (``--no-client-process``: in the server's process), so their own Python
  work does not take the server's GIL.
* direct: the same computation in-process, ``associations(store, AssociationQuery(...))`` and the
  evidence of the first page (``with_evidence``), on one
  shared store (as the app shares one), with ``drug_keys(store, "rituximab")`` for the filter as
  the route does; 1 client and the same concurrencies, in threads. No pydantic, no JSON, no HTTP.
* each cell runs a window of ``--seconds``: clients start requests until the window closes and
  every request started is waited for and counted, so a cell holds at least ``clients`` requests
  and throughput is successful requests / (last answer, failed ones included - start). p50 and p99 interpolate between
  the sorted latencies; with few requests p99 is close to the maximum (the table says n).
  Failed requests (HTTP status != 200, store errors such as a query timeout) are counted apart
  and left out of the latencies.

The ratio columns are HTTP / direct: p50 latency (> 1: HTTP adds time) and requests/s (< 1: HTTP
serves fewer). The machine is shared and has 2 cores, so quote ratios rather than absolute
figures, and expect latency at 8 and 32 clients to be mostly queueing behind FalkorDB, whose
query threads are as many as the cores. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench.synthetic_graph import load, pairs_for_cases, synthetic_pairs  # noqa: E402
from pmlkg.graph.stores.embedded import EmbeddedFalkorDB  # noqa: E402
from pmlkg.graph.queries.associations import SORT_KEYS, AssociationQuery, associations, with_evidence  # noqa: E402
from pmlkg.graph.queries.cases import drug_keys  # noqa: E402
from pmlkg.graph.queries.catalogue import whole  # noqa: E402
from pmlkg.graph.queries.status import stats  # noqa: E402
from pmlkg.graph.stores import GraphStore, open_store  # noqa: E402

GRAPH_NAME = "bench_api_latency"
META_FILE = "bench_api_latency.json"
QUERIES = {  # name -> (query string of the route, what the route computes from it)
    "exposure": ("role=exposure&limit=50", {"role": "exposure", "drug": None}),
    "exposure+rituximab": ("role=exposure&limit=50&drug=rituximab", {"role": "exposure", "drug": "rituximab"}),
}


@dataclass(slots=True)
class Cell:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def n(self) -> int:
        return len(self.latencies_s)

    @property
    def rate(self) -> float:
        return self.n / self.elapsed_s if self.elapsed_s else 0.0


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default); q in [0, 100]."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def closed_loop(make_call: Callable[[], Callable[[], None]], clients: int, seconds: float) -> Cell:
    """``clients`` threads, each with its own call (``make_call`` runs in the thread: one
    connection each), sending requests back to back until ``seconds`` after the common start."""
    cell = Cell()
    lock = threading.Lock()
    start_at: list[float] = []
    ready = threading.Barrier(clients + 1, action=lambda: start_at.append(time.perf_counter()))
    last_done = [0.0]

    def worker() -> None:
        call = make_call()
        try:
            ready.wait()
            deadline = start_at[0] + seconds
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    call()
                    ok, kind = True, ""
                except Exception as exc:  # a benchmark counts failures, it does not stop on them
                    ok, kind = False, f"{type(exc).__name__}: {str(exc)[:60]}"
                t1 = time.perf_counter()
                with lock:
                    last_done[0] = max(last_done[0], t1)
                    if ok:
                        cell.latencies_s.append(t1 - t0)
                    else:
                        cell.errors += 1
                        cell.error_kinds[kind] = cell.error_kinds.get(kind, 0) + 1
        finally:
            close = getattr(call, "close", None)
            if close:
                close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()  # every client has its connection; the window starts now
    for t in threads:
        t.join()
    cell.elapsed_s = max(last_done[0] - start_at[0], 1e-9)
    return cell


class _HttpStatus(Exception):
    pass


class _HttpCall:
    def __init__(self, url: str, timeout_s: float):
        self.url = url
        self.client = httpx.Client(timeout=timeout_s)

    def __call__(self) -> None:
        r = self.client.get(self.url)
        if r.status_code != 200:
            raise _HttpStatus(f"{r.status_code}")
        r.content  # noqa: B018 - the body is read in full, as a client would

    def close(self) -> None:
        self.client.close()


def http_cell(url: str, clients: int, seconds: float, timeout_s: float) -> dict[str, Any]:
    """One HTTP cell; module-level so a spawned child process can run it. Returns plain data."""
    cell = closed_loop(lambda: _HttpCall(url, timeout_s), clients, seconds)
    return {"latencies_s": cell.latencies_s, "errors": cell.errors, "error_kinds": cell.error_kinds,
            "elapsed_s": cell.elapsed_s}


def direct_call(store: GraphStore, spec: dict[str, Any]) -> Callable[[], None]:
    def call() -> None:
        keys = None if spec["drug"] is None else drug_keys(store, spec["drug"])
        q = AssociationQuery(role=spec["role"], row_keys=keys)
        rows = associations(store, q).rows
        rows.sort(key=SORT_KEYS["patients"])
        with_evidence(store, q, rows[:50])  # what the route does for its default page of 50
    return call


def graph_size(store: GraphStore) -> dict[str, int]:
    counts = stats(store)
    patients = store.read("MATCH (c:Case) RETURN sum(c.cohort_size) AS patients")[0]["patients"]
    return {"cases": counts["nodes"].get("Case", 0), "patients": whole(patients),
            "nodes": sum(counts["nodes"].values()), "edges": sum(counts["edges"].values())}


def prepare_graph(data_dir: Path, pairs: list, seed: int, reuse: bool) -> tuple[GraphStore, dict[str, Any]]:
    """The store with the synthetic graph, loading it unless ``reuse`` finds the same one in place."""
    store = open_store("falkordb:", data_dir, graph_name=GRAPH_NAME, start=False)
    meta_path = data_dir / META_FILE
    if reuse and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        last = store.read("MATCH (a:Publication {pmid: $p}) RETURN a.digest AS d", {"p": pairs[-1][0].pmid})
        if meta.get("articles") == len(pairs) and meta.get("seed") == seed and last and last[0]["d"]:
            meta["reused"] = True
            return store, meta
        print("--reuse: the graph in the data dir is not the requested one; rebuilding", flush=True)
    store.clear()
    t0 = time.perf_counter()
    report = load(store, pairs)
    load_s = time.perf_counter() - t0
    meta = {"articles": len(pairs), "seed": seed, "load_s": load_s, "rows": report.rows, "reused": False}
    meta_path.write_text(json.dumps(meta))
    return store, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000,
                        help="generate articles until the graph counts this many cases as /associations counts them "
                             "(its universe_cases: patients, a series by its size; default 10000)")
    parser.add_argument("--articles", type=int, help="generate exactly this many articles (= Case nodes) instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", default="1,8,32", help="comma-separated concurrency levels")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="window per cell; requests started inside it are all completed and counted")
    parser.add_argument("--queries", default=",".join(QUERIES), help=f"subset of {','.join(QUERIES)}")
    parser.add_argument("--modes", default="http,direct", help="http, direct or both")
    parser.add_argument("--timeout", type=float, default=600.0, help="HTTP client timeout per request, s")
    parser.add_argument("--data-dir", type=Path, help="keep the store here (default: a temp dir, deleted)")
    parser.add_argument("--reuse", action="store_true", help="with --data-dir: reuse the graph a previous run built")
    parser.add_argument("--client-process", action=argparse.BooleanOptionalAction, default=True,
                        help="run the HTTP clients in a child process (default) or in the server's process")
    args = parser.parse_args()
    if args.reuse and args.data_dir is None:
        parser.error("--reuse needs --data-dir")
    levels = [int(c) for c in args.clients.split(",") if c.strip()]
    names = [q for q in args.queries.split(",") if q]
    modes = [m for m in args.modes.split(",") if m]
    unknown = [q for q in names if q not in QUERIES] + [m for m in modes if m not in ("http", "direct")]
    if unknown:
        parser.error(f"unknown query or mode: {unknown}")

    from pmlkg.settings import Settings  # noqa: E402 - after sys.path is set
    from pmlkg.testing.live_server import serve  # noqa: E402

    t_start = time.perf_counter()
    tmp = None
    if args.data_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="pmlkg-bench-api-"))
        data_dir = tmp
    else:
        data_dir = args.data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
    server = EmbeddedFalkorDB(data_dir)
    pool = None
    store = None
    results: dict[tuple[str, str, int], Cell] = {}
    try:
        server.start()
        t0 = time.perf_counter()
        pairs = (synthetic_pairs(args.articles, args.seed) if args.articles is not None
                 else pairs_for_cases(args.cases, args.seed))
        generate_s = time.perf_counter() - t0
        store, meta = prepare_graph(data_dir, pairs, args.seed, args.reuse)
        size = graph_size(store)
        settings = Settings(data_dir=data_dir, graph_uri="falkordb:", graph_name=GRAPH_NAME)
        if "http" in modes and args.client_process:
            pool = multiprocessing.get_context("spawn").Pool(1)
        with serve(settings) as base_url:
            # warm-up (not counted): the measured call once per query and mode; then a check that
            # HTTP and direct agree on every row (limit=1000: the whole result, not the first page)
            agree = {}
            for name in names:
                path, spec = QUERIES[name]
                httpx.get(f"{base_url}/associations?{path}", timeout=args.timeout).raise_for_status()
                direct_call(store, spec)()
                page = httpx.get(f"{base_url}/associations?{path}&limit=1000", timeout=args.timeout).json()
                keys = None if spec["drug"] is None else drug_keys(store, spec["drug"])
                direct = associations(store, AssociationQuery(role=spec["role"], row_keys=keys))
                agree[name] = (page.get("total"), len(direct.rows), page.get("universe_cases"), direct.universe_cases)
            for name in names:
                path, spec = QUERIES[name]
                url = f"{base_url}/associations?{path}"
                for clients in levels:
                    for mode in modes:
                        if mode == "http":
                            if pool is not None:
                                raw = pool.apply(http_cell, (url, clients, args.seconds, args.timeout))
                            else:
                                raw = http_cell(url, clients, args.seconds, args.timeout)
                            cell = Cell(raw["latencies_s"], raw["errors"], raw["error_kinds"], raw["elapsed_s"])
                        else:
                            cell = closed_loop(lambda s=spec: direct_call(store, s), clients, args.seconds)
                        results[(name, mode, clients)] = cell
                        print(f"  .. {name:<20} {mode:<6} {clients:>3} clients: {cell.n} ok, {cell.errors} failed, "
                              f"{cell.elapsed_s:.1f}s", flush=True)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if store is not None:
            store.close()
        server.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    universe = next(iter(agree.values()))[3] if agree else None
    print(f"graph: {size['cases']:,} Case nodes ({len(pairs):,} synthetic articles, seed {args.seed}), "
          f"{size['patients']:,} patients, {int(universe or 0):,} cases as /associations counts them "
          f"(universe_cases), {size['nodes']:,} nodes, {size['edges']:,} edges")
    if meta.get("reused"):
        print(f"load: reused from {data_dir} (built earlier in {meta['load_s']:.1f}s)")
    else:
        print(f"load: {meta['load_s']:.1f}s (create_schema + GraphLoader.load + finish) for {meta['rows']:,} loader rows, "
              f"{meta['rows'] / meta['load_s']:,.0f} rows/s; generating the records took {generate_s:.1f}s")
    for name, (total, n_direct, u_http, u_direct) in agree.items():
        same = "same" if total == n_direct and u_http == u_direct else "DIFFERENT"
        print(f"check {name}: HTTP total {total} rows, universe {u_http}; direct {n_direct} rows, "
              f"universe {int(u_direct)} ({same})")
    print(f"clients: closed loop, window {args.seconds:g}s per cell; HTTP clients in "
          f"{'a child process' if args.client_process else 'the server process'}; {os.cpu_count()} CPUs")
    print()
    header = (f"{'query':<20} {'clients':>7} {'mode':<6} {'n':>5} {'fail':>5} {'p50 ms':>9} {'p99 ms':>9} "
              f"{'req/s':>8} {'HTTP/direct p50':>16} {'HTTP/direct req/s':>18}")
    print(header)
    print("-" * len(header))
    for name in names:
        for clients in levels:
            for mode in modes:
                cell = results.get((name, mode, clients))
                if cell is None:
                    continue
                ratio = ""
                other = results.get((name, "direct", clients))
                if mode == "http" and other is not None and cell.n and other.n:
                    p_ratio = percentile(cell.latencies_s, 50) / percentile(other.latencies_s, 50)
                    r_ratio = cell.rate / other.rate if other.rate else float("nan")
                    ratio = f"{p_ratio:>16.2f} {r_ratio:>18.2f}"
                print(f"{name:<20} {clients:>7} {mode:<6} {cell.n:>5} {cell.errors:>5} "
                      f"{percentile(cell.latencies_s, 50) * 1000:>9.0f} {percentile(cell.latencies_s, 99) * 1000:>9.0f} "
                      f"{cell.rate:>8.2f} {ratio}")
                if cell.error_kinds:
                    print(f"{'':<20} failures: {cell.error_kinds}")
    print()
    print(f"wall time {time.perf_counter() - t_start:.0f}s")


if __name__ == "__main__":
    main()
