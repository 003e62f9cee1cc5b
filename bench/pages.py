"""Benchmark: the main pages served by gunicorn, beside Flask's hello-world under the same settings.

    .venv/bin/python bench/pages.py [--only sqlite|postgresql] [--scale 10] [--duration 15] [--connections 32]
                                    [--repeat N] [--compare DIR] [--profile URL [--no-load]] [--pg URL]

For each database (SQLite in a temporary folder at demo scale, ``--sqlite-scale``
1; PostgreSQL at ``--scale`` 10 in the database of ``--pg``, else
``$BENCH_PG_URL``, else ``postgresql+psycopg://postgres@127.0.0.1/bench_pages``,
which is DROPPED and recreated; the script refuses a name without "bench") it:

1. builds the database in a child process with the code measured: the
   migrations, ``seed_demo(seed=1, scale=K)``, ``ANALYZE``; the demo users'
   passwords are marked as their own (production makes a user replace a
   password set by someone else before anything else) and the demo manager is
   given a second factor (production requires one of managers), whose TOTP
   secret the script keeps to sign in with;
2. starts gunicorn with ``gunicorn.conf.py`` and, for all servers alike,
   2 sync workers of 1 thread, ``max_requests`` 0 (``--max-requests``), on a
   free port of 127.0.0.1: a Flask hello-world app, and the tracker with
   ``TRACKER_ENV=production`` (throwaway ``SECRET_KEY``, ``TRACKER_DATA_KEY``,
   ``PUBLIC_BASE_URL``; the access log to a file);
3. signs in as the demo staff member and the demo manager, as a browser does:
   the form's CSRF token, the password, then (the manager) a TOTP code; checks
   that every page answers 200 to that session;
4. loads one server at a time with wrk (``-t2 -c32 -d15s --latency``, the
   session's cookie in a header; a Python load generator of threads if wrk is
   not installed): hello-world, then each page, each code in turn (alternating
   the order between rounds with ``--repeat``, the best round kept);
5. prints req/s, the share of hello-world's, p50, p99, errors (non-2xx/3xx
   answers and socket errors) and the 1-minute load average at the end of each
   run, and the targets of issue 20 for the list pages: at least 25 % of
   hello-world's requests/s, p99 under 200 ms, no error.

``--compare DIR`` serves the same pages with the code of another checkout
(say a worktree of main before a change) in the same run, on a database that
code built itself (``<name>_compared`` on PostgreSQL). ``--profile URL`` then
runs N requests to that URL in process (the test client, the same production
settings and session, on the database of each code) under cProfile and
prints where the time goes, with the SQL statements per request; it may be
given more than once, and ``--no-load`` skips the load runs.

This is not a test: it lives outside ``tests/`` and pytest never collects it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: The code measured: this checkout, or (in a child process of ``--compare``) another one.
ROOT = Path(os.environ.get("BENCH_CODE") or Path(__file__).resolve().parent.parent)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
HERE = Path(__file__).resolve().parent.parent  # this checkout: its gunicorn.conf.py serves every code alike

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/bench_pages"
DATABASES = ("sqlite", "postgresql")
USERS = {
    "staff": ("staff@example.org", "demo-staff-pass"),
    "manager": ("manager@example.org", "demo-manager-pass"),
}
#: The pages measured, in order: (path, role, a list page of the issue's targets).
PAGES = (
    ("/mothers/", "staff", True),
    ("/disbursements/", "staff", True),
    ("/claims/", "staff", True),
    ("/approvals/", "manager", True),
    ("/review/", "manager", False),
)
#: Issue 20's targets for the list pages.
TARGET_SHARE = 0.25
TARGET_P99_MS = 200.0
USER_AGENT = "bench-pages/1"  # the session is bound to the address and the user agent (Flask-Login "strong")
HELLO = '''from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"
'''
START_TIMEOUT = 60


def load() -> float:
    return os.getloadavg()[0]


# --- the databases (child processes, with the code measured) --------------------------------------------------------

def setup_step(url: str, data_key: str, scale: int) -> dict:
    """Build the database at ``url`` with the code of this process; returns the manager's TOTP secret."""
    import pyotp
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from config import TestingConfig
    from tracker import create_app
    from tracker.demo import seed_demo
    from tracker.extensions import db
    from tracker.models import User
    from tracker.models.base import now_utc

    if url.startswith("postgresql"):
        from import_disbursements import fresh_postgres  # bench/, beside this script: it refuses names without "bench"

        fresh_postgres(url)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, TRACKER_DATA_KEY=data_key)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        summary = seed_demo(seed=1, scale=scale, progress=lambda message: None)
        seeded = time.perf_counter() - started
        secret = pyotp.random_base32()
        emails = [email for email, _password in USERS.values()]
        for user in db.session.scalars(select(User).where(User.email.in_(emails))):
            user.password_changed_at = now_utc()
            if user.role == "manager":
                user.totp_secret = secret
                user.totp_enabled_at = now_utc()
                user.totp_last_step = None
        db.session.commit()
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
        db.engine.dispose()
    return {"totp": secret, "seed_s": seeded, "summary": {k: v for k, v in summary.items() if isinstance(v, int)}}


