"""Probe: how FalkorDB's parse+run time of GRAPH.RO_QUERY grows with nesting depth and term count.

Why this exists: the query timeout FalkorDB takes (``timeout <ms>``) does not cover *parsing*, and
its parser backtracks, so the time of a nested expression grows ~x1.85 with each level. The limits
of ``api.cypher_guard`` come from these figures; re-run this after a FalkorDB upgrade.

Measured here (2 shared cores, FalkorDB 4.16.3; full run 75 s), seconds per probe:

    depth ->   8       12      16          18          19
    (), [], {}, abs(), CASE, mixed, NOT, unary minus:
               1-3 ms  6-23 ms 0.08-0.67   0.39-1.1    1.1-2.0   (stopped at the first > 1 s)
    CYPHER p=[[..]] header: 128 levels 2 ms; ~250: the client's reply parser overflows its recursion
    terms ->   OR 2,048: 0.015 | 1+1.. 8,192: 0.037 | [1,1..] 8,192: 0.051 | 1<1.. 8,192: 0.022
               [1][0].. 1,024: < 0.1, 6,402: 0.82 | ()-->().. 1,024: < 0.1, 3,202: 0.63
    --worst (largest query DEFAULT_LIMITS accept, 23 shapes): 5-31 ms each

Safe to run by design:

* it starts its own embedded FalkorDB in a temp dir (or uses ``--socket``) and stops it at the end;
* each probe is a separate child process killed after ``--wall`` seconds (default 10);
* each shape stops growing at the first probe over ``--stop-at`` seconds (default 1); depth grows
  one level at a time once a probe takes 3 ms (see ``next_size``), so a probe is never expected to
  take more than a few seconds;
* chain shapes stop at ``--max-chars`` characters (default 20,000, far below the ~45,000-term OR
  chain that crashed the server);
* after a killed probe (the server may still be parsing) or a lost connection, the own server is
  stopped and restarted before the next shape; with ``--socket`` the run ends instead.

Each query gets a unique ``AS u<k>`` alias: FalkorDB caches plans by query text, and a repeated
query is not parsed again. Figures are printed, never asserted.

``--worst`` also times the worst queries the guard's ``DEFAULT_LIMITS`` accept.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GRAPH = "probe"

CHILD = r"""
import json, sys, time, redis
sock, graph = sys.argv[1], sys.argv[2]
query = sys.stdin.read()
client = redis.Redis(unix_socket_path=sock, socket_timeout=60)
t0 = time.perf_counter()
try:
    client.execute_command("GRAPH.RO_QUERY", graph, query, "--compact", "timeout", 1000)
    outcome = "ok"
except redis.ConnectionError as exc:
    outcome = "connection lost: " + str(exc)[:100]
except redis.RedisError as exc:
    outcome = "error: " + str(exc)[:100]
