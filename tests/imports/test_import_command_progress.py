"""``flask import`` shows its progress: a bar with the rows per second on a terminal, one plain line otherwise.

The terminal is a real one: the command runs in a child process whose standard error is a pseudo-terminal,
on the test's own database (``TRACKER_ENV=testing`` reads only ``TRACKER_TEST_DATABASE_URL``).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.extensions import db
from tracker.models import Beneficiary

ROOT = Path(__file__).resolve().parents[2]
CD = "TF-CD-2025-01"
ROWS = 600


@pytest.fixture
def mothers_file(app, tmp_path):
    with app.app_context():
        factories.ProjectFactory(code=CD, country="CD")
        db.session.remove()
    lines = ["code,project_code,full_name,phone,village,year_of_birth,enrolled_on,consent_services,"
             "consent_reporting"]
    lines += [f",{CD},Mother Number {i},,Kavumu,{1980 + i % 20},2025-02-03,yes,no" for i in range(ROWS)]
    path = tmp_path / "mothers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def flask_import(app, path: str, *, terminal: bool) -> tuple[int, str, str]:
    """Run ``flask import beneficiaries PATH`` in a child process: exit status, standard output, standard error
    (read from a pseudo-terminal when ``terminal``)."""
    env = {**os.environ, "TRACKER_ENV": "testing",
           "TRACKER_TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "COLUMNS": "100"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "import", "beneficiaries", path]
    if not terminal:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout, done.stderr
    main, side = os.openpty()
    try:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=side, text=True)
        os.close(side)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        out = child.stdout.read()
        child.wait(300)
    finally:
        os.close(main)
    return child.returncode, out, b"".join(chunks).decode("utf-8", "replace")


def mothers(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count(Beneficiary.id)))
        db.session.remove()
        return n


def test_on_a_terminal_a_bar_shows_the_rows_per_second_to_the_end(app, mothers_file):
    status, out, err = flask_import(app, mothers_file, terminal=True)

    assert (status, out) == (0, f"{ROWS} rows: {ROWS} created\n"), err
    assert "\r" in err  # the bar is drawn again in place as rows are done
    assert re.search(r"beneficiaries\s+\[#+\]\s+100%.*\d[\d,]* rows/s", err), err
    assert re.search(rf"beneficiaries: {ROWS} rows in \d+\.\d s \([\d,]+ rows/s\)", err), err
    assert mothers(app) == ROWS


def test_off_a_terminal_one_plain_line_says_how_long_it_took(app, mothers_file):
    status, out, err = flask_import(app, mothers_file, terminal=False)

    assert (status, out) == (0, f"{ROWS} rows: {ROWS} created\n"), err
    lines = err.splitlines()
    assert len(lines) == 1 and "\r" not in err and "[" not in err, err
    assert re.fullmatch(rf"beneficiaries: {ROWS} rows in \d+\.\d s \([\d,]+ rows/s\)", lines[0]), err
    assert mothers(app) == ROWS