def server_env(url: str, data_key: str, code: Path) -> dict:
    """The environment of the tracker in production, with throwaway keys."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACKER_", "DATABASE_URL", "FLASK_", "GUNICORN_", "WEB_CONCURRENCY", "BENCH_"))}
    env.update(TRACKER_ENV="production", DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32),
               TRACKER_DATA_KEY=data_key, PUBLIC_BASE_URL="https://tracker.bench.invalid", PYTHONPATH=str(code))
    return env


def profile_step(args, url: str, data_key: str, secret_key: str, cookie: str, path: str) -> dict:
    """cProfile of ``args.profile_requests`` requests to ``path`` in process, with the server's settings."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import event

    os.environ.update(server_env(url, data_key, ROOT), SECRET_KEY=secret_key)
    from tracker import create_app
    from tracker.extensions import db

    app = create_app()
    client = app.test_client(use_cookies=False)  # the session's cookie is given in a header
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT}
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args, **_kwargs):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    for _ in range(3):  # templates compiled, catalogues loaded, connections opened
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"profile: {path} answered {response.status_code} in process")
    n = args.profile_requests
    statements.clear()
    started = time.perf_counter()
    for _ in range(n):
        client.get(path, headers=headers)
    plain = (time.perf_counter() - started) / n
    per_request = len(statements) / n
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.get(path, headers=headers)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(args.profile_top)
    stats.sort_stats("cumulative").print_stats(args.profile_top)
    report = out.getvalue()
    for prefix in sorted({str(Path(p)) for p in sys.path if "site-packages" in p} | {str(ROOT)}, key=len, reverse=True):
        report = report.replace(prefix + "/", "")
    return {"ms": 1000 * plain, "statements": per_request, "n": n, "report": report, "load": load()}


def worker(args) -> dict:
    state = json.loads(args.state)
    if args.worker == "setup":
        return setup_step(state["url"], state["data_key"], state["scale"])
    return profile_step(args, state["url"], state["data_key"], state["secret_key"], state["cookie"], state["path"])


