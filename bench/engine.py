"""Benchmark: the funding engine and the review page on PostgreSQL, beside the best hand-written SQL for them.

    .venv/bin/python bench/engine.py [--scales 1 10 40 85] [--only-scale K] [--pg URL] [--repeat 3]
                                     [--no-seed] [--compare DIR] [--explain N] [--profile] [--json FILE]

For each scale K (default ``1 10 40 85``; 85 gives about 51,000 mothers and
960,000 disbursements) it:

1. drops and recreates the database at ``--pg`` (else ``$BENCH_ENGINE_PG_URL``,
   else ``postgresql+psycopg://postgres@127.0.0.1:5432/bench_engine``; it is
   DROPPED), builds the schema with the migrations and times
   ``seed_demo(seed=1, scale=K)`` (what ``flask seed-demo --scale K`` runs),
   then ``VACUUM ANALYZE``;
2. measures, in rounds (one warm-up, then ``--repeat``, default 3; the best is
   kept), each round running every measure once in turn so that a burst of load
   from elsewhere hits them alike:
   - the whole-fund engine call ``funding_picture(scope="fund")`` (children at
     risk included), in a fresh app context: wall time and SQL statements;
   - the review page ``GET /review/`` through the Flask test client, signed in as
     the demo manager: wall time, SQL statements, response bytes;
   - the hand-written SQL for every figure the engine returns (need, allocated,
     disbursed, committed, balance, burn per project and category; the school
     fees' forward need, the walk down the children's next terms done with window
     functions, the children at risk and their list; the Fund's pledged, received,
     outstanding pledges in their own currency, exchange difference, allocated,
     unallocated, free resources): three raw statements on one connection
     (``HAND_MONEY_SQL``, ``HAND_SCHOOL_SQL``, ``hand_fund_sql()``);
   - with ``--compare DIR``, the engine and the page of another checkout (say a
     ``git worktree`` of the commit before a change), in a child process of their
     own, on the same database, alternating with this checkout's;
3. checks that the hand SQL (and the compared engine) give exactly the engine's
   figures, to the cent, and says which differ if any (then the ratios compare
   different work, and it exits 1);
4. prints the ratios engine / hand SQL and page / engine against the targets
   (1.5 and 1.2), then one table for every scale, and checks that the statement
   counts are the same at every scale (if not, it names the statements whose
   count changed and the code that runs them).

SQL statements are counted with a ``before_cursor_execute`` listener on the
app's engine. One more, traced, run of each (outside the timings) records every
statement's duration and the ``tracker`` function that issued it; the slowest are
printed, and the shared buffers the engine's statements and the hand SQL touch
(``EXPLAIN (ANALYZE, BUFFERS)``): a measure of work that, unlike the times, does
not depend on what else the machine is doing.

``--explain N`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the N slowest statements
of the page at the largest scale; ``--profile`` prints a cProfile of one page
request at the largest scale. ``--no-seed`` measures the data already in the
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
import subprocess
import sys
import time
import traceback
from pathlib import Path

#: The code measured: this checkout, or (in the child process of ``--compare``) another one.
ROOT = Path(os.environ.get("BENCH_CODE") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # flask_migrate finds migrations/ relative to the working directory

import psycopg  # noqa: E402
from sqlalchemy import event, make_url, text  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_engine"
MANAGER = ("manager@example.org", "demo-manager-pass")

def _half_even(n: str, d: str) -> str:
    """SQL: n / d rounded half-even to an integer (n >= 0, d > 0), exact in numeric (no bigint overflow)."""
    return (f"(div(({n})::numeric, ({d})::numeric) + CASE WHEN 2 * mod(({n})::numeric, ({d})::numeric) > ({d}) "
            f"OR (2 * mod(({n})::numeric, ({d})::numeric) = ({d}) AND mod(div(({n})::numeric, ({d})::numeric), 2) = 1)"
            f" THEN 1 ELSE 0 END)")


#: The hand-written SQL: three statements, as a client would send them. Cents and rates (1e-8) are integers,
#: as stored; the figures are read into engine_figures()'s form by hand_figures().
#:
#: 1. The money of every project (kind 'p': need, allocated, disbursed, committed, balance, burn) and of every
#:    category (kind 'c': need and disbursed), in one pass over the disbursements.
HAND_MONEY_SQL = """
WITH need AS (
    SELECT project_id, category, sum(amount_usd) AS need
    FROM budget_lines WHERE year BETWEEN %(year_from)s AND %(year_to)s
    GROUP BY project_id, category
), paid AS (
    SELECT project_id, category,
           sum(usd_amount) FILTER (WHERE status = 'paid' AND paid_on BETWEEN %(date_from)s AND %(date_to)s)
               AS disbursed,
           sum(usd_amount) FILTER (WHERE status = 'paid' AND paid_on <= %(date_to)s) AS paid_to,
           sum(usd_amount) FILTER (WHERE status = 'approved') AS committed,
           sum(usd_amount) FILTER (WHERE status = 'paid' AND paid_on >= %(burn_from)s AND paid_on < %(burn_to)s)
               AS burn
    FROM disbursements WHERE status IN ('paid', 'approved')
    GROUP BY project_id, category
), money AS (
    SELECT p.id AS project_id, coalesce(n.need, 0) AS need, coalesce(a.allocated, 0) AS allocated,
           coalesce(d.disbursed, 0) AS disbursed, coalesce(d.committed, 0) AS committed,
           coalesce(a.up_to, 0) - coalesce(d.paid_to, 0) - coalesce(d.committed, 0) AS balance,
           coalesce(d.burn, 0) / 3 + CASE WHEN coalesce(d.burn, 0) %% 3 = 2 THEN 1 ELSE 0 END AS burn
    FROM projects p
    LEFT JOIN (SELECT project_id, sum(need) AS need FROM need GROUP BY project_id) n ON n.project_id = p.id
    LEFT JOIN (SELECT project_id, sum(amount_usd) FILTER (WHERE allocated_on >= %(date_from)s) AS allocated,
                      sum(amount_usd) AS up_to
               FROM allocations WHERE allocated_on <= %(date_to)s GROUP BY project_id) a ON a.project_id = p.id
    LEFT JOIN (SELECT project_id, sum(disbursed) AS disbursed, sum(paid_to) AS paid_to,
                      sum(committed) AS committed, sum(burn) AS burn
               FROM paid GROUP BY project_id) d ON d.project_id = p.id
)
SELECT 'p' AS kind, project_id, NULL AS category, need, allocated, disbursed, committed, balance, burn FROM money
UNION ALL
SELECT 'c', NULL, coalesce(n.category, d.category), sum(coalesce(n.need, 0)), NULL, sum(coalesce(d.disbursed, 0)),
       NULL, NULL, NULL
