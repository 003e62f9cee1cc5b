"""Benchmark: importing a disbursements file, beside a raw bulk insert of the same rows.

    .venv/bin/python bench/import_disbursements.py [--rows 10000] [--only sqlite|postgresql] [--pg URL]
                                                   [--repeat N] [--compare DIR] [--profile DIR] [--tracemalloc]

For each database (SQLite in a temporary folder; PostgreSQL at ``--pg``, else
``$BENCH_PG_URL``, else ``postgresql+psycopg://postgres@127.0.0.1/bench_import``,
which is DROPPED and recreated, with a second database ``<name>_run`` beside it) it:

1. builds, in a child process, a database with the migrations and loads, with
   Core inserts, what the rows refer to: a project in CD and one in CF,
   mothers with three children each, one enrolment per child for one academic
   year of 3 terms, income projects, exchange rates, a staff user (CD, CF) and
   an admin; writes a CSV in the DESIGN section 7 format (70 % school fees,
   each enrolment and term at most once; 10 % income-activity grants; 20 %
   medical, psychosocial, material, legal and outreach), references unique;
   and keeps the database as a template (a file copied, or ``CREATE DATABASE
   ... TEMPLATE``), so that every measurement starts from the same state;
2. times, each in a fresh child process on a fresh copy: ``parse_upload`` +
   ``run_import(..., dry_run=True)`` (the dry run), ``parse_upload`` +
   ``run_import(..., user=staff, dry_run=False, history=False)`` (every row
   validated, entered and submitted, committed), and one Core ``insert()``
   executemany of the same rows into ``disbursements`` with their ids resolved
   beforehand (the raw insert);
3. prints rows/second, their ratio, and the memory of the import process: its
   resident size once the app is up and before the file is read, and its peak
   (``ru_maxrss``) by the end of the import.

``--repeat N`` measures each N times, alternately, and keeps the fastest (the
machine is shared). ``--compare DIR`` also runs the dry run and the import
with the code of another checkout (say the commit before a change, from
``git worktree add``), on the same databases and in the same run.
``--profile DIR`` writes a cProfile of the import (``DIR/import-<database>.prof``)
and prints its heaviest functions; ``--tracemalloc`` reports the peak of Python
allocations during the import (tracing slows it, so its rate is then not
comparable).

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
import pickle
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

#: The code measured: this checkout, or (in a child process of ``--compare``) another one.
ROOT = Path(os.environ.get("BENCH_CODE") or Path(__file__).resolve().parent.parent)
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


# --- the steps, each in a child process of its own ------------------------------------------------------------------

def rss_mb() -> float:
    """The resident size of this process now."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


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


def database_url(database: str, args, folder: str, which: str) -> str:
    """The template (``which="template"``) or the copy a measurement runs on (``"run"``)."""
    if database == "sqlite":
        return f"sqlite:///{Path(folder) / (which + '.db')}"
    from sqlalchemy.engine import make_url

    url = make_url(args.pg)
    return url.set(database=url.database + ("_run" if which == "run" else "")).render_as_string(hide_password=False)


def app_on(url: str, folder: str):
    from config import TestingConfig
    from tracker import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, IMPORT_UPLOAD_DIR=folder)


def setup_step(database: str, args, folder: str) -> dict:
    """The template database, the file (``rows.csv``) and the raw insert's rows (``raw.pickle``)."""
    from flask_migrate import upgrade

    from tracker.extensions import db

    url = database_url(database, args, folder, "template")
    if database == "postgresql":
        fresh_postgres(url)
    app = app_on(url, folder)
    with app.app_context():
        upgrade()
        people = load_people(db, args.rows, args.seed)
        rows = make_rows(people, args.rows, args.seed)
        vacuum(db)  # statistics up to date (PostgreSQL), as a live database would have them
        db.engine.dispose()
    data = csv_bytes(rows)
    (Path(folder) / "rows.csv").write_bytes(data)
    with open(Path(folder) / "raw.pickle", "wb") as out:
        pickle.dump(resolved_rows(people, rows), out)
    categories = sorted({r["category"] for r in rows})
    return {"staff_id": people["staff_id"], "people": people["counts"], "file_kb": len(data) / 1024,
            "categories": {c: sum(1 for r in rows if r["category"] == c) for c in categories}}