def child(args, step: str, state: dict, code: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", step, "--state", json.dumps(state),
               "--profile-requests", str(args.profile_requests), "--profile-top", str(args.profile_top)]
    env = dict(os.environ)
    env["BENCH_CODE"] = str(code)
    done = subprocess.run(command, cwd=code, stdout=subprocess.PIPE, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if done.returncode != 0 or not lines:
        sys.stdout.write(done.stdout)
        raise SystemExit(f"{step} ({code}): failed (exit {done.returncode})")
    return json.loads(lines[-1].removeprefix("BENCH-RESULT "))


# --- the servers ----------------------------------------------------------------------------------------------------

class Server:
    """gunicorn with this checkout's gunicorn.conf.py, 2 sync workers, on a free port of the loopback."""

    def __init__(self, name: str, app: str, chdir: Path, env: dict, folder: Path, args, ready_path: str):
        self.name, self.env = name, env
        self.log = folder / f"gunicorn-{name}.log"
        self._log_handle = open(self.log, "w")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn), "-c", str(HERE / "gunicorn.conf.py"), "--workers", str(args.workers),
                   "--worker-class", "sync", "--threads", "1", "--bind", "127.0.0.1:0",
                   "--max-requests", str(args.max_requests), "--chdir", str(chdir), app]
        self.process = subprocess.Popen(command, cwd=chdir, env=env, stdout=self._log_handle,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.url = self._wait(ready_path)

    def _wait(self, path: str) -> str:
        import requests

        deadline = time.monotonic() + START_TIMEOUT
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name}: gunicorn exited with {self.process.returncode}:\n"
                                 + self.log.read_text()[-3000:])
            if url is None:
                found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.log.read_text())
                url = found.group(1) if found else None
            if url is not None:
                try:
                    if requests.get(url + path, timeout=10).status_code == 200:
                        return url
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{self.name}: gunicorn did not answer within {START_TIMEOUT} s:\n"
                         + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log_handle.close()


# --- signing in, as a browser does ----------------------------------------------------------------------------------

def _cookies_from(response, jar: dict) -> None:
    """Production's cookies are ``Secure``; a client's jar would not send them back over plain HTTP: kept by hand."""
    for header in response.raw.headers.getlist("Set-Cookie"):
        pair = header.split(";", 1)[0]
        name, _, value = pair.partition("=")
        attributes = header.lower()
        if not value or "expires=thu, 01 jan 1970" in attributes or "max-age=0" in attributes:
            jar.pop(name.strip(), None)
        else:
            jar[name.strip()] = value.strip()


def _cookie_header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not found:
        raise SystemExit("sign-in: no CSRF token in the form")
    return found.group(1)


def sign_in(base: str, role: str, totp_secret: str) -> str:
    """The ``Cookie`` header of a signed-in session of the demo ``role``."""
    import pyotp
    import requests

    email, password = USERS[role]
    jar: dict = {}

    def get(path):
        response = requests.get(base + path, headers={"Cookie": _cookie_header(jar), "User-Agent": USER_AGENT},
                                allow_redirects=False, timeout=30)
        _cookies_from(response, jar)
        return response

    def post(path, data):
        response = requests.post(base + path, data=data, allow_redirects=False, timeout=30,
                                 headers={"Cookie": _cookie_header(jar), "User-Agent": USER_AGENT})
        _cookies_from(response, jar)
        return response

    page = get("/login")
    answer = post("/login", {"csrf_token": _csrf(page.text), "email": email, "password": password, "next": ""})
    if answer.status_code != 302:
        raise SystemExit(f"sign-in of {email}: the password was refused ({answer.status_code})")
    if answer.headers["Location"].endswith("/login/code"):
        page = get("/login/code")
        answer = post("/login/code", {"csrf_token": _csrf(page.text), "code": pyotp.TOTP(totp_secret).now()})
        if answer.status_code != 302 or answer.headers["Location"].endswith("/login"):
            raise SystemExit(f"sign-in of {email}: the second factor was refused ({answer.status_code})")
    home = get("/")
    if home.status_code != 200 or 'action="/logout"' not in home.text:
        raise SystemExit(f"sign-in of {email}: the home page does not show a signed-in user ({home.status_code})")
    return _cookie_header(jar)


def check_page(base: str, path: str, cookie: str) -> int:
    """The page answers 200 to the session (a redirect to the sign-in would not count as an error in wrk)."""
    import requests

    response = requests.get(base + path, headers={"Cookie": cookie, "User-Agent": USER_AGENT},
                            allow_redirects=False, timeout=600)
    if response.status_code != 200:
        raise SystemExit(f"{base}{path}: answered {response.status_code} to the signed-in session")
    return len(response.content)


