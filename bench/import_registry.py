"""Benchmark: the registry's imports row by row and in batches (``Kind.apply_batch``).

    .venv/bin/python bench/import_registry.py [--mothers 5000] [--children 3] [--only sqlite|postgresql]
                                              [--pg URL] [--seed 7]

For each database (SQLite in a temporary folder; PostgreSQL at ``--pg``, else
``$BENCH_PG_URL``, else ``postgresql+psycopg://postgres@127.0.0.1/bench_registry``,
which is DROPPED and recreated) and each way of applying rows (row by row: the
kind with ``apply_batch`` taken away; in batches: the kind as registered), on a
new migrated database holding two projects (CD, CF) and a staff member of both:

1. imports a ``beneficiaries`` file of ``--mothers`` new mothers, without codes
   (the import numbers them), phone and village given (encrypted);
2. imports a ``children`` file of ``--children`` children per mother, without
   codes (numbered under their mothers);
3. imports the same children file again: every row unchanged.

Each import is ``parse_upload`` + ``run_import(..., user=staff, dry_run=False)``,
committed, timed from the bytes of the file to the commit. The script checks
that both ways gave the same codes, and prints rows/second of each import and
the ratio of the two ways.

This is not a test: it lives outside ``tests/`` and pytest never collects it.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.import_disbursements import fresh_postgres  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/bench_registry"
PROJECTS = {"CD": "TF-CD-BENCH-01", "CF": "TF-CF-BENCH-01"}
MOTHER_COLUMNS = ("code", "project_code", "full_name", "phone", "village", "year_of_birth", "enrolled_on",
                  "consent_services", "consent_reporting")
CHILD_COLUMNS = ("code", "mother_code", "first_name", "year_of_birth", "sex")
FIRST_NAMES = ("Amani", "Baraka", "Neema", "Imani", "Zawadi", "Furaha", "Bahati", "Esther", "Grace", "Joseph")


def csv_bytes(columns, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return buffer.getvalue().encode("utf-8")


def mother_rows(count: int, rng: random.Random) -> list[dict]:
    countries = list(PROJECTS)
    return [{"project_code": PROJECTS[countries[i % 2]], "full_name": f"Bench Mother {i:05d}",
             "phone": f"+243 81{rng.randrange(10**7):07d}", "village": rng.choice(("Kavumu", "Ibanda", "Mugunga")),
             "year_of_birth": str(1980 + i % 15), "enrolled_on": "2025-02-03", "consent_services": "yes",
             "consent_reporting": rng.choice(("yes", "no"))} for i in range(count)]


def child_rows(codes: list[str], per_mother: int, rng: random.Random) -> list[dict]:
    rows = []
    for code in codes:
        for n in range(per_mother):
            rows.append({"mother_code": code, "first_name": f"{rng.choice(FIRST_NAMES)} {n}",
                         "year_of_birth": str(2010 + n), "sex": rng.choice("FM")})
    return rows


def fresh_app(database: str, pg_url: str, folder: str, name: str):
    from flask_migrate import upgrade

    from config import TestingConfig
    from tracker import create_app

    url = f"sqlite:///{Path(folder) / name}" if database == "sqlite" else fresh_postgres(pg_url)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, IMPORT_UPLOAD_DIR=folder)
    with app.app_context():
        upgrade()
    return app


def run_way(database: str, batch: bool, args, folder: str) -> dict:
    """One way of applying rows, on a database of its own: the three imports' seconds and the codes given."""
    import datetime as dt

    from sqlalchemy import insert, select

    from tracker import audit
    from tracker.extensions import db
    from tracker.imports.kinds import get_kind
    from tracker.imports.reading import parse_upload
    from tracker.imports.running import run_import
    from tracker.models import Beneficiary, Child, Partner, Project, User, UserCountry

    app = fresh_app(database, args.pg, folder, f"{'batch' if batch else 'row'}.db")
    out = {}
    with app.app_context():
        conn = db.session.connection()
        conn.execute(insert(Partner.__table__), [{"name": "Bench partner", "kind": "ngo"}])
        partner_id = conn.scalar(select(Partner.id))
        conn.execute(insert(Project.__table__), [
            {"code": code, "title": f"Bench {country}", "country": country, "partner_id": partner_id,
             "start_date": dt.date(2024, 1, 1), "end_date": dt.date(2030, 12, 31), "status": "active"}
            for country, code in PROJECTS.items()])
        conn.execute(insert(User.__table__), [{"email": "staff.bench@example.org", "name": "Bench staff",
                                               "role": "staff", "password_hash": "!"}])
        staff_id = conn.scalar(select(User.id))
        conn.execute(insert(UserCountry.__table__), [{"user_id": staff_id, "country": c} for c in PROJECTS])
        db.session.commit()

        def timed(kind_name: str, columns, rows) -> float:
            kind = get_kind(kind_name)
            if not batch:
                kind = dataclasses.replace(kind, apply_batch=None)
            data = csv_bytes(columns, rows)
            db.session.remove()
            staff = db.session.get(User, staff_id)
            staff.countries  # noqa: B018 (the scope loaded before the timer)
            with audit.acting_as(staff_id, "bench"):
                t0 = time.perf_counter()
                parsed = parse_upload(data, f"{kind_name}.csv", kind)
                result = run_import(kind, parsed, read_errors=parsed.errors, user=staff, dry_run=False,
                                    history=False)
                seconds = time.perf_counter() - t0
            if not result.committed:
                for error in result.errors[:10]:
                    print(f"  {error}", file=sys.stderr)
                raise SystemExit(f"{database}: {kind_name} did not commit")
            return seconds, result

        rng = random.Random(args.seed)
        mothers = mother_rows(args.mothers, rng)
        out["mothers_s"], result = timed("beneficiaries", MOTHER_COLUMNS, mothers)
        assert result.created == len(mothers), result
        codes = db.session.scalars(select(Beneficiary.code).order_by(Beneficiary.id)).all()
        children = child_rows(codes, args.children, rng)
        out["children_s"], result = timed("children", CHILD_COLUMNS, children)
        assert result.created == len(children), result
        out["again_s"], result = timed("children", CHILD_COLUMNS, children)
        assert result.unchanged == len(children), result
        out["codes"] = (codes, db.session.scalars(select(Child.code).order_by(Child.id)).all())
        out["rows"] = (len(mothers), len(children))
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mothers", type=int, default=5000)
    parser.add_argument("--children", type=int, default=3, help="children per mother")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for database in ("sqlite", "postgresql"):
        if args.only and database != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-registry-") as folder:
            ways = {name: run_way(database, name == "batches", args, folder) for name in ("row by row", "batches")}
        if ways["row by row"]["codes"] != ways["batches"]["codes"]:
            raise SystemExit(f"{database}: the two ways gave different codes")
        mothers, children = ways["batches"]["rows"]
        print(f"\n{database}: {mothers:,} mothers, {children:,} children (the same codes both ways)")
        print(f"  {'import':<28}{'row by row':>14}{'batches':>14}{'ratio':>8}")
        for key, label, rows in (("mothers_s", "beneficiaries (new)", mothers),
                                 ("children_s", "children (new)", children),
                                 ("again_s", "children again (unchanged)", children)):
            row, bat = rows / ways["row by row"][key], rows / ways["batches"][key]
            print(f"  {label:<28}{row:>10,.0f} r/s{bat:>10,.0f} r/s{bat / row:>7.1f}x")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