FROM need n FULL JOIN paid d ON d.project_id = n.project_id AND d.category = n.category
GROUP BY coalesce(n.category, d.category)
"""

#: 2. The school fees, given each project's balance from statement 1 (two arrays: ids and cents): for every
#:    project with a child to walk, its first child (place 1, which carries the project's forward need, the fees
#:    of every child's next term and the number of children at risk), every child at risk and every enrolment
#:    without a rate, in the engine's order (project, term, child code). The walk is window functions.
#:    (Done in statement 1 instead, joined to its balances, the same figures took about 1.4 times as long on
#:    PostgreSQL 15: the planner then ran the school part on fewer workers.)
HAND_SCHOOL_SQL = """
WITH balances AS (
    SELECT * FROM unnest(%(project_ids)s::integer[], %(balances)s::bigint[]) AS b(project_id, balance)
), covered AS (
    -- each enrolment's terms (1..4) with a school fee approved or paid, as bits: an index-only scan of
    -- ix_disbursements_term_covered, already in enrolment order
    SELECT enrolment_id, bit_or(1 << (term - 1)) AS mask
    FROM disbursements WHERE category = 'school_fees' AND status IN ('approved', 'paid')
    GROUP BY enrolment_id
), rates AS (
    SELECT DISTINCT ON (currency) currency, usd_per_unit AS rate
    FROM exchange_rates WHERE valid_from <= %(date_to)s
    ORDER BY currency, valid_from DESC
), per_child AS (
    SELECT b.project_id, c.code AS child_code, b.code AS mother_code, e.school, e.fee_per_term AS fee, e.currency,
           m.balance, 4 - bit_count(held.mask::bit(4)) AS open_terms,
           CASE WHEN held.mask & 1 = 0 THEN 1 WHEN held.mask & 2 = 0 THEN 2
                WHEN held.mask & 4 = 0 THEN 3 ELSE 4 END AS term,
           -- USD cents at the rate in force on `to`, half-even, in integers (as the engine)
           (e.fee_per_term * held.rate) / 100000000
           + CASE WHEN (e.fee_per_term * held.rate) %% 100000000 > 50000000
                       OR ((e.fee_per_term * held.rate) %% 100000000 = 50000000
                           AND (e.fee_per_term * held.rate) / 100000000 %% 2 = 1) THEN 1 ELSE 0 END AS usd
    FROM enrolments e
    JOIN children c ON c.id = e.child_id
    JOIN beneficiaries b ON b.id = c.mother_id
    JOIN balances m ON m.project_id = b.project_id
    LEFT JOIN covered cv ON cv.enrolment_id = e.id
    LEFT JOIN rates r ON r.currency = e.currency
    -- the terms beyond the enrolment's count as covered
    CROSS JOIN LATERAL (SELECT (coalesce(cv.mask, 0) | (15 << e.terms)) & 15 AS mask,
                               CASE WHEN e.currency = 'USD' THEN 100000000 ELSE r.rate END AS rate) held
    WHERE e.academic_year = %(academic_year)s AND b.status = 'active' AND held.mask <> 15
), walk AS (
    SELECT *, count(*) FILTER (WHERE at_risk) OVER (PARTITION BY project_id) AS children_at_risk
    FROM (SELECT *, usd IS NOT NULL AND (balance <= 0 OR running > balance) AS at_risk
          FROM (SELECT per_child.*,
                       row_number() OVER down_the_list AS place,
                       sum(usd) OVER (down_the_list ROWS UNBOUNDED PRECEDING) AS running,
                       sum(usd * open_terms) OVER project AS forward,
                       sum(usd) OVER project AS next_fees
                FROM per_child
                WINDOW project AS (PARTITION BY project_id),
                       down_the_list AS (PARTITION BY project_id ORDER BY term, child_code)) w) f
)
SELECT * FROM walk WHERE place = 1 OR at_risk OR usd IS NULL
ORDER BY project_id, term, child_code
"""


def _from_usd_cents(usd: str, currency: str, rate: str, exponents: dict[str, int]) -> str:
    """SQL: USD cents in a currency at a rate (1e-8), half-even to its minor unit, as cents (tracker.money.from_usd)."""
    places = "CASE " + " ".join(f"WHEN {currency} = '{c}' THEN {e}" for c, e in sorted(exponents.items())
                                if e != 2) + " ELSE 2 END" if any(e != 2 for e in exponents.values()) else "2"
    return (f"({_half_even(f'({usd}) * power(10::numeric, 6 + {places})', rate)}"
            f" * power(10::numeric, 2 - {places}))")


def hand_fund_sql(exponents: dict[str, int]) -> str:
    """The Fund's figures as of ``to`` in one statement (pledges owed in their own currency, per record)."""
    counted = _from_usd_cents("c.usd_amount", "p.currency", "coalesce(rt.usd_per_unit, p.usd_rate)", exponents)
    return f"""
WITH p AS (
    SELECT id, currency, amount, usd_rate, (project_id IS NOT NULL OR country IS NOT NULL) AS earmarked
    FROM pledges WHERE pledged_on <= %(date_to)s
), r AS (
    SELECT c.pledge_id, c.usd_amount,
           CASE WHEN c.currency = p.currency THEN c.amount
                WHEN p.currency = 'USD' THEN c.usd_amount
                ELSE {counted} END AS counted
    FROM contributions c
    JOIN p ON p.id = c.pledge_id
    LEFT JOIN LATERAL (SELECT x.usd_per_unit FROM exchange_rates x
                       WHERE x.currency = p.currency AND x.valid_from <= c.received_on
                       ORDER BY x.valid_from DESC LIMIT 1) rt ON c.currency <> p.currency AND p.currency <> 'USD'
    WHERE c.received_on <= %(date_to)s
), per_pledge AS (
    SELECT p.id, p.currency, p.usd_rate, p.earmarked,
           greatest(p.amount - coalesce(sum(r.counted), 0), 0) AS remaining,
           coalesce(sum(r.usd_amount - CASE WHEN p.currency = 'USD' THEN r.counted
                                            ELSE {_half_even("r.counted * p.usd_rate", "100000000")} END), 0) AS diff
    FROM p LEFT JOIN r ON r.pledge_id = p.id
    GROUP BY p.id, p.currency, p.usd_rate, p.earmarked, p.amount
), owed AS (
    SELECT earmarked, diff,
           CASE WHEN currency = 'USD' THEN remaining ELSE {_half_even("remaining * usd_rate", "100000000")} END
               AS outstanding
    FROM per_pledge
)
SELECT (SELECT coalesce(sum(usd_amount), 0) FROM pledges WHERE pledged_on <= %(date_to)s) AS pledged,
       (SELECT coalesce(sum(usd_amount), 0) FROM contributions WHERE received_on <= %(date_to)s) AS received,
       (SELECT coalesce(sum(amount_usd), 0) FROM allocations WHERE allocated_on <= %(date_to)s) AS allocated,
       coalesce(sum(outstanding), 0) AS outstanding,
       coalesce(sum(outstanding) FILTER (WHERE earmarked), 0) AS earmarked_outstanding,
       coalesce(sum(diff), 0) AS exchange_difference
FROM owed
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
    from tracker.dates import academic_year_of
    from tracker.funding.engine import burn_window, default_period

    with app.app_context():
        date_from, date_to = default_period()
        academic_year = academic_year_of(date_to)
    burn_from, burn_to = burn_window(date_to)
    return {"date_from": date_from, "date_to": date_to, "burn_from": burn_from, "burn_to": burn_to,
            "year_from": date_from.year, "year_to": date_to.year, "academic_year": academic_year}


def currency_exponents(engine) -> dict[str, int]:
    """The minor unit of every pledge currency, as tracker.money.from_usd takes it (written into the hand SQL)."""
    from babel.numbers import get_currency_precision

    with engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT DISTINCT currency FROM pledges").scalars().all()
    return {c: min(get_currency_precision(c), 2) for c in found}


def hand_call(engine, params, fund_sql: str):
    """The hand-written SQL: three statements on one connection, read into the figures' plain form.

    ``run.statements`` keeps the last run's statements and parameters (for EXPLAIN).
    """
    def run():
        with engine.connect() as conn:
            money = conn.exec_driver_sql(HAND_MONEY_SQL, params).fetchall()
            projects = [r for r in money if r.kind == "p"]
            school_params = {**params, "project_ids": [r.project_id for r in projects],
                             "balances": [int(r.balance) for r in projects]}
            school = conn.exec_driver_sql(HAND_SCHOOL_SQL, school_params).fetchall()
            fund = conn.exec_driver_sql(fund_sql, params).one()
        run.statements = [(HAND_MONEY_SQL, params), (HAND_SCHOOL_SQL, school_params), (fund_sql, params)]
        return hand_figures(money, school, fund)
    return run


# --- the figures, in a plain form both sides can give ----------------------------------------------------------------

def engine_figures(picture) -> dict:
    """Every figure of a FundingPicture, in integer cents, keyed so the hand SQL's result compares equal."""
    def cents(d):
        return int(d * 100)

    projects = {}
    for p in picture.projects:
        projects[p.code] = (cents(p.need), cents(p.allocated), cents(p.disbursed), cents(p.committed),
                            cents(p.balance), cents(p.burn), cents(p.gap), cents(p.overcommitted),
                            cents(p.school_fee_forward_need), p.children_at_risk, cents(p.at_risk_cost))
    t, f = picture.totals, picture.fund
    return {
        "projects": projects,
        "categories": {c: (cents(n), cents(d)) for c, (n, d) in picture.by_category.items() if n or d},
        "children": [(c.project_code, c.child_code, c.mother_code, c.school, c.term, cents(c.fee), c.currency,
                      cents(c.fee_usd)) for c in picture.children_at_risk],
        "missing_rates": list(picture.missing_rates),
        "totals": (cents(t.need), cents(t.allocated), cents(t.disbursed), cents(t.committed), cents(t.balance),
                   cents(t.burn), cents(t.gap), cents(t.overcommitted), cents(t.school_fee_forward_need),
                   t.children_at_risk, cents(t.at_risk_cost), cents(t.earmarked_outstanding),
                   cents(t.uncovered_gap)),
        "fund": (cents(f.pledged), cents(f.received), cents(f.outstanding_pledges), cents(f.exchange_difference),
                 cents(f.allocated), cents(f.unallocated), cents(f.free_resources), cents(f.uncovered_gap)),
    }