# --- the load -------------------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not found:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def parse_wrk(output: str) -> dict:
    """req/s, p50, p99 (ms), requests, non-2xx/3xx answers and socket errors from wrk's ``--latency`` output."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rate and p50 and p99 and total):
        raise SystemExit("could not read wrk's output:\n" + output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    status = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = {"status": int(status.group(1)) if status else 0}
    if socket_errors:
        errors.update(zip(("connect", "read", "write", "timeout"), map(int, socket_errors.groups()), strict=True))
    return {"rps": float(rate.group(1)), "p50": _ms(p50.group(1)), "p99": _ms(p99.group(1)),
            "requests": int(total.group(1)), "errors": errors}


def run_wrk(args, url: str, cookie: str | None, duration: float) -> dict:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration:g}s", f"--timeout={args.timeout}s",
               "--latency", "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    done = subprocess.run(command + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}")
    return parse_wrk(done.stdout)


def run_python(args, url: str, cookie: str | None, duration: float) -> dict:
    """A load generator of ``--connections`` threads on keep-alive connections, when wrk is not installed."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    latencies: list[float] = []
    errors = {"status": 0, "socket": 0}
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def connection():
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=args.timeout)

    def loop():
        conn, mine, status_errors, socket_errors = connection(), [], 0, 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", parts.path or "/", headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status > 399:
                    status_errors += 1
                mine.append(1000 * (time.perf_counter() - started))
            except (OSError, http.client.HTTPException):
                socket_errors += 1
                conn.close()
                conn = connection()
        conn.close()
        with lock:
            latencies.extend(mine)
            errors["status"] += status_errors
            errors["socket"] += socket_errors

    started = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    if not latencies:
        raise SystemExit(f"{url}: no request answered")
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"rps": len(latencies) / elapsed, "p50": quantiles[49], "p99": quantiles[98], "requests": len(latencies),
            "errors": errors}


def drain(base: str, path: str) -> None:
    """Wait until the requests the load left queued are served: a sync worker still serves a request whose
    client has gone, so the next run would otherwise start behind them. One request per worker, in turn."""
    import requests

    for _ in range(2):
        requests.get(base + path, headers={"User-Agent": USER_AGENT}, timeout=600)


def measure_once(args, base: str, path: str, cookie: str | None, ready_path: str) -> dict:
    run = run_wrk if args.loader == "wrk" else run_python
    if args.warmup:
        run(args, base + path, cookie, args.warmup)
        drain(base, ready_path)
    result = run(args, base + path, cookie, args.duration)
    result["load"] = load()
    drain(base, ready_path)
    return result


# --- the run --------------------------------------------------------------------------------------------------------