print(json.dumps({"s": time.perf_counter() - t0, "outcome": outcome}))
"""


def _nest(open_: str, inner: str, close: str) -> Callable[[int], str]:
    return lambda n: "RETURN " + open_ * n + inner + close * n


def _chain(term: str, op: str, prefix: str = "RETURN ", suffix: str = "") -> Callable[[int], str]:
    return lambda n: prefix + op.join([term] * n) + suffix


# name -> (query for size n, what n counts)
SHAPES: dict[str, tuple[Callable[[int], str], str]] = {
    "parens": (_nest("(", "1", ")"), "depth"),
    "lists": (_nest("[", "1", "]"), "depth"),
    "maps": (_nest("{a:", "1", "}"), "depth"),
    "calls": (_nest("abs(", "1", ")"), "depth"),
    "mixed": (lambda n: "RETURN " + "".join(("(", "[", "{a:")[i % 3] for i in range(n)) + "1"
              + "".join((")", "]", "}")[i % 3] for i in reversed(range(n))), "depth"),
    "case": (lambda n: "RETURN " + "CASE WHEN true THEN " * n + "1" + " END" * n, "depth"),
    "not": (lambda n: "RETURN " + "NOT " * n + "true", "depth"),
    "minus": (lambda n: "RETURN " + "- " * n + "1", "depth"),
    "param_lists": (lambda n: "CYPHER p=" + "[" * n + "1" + "]" * n + " RETURN $p", "depth"),
    "or": (_chain("1=1", " OR "), "terms"),
    "plus": (_chain("1", "+"), "terms"),
    "commas": (_chain("1", ",", "RETURN [", "]"), "terms"),
    "subscripts": (_chain("[0]", "", "RETURN [1]"), "terms"),
    "pattern": (_chain("()", "-->", "MATCH ", " RETURN 1"), "terms"),
    "compare": (_chain("1", "<"), "terms"),
    "is_null": (_chain("", " IS NULL", "RETURN 1"), "terms"),
    "props": (_chain("", ".a", "RETURN {a:1}"), "terms"),
}


@dataclass
class Probe:
    n: int
    chars: int
    seconds: float
    outcome: str


class Runner:
    def __init__(self, socket: str | None, wall: float):
        self.wall = wall
        self.counter = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.server = None
        if socket is None:
            from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
            self._tmp = tempfile.TemporaryDirectory(prefix="pmlkg-probe-")
            self.server = EmbeddedFalkorDB(Path(self._tmp.name))
            self.server.start()
            socket = str(self.server.socket)
        self.socket = socket
        self._materialise()

    def _materialise(self) -> None:
        import redis
        client = redis.Redis(unix_socket_path=self.socket, socket_timeout=10)
        try:
            client.execute_command("GRAPH.QUERY", GRAPH, "RETURN 0")  # RO_QUERY needs an existing graph
        finally:
            client.close()

    def restart(self) -> bool:
        if self.server is None:
            return False
        self.server.stop()
        self.server.start()
        self._materialise()
        return True

    def run(self, query: str) -> tuple[float, str]:
        self.counter += 1
        query = f"{query} AS u{self.counter}" if query.startswith("RETURN") or " RETURN " in query else query
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-c", CHILD, self.socket, GRAPH], input=query.encode(),
                                  capture_output=True, timeout=self.wall, check=False)
        except subprocess.TimeoutExpired:
            return time.perf_counter() - t0, f"killed after {self.wall:g}s"
        try:
            got = json.loads(proc.stdout)
        except ValueError:
            return time.perf_counter() - t0, "probe failed: " + proc.stderr.decode(errors="replace")[-200:]
        return float(got["s"]), str(got["outcome"])

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def next_size(unit: str, last: Probe) -> int:
    """The next n: noise-proof steps, not extrapolation (one noisy fast probe once doubled a depth into 10 s).

    Depth shapes cost ~x1.85 per level: while a probe is under 3 ms, jump up to 8 levels (at worst
    ~x140, i.e. < 0.5 s), then one level at a time, so the first probe over ``--stop-at`` is at most
    ~2x it. Chain shapes grow polynomially (measured): double under 0.25 s, then x1.25.
    """
    if unit == "depth":
        return last.n + (min(last.n, 8) if last.seconds < 0.003 else 1)
    return last.n * 2 if last.seconds < 0.25 else int(last.n * 1.25) + 1


def probe_shape(runner: Runner, name: str, make: Callable[[int], str], unit: str, *, stop_at: float,
                max_chars: int) -> list[Probe]:
    points: list[Probe] = []
    n = 1
    while True:
        query = make(n)
        if len(query) > max_chars:
            break
        seconds, outcome = runner.run(query)
        points.append(Probe(n, len(query), seconds, outcome))
        print(f"{name:12s} n={n:6d} chars={len(query):6d} {seconds:9.4f} s  {outcome}", flush=True)
        if outcome.startswith(("killed", "connection lost", "probe failed")):
            if not runner.restart():
                raise SystemExit("the server is stuck or gone; stopping (used --socket, so not restarting)")
            break
        if seconds > stop_at:
            break
        n = next_size(unit, points[-1])
    return points


def _largest_accepted(make: Callable[[int], str]) -> int:
    """The largest n whose query the guard accepts (acceptance is monotone in n for these shapes)."""
    from pmlkg.api.cypher_guard import QueryRejected, check_user_query

    def ok(n: int) -> bool:
        try:
            check_user_query(make(n), None)
            return True
        except QueryRejected:
            return False

    if not ok(1):
        return 0
    hi = 2
    while ok(hi):
        hi *= 2
    lo = hi // 2  # ok(lo), not ok(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def worst_accepted(runner: Runner) -> list[str]:
    """Time the largest query of each shape that the guard's DEFAULT_LIMITS accept."""
    lines = []
    shapes: dict[str, Callable[[int], str]] = {
        **{f"{name} depth n": SHAPES[name][0] for name in ("parens", "lists", "maps", "calls")},
        "CASE depth n": SHAPES["case"][0],
        "NOT chain n": SHAPES["not"][0],
        "unary minus chain n": SHAPES["minus"][0],
        "NOT ( depth 2n": lambda n: "RETURN " + "NOT (" * n + "true" + ")" * n,
        **{f"n groups of depth {d}": (lambda d: lambda n: "RETURN " + "+".join(["(" * d + "1" + ")" * d] * n))(d)
           for d in (12, 10, 8, 5)},
        **{f"n-item list at depth {d}": (lambda d: lambda n: "RETURN " + "[" * d + ",".join(["1"] * n) + "]" * d)(d)
           for d in (11, 9, 6, 3)},
        "n-term sum under 5 NOTs + 5 minus": lambda n: "RETURN " + "NOT " * 5 + "- " * 5 + "+".join(["1"] * n),
        **{f"{name} chain n": SHAPES[name][0] for name in ("or", "plus", "commas", "subscripts", "pattern",
                                                           "compare")},
    }
    for label, make in shapes.items():
        n = _largest_accepted(make)
        query = make(n)
        seconds, outcome = runner.run(query)  # as the guard passes it on, less the LIMIT it appends
        line = f"worst accepted: {label:34s} n={n:5d} chars={len(query):5d} {seconds:8.4f} s  {outcome[:60]}"
        print(line, flush=True)
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", help="probe an already running FalkorDB on this unix socket (creates an "
                        f"empty graph {GRAPH!r} there)")
    parser.add_argument("--wall", type=float, default=10.0, help="hard limit per probe, seconds")
    parser.add_argument("--stop-at", type=float, default=1.0, help="stop a shape at the first probe over this")
    parser.add_argument("--max-chars", type=int, default=20_000)
    parser.add_argument("--shapes", nargs="*", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--worst", action="store_true", help="also time the worst queries the guard accepts")
    args = parser.parse_args()

    runner = Runner(args.socket, args.wall)
    summary: list[str] = []
    try:
        for name in args.shapes:
            make, unit = SHAPES[name]
            points = probe_shape(runner, name, make, unit, stop_at=args.stop_at, max_chars=args.max_chars)
            fast = [p.n for p in points if p.seconds < 0.1]
            slow = next((p for p in points if p.seconds > args.stop_at or not p.outcome.startswith(("ok", "error"))),
                        None)
            errors = sorted({p.outcome for p in points if p.outcome.startswith("error")})
            last = points[-1] if points else Probe(0, 0, 0.0, "")
            summary.append(f"{name:12s} {unit}: largest < 100 ms: {max(fast) if fast else '-'}; "
                           + (f"first over {args.stop_at:g} s: {slow.n} ({slow.seconds:.2f} s, {slow.outcome})"
                              if slow else f"none up to {last.n} ({last.seconds:.3f} s, {last.chars} chars)")
                           + (f"; server said {errors[0]!r}" if errors else ""))
        if args.worst:
            summary += worst_accepted(runner)
    finally:
        runner.close()
    print("\nsummary (depth -> seconds, terms -> seconds):")
    for line in summary:
        print("  " + line)


if __name__ == "__main__":
    main()
