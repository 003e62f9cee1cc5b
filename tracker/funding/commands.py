"""``flask plan allocations``: the allocation planner's proposal (tracker/funding/planner.py) as JSON or CSV.

It reads and proposes; it allocates nothing and writes nothing to the database. Bad options are usage errors
naming the option (status 2), a scope that does not exist an error (status 1), as ``flask report funding-gap``.
"""
from __future__ import annotations

import sys
from decimal import Decimal

import click
from flask.cli import AppGroup

from tracker import validation as v
from tracker.countries import is_country
from tracker.errors import Invalid
from tracker.exports import write_output
from tracker.funding.engine import ScopeError, parse_scope
from tracker.funding.plan_serialise import parse_amount, parse_order, plan_csv, plan_json
from tracker.funding.planner import SHARES, propose

plan_cli = AppGroup("plan", help="The allocation planner: where money not yet allocated keeps the most children "
                                 "in school.")


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_amount(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--amount") from None


def _day(value: str | None):
    if not value:
        return None
    try:
        return v.date(value, "to", not_future=False)
    except Invalid as error:
        raise click.BadParameter(str(error.errors["to"]), param_hint="--to") from None


def _order(value: str | None, share: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if share != "order":
        raise click.BadParameter("an order is for --share order", param_hint="--order")
    try:
        return parse_order(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--order") from None


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@plan_cli.command("allocations")
@click.option("--amount", help="US dollars to share out, such as 25000 or 1250.50 (default: the Fund's money "
                               "received and not yet allocated, as of --to)")
@click.option("--with-pledges", is_flag=True, help="count the pledges still owed too, as they are earmarked")
@click.option("--scope", default="fund", show_default=True, help="fund, country:CD or project:CODE")
@click.option("--to", "date_to", help="the day the allocations would be dated, YYYY-MM-DD (default: today)")
@click.option("--share", type=click.Choice(SHARES), default="need", show_default=True,
              help="what is left once children and over-commitments are served: in proportion to each "
                   "project's gap (need) or project by project in the --order given (order)")
@click.option("--order", help="with --share order: project codes separated by commas, first served first (the "
                              "projects not named come after, by code)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write to FILE instead of stdout")
def allocations(amount, with_pledges, scope, date_to, share, order, fmt, output):
    """Propose allocations of an amount: first the fewest children at risk of losing school, then the
    over-commitments cleared, the smallest first, then the remaining gaps. Every country; nothing is allocated."""
    money = _amount(amount)
    to = _day(date_to)
    codes = _order(order, share)
    try:
        kind, value = parse_scope(scope)
        if kind == "country" and not is_country(value):
            _fail(f"unknown country {value!r} in scope {scope!r}: use an ISO 3166 code such as country:CD")
        plan = propose(amount=money, with_pledges=with_pledges, scope=scope, date_to=to, countries=None,
                       share=share, order=codes)
    except ScopeError as error:  # a PlanError too: the message says what is wrong
        _fail(str(error))
    write_output(plan_json(plan) if fmt == "json" else plan_csv(plan), output)