def database_url(database: str, args, folder: Path, code_name: str) -> str:
    if database == "sqlite":
        return f"sqlite:///{folder / f'tracker-{code_name}.db'}"
    from sqlalchemy.engine import make_url

    url = make_url(args.pg)
    if "bench" not in (url.database or ""):
        raise SystemExit(f"refusing to drop database {url.database!r}: its name must contain 'bench' (it is wiped)")
    if code_name != "this":
        url = url.set(database=f"{url.database}_{code_name}")
    return url.render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def measure_database(args, database: str, codes: dict[str, Path]) -> dict:
    """Every measurement of one database: ``{"hello": best, (code, path): best, "setup": {...}, ...}``."""
    from cryptography.fernet import Fernet

    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    scale = args.scale if database == "postgresql" else args.sqlite_scale
    data_key = Fernet.generate_key().decode()
    servers: list[Server] = []
    urls = {name: database_url(database, args, folder, name) for name in codes}
    try:
        (folder / "hello_app.py").write_text(HELLO)
        setups = {}
        for name, code in codes.items():
            say(f"{database}: building the database of {name} ({code}) at scale {scale}...")
            setups[name] = child(args, "setup", {"url": urls[name], "data_key": data_key, "scale": scale}, code)
            say(f"{database}: seeded in {setups[name]['seed_s']:.1f} s: " + ", ".join(
                f"{n} {what}" for what, n in setups[name]["summary"].items()
                if what in ("mothers", "children", "disbursements", "claims")))
        hello_env = server_env("", "", folder)
        hello = Server("hello", "hello_app:app", folder, hello_env, folder, args, "/")
        servers.append(hello)
        trackers, cookies, sizes = {}, {}, {}
        for name, code in codes.items():
            env = server_env(urls[name], data_key, code)
            server = Server(f"tracker-{name}", "wsgi:app", code, env, folder, args, "/healthz")
            servers.append(server)
            trackers[name] = server
            cookies[name] = {role: sign_in(server.url, role, setups[name]["totp"]) for role in USERS}
            for path, role, _listed in PAGES:
                sizes[(name, path)] = check_page(server.url, path, cookies[name][role])
        if not args.no_load:
            say(f"{database}: servers up, signed in; measuring ({args.loader}, {args.duration:g} s a run)...")
        best: dict = {"setup": setups, "sizes": sizes, "scale": scale}
        for round_ in range(0 if args.no_load else args.repeat):
            order = list(codes) if round_ % 2 == 0 else list(reversed(codes))
            runs = [("hello", None, None)] + [(name, path, role) for path, role, _ in PAGES for name in order]
            for name, path, role in runs:
                if name == "hello":
                    result = measure_once(args, hello.url, "/", None, "/")
                    key = "hello"
                else:
                    result = measure_once(args, trackers[name].url, path, cookies[name][role], "/healthz")
                    key = (name, path)
                say(f"  round {round_ + 1}: {'hello-world' if key == 'hello' else name + ' ' + path}: "
                    f"{result['rps']:,.0f} req/s, p99 {result['p99']:.0f} ms, load {result['load']:.1f}")
                if key not in best or result["rps"] > best[key]["rps"]:
                    best[key] = result
        for name, server in trackers.items():  # still signed in: no page was a redirect to the sign-in
            for path, role, _ in PAGES:
                check_page(server.url, path, cookies[name][role])
        for path in args.profile:
            role = next((r for p, r, _ in PAGES if p == path), args.profile_role)
            for name, code in codes.items():
                say(f"{database}: profiling {path} ({name}, {role}), {args.profile_requests} requests...")
                best[("profile", name, path)] = child(args, "profile", {
                    "url": urls[name], "data_key": data_key, "secret_key": trackers[name].env["SECRET_KEY"],
                    "cookie": cookies[name][role], "path": path}, code)
        return best
    finally:
        for server in servers:
            server.stop()
        if database == "postgresql" and not args.keep:
            for url in urls.values():
                drop_postgres(url)
        if args.keep:
            say(f"{database}: kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def errors_text(errors: dict) -> str:
    total = sum(errors.values())
    if not total:
        return "0"
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in errors.items() if v) + ")"


def verdict(result: dict, hello: dict) -> str:
    if not result["requests"]:
        return "not met (no request answered within the run)"
    share = result["rps"] / hello["rps"]
    checks = [("share", share >= TARGET_SHARE), ("p99", result["p99"] < TARGET_P99_MS),
              ("errors", sum(result["errors"].values()) == 0)]
    missed = [what for what, met in checks if not met]
    return "met" if not missed else "not met (" + ", ".join(missed) + ")"


