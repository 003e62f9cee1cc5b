"""Benchmark: how long the web requests of a large import take, now that the file is checked and imported by jobs.

    .venv/bin/python bench/upload_requests.py [--rows 50000] [--pad 0] [--pg URL]

Builds a fresh database (SQLite in a temporary folder, or PostgreSQL at ``--pg``, whose name must contain
``bench``; it is dropped and recreated) with the migrations, a project of CD and a staff member of CD, and a
CSV of ``--rows`` new mothers (``--pad N`` adds N characters to each village, to reach the 20 MB limit). Then,
through the app's test client, with the default ``IMPORT_JOB_BYTES`` and the in-process job worker:

1. times the upload request (the file read, checked for what costs nothing, kept encrypted, a job queued);
2. polls the job's page every 0.2 s while the check runs (the worker thread shares the process, as under
   gunicorn), and prints the slowest of those requests and the check's own time;
3. times the confirm request, then polls again while the import job runs.

Prints each request's time, the slowest job page, and each job's time and rows per second. Not a test.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def mothers_csv(rows: int, pad: int) -> bytes:
    head = "code,project_code,full_name,phone,village,year_of_birth,enrolled_on,consent_services,consent_reporting"
    village = "Kavumu" + "x" * pad
    lines = [head] + [f",TF-CD-2025-01,Mother Number {i},,{village},{1980 + i % 20},2025-02-03,yes,no"
                      for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def fresh_pg(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if "bench" not in (target.database or ""):
        raise SystemExit(f"refusing to drop {target.database!r}: its name must contain 'bench'")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def watch(client, job_path: str, app) -> tuple[float, float, int]:
    """Poll the job's page until it leads elsewhere: (the job's seconds, the slowest page request, polls)."""
    started, slowest, polls = time.perf_counter(), 0.0, 0
    while True:
        t0 = time.perf_counter()
        response = client.get(job_path)
        slowest = max(slowest, time.perf_counter() - t0)
        polls += 1
        if response.status_code == 303:
            return time.perf_counter() - started, slowest, polls
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--pg", default=None)
    args = parser.parse_args()

    from config import Config, TestingConfig
    from tests import factories
    from tests.conftest import PASSWORD
    from tracker import create_app
    from tracker.extensions import db

    folder = tempfile.mkdtemp(prefix="bench-upload-")
    url = args.pg or f"sqlite:///{folder}/bench.db"
    if args.pg:
        fresh_pg(url)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, IMPORT_JOB_BYTES=Config.IMPORT_JOB_BYTES,
                     IMPORT_UPLOAD_DIR=os.path.join(folder, "uploads"))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        factories.UserFactory(role="staff", email="staff@example.org", countries=["CD"])
        db.session.commit()
        db.session.remove()
    data = mothers_csv(args.rows, args.pad)
    client = app.test_client()
    client.post("/login", data={"email": "staff@example.org", "password": PASSWORD})

    t0 = time.perf_counter()
    response = client.post("/imports/beneficiaries", data={"file": (io.BytesIO(data), "mothers.csv")},
                           content_type="multipart/form-data")
    upload_s = time.perf_counter() - t0
    assert response.status_code == 303, response.status_code
    job_path = re.sub(r"^https?://[^/]+", "", response.headers["Location"])
    check_s, check_slowest, check_polls = watch(client, job_path, app)
    preview = client.get(job_path, follow_redirects=True).get_data(as_text=True)
    found = re.search(r'name="token" type="hidden" value="([^"]+)"', preview)
    if found is None:
        problems = re.findall(r"<td>(?:<code>)?([^<]*)(?:</code>)?</td><td>([^<]*)</td></tr>", preview)[:3]
        raise SystemExit(f"the check refused the file: {problems or preview[:2000]}")
    token = found.group(1)

    t0 = time.perf_counter()
    response = client.post("/imports/beneficiaries/confirm", data={"token": token})
    confirm_s = time.perf_counter() - t0
    assert response.status_code == 303, response.status_code
    save_path = re.sub(r"^https?://[^/]+", "", response.headers["Location"])
    save_s, save_slowest, save_polls = watch(client, save_path, app)

    database = "postgresql" if args.pg else "sqlite"
    print(f"{database}: {args.rows:,} mothers, {len(data) / 1e6:.1f} MB of CSV; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  upload request      {upload_s:6.2f} s")
    print(f"  check job           {check_s:6.2f} s ({args.rows / check_s:,.0f} rows/s); slowest of {check_polls} "
          f"job-page requests meanwhile {check_slowest:.2f} s")
    print(f"  confirm request     {confirm_s:6.2f} s")
    print(f"  import job          {save_s:6.2f} s ({args.rows / save_s:,.0f} rows/s); slowest of {save_polls} "
          f"job-page requests meanwhile {save_slowest:.2f} s")


if __name__ == "__main__":
    main()