def fresh_copy(database: str, args, folder: str) -> None:
    """The run database, a copy of the template."""
    if database == "sqlite":
        for leftover in ("run.db-wal", "run.db-shm"):   # a copy must not meet the log of the one before
            (Path(folder) / leftover).unlink(missing_ok=True)
        shutil.copyfile(Path(folder) / "template.db", Path(folder) / "run.db")
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    template = make_url(args.pg).database
    run = make_url(database_url(database, args, folder, "run"))
    admin = create_engine(run.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{run.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{run.database}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()


def import_step(database: str, args, folder: str, state: dict, dry_run: bool) -> dict:
    """Read the file and import it (or dry-run it) in this fresh process; its memory is the import's."""
    import cProfile
    import pstats
    import tracemalloc

    from sqlalchemy import event, func, select

    from tracker import audit
    from tracker.extensions import db
    from tracker.imports.kinds import get_kind
    from tracker.imports.reading import parse_upload
    from tracker.imports.running import run_import
    from tracker.models import AuditEvent, Disbursement, User

    out: dict = {"load": os.getloadavg()[0]}
    app = app_on(database_url(database, args, folder, "run"), folder)
    with app.app_context():
        kind = get_kind("disbursements")
        staff = db.session.get(User, state["staff_id"])
        staff.countries  # noqa: B018 (load the scope before the timer)
        audit_before = db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        statements = {"n": 0}

        def count(*_args):
            statements["n"] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        measured = not dry_run and "BENCH_CODE" not in os.environ
        profiler = cProfile.Profile() if args.profile and measured else None
        out["baseline_mb"] = rss_mb()
        if args.tracemalloc and not dry_run:
            tracemalloc.start()
        with audit.acting_as(staff.id, "bench"):
            t0, cpu0 = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            data = (Path(folder) / "rows.csv").read_bytes()
            parsed = parse_upload(data, "disbursements.csv", kind)
            t_parsed = time.perf_counter()
            result = run_import(kind, parsed, read_errors=parsed.errors, user=staff, dry_run=dry_run, history=False)
            if profiler:
                profiler.disable()
            t1, cpu1 = time.perf_counter(), time.process_time()
        if args.tracemalloc and not dry_run:
            out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        out["peak_mb"] = maxrss_mb()
        event.remove(db.engine, "before_cursor_execute", count)
        out.update(seconds=t1 - t0, cpu=cpu1 - cpu0, parse_s=t_parsed - t0, statements=statements["n"])
        if result.errors or result.created != args.rows or result.committed == dry_run:
            for error in result.errors[:20]:
                print(f"  {error}", file=sys.stderr)
            raise SystemExit(f"{database}: the {'dry run' if dry_run else 'import'} gave {result.created} rows "
                             f"created, {result.rows_with_errors} rows with errors, committed {result.committed}")
        db.session.remove()
        if not dry_run:
            imported = db.session.scalar(select(func.count()).select_from(Disbursement).where(
                Disbursement.status == "submitted"))
            assert imported == args.rows, imported
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
    return out


def raw_step(database: str, args, folder: str) -> dict:
    """One Core executemany of the rows, ids resolved beforehand, committed."""
    from sqlalchemy import func, insert, select

    from tracker.extensions import db
    from tracker.models import Disbursement

    with open(Path(folder) / "raw.pickle", "rb") as source:
        raw = pickle.load(source)
    out: dict = {"load": os.getloadavg()[0]}
    app = app_on(database_url(database, args, folder, "run"), folder)
    with app.app_context():
        with db.engine.connect() as conn:
            t0, cpu0 = time.perf_counter(), time.process_time()
            with conn.begin():
                conn.execute(insert(Disbursement.__table__), raw)
            t1, cpu1 = time.perf_counter(), time.process_time()
        out.update(seconds=t1 - t0, cpu=cpu1 - cpu0)
        inserted = db.session.scalar(select(func.count()).select_from(Disbursement))
        assert inserted == len(raw), inserted
        db.session.remove()
        db.engine.dispose()
    return out


def worker(args) -> dict:
    folder, state = args.folder, json.loads(args.state or "{}")
    if args.step == "setup":
        return setup_step(args.worker, args, folder)
    if args.step == "raw":
        return raw_step(args.worker, args, folder)
    return import_step(args.worker, args, folder, state, dry_run=args.step == "dry")


# --- the run ---------------------------------------------------------------------------------------------------------

def child(args, database: str, step: str, folder: str, state: dict | None = None, code: str | None = None) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", database, "--step", step,
               "--folder", folder, "--rows", str(args.rows), "--pg", args.pg, "--seed", str(args.seed),
               "--state", json.dumps(state or {})]
    if args.profile:
        command += ["--profile", args.profile]
    if args.tracemalloc:
        command.append("--tracemalloc")
    env = dict(os.environ)
    env.pop("BENCH_CODE", None)
    if code:
        env["BENCH_CODE"] = code
    done = subprocess.run(command, cwd=code or ROOT, stdout=subprocess.PIPE, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if done.returncode != 0 or not lines:
        sys.stdout.write(done.stdout)
        raise SystemExit(f"{database} {step}{' (' + code + ')' if code else ''}: failed (exit {done.returncode})")
    return json.loads(lines[-1].removeprefix("BENCH-RESULT "))


def measure(args, database: str, codes: dict[str, str | None]) -> dict:
    """Every measurement of one database: ``{"state", "raw", (code, "dry"|"import"): fastest result}``."""
    folder = tempfile.mkdtemp(prefix="bench-import-")
    try:
        print(f"{database}: building the database and the {args.rows}-row file...", file=sys.stderr, flush=True)
        state = child(args, database, "setup", folder)
        best: dict = {"state": state}
        for round_ in range(args.repeat):
            steps = [("raw", None)] + [(step, name) for name in codes for step in ("dry", "import")]
            for step, name in steps if round_ % 2 == 0 else reversed(steps):
                print(f"{database}: {step}{' (' + name + ')' if name else ''}, round {round_ + 1} of {args.repeat}",
                      file=sys.stderr, flush=True)
                fresh_copy(database, args, folder)
                result = child(args, database, step, folder, state, codes[name] if name else None)
                key = step if name is None else (name, step)
                if key not in best or result["seconds"] < best[key]["seconds"]:
                    best[key] = result
        return best
    finally:
        if database == "postgresql":
            drop_run_database(args)
        shutil.rmtree(folder, ignore_errors=True)


def drop_run_database(args) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    run = make_url(database_url("postgresql", args, "", "run"))
    admin = create_engine(run.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{run.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- the table -------------------------------------------------------------------------------------------------------

def table(args, results: dict[str, dict], codes: dict[str, str | None]) -> str:
    lines = [f"{'database':<11} {'code':<8} {'rows':>6} {'import rows/s':>13} {'raw rows/s':>10} {'import/raw':>10} "
             f"{'dry run s':>9} {'import s':>8} {'CPU ms/row':>10} {'base MB':>7} {'peak MB':>7} {'import MB':>9}"]
    for database, best in results.items():
        raw_rate = args.rows / best["raw"]["seconds"]
        for name in codes:
            imp, dry = best[(name, "import")], best[(name, "dry")]
            rate = args.rows / imp["seconds"]
            lines.append(
                f"{database:<11} {name:<8} {args.rows:>6} {rate:>13,.0f} {raw_rate:>10,.0f} {rate / raw_rate:>10.3f} "
                f"{dry['seconds']:>9.2f} {imp['seconds']:>8.2f} {1000 * imp['cpu'] / args.rows:>10.3f} "
                f"{imp['baseline_mb']:>7.0f} {imp['peak_mb']:>7.0f} {imp['peak_mb'] - imp['baseline_mb']:>9.0f}")
    return "\n".join(lines)


def details(args, database: str, best: dict, codes: dict[str, str | None]) -> list[str]:
    raw = best["raw"]
    out = [f"{database}: raw insert {raw['seconds']:.3f} s ({1000 * raw['cpu'] / args.rows:.3f} ms CPU a row), "
           f"load average {raw['load']:.1f}"]
    for name in codes:
        imp, dry = best[(name, "import")], best[(name, "dry")]
        text = (f"{database} {name}: import {imp['seconds']:.2f} s (parse_upload {imp['parse_s']:.3f} s, "
                f"{imp['statements']} SQL statements, {imp['audit_events']} audit events; load average "
                f"{imp['load']:.1f}); dry run {dry['seconds']:.2f} s (peak {dry['peak_mb']:.0f} MB, load average "
                f"{dry['load']:.1f})")
        if "tracemalloc_peak_mb" in imp:
            text += f"; tracemalloc peak {imp['tracemalloc_peak_mb']:.1f} MB (import slowed by tracing)"
        out.append(text)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the file (default 10000)")
    parser.add_argument("--only", choices=DATABASES, help="one database only (default: both)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL") or DEFAULT_PG,
                        help="PostgreSQL URL; the database is dropped and recreated, and <name>_run beside it "
                             "(default: $BENCH_PG_URL or %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="measure each N times, keep the fastest (default 1)")
    parser.add_argument("--compare", metavar="DIR", help="also measure the import code of another checkout")
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each import to DIR and print it")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the Python allocation peak")
    parser.add_argument("--worker", choices=DATABASES, help=argparse.SUPPRESS)
    parser.add_argument("--step", choices=("setup", "raw", "dry", "import"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.rows <= 50_000:
        parser.error("--rows must be between 1 and 50000 (the import's limit)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    if args.worker:
        print("BENCH-RESULT " + json.dumps(worker(args)))
        return 0

    codes: dict[str, str | None] = {"this": None}
    if args.compare:
        compare = Path(args.compare).resolve()
        if not (compare / "tracker").is_dir():
            parser.error(f"--compare {compare}: not a checkout of the project")
        codes = {"compared": str(compare), "this": None}
    results = {database: measure(args, database, codes) for database in ([args.only] if args.only else DATABASES)}
    print(table(args, results, codes))
    print()
    for database, best in results.items():
        for line in details(args, database, best, codes):
            print(line)
    state = next(iter(results.values()))["state"]
    print(f"file: {args.rows} rows, {state['file_kb']:.0f} kB; " + ", ".join(
        f"{n} {c}" for c, n in state["categories"].items()) + "; people: " + ", ".join(
        f"{n} {what}" for what, n in state["people"].items()))
    if args.compare:
        print(f"compared: {codes['compared']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
