"""Benchmark: the funding engine and the review page on PostgreSQL, beside one hand-written SQL query.

    .venv/bin/python bench/engine.py [--scales 1 10 40 85] [--only-scale K] [--pg URL] [--repeat 3]
                                     [--no-seed] [--explain N] [--profile] [--what-if-index] [--json FILE]

For each scale K (default ``1 10 40 85``; 85 gives about 51,000 mothers and
960,000 disbursements) it:

1. drops and recreates the database at ``--pg`` (else ``$BENCH_ENGINE_PG_URL``,
   else ``postgresql+psycopg://postgres@127.0.0.1:5432/bench_engine``; it is
   DROPPED), builds the schema with the migrations and times
   ``seed_demo(seed=1, scale=K)`` (what ``flask seed-demo --scale K`` runs),
   then ``VACUUM ANALYZE``;
2. measures, best of ``--repeat`` (3) after one warm-up, each in a fresh app context:
   - the whole-fund engine call ``funding_picture(scope="fund")`` (children at
     risk included): wall time and SQL statements;
   - the review page ``GET /review/`` through the Flask test client, signed in as
     the demo manager: wall time, SQL statements, response bytes;
   - one hand-written SQL query summing the same disbursements the engine sums
     (paid in the period, paid up to ``to``, committed, burn; per project and
     category), run raw on the connection: wall time;
3. prints the ratios engine / hand SQL and page / hand SQL, then one table for
   every scale, and checks that the statement counts are the same at every scale
   (if not, it names the statements whose count changed and the code that runs them).

SQL statements are counted with a ``before_cursor_execute`` listener on the
app's engine. One more, traced, run of each (outside the timings) records every
statement's duration and the ``tracker`` function that issued it; the slowest are
printed, and the shared buffers the engine's statements and the hand query touch
(``EXPLAIN (ANALYZE, BUFFERS)``): a measure of work that, unlike the times, does
not depend on what else the machine is doing.

``--explain N`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the N slowest statements
of the page at the largest scale; ``--profile`` prints a cProfile of one page
request at the largest scale; ``--what-if-index`` then adds, to the benchmark's
database only, the partial index bench/README.md recommends, measures the engine
and the page again and drops it. ``--no-seed`` measures the data already in the
database (for a quick re-run after a full one; give the one scale it holds).

This is not a test: it lives outside ``tests/`` and pytest never collects it.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # flask_migrate finds migrations/ relative to the working directory

import psycopg  # noqa: E402
from sqlalchemy import event, make_url, text  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_engine"
MANAGER = ("manager@example.org", "demo-manager-pass")

HAND_SQL = """
SELECT project_id, category,
       sum(usd_amount) FILTER (WHERE status = 'paid' AND paid_on BETWEEN %(date_from)s AND %(date_to)s) AS disbursed,
       sum(usd_amount) FILTER (WHERE status = 'paid' AND paid_on <= %(date_to)s) AS paid_to,
       sum(usd_amount) FILTER (WHERE status = 'approved') AS committed,
       sum(usd_amount) FILTER (WHERE status = 'paid' AND paid_on >= %(burn_from)s AND paid_on < %(burn_to)s) AS burn
FROM disbursements
WHERE status IN ('paid', 'approved')
GROUP BY project_id, category
"""


# --- the database ----------------------------------------------------------------------------------------------------

def reset_database(url: str) -> None:
    u = make_url(url)
    if u.database in (None, "", "test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing to drop database {u.database!r}: give a database of the benchmark's own")
    with psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                         password=u.password, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')


def make_app(url: str):
    from config import TestingConfig
    from tracker import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


def vacuum_analyze(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def table_counts(engine) -> dict[str, int]:
    names = {"mothers": "beneficiaries", "children": "children", "enrolments": "enrolments",
             "disbursements": "disbursements", "projects": "projects"}
    with engine.connect() as conn:
        return {what: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for what, table in names.items()}


# --- counting and tracing statements ---------------------------------------------------------------------------------

class Recorder:
    """Counts the statements on an engine; when tracing, also keeps each one's SQL, parameters, time and caller."""

    def __init__(self, engine):
        self.count = 0
        self.tracing = False
        self.trace: list[dict] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        if self.tracing:
            caller = _caller()  # before the clock starts: walking the stack is not the statement's time
            conn.info.setdefault("_bench_started", []).append((time.perf_counter(), caller))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.tracing:
            started, caller = conn.info["_bench_started"].pop()
            self.trace.append({"ms": (time.perf_counter() - started) * 1000, "caller": caller,
                               "sql": statement, "params": parameters,
                               "rows": cursor.rowcount if cursor.rowcount is not None else -1})

    def traced(self, fn):
        self.tracing, self.trace = True, []
        try:
            fn()
        finally:
            self.tracing = False
        return self.trace


