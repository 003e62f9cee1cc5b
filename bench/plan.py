"""Benchmark: the allocation planner (tracker/funding/planner.py) on the demo data, at several scales.

    .venv/bin/python bench/plan.py [--scales 1 10 40 85] [--pg URL] [--repeat 3] [--no-seed] [-v]

For each scale K (default ``1 10 40 85``) it drops and recreates the database at ``--pg`` (else
``$BENCH_PLAN_PG_URL``, else ``postgresql+psycopg://postgres@127.0.0.1:5432/bench_plan``; it is DROPPED, so its
name must hold "bench"), builds the schema, seeds ``seed_demo(seed=1, scale=K)`` and runs ``VACUUM ANALYZE``
(bench/engine.py's helpers), then measures, in rounds (one warm-up, then ``--repeat``; the best is kept):

- ``planner.gather``: the funding picture of the whole Fund with its children at risk, and each project's walk;
- ``planner.propose_from`` for the default amount (the Fund's unallocated money);
- the whole, ``planner.propose()``, as ``flask plan allocations`` runs it;
- a STRESSED ``propose_from``: the amount is half of what covering every child at risk would cost, so that the
  dynamic programme must choose (with the default amount it often covers them all, or none).

For both ``propose_from`` runs it prints the dynamic programme's size, counted by wrapping ``plan_solver._merge``:
the cells (for each merge, the length of the table times the length of the chain merged in: the min-plus work)
and the largest table (entries, each a number of children covered). Then how each time grows with the scale
(the exponent ``log(t2 / t1) / log(K2 / K1)`` between consecutive scales: 1 is linear).

``--no-seed`` measures what the database holds (give its one scale with ``--scales K``, for the labels).
This is not a test: it lives outside ``tests/`` and pytest never collects it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engine as bench_engine  # bench/engine.py: it puts the checkout on sys.path
from sqlalchemy import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_plan"


class DPCounter:
    """Counts the dynamic programme's work by wrapping ``plan_solver._merge`` while it is installed."""

    def __init__(self, solver):
        self.solver = solver
        self.original = solver._merge
        self.cells = 0
        self.largest = 0

    def __enter__(self):
        def merge(best, costs, limit):
            self.cells += len(best) * len(costs)
            merged, taken = self.original(best, costs, limit)
            self.largest = max(self.largest, len(merged))
            return merged, taken

        self.solver._merge = merge
        return self

    def __exit__(self, *exc):
        self.solver._merge = self.original