#: Set once per scale (the project codes are not a figure, only the key both sides use).
PROJECT_CODES: dict[int, str] = {}


def hand_figures(money, school, fund) -> dict:
    """The hand SQL's rows in engine_figures()'s form; only the scope's sums and max(…, 0) are done here."""
    categories = {r.category: (int(r.need), int(r.disbursed)) for r in money if r.kind == "c"}
    walked, children, missing = {}, [], set()
    for r in school:
        code = PROJECT_CODES[r.project_id]
        if r.place == 1:
            walked[code] = r
        if r.usd is None:
            missing.add(r.currency)
        elif r.at_risk:
            children.append((code, r.child_code, r.mother_code, r.school, r.term, int(r.fee), r.currency,
                             int(r.usd)))
    projects = {}
    for r in money:
        if r.kind != "p":
            continue
        code = PROJECT_CODES[r.project_id]
        need, allocated, balance = int(r.need), int(r.allocated), int(r.balance)
        first = walked.get(code)
        at_risk = int(first.children_at_risk) if first else 0
        projects[code] = (need, allocated, int(r.disbursed), int(r.committed), balance, int(r.burn),
                          max(need - allocated, 0), max(-balance, 0), int(first.forward or 0) if first else 0,
                          at_risk, int(first.next_fees) - balance if at_risk else 0)
    sums = [sum(p[i] for p in projects.values()) for i in range(11)]
    pledged, received, allocated, outstanding, earmarked, difference = (int(x) for x in fund)
    unallocated = received - allocated
    free = unallocated + outstanding - earmarked
    uncovered = max(sums[6] - unallocated - outstanding, 0)  # the whole Fund's rule (DESIGN section 3)
    return {
        "projects": projects,
        "categories": {c: v for c, v in categories.items() if any(v)},
        "children": children,
        "missing_rates": sorted(missing),
        "totals": (*sums, earmarked, uncovered),
        "fund": (pledged, received, outstanding, difference, allocated, unallocated, free, uncovered),
    }


