"""Benchmark: importing a disbursements file, beside a raw bulk insert of the same rows.

    .venv/bin/python bench/import_disbursements.py [--rows 10000] [--only sqlite|postgresql]
                                                   [--pg URL] [--profile DIR] [--tracemalloc]

For each database (SQLite in a temporary folder; PostgreSQL at ``--pg``, else
``$BENCH_PG_URL``, else ``postgresql+psycopg://postgres@127.0.0.1/bench_import``,
which is DROPPED and recreated) it:

1. builds a fresh database with the migrations and loads, with Core inserts,
   what the rows refer to: a project in CD and one in CF, mothers with three
   children each, one enrolment per child for one academic year of 3 terms,
   income projects, exchange rates, a staff user (CD, CF) and an admin;
2. writes a CSV in the DESIGN section 7 format (70 % school fees, each
   enrolment and term at most once; 10 % income-activity grants; 20 %
   medical, psychosocial, material, legal and outreach), references unique;
3. times ``parse_upload`` + ``run_import(..., user=staff, dry_run=False,
   history=False)``: every row validated, entered and submitted, committed;
4. builds a second fresh database in the same state (same seed; the audit
   trail is append-only, so the import's events cannot simply be deleted),
   and times one Core ``insert()`` executemany of the same rows into
   ``disbursements``, ids resolved before the timer starts, committed;
5. prints rows/second of both and their ratio.

Each database runs in a child process of its own, so that its peak memory
(``ru_maxrss``) is its own. ``--profile DIR`` also writes a cProfile of the
import (``DIR/import-<database>.prof``) and prints its heaviest functions;
``--tracemalloc`` reports the peak of Python allocations during the import
(tracing slows the import, so its rate is then not comparable).

This is not a test: it lives outside ``tests/`` and pytest never collects it.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/bench_import"
DATABASES = ("sqlite", "postgresql")
CHILDREN_PER_MOTHER = 3
TERMS = 3
SHARE_SCHOOL_FEES = 0.70
SHARE_IGA = 0.10
OTHER_CATEGORIES = ("medical", "psychosocial", "material", "legal", "outreach")
COUNTRIES = {  # country: (project code, currency, school fee, other amount, IGA amount)
    "CD": ("TF-CD-BENCH-01", "CDF", "45000.00", "30000.00", "150000.00"),
    "CF": ("TF-CF-BENCH-01", "XAF", "15000", "12000", "60000"),
}
COLUMNS = ("reference", "project_code", "category", "mother_code", "child_code", "academic_year", "term",
           "income_project_reference", "payee", "amount", "currency", "entered_on", "paid_on",
           "payment_reference")


# --- the database ----------------------------------------------------------------------------------------------------

def fresh_postgres(url: str) -> str:
    """Drop and recreate the database of ``url`` (or, failing that, its public schema)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench' (it is wiped)")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no right to create databases: reset the schema instead
        print(f"  (cannot recreate {name}: {type(error).__name__}; resetting its schema)", file=sys.stderr)
        engine = create_engine(target)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    finally:
        admin.dispose()
    return url


def academic_year_start(today: dt.date) -> int:
    """The last academic year already over: every date in it is in the past."""
    current = today.year if today.month >= 9 else today.year - 1
    return current - 1