def table(results: dict[str, dict], codes: dict[str, Path]) -> str:
    header = (f"{'database':<11} {'code':<9} {'URL':<16} {'role':<8} {'req/s':>8} {'of hello':>8} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'errors':>7} {'KB':>5} {'load':>5}  targets")
    lines = [header]
    for database, best in results.items():
        hello = best["hello"]
        lines.append(f"{database:<11} {'-':<9} {'hello-world':<16} {'-':<8} {hello['rps']:>8,.0f} {'100%':>8} "
                     f"{hello['p50']:>7.1f} {hello['p99']:>7.1f} {errors_text(hello['errors']):>7} {'':>5} "
                     f"{hello['load']:>5.1f}")
        for path, role, listed in PAGES:
            for name in codes:
                r = best[(name, path)]
                target = verdict(r, hello) if listed else "n/a (its target is against the engine: bench/engine.py)"
                p50, p99 = (f"{r['p50']:>7.1f}", f"{r['p99']:>7.1f}") if r["requests"] else (f"{'-':>7}",) * 2
                lines.append(
                    f"{database:<11} {name:<9} {path:<16} {role:<8} {r['rps']:>8,.1f} {r['rps'] / hello['rps']:>8.1%} "
                    f"{p50} {p99} {errors_text(r['errors']):>7} "
                    f"{best['sizes'][(name, path)] / 1024:>5.0f} {r['load']:>5.1f}  {target}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=DATABASES, help="one database only (default: both)")
    parser.add_argument("--scale", type=int, default=10, help="PostgreSQL's demo scale (default 10)")
    parser.add_argument("--sqlite-scale", type=int, default=1, help="SQLite's demo scale (default 1)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL") or DEFAULT_PG,
                        help="PostgreSQL URL; the database is dropped and recreated (default: $BENCH_PG_URL or "
                             "%(default)s)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of each run (default 15)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each run (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads (default 2)")
    parser.add_argument("--timeout", type=int, default=30,
                        help="seconds before a request counts as a socket error (default 30, gunicorn's timeout)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn's sync workers (default 2)")
    parser.add_argument("--max-requests", type=int, default=0,
                        help="gunicorn replaces a worker after this many requests (default 0: never)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each N times, alternately; keep the best")
    parser.add_argument("--compare", metavar="DIR", help="also serve the pages with the code of another checkout")
    parser.add_argument("--loader", choices=("wrk", "python"),
                        default="wrk" if shutil.which("wrk") else "python",
                        help="wrk if installed, else threads in Python")
    parser.add_argument("--profile", metavar="URL", action="append", default=[],
                        help="cProfile of requests to this path (say /disbursements/); may be given again")
    parser.add_argument("--no-load", action="store_true", help="no load runs: only set up, sign in and --profile")
    parser.add_argument("--profile-role", choices=tuple(USERS), default="staff",
                        help="who requests --profile's path when it is not one of the measured pages")
    parser.add_argument("--profile-requests", type=int, default=50)
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="keep the databases and the servers' logs")
    parser.add_argument("--worker", choices=("setup", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("BENCH-RESULT " + json.dumps(worker(args)))
        return 0
    if args.repeat < 1 or args.duration <= 0 or args.connections < 1:
        parser.error("--repeat, --duration and --connections must be positive")
    if any(not path.startswith("/") for path in args.profile):
        parser.error("--profile takes a path, such as /disbursements/")
    if args.no_load and not args.profile:
        parser.error("--no-load measures nothing without --profile")

    codes: dict[str, Path] = {"this": ROOT}
    if args.compare:
        compare = Path(args.compare).resolve()
        if not (compare / "tracker").is_dir():
            parser.error(f"--compare {compare}: not a checkout of the project")
        codes = {"compared": compare, "this": ROOT}
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    results = {database: measure_database(args, database, codes)
               for database in ([args.only] if args.only else DATABASES)}
    if not args.no_load:
        print(table(results, codes))
        print()
    for database, best in results.items():
        print(f"{database}: demo scale {best['scale']}; " + "; ".join(
            f"{name}: " + ", ".join(f"{n} {what}" for what, n in best["setup"][name]["summary"].items()
                                    if what in ("mothers", "children", "disbursements"))
            for name in codes))
    if not args.no_load:
        print(f"targets (issue 20, list pages): at least {TARGET_SHARE:.0%} of hello-world's requests/s, "
              f"p99 under {TARGET_P99_MS:.0f} ms, no error")
        print(f"load: {args.loader}, {args.threads} threads, {args.connections} connections, {args.duration:g} s a "
              f"run after {args.warmup:g} s of warm-up, best of {args.repeat}; gunicorn {args.workers} sync workers, "
              f"max_requests {args.max_requests}")
    print(f"load average (1, 5, 15 min): {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} at the "
          f"start ({started:%Y-%m-%d %H:%M} UTC), " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " at the end")
    if args.compare:
        print(f"compared: {codes['compared']}")
    for database, best in results.items():
        for path in args.profile:
            for name in codes:
                profile = best[("profile", name, path)]
                print(f"\n--- {database} {name}: {path}, {profile['ms']:.1f} ms a request in process "
                      f"without the profiler, {profile['statements']:.1f} SQL statements a request "
                      f"(load {profile['load']:.1f}); cProfile of {profile['n']} requests:")
                print(profile["report"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
