"""``flask import KIND FILE [--dry-run] [--history] [--as EMAIL]``."""
from __future__ import annotations

import os
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from tracker import audit
from tracker.extensions import db
from tracker.imports.kinds import KINDS, FileProblem, history_refusal
from tracker.imports.reading import MAX_BYTES, parse_upload
from tracker.imports.running import ImportResult, run_import

#: Files with more data rows than this show their progress on stderr: a bar with the rows per second on a
#: terminal, one line with the time taken and the rate otherwise (a log, a cron job's mail).
PROGRESS_ABOVE = 200


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.command("import")
@click.argument("kind_name", metavar="KIND")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row and save nothing")
@click.option("--history", is_flag=True, help="load past records as history (kinds that allow it; needs --as)")
@click.option("--as", "as_email", metavar="EMAIL", help="the user the import is attributed to")
@with_appcontext
def import_command(kind_name, path, dry_run, history, as_email):
    """Import a CSV (UTF-8) or XLSX file of KIND: all rows, or nothing.

    Every bad row is printed as "row N: column: message" and the command
    exits with status 1; nothing is saved then.
    """
    # Messages are in the default language: there is no request to choose one.
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
        _import(kind_name, path, dry_run, history, as_email)


def _import(kind_name, path, dry_run, history, as_email):
    from tracker.models import User

    kind = KINDS.get(kind_name)
    if kind is None:
        known = ", ".join(sorted(KINDS)) or "none"
        _fail(f"unknown kind {kind_name!r}; the kinds are: {known}")
    user = None
    if as_email:
        user = db.session.scalar(select(User).where(User.email == as_email.strip().lower()))
        if user is None or not user.active:
            _fail(f"no active user {as_email!r}")
    if history:
        if not kind.supports_history:
            _fail(f"{kind.name} cannot be imported as history")
        if user is None:
            _fail("--history needs --as EMAIL of a user allowed to load history (an administrator)")
        if not user.can(kind.history_permission):
            _fail(f"{user.email} may not load {kind.name} as history")
        refused = history_refusal(kind)
        if refused:
            _fail(refused)
    elif user is not None and not user.can(kind.permission):
        _fail(f"{user.email} may not import {kind.name}")

    if os.path.getsize(path) > MAX_BYTES:
        _fail("the file is larger than 20 MB; split it into several files")
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        parsed = parse_upload(data, os.path.basename(path), kind)
    except FileProblem as problem:
        _fail(problem.message)

    with audit.acting_as(user.id if user is not None else None, "cli"):
        if len(parsed) > PROGRESS_ABOVE:
            started = time.monotonic()
            if sys.stderr.isatty():
                with click.progressbar(length=len(parsed), label=f"{kind.name}", file=sys.stderr,
                                       item_show_func=lambda rate: rate, show_eta=True) as bar:
                    result = run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=dry_run,
                                        history=history, progress=_advance(bar, started))
            else:
                result = run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=dry_run,
                                    history=history)
            click.echo(_pace(kind.name, len(parsed), time.monotonic() - started), err=True)
        else:
            result = run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=dry_run,
                                history=history)

    for error in result.errors:
        click.echo(str(error), err=True)
    click.echo(summary(result))
    if result.errors:
        sys.exit(1)


def _advance(bar, started: float):
    """Moves the bar to the rows done, and shows the rows per second so far beside it."""
    state = {"done": 0}

    def progress(done, total):
        seconds = time.monotonic() - started
        rate = f"{done / seconds:,.0f} rows/s" if seconds > 0 else ""
        bar.update(done - state["done"], current_item=rate)
        state["done"] = done

    return progress


def _pace(kind_name: str, rows: int, seconds: float) -> str:
    """``disbursements: 10,000 rows in 2.6 s (3,846 rows/s)``."""
    rate = f"{rows / seconds:,.0f}" if seconds > 0 else "-"
    return f"{kind_name}: {rows:,} rows in {seconds:.1f} s ({rate} rows/s)"


def summary(result: ImportResult) -> str:
    """``42 rows: 40 created, 2 unchanged``; ``nothing saved: 3 rows with errors``."""
    if result.errors:
        n = result.rows_with_errors
        return f"nothing saved: {n} row{'s' if n != 1 else ''} with errors"
    counts = ", ".join(f"{getattr(result, what)} {what}" for what in ("created", "updated", "unchanged")
                       if getattr(result, what)) or "nothing to do"
    rows = f"{result.total} row{'s' if result.total != 1 else ''}: {counts}"
    if result.dry_run:
        return f"dry run: nothing saved ({rows})"
    return rows