def load_people(db, rows: int, seed: int) -> dict:
    """What the rows refer to, with Core inserts in one transaction; returns the keys of the rows."""
    from sqlalchemy import insert, select

    from tracker.crypto import keyring
    from tracker.models import (
        Beneficiary,
        Child,
        CodeSequence,
        Enrolment,
        ExchangeRate,
        IncomeProject,
        Partner,
        Project,
        User,
        UserCountry,
    )

    rng = random.Random(seed)
    start = academic_year_start(dt.date.today())
    year = f"{start}-{start + 1}"
    school_rows = int(rows * SHARE_SCHOOL_FEES)
    enrolments = max(1, math.ceil(school_rows / TERMS))
    mothers = max(2, math.ceil(enrolments / CHILDREN_PER_MOTHER))
    iga_projects = max(1, mothers // 4)
    ring = keyring()
    conn = db.session.connection()

    conn.execute(insert(Partner.__table__), [{"name": "Bench partner", "kind": "ngo"}])
    partner_id = conn.scalar(select(Partner.id))
    conn.execute(insert(Project.__table__), [
        {"code": code, "title": f"Bench project {country}", "country": country, "partner_id": partner_id,
         "start_date": dt.date(start - 5, 1, 1), "end_date": dt.date(start + 10, 12, 31), "status": "active"}
        for country, (code, *_rest) in COUNTRIES.items()
    ])
    project_ids = dict(conn.execute(select(Project.country, Project.id)).all())
    conn.execute(insert(User.__table__), [
        {"email": "staff.bench@example.org", "name": "Bench staff", "role": "staff", "password_hash": "!"},
        {"email": "admin.bench@example.org", "name": "Bench admin", "role": "admin", "password_hash": "!"},
    ])
    staff_id = conn.scalar(select(User.id).where(User.role == "staff"))
    conn.execute(insert(UserCountry.__table__), [{"user_id": staff_id, "country": c} for c in COUNTRIES])
    conn.execute(insert(ExchangeRate.__table__), [
        {"currency": "CDF", "valid_from": dt.date(start - 1, 1, 1), "usd_per_unit": Decimal("0.00035000")},
        {"currency": "XAF", "valid_from": dt.date(start - 1, 1, 1), "usd_per_unit": Decimal("0.00165000")},
    ])

    countries = list(COUNTRIES)
    numbers = {c: 0 for c in countries}
    mother_rows = []
    for i in range(mothers):
        country = countries[i % len(countries)]
        numbers[country] += 1
        name = f"Bench Mother {i:05d}"
        mother_rows.append({
            "code": f"{country}-M-{numbers[country]:05d}", "country": country, "number": numbers[country],
            "project_id": project_ids[country], "full_name": name, "name_hash": ring.name_hash(name),
            "village": "Kavumu", "year_of_birth": 1990 + i % 12, "enrolled_on": dt.date(start - 1, 2, 1),
            "status": "active", "consent_services_on": dt.date(start - 1, 2, 1),
            "consent_reporting_on": dt.date(start - 1, 2, 1), "children_seq": CHILDREN_PER_MOTHER,
        })
    conn.execute(insert(Beneficiary.__table__), mother_rows)
    conn.execute(insert(CodeSequence.__table__), [
        {"country": c, "kind": "M", "last_value": n} for c, n in numbers.items()
    ])
    mother_ids = dict(conn.execute(select(Beneficiary.code, Beneficiary.id)).all())

    child_rows = []
    for mother in mother_rows:
        for k in range(1, CHILDREN_PER_MOTHER + 1):
            child_rows.append({
                "code": f"{mother['country']}-C-{mother['number']:05d}-{k}", "mother_id": mother_ids[mother["code"]],
                "number": k, "first_name": f"Child{k}", "year_of_birth": 2012 + k, "sex": "FM"[k % 2],
            })
    conn.execute(insert(Child.__table__), child_rows)
    child_ids = dict(conn.execute(select(Child.code, Child.id)).all())
    conn.execute(insert(Enrolment.__table__), [
        {"child_id": child_ids[child["code"]], "school": f"EP Bench {child['mother_id'] % 40:02d}",
         "academic_year": year, "grade": f"P{child['number'] + 2}",
         "fee_per_term": Decimal(COUNTRIES[child["code"][:2]][2]), "currency": COUNTRIES[child["code"][:2]][1],
         "terms": TERMS}
        for child in child_rows
    ])
    enrolment_ids = {(child_id, y): eid for eid, child_id, y in
                     conn.execute(select(Enrolment.id, Enrolment.child_id, Enrolment.academic_year)).all()}
    iga_mothers = rng.sample(mother_rows, iga_projects)
    conn.execute(insert(IncomeProject.__table__), [
        {"reference": f"IGA-BENCH-{i:05d}", "beneficiary_id": mother_ids[m["code"]], "activity": "tailoring",
         "started_on": dt.date(start, 3, 1), "planned_grant": Decimal(COUNTRIES[m["country"]][4]) * 2,
         "currency": COUNTRIES[m["country"]][1], "status": "active"}
        for i, m in enumerate(iga_mothers)
    ])
    iga_ids = dict(conn.execute(select(IncomeProject.reference, IncomeProject.id)).all())
    db.session.commit()
    return {
        "year": year, "start": start, "staff_id": staff_id, "project_ids": project_ids,
        "mothers": mother_rows, "mother_ids": mother_ids, "children": child_rows, "child_ids": child_ids,
        "enrolment_ids": enrolment_ids, "iga": [(f"IGA-BENCH-{i:05d}", m) for i, m in enumerate(iga_mothers)],
        "iga_ids": iga_ids, "counts": {"mothers": mothers, "children": len(child_rows),
                                       "enrolments": len(child_rows), "income_projects": iga_projects},
    }


# --- the file and the same rows resolved -----------------------------------------------------------------------------

def make_rows(people: dict, rows: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed + 1)
    start, year = people["start"], people["year"]
    term_dates = {1: (dt.date(start, 9, 1), 60), 2: (dt.date(start + 1, 1, 5), 40), 3: (dt.date(start + 1, 4, 1), 40)}
    school = min(int(rows * SHARE_SCHOOL_FEES), TERMS * len(people["children"]))
    iga = min(int(rows * SHARE_IGA), rows - school)
    other = rows - school - iga
    out = []

    def day(first: dt.date, span: int) -> str:
        return (first + dt.timedelta(days=rng.randrange(span))).isoformat()

    children = people["children"]
    mothers_by_id = {people["mother_ids"][m["code"]]: m for m in people["mothers"]}
    for n in range(school):  # child by child, each term once
        child, term = children[n // TERMS], n % TERMS + 1
        mother = mothers_by_id[child["mother_id"]]
        code, currency, fee, *_ = COUNTRIES[mother["country"]]
        out.append({"project_code": code, "category": "school_fees", "mother_code": mother["code"],
                    "child_code": child["code"], "academic_year": year, "term": str(term),
                    "payee": f"EP Bench {child['mother_id'] % 40:02d}", "amount": fee, "currency": currency,
                    "entered_on": day(*term_dates[term])})
    for _ in range(iga):
        reference, mother = rng.choice(people["iga"])
        code, currency, _fee, _other, grant = COUNTRIES[mother["country"]]
        out.append({"project_code": code, "category": "iga", "mother_code": mother["code"],
                    "income_project_reference": reference, "payee": "Marché central, fournisseur de tissu",
                    "amount": grant, "currency": currency, "entered_on": day(dt.date(start, 10, 1), 200)})
    for _ in range(other):
        mother = rng.choice(people["mothers"])
        code, currency, _fee, amount, _grant = COUNTRIES[mother["country"]]
        out.append({"project_code": code, "category": rng.choice(OTHER_CATEGORIES), "mother_code": mother["code"],
                    "payee": "Centre de santé Kavumu", "amount": amount, "currency": currency,
                    "entered_on": day(dt.date(start, 9, 1), 300)})
    rng.shuffle(out)
    for i, row in enumerate(out, start=1):
        row["reference"] = f"BENCH-{i:06d}"
    return out


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.get(c, "") for c in COLUMNS])
    return buffer.getvalue().encode("utf-8")


