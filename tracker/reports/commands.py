"""``flask report funding-gap``: the funding picture as JSON or CSV (DESIGN section 7), or the donor PDF;
``flask report claims``: the claims dashboard's figures, internal or public, as JSON or CSV.

It lives with the reports, which it renders for ``--format pdf``; the funding
package it reads never imports the reports.
"""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from tracker import validation as v
from tracker.errors import Invalid
from tracker.exports import write_output
from tracker.funding.engine import ScopeError, funding_picture
from tracker.funding.serialise import to_csv, to_json
from tracker.models.base import today
from tracker.registry.claim_figures import claims_csv, claims_summary, summary_json
from tracker.registry.claim_public import public_json, public_summary

report_cli = AppGroup("report", help="Reports on the Fund's money.")


def option_day(value: str | None, name: str):
    """The date given to ``--NAME`` (``YYYY-MM-DD``), or None; a bad one is a usage error naming the option."""
    if not value:
        return None
    try:
        return v.date(value, name, not_future=False)
    except Invalid as error:
        raise click.BadParameter(str(error.errors[name]), param_hint=f"--{name}") from None


@report_cli.command("funding-gap")
@click.option("--scope", default="fund", show_default=True, help="fund, country:CD or project:CODE")
@click.option("--from", "date_from", help="first day, YYYY-MM-DD (default: 1 January of this year)")
@click.option("--to", "date_to", help="last day, YYYY-MM-DD (default: today)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "pdf"]), default="json", show_default=True)
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write to FILE instead of stdout")
def funding_gap(scope, date_from, date_to, fmt, lang, output):
    """The funding-gap figures of a scope and period, as JSON, CSV or the donor PDF (not archived)."""
    if fmt == "pdf":
        _pdf(scope, option_day(date_from, "from"), option_day(date_to, "to"), lang, output)
        return
    try:
        picture = funding_picture(scope=scope, date_from=option_day(date_from, "from"),
                                  date_to=option_day(date_to, "to"), with_children=False)
    except ScopeError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    write_output(to_json(picture) if fmt == "json" else to_csv(picture), output)


@report_cli.command("claims")
@click.option("--to", "date_to", help="as of this day, YYYY-MM-DD (default: today; with --public: the last month "
                                      "end before it, at the latest the end of last month)")
@click.option("--public", is_flag=True, help="the public figures: Fund-wide, as of a month end, small counts "
                                             "suppressed")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write to FILE instead of stdout")
def claims(date_to, public, fmt, output):
    """Paternity claims by Member State (DESIGN section 3), every country, as JSON or CSV."""
    to = option_day(date_to, "to")
    if public:
        data = public_json(public_summary(today(), to))
    else:
        data = summary_json(claims_summary(to or today()))
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n" if fmt == "json" else claims_csv(data)
    write_output(text, output)


def _pdf(scope, date_from, date_to, lang, output):
    """Render the donor report from the command line (a preview: not numbered, not archived)."""
    from flask import current_app

    from tracker.reports.archive import check_request
    from tracker.reports.render import render_report

    if not output:
        click.echo("Error: a PDF needs -o FILE", err=True)
        sys.exit(1)
    try:
        check_request(scope=scope, date_from=date_from, date_to=date_to, lang=lang)
    except Invalid as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    with current_app.test_request_context():
        rendered = render_report(scope=scope, date_from=date_from, date_to=date_to, lang=lang)
    with open(output, "wb") as handle:
        handle.write(rendered.pdf)
    click.echo(f"Wrote {output}: {rendered.pages} pages, {len(rendered.pdf)} bytes", err=True)