def _caller() -> str:
    """The innermost frame in the application (not SQLAlchemy, Flask or this file) that led to the statement."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = frame.filename.replace("\\", "/")
        if "/tracker/" in path and "/site-packages/" not in path:
            return f"{path.split('/tracker/', 1)[1]}:{frame.lineno} {frame.name}"
    return "(framework: session, sign-in)"


def _short(sql: str, width: int = 90) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


# --- the measures ----------------------------------------------------------------------------------------------------

def best_of(fn, repeat: int, recorder: Recorder):
    """Warm up once, then ``repeat`` timed runs; (best seconds, statements of each run, last result)."""
    fn()
    times, counts, result = [], [], None
    for _ in range(repeat):
        before = recorder.count
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
        counts.append(recorder.count - before)
    return min(times), counts, result


def engine_call(app):
    from tracker.extensions import db
    from tracker.funding.engine import funding_picture

    def run():
        with app.app_context():
            picture = funding_picture(scope="fund")
            db.session.remove()
        return picture
    return run


def signed_in_client(app):
    client = app.test_client()
    response = client.post("/login", data={"email": MANAGER[0], "password": MANAGER[1]})
    if response.status_code != 302:
        raise SystemExit(f"signing in as {MANAGER[0]} failed: HTTP {response.status_code}")
    return client


def page_call(client):
    def run():
        response = client.get("/review/")
        if response.status_code != 200:
            raise SystemExit(f"GET /review/ answered HTTP {response.status_code}")
        return len(response.data)
    return run


def hand_params(app) -> dict:
    from tracker.funding.engine import burn_window, default_period

    with app.app_context():
        date_from, date_to = default_period()
    burn_from, burn_to = burn_window(date_to)
    return {"date_from": date_from, "date_to": date_to, "burn_from": burn_from, "burn_to": burn_to}


def hand_call(engine, params):
    def run():
        with engine.connect() as conn:
            return conn.exec_driver_sql(HAND_SQL, params).fetchall()
    return run


def check_same_sums(picture, rows) -> str:
    """The hand query and the engine must agree on disbursed and committed (else the ratio compares different work)."""
    from decimal import Decimal

    disbursed = sum((Decimal(r[2] or 0) for r in rows), Decimal(0)) / 100
    committed = sum((Decimal(r[4] or 0) for r in rows), Decimal(0)) / 100
    ok = disbursed == picture.totals.disbursed and committed == picture.totals.committed
    return (f"{'same sums' if ok else 'SUMS DIFFER'}: disbursed {picture.totals.disbursed} (hand {disbursed}), "
            f"committed {picture.totals.committed} (hand {committed})")


def explain(engine, trace: list[dict], top: int) -> None:
    slowest = sorted((t for t in trace if t["sql"].lstrip().upper().startswith("SELECT")),
                     key=lambda t: -t["ms"])[:top]
    for t in slowest:
        print(f"\n--- EXPLAIN (ANALYZE, BUFFERS): {t['ms']:.1f} ms in the traced run, from {t['caller']}")
        print(_short(t["sql"], 400))
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + t["sql"], t["params"] or {}).fetchall()
        for (line,) in plan:
            print("   ", line)


def buffers(engine, statements: list[tuple[str, object]]) -> int:
    """Shared buffers (8 kB pages, cached or read) the statements touch, from EXPLAIN (ANALYZE, BUFFERS).

    Unlike a time, this does not depend on what else the machine is doing: it is the work the plans do.
    """
    total = 0
    with engine.connect() as conn:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params or {}).scalar_one()
            top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
            total += top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return total


def profile_page(client, top: int = 30) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    page_call(client)()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())


#: What ``--what-if-index`` adds (to the benchmark's own database only, after the main measures): a partial,
#: covering index for the "term covered?" test of the school-fee queries (engine.py ``_school_fees``).
WHAT_IF_INDEX = ("CREATE INDEX IF NOT EXISTS bench_ix_disbursements_fee_cover ON disbursements (enrolment_id, term) "
                 "WHERE category = 'school_fees' AND status IN ('approved', 'paid')")


def measure_with_index(app, engine, client, recorder, repeat: int) -> dict:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(WHAT_IF_INDEX))
        conn.execute(text("VACUUM ANALYZE disbursements"))
    engine_s, engine_q, _picture = best_of(engine_call(app), repeat, recorder)
    page_s, page_q, _size = best_of(page_call(client), repeat, recorder)
    trace = recorder.traced(engine_call(app))
    print("  what if (partial index on disbursements (enrolment_id, term) for paid/approved school fees):")
    print(f"    engine {engine_s * 1000:.1f} ms ({engine_q[0]} statements), page {page_s * 1000:.1f} ms")
    print_trace("engine with the index (traced run)", trace, top=3)
    index_buffers = buffers(engine, [(t["sql"], t["params"]) for t in trace])
    print(f"    work with the index: engine {index_buffers:,} buffers")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP INDEX bench_ix_disbursements_fee_cover"))  # leave the schema as the migrations made it
    return {"engine_ms_index": engine_s * 1000, "page_ms_index": page_s * 1000, "engine_buffers_index": index_buffers}


def print_trace(title: str, trace: list[dict], top: int = 8) -> None:
    total = sum(t["ms"] for t in trace)
    print(f"  {title}: {len(trace)} statements, {total:.1f} ms in the database driver; slowest:")
    for t in sorted(trace, key=lambda t: -t["ms"])[:top]:
        print(f"    {t['ms']:9.1f} ms  {t['rows']:>7} rows  {t['caller']:<48} {_short(t['sql'], 70)}")


def signature(trace: list[dict]) -> collections.Counter:
    """Statements by (caller, first words of the SQL): what a growing count is made of."""
    return collections.Counter((t["caller"], _short(t["sql"], 60)) for t in trace)


# --- one scale -------------------------------------------------------------------------------------------------------

def run_scale(url: str, scale: int, args, last: bool) -> dict:
    from flask_migrate import upgrade

    from tracker.demo import seed_demo
    from tracker.extensions import db

    print(f"\n=== scale {scale} ===", flush=True)
    seed_s = None
    if not args.no_seed:
        reset_database(url)
    app = make_app(url)
    try:
        with app.app_context():
            engine = db.engine
            if not args.no_seed:
                upgrade()
                t0 = time.perf_counter()

                def progress(message):
                    if args.verbose:
                        print(f"  [{time.perf_counter() - t0:7.1f} s] {message}", file=sys.stderr, flush=True)

                summary = seed_demo(seed=1, scale=scale, progress=progress)
                seed_s = time.perf_counter() - t0
                db.session.remove()
                print(f"  seeded in {seed_s:.1f} s: " + ", ".join(f"{n} {what}" for what, n in summary.items()))
                t1 = time.perf_counter()
                vacuum_analyze(engine)
                print(f"  VACUUM ANALYZE {time.perf_counter() - t1:.1f} s")
            counts = table_counts(engine)
        print("  rows: " + ", ".join(f"{n} {what}" for what, n in counts.items()), flush=True)

        print(f"  load average before measuring: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        recorder = Recorder(engine)
        engine_s, engine_q, picture = best_of(engine_call(app), args.repeat, recorder)
        client = signed_in_client(app)
        page_s, page_q, page_bytes = best_of(page_call(client), args.repeat, recorder)
        params = hand_params(app)
        hand_s, hand_q, rows = best_of(hand_call(engine, params), args.repeat, recorder)
        print(f"  engine: {engine_s * 1000:.1f} ms, statements per run {engine_q}; "
              f"{len(picture.projects)} projects, {picture.totals.children_at_risk} children at risk")
        print(f"  page:   {page_s * 1000:.1f} ms, statements per run {page_q}, {page_bytes} bytes")
        print(f"  hand:   {hand_s * 1000:.1f} ms, {len(rows)} rows; {check_same_sums(picture, rows)}")

        engine_trace = recorder.traced(engine_call(app))
        page_trace = recorder.traced(page_call(client))
        engine_buffers = buffers(engine, [(t["sql"], t["params"]) for t in engine_trace])
        hand_buffers = buffers(engine, [(HAND_SQL, params)])
        print(f"  work: engine {engine_buffers:,} buffers, hand SQL {hand_buffers:,} buffers "
              f"(ratio {engine_buffers / hand_buffers:.1f})")
        print_trace("engine (traced run)", engine_trace)
        print_trace("page (traced run)", page_trace)
        what_if = {}
        if args.what_if_index:
            what_if = measure_with_index(app, engine, client, recorder, args.repeat)
        if last and args.explain:
            explain(engine, page_trace, args.explain)
        if last and args.profile:
            profile_page(client)
        return {
            "scale": scale, "mothers": counts["mothers"], "disbursements": counts["disbursements"],
            "children": counts["children"], "enrolments": counts["enrolments"], "seed_s": seed_s,
            "engine_ms": engine_s * 1000, "engine_queries": engine_q, "page_ms": page_s * 1000,
            "page_queries": page_q, "page_bytes": page_bytes, "hand_ms": hand_s * 1000,
            "children_at_risk": picture.totals.children_at_risk, "engine_buffers": engine_buffers,
            "hand_buffers": hand_buffers, **what_if,
            "engine_signature": signature(engine_trace), "page_signature": signature(page_trace),
        }
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- the report ------------------------------------------------------------------------------------------------------

def print_table(results: list[dict]) -> None:
    head = ("scale", "mothers", "disbursements", "seed s", "engine ms", "engine queries", "page ms",
            "page queries", "hand SQL ms", "engine/hand", "page/hand")
    lines = []
    for r in results:
        lines.append((
            str(r["scale"]), f"{r['mothers']:,}", f"{r['disbursements']:,}",
            "-" if r["seed_s"] is None else f"{r['seed_s']:.1f}",
            f"{r['engine_ms']:.1f}", _queries(r["engine_queries"]), f"{r['page_ms']:.1f}",
            _queries(r["page_queries"]), f"{r['hand_ms']:.1f}",
            f"{r['engine_ms'] / r['hand_ms']:.1f}", f"{r['page_ms'] / r['hand_ms']:.1f}",
        ))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    print("\n| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for line in lines:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) + " |")


def _queries(counts: list[int]) -> str:
    return str(counts[0]) if len(set(counts)) == 1 else "/".join(map(str, counts))


def check_counts(results: list[dict]) -> bool:
    ok = True
    for what in ("engine", "page"):
        seen = sorted({q for r in results for q in r[f"{what}_queries"]})
        if len(seen) == 1:
            print(f"{what}: {seen[0]} SQL statements at every scale ({', '.join(str(r['scale']) for r in results)}): "
                  "the count does not grow with the data.")
            continue
        ok = False
        print(f"{what}: SQL statement counts DIFFER across scales or runs: "
              + ", ".join(f"scale {r['scale']}: {r[f'{what}_queries']}" for r in results))
        first, final = results[0][f"{what}_signature"], results[-1][f"{what}_signature"]
        for key in sorted(set(first) | set(final)):
            if first[key] != final[key]:
                print(f"    {first[key]:>5} -> {final[key]:<5} {key[0]}  {key[1]}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 40, 85], help="default: 1 10 40 85")
    parser.add_argument("--only-scale", type=int, help="measure this one scale only")
    parser.add_argument("--pg", default=os.environ.get("BENCH_ENGINE_PG_URL", DEFAULT_PG),
                        help="PostgreSQL URL of a database the benchmark may DROP (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after the warm-up (best is kept)")
    parser.add_argument("--no-seed", action="store_true", help="measure the data already in the database")
    parser.add_argument("--explain", type=int, default=0, metavar="N",
                        help="EXPLAIN ANALYZE the N slowest statements of the page at the largest scale")
    parser.add_argument("--profile", action="store_true", help="cProfile one page request at the largest scale")
    parser.add_argument("--what-if-index", action="store_true",
                        help="after the measures, add a partial index for the school-fee queries and measure again")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the seeding's progress")
    args = parser.parse_args(argv)
    scales = [args.only_scale] if args.only_scale else args.scales
    if args.no_seed and len(scales) != 1:
        parser.error("--no-seed measures what the database holds: give one scale (--only-scale K)")
    if not make_url(args.pg).drivername.startswith("postgresql"):
        parser.error("this benchmark runs on PostgreSQL (seed-demo bulk-loads with COPY there)")

    print(f"engine benchmark on {make_url(args.pg).render_as_string(hide_password=True)}, "
          f"{dt.date.today().isoformat()}, {os.cpu_count()} CPUs, scales {scales}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = [run_scale(args.pg, scale, args, last=(i == len(scales) - 1)) for i, scale in enumerate(scales)]
    print_table(results)
    print("\nwork (shared buffers the statements touch, from EXPLAIN BUFFERS; does not depend on the machine's load):")
    for r in results:
        extra = f", engine with the index {r['engine_buffers_index']:,}" if "engine_buffers_index" in r else ""
        print(f"  scale {r['scale']:>3}: engine {r['engine_buffers']:,}, hand SQL {r['hand_buffers']:,} "
              f"(engine/hand {r['engine_buffers'] / r['hand_buffers']:.1f}){extra}")
    if args.what_if_index:
        print("\nwith the partial index (--what-if-index):")
        for r in results:
            print(f"  scale {r['scale']:>3}: engine {r['engine_ms']:.0f} -> {r['engine_ms_index']:.0f} ms, "
                  f"page {r['page_ms']:.0f} -> {r['page_ms_index']:.0f} ms")
    same = check_counts(results)
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{k: v for k, v in r.items() if not k.endswith("_signature")} for r in results], indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