def resolved_rows(people: dict, rows: list[dict[str, str]]) -> list[dict]:
    """The rows as the import leaves them (entered and submitted by staff), with every code an id."""
    from tracker.models.base import now_utc

    staff, moment = people["staff_id"], now_utc()
    projects = {COUNTRIES[c][0]: pid for c, pid in people["project_ids"].items()}
    out = []
    for row in rows:
        child_id = people["child_ids"][row["child_code"]] if row.get("child_code") else None
        out.append({
            "reference": row["reference"], "project_id": projects[row["project_code"]], "category": row["category"],
            "beneficiary_id": people["mother_ids"][row["mother_code"]], "child_id": child_id,
            "enrolment_id": people["enrolment_ids"][(child_id, row["academic_year"])] if child_id else None,
            "term": int(row["term"]) if row.get("term") else None,
            "income_project_id": people["iga_ids"][row["income_project_reference"]]
            if row.get("income_project_reference") else None,
            "payee": row["payee"], "amount": Decimal(row["amount"]), "currency": row["currency"],
            "entered_on": dt.date.fromisoformat(row["entered_on"]), "status": "submitted", "top_up": False,
            "imported_history": False, "entered_by_id": staff, "entered_at": moment,
            "submitted_by_id": staff, "submitted_at": moment, "version_id": 2,
        })
    return out


# --- one database, in a child process --------------------------------------------------------------------------------

def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def vacuum(db) -> None:
    """VACUUM (and ANALYZE on PostgreSQL) outside any transaction, on a raw DBAPI connection.

    Raw, because the app may hook SQLAlchemy's "begin" (a BEGIN on SQLite) even
    on AUTOCOMMIT connections, and VACUUM refuses to run inside a transaction.
    """
    db.session.remove()
    db.engine.dispose()
    raw = db.engine.raw_connection()
    try:
        dbapi = raw.dbapi_connection
        if db.engine.dialect.name == "postgresql":
            dbapi.rollback()
            dbapi.autocommit = True
            try:
                dbapi.execute("VACUUM ANALYZE")
            finally:
                dbapi.autocommit = False
        else:
            if dbapi.in_transaction:
                dbapi.commit()
            dbapi.execute("VACUUM")
    finally:
        raw.close()
    db.engine.dispose()


