"""Benchmark: the funding imports row by row against in batches (``Kind.apply_batch``).

    .venv/bin/python bench/import_funding.py [--rates 5000] [--contributions 5000] [--only sqlite|postgresql]
                                             [--kinds exchange_rates contributions] [--pg URL] [--seed 7]

For each database (SQLite in a temporary folder; PostgreSQL at ``--pg``, else ``$BENCH_PG_URL``, else
``postgresql+psycopg://postgres@127.0.0.1/bench_funding``, which is DROPPED and recreated for every run), each
kind and each path (row by row: the kind with ``apply_batch`` set to ``None``; in batches: the kind as
registered), in a child process of its own:

1. builds a fresh database with the migrations and loads, with Core inserts, what the rows refer to: for
   ``contributions``, 25 donors, monthly exchange rates of six currencies over the last two years and 200
   pledges; for ``exchange_rates``, nothing;
2. writes a CSV in the DESIGN section 7 format: ``exchange_rates``, one rate per (currency, day) for 30
   currencies going back day by day; ``contributions``, unique references, a random donor, seven currencies
   (USD and the six with rates), half of them against one of the donor's pledges;
3. times ``parse_upload`` + ``run_import(..., user=None, dry_run=False, history=False)``: every row checked,
   created with its audit event, committed; checks that every row was created.

It prints rows/second of both paths, their ratio, the SQL statements per row that went through SQLAlchemy
(``COPY`` goes through the driver and is not counted) and the load average before each run.

This is not a test: it lives outside ``tests/`` and pytest never collects it.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from import_disbursements import fresh_app, vacuum  # noqa: E402 (the same fresh databases)

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/bench_funding"
DATABASES = ("sqlite", "postgresql")
KINDS = ("exchange_rates", "contributions")
PATHS = ("row", "batch")
RATE_CURRENCIES = ("EUR", "GBP", "JPY", "CHF", "NOK", "SEK", "DKK", "CAD", "AUD", "NZD", "CDF", "XAF", "XOF", "SSP",
                   "HTG", "LRD", "KES", "UGX", "RWF", "TZS", "ETB", "NGN", "GHS", "ZAR", "INR", "PKR", "BDT", "CNY",
                   "BRL", "MXN")
MONEY_CURRENCIES = ("EUR", "GBP", "JPY", "CHF", "NOK", "SEK")
DONORS = 25
PLEDGES = 200


# --- the files -------------------------------------------------------------------------------------------------------

def rate_rows(count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    base = dt.date.today()
    rows = []
    for i in range(count):
        currency = RATE_CURRENCIES[i % len(RATE_CURRENCIES)]
        day = base - dt.timedelta(days=i // len(RATE_CURRENCIES))
        rate = Decimal(rng.randrange(1, 10**9)).scaleb(-8)
        rows.append([currency, day.isoformat(), f"{rate:f}"])
    return rows


def load_money(db, seed: int) -> dict:
    """Donors, rates and pledges for a contributions file, with Core inserts; returns the pledges by donor."""
    from sqlalchemy import insert, select

    from tracker.models import Donor, ExchangeRate, Pledge

    rng = random.Random(seed)
    today = dt.date.today()
    conn = db.session.connection()
    conn.execute(insert(Donor.__table__), [{"name": f"Bench donor {i:02d}", "kind": "member_state"}
                                           for i in range(DONORS)])
    donors = dict(conn.execute(select(Donor.id, Donor.name)).all())
    first = dt.date(today.year - 2, today.month, 1)
    months = [dt.date(first.year + (first.month - 1 + m) // 12, (first.month - 1 + m) % 12 + 1, 1)
              for m in range(25)]
    conn.execute(insert(ExchangeRate.__table__), [
        {"currency": c, "valid_from": day, "usd_per_unit": Decimal(rng.randrange(10**5, 2 * 10**8)).scaleb(-8)}
        for c in MONEY_CURRENCIES for day in months])
    pledges = []
    for i in range(PLEDGES):
        donor_id = rng.choice(list(donors))
        pledged_on = today - dt.timedelta(days=rng.randrange(1, 540))
        pledges.append({"reference": f"PL-BENCH-{i:04d}", "donor_id": donor_id, "amount": Decimal("100000.00"),
                        "currency": "USD", "pledged_on": pledged_on, "usd_amount": Decimal("100000.00"),
                        "usd_rate": Decimal("1")})
    conn.execute(insert(Pledge.__table__), pledges)
    db.session.commit()
    by_donor: dict[str, list[str]] = {}
    for pledge in pledges:
        by_donor.setdefault(donors[pledge["donor_id"]], []).append(pledge["reference"])
    return {"donors": sorted(donors.values()), "pledges": by_donor}


def contribution_rows(count: int, seed: int, money: dict) -> list[list[str]]:
    rng = random.Random(seed + 1)
    today = dt.date.today()
    rows = []
    for i in range(count):
        donor = rng.choice(money["donors"])
        currency = rng.choice(("USD", *MONEY_CURRENCIES))
        amount = Decimal(rng.randrange(1000, 2_000_000))
        if currency != "JPY":
            amount += Decimal(rng.randrange(100)).scaleb(-2)
        pledge = rng.choice(money["pledges"][donor]) if money["pledges"].get(donor) and rng.random() < 0.5 else ""
        received_on = today - dt.timedelta(days=rng.randrange(1, 365))
        rows.append([f"CT-BENCH-{i:06d}", donor, f"{amount:f}", currency, received_on.isoformat(), pledge])
    return rows


def csv_bytes(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- one run, in a child process -------------------------------------------------------------------------------------

def run_one(database: str, kind_name: str, path: str, args) -> dict:
    from sqlalchemy import event, func, select

    from tracker.extensions import db
    from tracker.imports.kinds import get_kind
    from tracker.imports.reading import parse_upload
    from tracker.imports.running import run_import
    from tracker.models import AuditEvent

    tmp = tempfile.TemporaryDirectory(prefix="bench-funding-")
    rows_wanted = args.rates if kind_name == "exchange_rates" else args.contributions
    out: dict = {"database": database, "kind": kind_name, "path": path, "rows": rows_wanted}
    app = fresh_app(database, args, tmp.name, "funding.db")
    with app.app_context(), app.test_request_context():
        if kind_name == "exchange_rates":
            header, rows = ("currency", "valid_from", "usd_per_unit"), rate_rows(rows_wanted, args.seed)
        else:
            money = load_money(db, args.seed)
            header = ("reference", "donor", "amount", "currency", "received_on", "pledge_reference")
            rows = contribution_rows(rows_wanted, args.seed, money)
        data = csv_bytes(header, rows)
        vacuum(db)  # statistics up to date (PostgreSQL), as a live database would have them
        kind = get_kind(kind_name)
        if path == "row":
            kind = dataclasses.replace(kind, apply_batch=None)
        statements = {"n": 0}

        def count(*_args):
            statements["n"] += 1

        audit_before = db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        out["load_before"] = os.getloadavg()[0]
        event.listen(db.engine, "before_cursor_execute", count)
        t0, cpu0 = time.perf_counter(), time.process_time()
        parsed = parse_upload(data, f"{kind_name}.csv", kind)
        result = run_import(kind, parsed, read_errors=parsed.errors, user=None, dry_run=False, history=False)
        t1, cpu1 = time.perf_counter(), time.process_time()
        event.remove(db.engine, "before_cursor_execute", count)
        out["load_after"] = os.getloadavg()[0]
        if not result.committed or result.created != len(rows):
            for error in result.errors[:20]:
                print(f"  {error}", file=sys.stderr)
            raise SystemExit(f"{database} {kind_name} {path}: the import did not commit {len(rows)} rows "
                             f"(created {result.created}, {result.rows_with_errors} rows with errors)")
        out["import_s"], out["cpu_s"], out["statements"] = t1 - t0, cpu1 - cpu0, statements["n"]
        out["audit_events"] = db.session.scalar(select(func.count()).where(AuditEvent.id > audit_before))
        db.session.remove()
        db.engine.dispose()
    tmp.cleanup()
    return out


# --- the table -------------------------------------------------------------------------------------------------------

def table(results: list[dict]) -> str:
    by = {(r["database"], r["kind"], r["path"]): r for r in results}
    lines = [f"{'database':<11} {'kind':<15} {'rows':>6} {'row by row/s':>13} {'batches/s':>10} {'ratio':>7} "
             f"{'stmts/row':>10} {'load':>10}"]
    for database, kind in dict.fromkeys((r["database"], r["kind"]) for r in results):
        row, batch = by.get((database, kind, "row")), by.get((database, kind, "batch"))
        if not row or not batch:
            continue
        rate_row, rate_batch = row["rows"] / row["import_s"], batch["rows"] / batch["import_s"]
        statements = f"{row['statements'] / row['rows']:.1f}/{batch['statements'] / batch['rows']:.2f}"
        load = f"{row['load_before']:.1f}/{batch['load_before']:.1f}"
        lines.append(f"{database:<11} {kind:<15} {row['rows']:>6} {rate_row:>13,.0f} {rate_batch:>10,.0f} "
                     f"{rate_batch / rate_row:>6.1f}x {statements:>10} {load:>10}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, default=5000, help="rows of the exchange_rates file (default 5000)")
    parser.add_argument("--contributions", type=int, default=5000,
                        help="rows of the contributions file (default 5000)")
    parser.add_argument("--only", choices=DATABASES, help="one database only (default: both)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL") or DEFAULT_PG,
                        help="PostgreSQL URL; the database is dropped and recreated for every run "
                             "(default: $BENCH_PG_URL or %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", nargs=3, metavar=("DATABASE", "KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("rates", "contributions"):
        if not 1 <= getattr(args, name) <= 50_000:
            parser.error(f"--{name} must be between 1 and 50000 (the import's limit)")

    if args.worker:
        database, kind, path = args.worker
        print("BENCH-RESULT " + json.dumps(run_one(database, kind, path, args)))
        return 0

    results = []
    for database in ([args.only] if args.only else DATABASES):
        for kind in args.kinds:
            for path in PATHS:
                print(f"{database}: {kind}, {'row by row' if path == 'row' else 'in batches'}...", file=sys.stderr,
                      flush=True)
                command = [sys.executable, str(Path(__file__).resolve()), "--worker", database, kind, path,
                           "--rates", str(args.rates), "--contributions", str(args.contributions), "--pg", args.pg,
                           "--seed", str(args.seed)]
                done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
                lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
                if done.returncode != 0 or not lines:
                    sys.stdout.write(done.stdout)
                    print(f"{database} {kind} {path}: failed (exit {done.returncode})", file=sys.stderr)
                    return 1
                results.append(json.loads(lines[-1].removeprefix("BENCH-RESULT ")))
    print(table(results))
    print()
    for r in results:
        print(f"{r['database']} {r['kind']} {r['path']}: {r['import_s']:.2f} s ({r['cpu_s']:.2f} s CPU here), "
              f"{r['statements']} statements, {r['audit_events']} audit events, load average "
              f"{r['load_before']:.2f} before, {r['load_after']:.2f} after, on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