def best_of(fn, rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def stressed_amount(inputs) -> Decimal:
    """Half of what covering every child at risk of the open projects would cost (each project: its chain's last
    cost, see ``plan_solver.ProjectWalk.cost``), in whole cents."""
    cents = sum(p.cost(len(p.running)) for p in inputs.projects if p.open and p.running)
    return Decimal(cents // 2).scaleb(-2)


def measure(app, scale: int, rounds: int) -> dict:
    from tracker.extensions import db
    from tracker.funding import plan_solver, planner

    with app.app_context():
        def gather():
            db.session.remove()
            return planner.gather(scope="fund")

        inputs = gather()
        default = planner.default_amount(inputs)
        stressed = stressed_amount(inputs)
        with DPCounter(plan_solver) as dp_default:
            default_plan = planner.propose_from(inputs)
        with DPCounter(plan_solver) as dp_stressed:
            stressed_plan = planner.propose_from(inputs, amount=stressed)
        out = {
            "scale": scale,
            "projects": len(inputs.projects),
            "children_at_risk": inputs.picture.totals.children_at_risk,
            "default_amount": default,
            "default_covered": default_plan.children_covered,
            "default_cells": dp_default.cells,
            "default_largest": dp_default.largest,
            "stressed_amount": stressed,
            "stressed_covered": stressed_plan.children_covered,
            "stressed_cells": dp_stressed.cells,
            "stressed_largest": dp_stressed.largest,
            "gather_s": best_of(gather, rounds),
            "propose_s": best_of(lambda: planner.propose_from(inputs), rounds),
            "whole_s": best_of(lambda: (db.session.remove(), planner.propose())[1], rounds),
            "stressed_s": best_of(lambda: planner.propose_from(inputs, amount=stressed), rounds),
        }
        db.session.remove()
    return out


def run_scale(url: str, scale: int, args) -> dict:
    print(f"\n=== scale {scale} ===", flush=True)
    if not args.no_seed:
        bench_engine.seed(url, scale, args)
    app = bench_engine.make_app(url)
    try:
        with app.app_context():
            from tracker.extensions import db

            counts = bench_engine.table_counts(db.engine)
        print("  rows: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        r = measure(app, scale, args.repeat)
    finally:
        with app.app_context():
            from tracker.extensions import db

            db.session.remove()
            db.engine.dispose()
    print(f"  {r['projects']} projects, {r['children_at_risk']} children at risk")
    print(f"  default amount (unallocated) {r['default_amount']:,} USD: covers {r['default_covered']} children; "
          f"DP {r['default_cells']:,} cells, largest table {r['default_largest']:,}")
    print(f"  gather {r['gather_s'] * 1000:8.1f} ms   propose_from {r['propose_s'] * 1000:8.1f} ms   "
          f"whole {r['whole_s'] * 1000:8.1f} ms")
    print(f"  STRESSED amount {r['stressed_amount']:,} USD (half the cost of covering all): covers "
          f"{r['stressed_covered']} children; DP {r['stressed_cells']:,} cells, largest table "
          f"{r['stressed_largest']:,}; propose_from {r['stressed_s'] * 1000:8.1f} ms", flush=True)
    return r


def print_table(results: list[dict]) -> None:
    print("\nscale  projects  at risk  unallocated USD  gather ms  propose ms  whole ms  |  stressed USD  "
          "DP cells  largest  propose ms")
    for r in results:
        print(f"{r['scale']:>5}  {r['projects']:>8}  {r['children_at_risk']:>7}  {r['default_amount']:>15,}  "
              f"{r['gather_s'] * 1000:>9.1f}  {r['propose_s'] * 1000:>10.1f}  {r['whole_s'] * 1000:>8.1f}  |  "
              f"{r['stressed_amount']:>12,}  {r['stressed_cells']:>8,}  {r['stressed_largest']:>7,}  "
              f"{r['stressed_s'] * 1000:>10.1f}")
    if len(results) < 2:
        return
    print("\ngrowth between scales (exponent of the scale: 1 = linear, 2 = quadratic):")
    for a, b in zip(results, results[1:], strict=False):
        ratio = math.log(b["scale"] / a["scale"])
        parts = []
        for key, name in (("gather_s", "gather"), ("propose_s", "propose_from"), ("whole_s", "whole"),
                          ("stressed_s", "stressed"), ("stressed_cells", "stressed DP cells")):
            if a[key] and b[key]:
                parts.append(f"{name} x{b[key] / a[key]:.1f} (^{math.log(b[key] / a[key]) / ratio:.2f})")
        print(f"  {a['scale']:>3} -> {b['scale']:>3} (x{b['scale'] / a['scale']:.1f}): " + ", ".join(parts))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 40, 85], help="default: 1 10 40 85")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PLAN_PG_URL", DEFAULT_PG),
                        help="PostgreSQL URL of a database the benchmark may DROP (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds after the warm-up (best is kept)")
    parser.add_argument("--no-seed", action="store_true", help="measure the data already in the database")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the seeding's progress")
    args = parser.parse_args(argv)
    url = make_url(args.pg)
    if not url.drivername.startswith("postgresql"):
        parser.error("this benchmark runs on PostgreSQL (seed-demo bulk-loads with COPY there)")
    if "bench" not in (url.database or ""):
        parser.error(f"refusing the database {url.database!r}: it is dropped, so its name must hold 'bench'")
    if args.no_seed and len(args.scales) != 1:
        parser.error("--no-seed measures what the database holds: give its one scale (--scales K)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    print(f"planner benchmark on {url.render_as_string(hide_password=True)}, {dt.date.today().isoformat()}, "
          f"{os.cpu_count()} CPUs, scales {args.scales}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = [run_scale(args.pg, scale, args) for scale in args.scales]
    print_table(results)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