def fresh_app(database: str, args, folder: str, name: str):
    """An app on a new, migrated, empty database: a new SQLite file, or PostgreSQL dropped and recreated."""
    from flask_migrate import upgrade

    from config import TestingConfig
    from tracker import create_app

    url = f"sqlite:///{Path(folder) / name}" if database == "sqlite" else fresh_postgres(args.pg)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, IMPORT_UPLOAD_DIR=folder)
    with app.app_context():
        upgrade()
    return app


def run_one(database: str, args) -> dict:
    import cProfile
    import pstats
    import tracemalloc

    from sqlalchemy import event, func, insert, select

    from tracker import audit
    from tracker.extensions import db
    from tracker.imports.kinds import get_kind
    from tracker.imports.reading import parse_upload
    from tracker.imports.running import run_import
    from tracker.models import AuditEvent, Disbursement, User

    tmp = tempfile.TemporaryDirectory(prefix="bench-import-")
    out: dict = {"database": database, "rows": args.rows, "load_before": os.getloadavg()[0]}

    # 1. The import, on a fresh database.
    t0 = time.perf_counter()
    app = fresh_app(database, args, tmp.name, "import.db")
    with app.app_context():
        people = load_people(db, args.rows, args.seed)
        rows = make_rows(people, args.rows, args.seed)
        data = csv_bytes(rows)
        vacuum(db)  # statistics up to date (PostgreSQL), as a live database would have them
        out["setup_s"] = time.perf_counter() - t0
        out["people"] = people["counts"]
        out["file_kb"] = len(data) / 1024
        out["categories"] = {c: sum(1 for r in rows if r["category"] == c)
                             for c in sorted({r["category"] for r in rows})}

        kind = get_kind("disbursements")
        staff = db.session.get(User, people["staff_id"])
        staff.countries  # noqa: B018 (load the scope before the timer)
        audit_before = db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        statements = {"n": 0}

        def count(*_args):
            statements["n"] += 1

        # The dry run first (checks every row, saves nothing): it should cost no more than the import itself.
        with audit.acting_as(staff.id, "bench"):
            t0 = time.perf_counter()
            dry_parsed = parse_upload(data, "disbursements.csv", kind)
            dry = run_import(kind, dry_parsed, read_errors=dry_parsed.errors, user=staff, dry_run=True, history=False)
            out["dry_run_s"] = time.perf_counter() - t0
        if dry.errors or dry.created != len(rows):
            raise SystemExit(f"{database}: the dry run found {len(dry.errors)} errors")
        db.session.remove()
        staff = db.session.get(User, people["staff_id"])
        staff.countries  # noqa: B018 (load the scope before the timer)

        event.listen(db.engine, "before_cursor_execute", count)
        profiler = cProfile.Profile() if args.profile else None
        rss_before = maxrss_mb()
        if args.tracemalloc:
            tracemalloc.start()
        with audit.acting_as(staff.id, "bench"):
            if profiler:
                profiler.enable()
            t0, cpu0 = time.perf_counter(), time.process_time()
            parsed = parse_upload(data, "disbursements.csv", kind)
            t_parsed = time.perf_counter()
            result = run_import(kind, parsed, read_errors=parsed.errors, user=staff, dry_run=False, history=False)
            t1, cpu1 = time.perf_counter(), time.process_time()
            if profiler:
                profiler.disable()
        if args.tracemalloc:
            out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        event.remove(db.engine, "before_cursor_execute", count)
        out["peak_mb"] = maxrss_mb()
        out["import_rss_growth_mb"] = out["peak_mb"] - rss_before
        out["statements"] = statements["n"]
        if not result.committed or result.created != len(rows):
            for error in result.errors[:20]:
                print(f"  {error}", file=sys.stderr)
            raise SystemExit(f"{database}: the import did not commit {len(rows)} rows "
                             f"(created {result.created}, {result.rows_with_errors} rows with errors)")
        db.session.remove()
        imported = db.session.scalar(select(func.count()).select_from(Disbursement).where(
            Disbursement.status == "submitted"))
        assert imported == len(rows), imported
        out["import_s"] = t1 - t0
        out["import_cpu_s"] = cpu1 - cpu0
        out["parse_s"] = t_parsed - t0
        out["audit_events"] = db.session.scalar(select(func.count()).where(AuditEvent.id > audit_before))
        if profiler:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            path = Path(args.profile) / f"import-{database}.prof"
            profiler.dump_stats(path)
            print(f"\n--- {database}: cProfile of the import ({path}), by own time ---", file=sys.stderr)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
            print(f"--- {database}: by cumulative time ---", file=sys.stderr)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
        db.session.remove()
        db.engine.dispose()

    # 2. The raw insert, on a second fresh database in the same state (the audit trail is append-only,
    #    so the import's events cannot be deleted instead). The same seed gives the same people.
    app = fresh_app(database, args, tmp.name, "raw.db")
    with app.app_context():
        again = load_people(db, args.rows, args.seed)
        assert [m["code"] for m in again["mothers"]] == [m["code"] for m in people["mothers"]]
        raw = resolved_rows(again, rows)  # ids resolved before the timer
        vacuum(db)
        table = Disbursement.__table__
        with db.engine.connect() as conn:
            t0 = time.perf_counter()
            with conn.begin():
                conn.execute(insert(table), raw)
            t1 = time.perf_counter()
        out["raw_s"] = t1 - t0
        inserted = db.session.scalar(select(func.count()).select_from(Disbursement))
        assert inserted == len(raw), inserted
        db.session.remove()
        db.engine.dispose()
    tmp.cleanup()
    return out


