"""Benchmark: the same API on the embedded FalkorDB and on the local Neo4j 5.26, side by side.

The same synthetic graph (bench/synthetic_graph.py, >= ``--cases`` cases as /associations counts
them, loaded by the real GraphLoader) is built into a fresh embedded FalkorDB and a fresh local Neo4j
(graph/stores/neo4j_local.py, its own temp data dir), each served by the real app on uvicorn. Then
``GET /associations?role=exposure&limit=50`` and ``GET /patients?drug=rituximab&limit=50`` at 1 and 8
closed-loop clients (bench/api_latency.py's loop: one thread and one keep-alive connection per
client), ``--seconds`` per cell. Printed: n, p50, p99 per backend and the Neo4j/FalkorDB ratio of
p50 and p99 (> 1: Neo4j slower). The machine has 2 shared cores and both servers run on it (one
idle while the other is measured): quote the ratios, not the milliseconds. Figures are printed,
never asserted.

    .venv/bin/python bench/backend_latency.py [--cases 10000] [--seconds 5] [--clients 1,8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_latency import _HttpCall, closed_loop, percentile  # noqa: E402
from bench.synthetic_graph import load, pairs_for_cases  # noqa: E402
from pmlkg.graph.stores import open_store  # noqa: E402
from pmlkg.graph.stores.embedded import EmbeddedFalkorDB  # noqa: E402
from pmlkg.graph.stores.neo4j_local import LocalNeo4j  # noqa: E402
from pmlkg.settings import Settings  # noqa: E402
from pmlkg.testing.live_server import serve  # noqa: E402

ROUTES = {"associations": "/associations?role=exposure&limit=50",
          "patients": "/patients?drug=rituximab&role=exposure&limit=50"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    os.environ.setdefault("NEO4J_AUTH", "neo4j/" + uuid.uuid4().hex)
    pairs = pairs_for_cases(args.cases, seed=args.seed)
    print(f"synthetic graph: {len(pairs)} articles for >= {args.cases} cases (seed {args.seed})", flush=True)
    results: dict[str, dict[tuple[str, int], list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pmlkg-backends-") as tmp:
        root = Path(tmp)
        neo4j = LocalNeo4j(root / "neo4j-data")
        backends = {"falkordb": Settings(data_dir=root / "falkordb", graph_uri="falkordb:", graph_name="bench"),
                    "neo4j": Settings(data_dir=root / "neo4j-api", graph_uri=str(neo4j.start().uri))}
        try:
            for name, settings in backends.items():
                store = open_store(settings.graph_uri, settings.data_dir, graph_name=settings.graph_name)
                t0 = time.perf_counter()
                report = load(store, pairs)
                size = store.read("MATCH (n) RETURN count(n) AS n")[0]["n"]
                print(f"{name}: loaded {report.articles} articles, {size} nodes in {time.perf_counter() - t0:.1f} s",
                      flush=True)
                store.close()
                results[name] = {}
                with serve(settings) as url:
                    for route, path in ROUTES.items():
                        _HttpCall(url + path, 600)()  # warm the caches and the query plan once
                        for clients in levels:
                            cell = closed_loop(lambda p=path: _HttpCall(url + p, 600), clients, args.seconds)
                            results[name][(route, clients)] = cell.latencies_s
                            print(f"  {route} x{clients}: n={cell.n} errors={cell.errors}", flush=True)
        finally:
            neo4j.stop()
            EmbeddedFalkorDB(root / "falkordb").stop()
    print()
    print(f"{'route':<13}{'clients':>8}{'n F/N':>11}{'FalkorDB p50':>14}{'p99':>8}{'Neo4j p50':>11}{'p99':>8}"
          f"{'ratio p50':>11}{'ratio p99':>11}")
    for route in ROUTES:
        for clients in levels:
            f, n = results["falkordb"][(route, clients)], results["neo4j"][(route, clients)]
            fp50, fp99, np50, np99 = (percentile(x, q) * 1000 for x, q in ((f, 50), (f, 99), (n, 50), (n, 99)))
            print(f"{route:<13}{clients:>8}{f'{len(f)}/{len(n)}':>11}{fp50:>12.1f}ms{fp99:>6.0f}ms{np50:>9.1f}ms"
                  f"{np99:>6.0f}ms{np50 / fp50:>11.2f}{np99 / fp99:>11.2f}")


if __name__ == "__main__":
    main()
