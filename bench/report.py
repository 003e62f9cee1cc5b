"""Benchmark: the donor PDF of the whole Fund, step by step, beside WeasyPrint alone on the same HTML.

    .venv/bin/python bench/report.py [--pg URL] [--sqlite FILE] [--scales 1 10] [--sqlite-scales 1]
                                     [--lang en] [--repeat 3] [--no-seed] [--json FILE]

For the demo data (``seed_demo(seed=1, scale=K)``, what ``flask seed-demo --scale K``
runs) it:

1. builds fresh databases: a SQLite file (``--sqlite``, default
   ``/tmp/bench_report.db``; it is DELETED) at each of ``--sqlite-scales`` (1),
   and the PostgreSQL database at ``--pg`` (else ``$BENCH_REPORT_PG_URL``, else
   ``postgresql+psycopg://postgres@127.0.0.1:5432/bench_report``; it is DROPPED)
   at each of ``--scales`` (1 10); schema by the migrations, then the seed
   (then ``VACUUM ANALYZE`` on PostgreSQL);
2. renders the Fund's report of this year (``scope="fund"``, default period,
   ``--lang``) with ``tracker.reports.render.render_report``, which times its
   three steps itself: building the data (the funding engine and the reach
   counts), rendering the HTML (Jinja), and WeasyPrint laying out and writing
   the PDF; one warm-up, then the best of ``--repeat`` (3) by total time, each
   run in a fresh application and request context;
3. renders the same report's HTML once (``report_html(..., for_pdf=True)``)
   and times ``tracker.reports.pdf.render_pdf`` on it alone, best of
   ``--repeat``: WeasyPrint's own time for the same HTML (the rounds of 2 and
   3 are interleaved, so that load from elsewhere on the machine hits both alike;
   the CPU time of the process is printed as well);
4. prints one table; the figure to watch is total / WeasyPrint-only: how much
   the application adds to what WeasyPrint needs anyway.

``--no-seed`` measures the databases as they are (a quick re-run; give the
scales they hold). This is not a test: pytest never collects it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # flask_migrate finds migrations/ relative to the working directory

import psycopg  # noqa: E402
from sqlalchemy import make_url, text  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_report"
DEFAULT_SQLITE = "/tmp/bench_report.db"
HEADER = ("db", "scale", "data s", "html s", "pdf s", "total s", "weasyprint-only s", "total/weasyprint",
          "pages", "KB")


# --- the databases ---------------------------------------------------------------------------------------------------

def reset_postgres(url: str) -> None:
    u = make_url(url)
    if u.database in (None, "", "test", "postgres", "template0", "template1", "report_tests"):
        raise SystemExit(f"refusing to drop database {u.database!r}: give a database of the benchmark's own")
    with psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                         password=u.password, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')


def reset_sqlite(path: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def make_app(url: str):
    from config import TestingConfig
    from tracker import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


def seed(app, scale: int) -> dict:
    from flask_migrate import upgrade

    from tracker.demo import seed_demo
    from tracker.extensions import db

    with app.app_context():
        upgrade()
        started = time.perf_counter()
        summary = seed_demo(seed=1, scale=scale, progress=lambda message: None)
        seconds = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        db.session.remove()
    print(f"  seeded scale {scale} in {seconds:.1f} s: "
          + ", ".join(f"{n} {what}" for what, n in summary.items() if what in ("mothers", "children",
                                                                                  "disbursements")), flush=True)
    return summary


# --- the measures ----------------------------------------------------------------------------------------------------

def full_render(app, lang: str):
    """render_report in fresh contexts: (wall seconds, CPU seconds of this process, Rendered)."""
    from tracker.extensions import db
    from tracker.reports.render import render_report

    with app.app_context(), app.test_request_context():
        started, cpu = time.perf_counter(), time.process_time()
        rendered = render_report(scope="fund", date_from=None, date_to=None, lang=lang)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        db.session.remove()
    return wall, cpu, rendered


def report_html_of(app, lang: str) -> str:
    from flask_babel import force_locale

    from tracker.extensions import db
    from tracker.reports.data import build_report
    from tracker.reports.render import report_html

    with app.app_context(), app.test_request_context(), force_locale(lang):
        html = report_html(build_report(scope="fund", date_from=None, date_to=None, lang=lang), for_pdf=True)
        db.session.remove()
    return html


def weasyprint_only(html: str) -> tuple[float, float, int, int]:
    """render_pdf alone: (wall seconds, CPU seconds, pages, bytes)."""
    from tracker.reports.pdf import StaticOnlyFetcher, render_pdf

    started, cpu = time.perf_counter(), time.process_time()
    pdf, pages = render_pdf(html, fetcher=StaticOnlyFetcher())
    return time.perf_counter() - started, time.process_time() - cpu, pages, len(pdf)


def measure(app, db_name: str, scale: int, lang: str, repeat: int) -> dict:
    """Warm up both, then ``repeat`` rounds of (whole report, WeasyPrint alone), interleaved so that a burst
    of load from elsewhere on the machine hits both alike; the best of each."""
    html = report_html_of(app, lang)
    full_render(app, lang)
    weasyprint_only(html)
    runs, alone_runs = [], []
    for _ in range(repeat):
        runs.append(full_render(app, lang))
        alone_runs.append(weasyprint_only(html))
    wall, cpu, best = min(runs, key=lambda run: run[0])
    alone = min(alone_runs)
    assert alone[2] == best.pages, (alone[2], best.pages)
    row = {
        "db": db_name, "scale": scale, "data_s": best.data_seconds, "html_s": best.html_seconds,
        "pdf_s": best.pdf_seconds, "total_s": wall, "weasyprint_only_s": alone[0],
        "ratio": wall / alone[0], "pages": best.pages, "kb": len(best.pdf) / 1024,
        "html_kb": len(html.encode()) / 1024, "all_totals_s": sorted(r[0] for r in runs),
        "all_weasyprint_s": sorted(r[0] for r in alone_runs),
        "cpu_total_s": min(r[1] for r in runs), "cpu_weasyprint_s": min(r[1] for r in alone_runs),
    }
    row["cpu_ratio"] = row["cpu_total_s"] / row["cpu_weasyprint_s"]
    print(f"  {db_name} scale {scale}: total {wall:.2f} s (data {best.data_seconds:.2f}, html "
          f"{best.html_seconds:.2f}, pdf {best.pdf_seconds:.2f}), WeasyPrint alone {alone[0]:.2f} s, "
          f"{best.pages} pages, {len(best.pdf) / 1024:.0f} KB (HTML {row['html_kb']:.0f} KB); "
          f"CPU of this process: total {row['cpu_total_s']:.2f} s, WeasyPrint alone {row['cpu_weasyprint_s']:.2f} s",
          flush=True)
    return row


def table(rows: list[dict]) -> str:
    lines = ["  ".join(HEADER)]
    for r in rows:
        lines.append("  ".join([
            r["db"], str(r["scale"]), f"{r['data_s']:.2f}", f"{r['html_s']:.2f}", f"{r['pdf_s']:.2f}",
            f"{r['total_s']:.2f}", f"{r['weasyprint_only_s']:.2f}", f"{r['ratio']:.2f}", str(r["pages"]),
            f"{r['kb']:.0f}",
        ]))
    widths = [max(len(line.split("  ")[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for line in lines:
        cells = line.split("  ")
        out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("BENCH_REPORT_PG_URL", DEFAULT_PG))
    parser.add_argument("--sqlite", default=DEFAULT_SQLITE, help="file of the SQLite database (deleted)")
    parser.add_argument("--scales", type=int, nargs="*", default=[1, 10], help="PostgreSQL scales")
    parser.add_argument("--sqlite-scales", type=int, nargs="*", default=[1])
    parser.add_argument("--lang", choices=("en", "fr"), default="en")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--json", help="also write the rows to FILE")
    args = parser.parse_args()

    from tracker.extensions import db

    rows = []
    plan = [("sqlite", k, f"sqlite:///{args.sqlite}") for k in args.sqlite_scales]
    plan += [("postgresql", k, args.pg) for k in args.scales]
    for db_name, scale, url in plan:
        print(f"{db_name}, scale {scale}", flush=True)
        if not args.no_seed:
            reset_sqlite(args.sqlite) if db_name == "sqlite" else reset_postgres(url)
        app = make_app(url)
        if not args.no_seed:
            seed(app, scale)
        rows.append(measure(app, db_name, scale, args.lang, args.repeat))
        with app.app_context():
            db.engine.dispose()
    print()
    print(f"Fund report ({args.lang}), best of {args.repeat} by total time; WeasyPrint-only is render_pdf on "
          "the same HTML, best of the same number")
    print(table(rows))
    print()
    print("CPU seconds of this process (less sensitive to other load on the machine), best of each:")
    for r in rows:
        print(f"  {r['db']:<10}  scale {r['scale']:>2}: total {r['cpu_total_s']:.2f} s, WeasyPrint alone "
              f"{r['cpu_weasyprint_s']:.2f} s, ratio {r['cpu_ratio']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