# --- the table -------------------------------------------------------------------------------------------------------

def table(results: list[dict]) -> str:
    lines = [f"{'database':<12} {'rows':>6} {'import rows/s':>14} {'raw rows/s':>11} {'import/raw':>11} "
             f"{'raw/import':>11} {'peak MB':>8}"]
    for r in results:
        imp, raw = r["rows"] / r["import_s"], r["rows"] / r["raw_s"]
        lines.append(f"{r['database']:<12} {r['rows']:>6} {imp:>14,.0f} {raw:>11,.0f} {imp / raw:>11.4f} "
                     f"{raw / imp:>10,.0f}x {r['peak_mb']:>8.0f}")
    return "\n".join(lines)


def details(r: dict) -> str:
    per_row_ms = 1000 * r["import_s"] / r["rows"]
    text = (f"{r['database']}: import {r['import_s']:.2f} s (parse_upload {r['parse_s']:.3f} s, "
            f"{per_row_ms:.2f} ms/row, of which {1000 * r['import_cpu_s'] / r['rows']:.2f} ms CPU in this process, "
            f"{r['statements'] / r['rows']:.1f} SQL statements/row, "
            f"{r['audit_events']} audit events); dry run {r['dry_run_s']:.2f} s; raw insert {r['raw_s']:.3f} s; "
            f"peak RSS {r['peak_mb']:.0f} MB (+{r['import_rss_growth_mb']:.0f} MB during the import); "
            f"load average {r['load_before']:.1f} on {os.cpu_count()} CPUs")
    if "tracemalloc_peak_mb" in r:
        text += f"; tracemalloc peak {r['tracemalloc_peak_mb']:.1f} MB (import slowed by tracing)"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the file (default 10000)")
    parser.add_argument("--only", choices=DATABASES, help="one database only (default: both)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL") or DEFAULT_PG,
                        help="PostgreSQL URL; the database is dropped and recreated "
                             "(default: $BENCH_PG_URL or %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each import to DIR and print it")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the Python allocation peak")
    parser.add_argument("--worker", choices=DATABASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.rows <= 50_000:
        parser.error("--rows must be between 1 and 50000 (the import's limit)")

    if args.worker:
        result = run_one(args.worker, args)
        print("BENCH-RESULT " + json.dumps(result))
        return 0

    results = []
    for database in ([args.only] if args.only else DATABASES):
        print(f"{database}: building the database and importing {args.rows} rows...", file=sys.stderr, flush=True)
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", database, "--rows", str(args.rows),
                   "--pg", args.pg, "--seed", str(args.seed)]
        if args.profile:
            command += ["--profile", args.profile]
        if args.tracemalloc:
            command.append("--tracemalloc")
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
        if done.returncode != 0 or not lines:
            sys.stdout.write(done.stdout)
            print(f"{database}: failed (exit {done.returncode})", file=sys.stderr)
            return 1
        results.append(json.loads(lines[-1].removeprefix("BENCH-RESULT ")))

    print(table(results))
    print()
    for r in results:
        print(details(r))
    first = results[0]
    print(f"file: {first['rows']} rows, {first['file_kb']:.0f} kB; " + ", ".join(
        f"{n} {c}" for c, n in first["categories"].items()) + "; people: " + ", ".join(
        f"{n} {what}" for what, n in first["people"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