def differences(ours: dict, theirs: dict, limit: int = 8) -> list[str]:
    """What differs between two figures dicts (empty when every figure is the same to the cent)."""
    ours, theirs = json.loads(json.dumps(ours)), json.loads(json.dumps(theirs))  # as the --compare worker sends them
    out = []
    for key in ours:
        a, b = ours[key], theirs.get(key)
        if a == b:
            continue
        if isinstance(a, dict):
            for k in sorted(set(a) | set(b or {}), key=str):
                if a.get(k) != (b or {}).get(k):
                    out.append(f"{key}[{k}]: {a.get(k)} != {(b or {}).get(k)}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            out += [f"{key}[{i}]: {x} != {y}" for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        else:
            out.append(f"{key}: {str(a)[:200]} != {str(b)[:200]}")
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def explain(engine, trace: list[dict], top: int) -> None:
    slowest = sorted((t for t in trace if t["sql"].lstrip().upper().startswith(("SELECT", "WITH"))),
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
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
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


def print_trace(title: str, trace: list[dict], top: int = 8) -> None:
    total = sum(t["ms"] for t in trace)
    print(f"  {title}: {len(trace)} statements, {total:.1f} ms in the database driver; slowest:")
    for t in sorted(trace, key=lambda t: -t["ms"])[:top]:
        print(f"    {t['ms']:9.1f} ms  {t['rows']:>7} rows  {t['caller']:<48} {_short(t['sql'], 70)}")


def signature(trace: list[dict]) -> collections.Counter:
    """Statements by (caller, first words of the SQL): what a growing count is made of."""
    return collections.Counter((t["caller"], _short(t["sql"], 60)) for t in trace)


# --- the code of another checkout (--compare), in a process of its own -----------------------------------------------

class Session:
    """This checkout's engine and page, on the database at ``url``, in this process."""

    def __init__(self, url: str):
        from tracker.extensions import db

        self.app = make_app(url)
        with self.app.app_context():
            self.engine = db.engine
        self.recorder = Recorder(self.engine)
        self.client = signed_in_client(self.app)
        self.calls = {"engine": engine_call(self.app), "page": page_call(self.client)}

    def run(self, what: str) -> dict:
        before = self.recorder.count
        started = time.perf_counter()
        result = self.calls[what]()
        out = {"s": time.perf_counter() - started, "q": self.recorder.count - before}
        if what == "engine":
            out["figures"] = engine_figures(result)
        else:
            out["bytes"] = result
        return out

    def engine_buffers(self) -> int:
        trace = self.recorder.traced(self.calls["engine"])
        return buffers(self.engine, [(t["sql"], t["params"]) for t in trace])

    def close(self) -> None:
        from tracker.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


class Compared:
    """The same calls, run by a child process whose ``tracker`` is another checkout's (one JSON line each way)."""

    def __init__(self, code: Path, url: str):
        env = {**os.environ, "BENCH_CODE": str(code)}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", "--pg", url],
                                     cwd=code, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ask("ready")

    def ask(self, what: str):
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the --compare worker stopped (asked {what!r})")
        return json.loads(line)

    def run(self, what: str) -> dict:
        return self.ask(what)

    def engine_buffers(self) -> int:
        return self.ask("buffers")

    def close(self) -> None:
        self.ask("quit")
        self.proc.wait(timeout=60)


def worker(url: str) -> int:
    """Serve Compared: read one word a line, answer one JSON line (stdout is the channel: nothing else goes there)."""
    channel, sys.stdout = sys.stdout, sys.stderr
    session = Session(url)
    for line in sys.stdin:
        what = line.strip()
        if what == "quit":
            answer = "bye"
        elif what == "ready":
            answer = "ready"
        elif what == "buffers":
            answer = session.engine_buffers()
        else:
            answer = session.run(what)
        channel.write(json.dumps(answer) + "\n")
        channel.flush()
        if what == "quit":
            break
    session.close()
    return 0


# --- one scale -------------------------------------------------------------------------------------------------------

def seed(url: str, scale: int, args) -> float:
    from flask_migrate import upgrade

    from tracker.demo import seed_demo
    from tracker.extensions import db

    reset_database(url)
    app = make_app(url)
    try:
        with app.app_context():
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
            vacuum_analyze(db.engine)
            print(f"  VACUUM ANALYZE {time.perf_counter() - t1:.1f} s")
        return seed_s
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def run_scale(url: str, scale: int, args, last: bool) -> dict:
    print(f"\n=== scale {scale} ===", flush=True)
    seed_s = None if args.no_seed else seed(url, scale, args)
    ours = Session(url)
    compared = Compared(Path(args.compare).resolve(), url) if args.compare else None
    try:
        engine = ours.engine
        counts = table_counts(engine)
        print("  rows: " + ", ".join(f"{n} {what}" for what, n in counts.items()), flush=True)
        with engine.connect() as conn:
            PROJECT_CODES.clear()
            PROJECT_CODES.update(conn.exec_driver_sql("SELECT id, code FROM projects").fetchall())
        params = hand_params(ours.app)
        fund_sql = hand_fund_sql(currency_exponents(engine))
        hand = hand_call(engine, params, fund_sql)

        # Rounds, each running every measure once in turn (so a burst of load hits them all alike); the first
        # round is the warm-up; the best of the others is kept.
        sides = {"engine": ours, "hand": None, "page": ours}
        if compared:
            sides = {"engine": ours, "engine before": compared, "hand": None, "page": ours, "page before": compared}
        times = {k: [] for k in sides}
        statements = {k: [] for k in sides if k != "hand"}
        answers = {}
        load = []
        for round_ in range(args.repeat + 1):
            load.append(os.getloadavg()[0])
            for key, side in sides.items():
                if side is None:
                    started = time.perf_counter()
                    answers[key] = hand()
                    elapsed = time.perf_counter() - started
                else:
                    answers[key] = side.run(key.split()[0])
                    elapsed = answers[key]["s"]
                    statements[key].append(answers[key]["q"])
                if round_:
                    times[key].append(elapsed)
        best = {k: min(v) * 1000 for k, v in times.items()}
        figures = answers["engine"]["figures"]
        print(f"  load average (1 min) in the rounds: {min(load):.2f} to {max(load):.2f}")
        for key in sides:
            extra = f", statements per run {statements[key][1:]}" if key in statements else ""
            print(f"  {key:<13} best {best[key]:9.1f} ms of {', '.join(f'{t * 1000:.0f}' for t in times[key])}"
                  f"{extra}")

        checks = {"hand SQL": answers["hand"]}
        if compared:
            checks["the compared engine"] = answers["engine before"]["figures"]
        same = True
        for name, theirs in checks.items():
            diff = differences(figures, theirs)
            if diff:
                same = False
                print(f"  FIGURES DIFFER between the engine and {name}:")
                for line in diff:
                    print(f"    {line}")
            else:
                print(f"  same figures: the engine and {name} agree on every figure to the cent "
                      f"({len(figures['projects'])} projects, {len(figures['children'])} children at risk, "
                      f"forward need {figures['totals'][8] / 100:,.2f}, fund free resources "
                      f"{figures['fund'][6] / 100:,.2f})")

        engine_trace = ours.recorder.traced(ours.calls["engine"])
        page_trace = ours.recorder.traced(ours.calls["page"])
        engine_buffers = buffers(engine, [(t["sql"], t["params"]) for t in engine_trace])
        hand_buffers = buffers(engine, hand.statements)
        before_buffers = compared.engine_buffers() if compared else None
        print(f"  work: engine {engine_buffers:,} buffers, hand SQL {hand_buffers:,} buffers "
              f"(ratio {engine_buffers / hand_buffers:.2f})"
              + (f"; the compared engine {before_buffers:,}" if compared else ""))
        print_trace("engine (traced run)", engine_trace)
        print_trace("page (traced run)", page_trace)
        if last and args.explain:
            explain(engine, page_trace, args.explain)
        if last and args.profile:
            profile_page(ours.client)
        return {
            "scale": scale, "mothers": counts["mothers"], "disbursements": counts["disbursements"],
            "children": counts["children"], "enrolments": counts["enrolments"], "seed_s": seed_s,
            "load": (min(load), max(load)), "same_figures": same,
            "engine_ms": best["engine"], "engine_queries": statements["engine"][1:], "page_ms": best["page"],
            "page_queries": statements["page"][1:], "page_bytes": answers["page"]["bytes"], "hand_ms": best["hand"],
            "engine_before_ms": best.get("engine before"), "page_before_ms": best.get("page before"),
            "children_at_risk": figures["totals"][9], "engine_buffers": engine_buffers,
            "hand_buffers": hand_buffers, "engine_before_buffers": before_buffers,
            "engine_signature": signature(engine_trace), "page_signature": signature(page_trace),
        }
    finally:
        if compared:
            compared.close()
        ours.close()


# --- the report ------------------------------------------------------------------------------------------------------

#: The targets of issue 20 (printed, never asserted in tests).
TARGET_ENGINE_HAND = 1.5
TARGET_PAGE_ENGINE = 1.2


def print_table(results: list[dict]) -> None:
    compare = results[0]["engine_before_ms"] is not None
    head = ["scale", "mothers", "disbursements", "seed s", "engine ms", "engine queries", "page ms",
            "page queries", "hand SQL ms", "engine/hand", "page/engine"]
    if compare:
        head += ["engine before ms", "before/after", "page before ms"]
    lines = []
    for r in results:
        line = [str(r["scale"]), f"{r['mothers']:,}", f"{r['disbursements']:,}",
                "-" if r["seed_s"] is None else f"{r['seed_s']:.1f}",
                f"{r['engine_ms']:.1f}", _queries(r["engine_queries"]), f"{r['page_ms']:.1f}",
                _queries(r["page_queries"]), f"{r['hand_ms']:.1f}",
                f"{r['engine_ms'] / r['hand_ms']:.2f}", f"{r['page_ms'] / r['engine_ms']:.2f}"]
        if compare:
            line += [f"{r['engine_before_ms']:.1f}", f"{r['engine_before_ms'] / r['engine_ms']:.2f}",
                     f"{r['page_before_ms']:.1f}"]
        lines.append(line)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    print("\n| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for line in lines:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) + " |")
    print("\ntargets (issue 20), at each scale:")
    for r in results:
        engine_hand, page_engine = r["engine_ms"] / r["hand_ms"], r["page_ms"] / r["engine_ms"]
        print(f"  scale {r['scale']:>3}: engine/hand {engine_hand:.2f} "
              f"({'met' if engine_hand <= TARGET_ENGINE_HAND else 'NOT met'}: <= {TARGET_ENGINE_HAND}), "
              f"page/engine {page_engine:.2f} "
              f"({'met' if page_engine <= TARGET_PAGE_ENGINE else 'NOT met'}: <= {TARGET_PAGE_ENGINE}); "
              f"load average {r['load'][0]:.1f} to {r['load'][1]:.1f}")


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
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds after the warm-up (best is kept)")
    parser.add_argument("--no-seed", action="store_true", help="measure the data already in the database")
    parser.add_argument("--compare", metavar="DIR",
                        help="also measure the engine and page of another checkout (say a `git worktree` of the "
                             "commit before a change), alternately, on the same database, and check its figures")
    parser.add_argument("--explain", type=int, default=0, metavar="N",
                        help="EXPLAIN ANALYZE the N slowest statements of the page at the largest scale")
    parser.add_argument("--profile", action="store_true", help="cProfile one page request at the largest scale")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the seeding's progress")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.pg)
    scales = [args.only_scale] if args.only_scale else args.scales
    if args.no_seed and len(scales) != 1:
        parser.error("--no-seed measures what the database holds: give one scale (--only-scale K)")
    if not make_url(args.pg).drivername.startswith("postgresql"):
        parser.error("this benchmark runs on PostgreSQL (seed-demo bulk-loads with COPY there)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.compare and not (Path(args.compare) / "tracker").is_dir():
        parser.error(f"--compare {args.compare}: not a checkout of the project")

    print(f"engine benchmark on {make_url(args.pg).render_as_string(hide_password=True)}, "
          f"{dt.date.today().isoformat()}, {os.cpu_count()} CPUs, scales {scales}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          + (f", compared with {Path(args.compare).resolve()}" if args.compare else ""))
    results = [run_scale(args.pg, scale, args, last=(i == len(scales) - 1)) for i, scale in enumerate(scales)]
    print_table(results)
    print("\nwork (shared buffers the statements touch, from EXPLAIN BUFFERS; does not depend on the machine's load):")
    for r in results:
        extra = (f"; the compared engine {r['engine_before_buffers']:,} "
                 f"(before/after {r['engine_before_buffers'] / r['engine_buffers']:.2f})"
                 if r["engine_before_buffers"] else "")
        print(f"  scale {r['scale']:>3}: engine {r['engine_buffers']:,}, hand SQL {r['hand_buffers']:,} "
              f"(engine/hand {r['engine_buffers'] / r['hand_buffers']:.2f}){extra}")
    same_counts = check_counts(results)
    same_figures = all(r["same_figures"] for r in results)
    if not same_figures:
        print("FIGURES DIFFER: see 'FIGURES DIFFER' above; the ratios compare different work.")
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{k: v for k, v in r.items() if not k.endswith("_signature")} for r in results], indent=2))
    return 0 if same_counts and same_figures else 1


if __name__ == "__main__":
    sys.exit(main())
