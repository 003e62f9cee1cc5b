"""The app served by gunicorn with several worker processes, for concurrency tests.

``Gunicorn(database_url)`` starts ``gunicorn 'tests.served:create()'`` on
127.0.0.1 and a port the system chooses, waits until it answers, and
:meth:`Gunicorn.stop` ends it (TERM, then KILL). Unlike the werkzeug thread
of tests/live.py, several processes each hold their own connections, as in
production, so their writes really race on the database.

The served app is the testing configuration made as close to production as a
test allows:

* ``TESTING`` off: an unhandled error is a 500 page, as a user would see it,
  not an exception handed to the test client;
* CSRF on: the tests post each form's own token, as a browser does;
* the per-address limit of the sign-in forms off: every request of a test
  comes from 127.0.0.1 and would be throttled at the 21st; the account
  lockout under test must hold on its own (an attacker can spread attempts
  across addresses, and the limiter's memory store is per worker anyway).

Every password check against a user's stored hash (not the dummy hash used
for unknown e-mails and locked accounts) writes a line to the file named by
``TRACKER_SERVED_CHECKS``, so a test counts the passwords actually tried.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3
#: Seconds gunicorn may take to start answering.
START_TIMEOUT = 30


def create():
    """The WSGI app of each gunicorn worker (``gunicorn 'tests.served:create()'``)."""
    from config import TestingConfig
    from tracker import create_app

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=os.environ["TRACKER_SERVED_DATABASE_URL"],
                     TESTING=False, SERVER_NAME=None, PREFERRED_URL_SCHEME="http", WTF_CSRF_ENABLED=True,
                     RATELIMIT_ENABLED=False)
    checks = os.environ.get("TRACKER_SERVED_CHECKS")
    if checks:
        _count_password_checks(Path(checks))
    return app


def _count_password_checks(path: Path) -> None:
    from tracker.auth import services

    real_check = services.check_password_hash

    def check(pwhash: str, password: str) -> bool:
        if pwhash != services._DUMMY_HASH:
            # One short write with O_APPEND: lines from several processes never interleave.
            with open(path, "a", encoding="ascii") as handle:
                handle.write(f"{os.getpid()}\n")
        return real_check(pwhash, password)

    services.check_password_hash = check


class Gunicorn:
    def __init__(self, database_url: str, workdir: Path, *, workers: int = WORKERS):
        self.checks = workdir / "password-checks.txt"
        self.checks.touch()
        self.log = workdir / "gunicorn.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "DATABASE_URL", "FLASK_"))}
        env.update(TRACKER_SERVED_DATABASE_URL=database_url, TRACKER_SERVED_CHECKS=str(self.checks),
                   PYTHONPATH=str(ROOT))
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._log_handle = open(self.log, "w")
        self.process = subprocess.Popen(
            [str(gunicorn), "--workers", str(workers), "--bind", "127.0.0.1:0", "--timeout", "60",
             # No control socket: its default path is one per machine, and the suite runs several servers at once.
             "--no-control-socket",
             # --preload: the app is built once (about 5 s of imports) and the workers are forked from it;
             # it opens no database connection before the fork.
             "--preload", "--graceful-timeout", "5", "tests.served:create()"],
            cwd=ROOT, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.url = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()}")
            if url is None:
                found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.log.read_text())
                url = found.group(1) if found else None
            if url is not None:
                try:  # the workers are still importing the app: the first answer can take seconds
                    if requests.get(url + "/login", timeout=max(1.0, deadline - time.monotonic())).status_code == 200:
                        return url
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{self.log.read_text()}")

    def password_checks(self) -> int:
        return len(self.checks.read_text().splitlines())

    def reset_counts(self) -> None:
        self.checks.write_text("")

    def stop(self) -> None:
        """Stop the arbiter (it stops its workers), KILL the whole group if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # quick shutdown: nothing is left to finish
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log_handle.close()
