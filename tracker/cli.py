"""``flask`` commands: users, demo data, data keys.

Commands print clear messages and exit with status 1 on bad input, having
written nothing.
"""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from tracker import audit
from tracker.extensions import db

users_cli = AppGroup("users", help="Manage users.")
data_key_cli = AppGroup("data-key", help="Manage the keys of personal fields.")


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, help="admin, manager, staff or donor")
@click.option("--country", "countries", multiple=True, help="ISO 3166 alpha-2 code; repeat for several")
@click.option("--donor", "donor_name", help="the donor a donor user reads reports for")
@click.option("--name", help="the name shown for this user")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.option("--locale", default="en", help="en or fr")
def users_create(email, role, countries, donor_name, name, password_stdin, locale):
    """Create a user; the password is asked for, or read from standard input."""
    from tracker.auth.services import UserError, create_user

    if locale not in current_app.config["LANGUAGES"]:
        fail(f"unknown language {locale!r}; use en or fr")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with audit.acting_as(None, "cli"):
            user = create_user(email=email, role=role, password=password, countries=countries,
                               donor_name=donor_name, name=name, locale=locale)
            db.session.commit()
    except UserError as error:
        db.session.rollback()
        fail(str(error))
    click.echo(f"Created {user.role} {user.email}" + (f" for {', '.join(user.countries)}" if user.countries else ""))


@click.command("seed-demo")
@with_appcontext
@click.option("--seed", default=1, show_default=True, help="the same seed gives the same data")
@click.option("--scale", default=1, show_default=True, help="multiplies people and payments")
@click.option("--force", is_flag=True,
              help="add demo data to a database that holds the demo's, or data but no people")
def seed_demo(seed, scale, force):
    """Load realistic, deterministic demo data into an empty database (development and testing only).

    Refused, with status 1, outside TRACKER_ENV=development or testing, and on a
    database holding users or mothers that the demo did not load, whatever the flags.
    """
    from tracker.demo import DEMO_USERS, database_is_empty, holds_demo, refusal
    from tracker.demo import seed_demo as run_seed

    if scale < 1:
        fail("--scale must be 1 or more")
    refused = refusal()
    if refused:
        fail(refused)
    if not force and not database_is_empty():
        if holds_demo():
            click.echo("The database holds the demo data already; nothing seeded (use --force to add more).")
        else:
            click.echo("The database holds data already; nothing seeded (use --force to add demo data anyway).")
        from tracker.models import User

        if db.session.scalar(select(User.id).where(User.email == DEMO_USERS[0]["email"])) is not None:
            print_demo_users(DEMO_USERS)
        return
    summary = run_seed(seed=seed, scale=scale, progress=lambda msg: click.echo(msg, err=True))
    click.echo("Demo data loaded: " + ", ".join(f"{n} {what}" for what, n in summary.items()))
    print_demo_users(DEMO_USERS)


def print_demo_users(users) -> None:
    click.echo("Demo sign-ins (development only):")
    for user in users:
        where = f" ({', '.join(user['countries'])})" if user.get("countries") else ""
        click.echo(f"  {user['role']:<8} {user['email']:<28} {user['password']}{where}")


@data_key_cli.command("rotate")
def data_key_rotate():
    """Re-encrypt every personal field under the first key of TRACKER_DATA_KEY and re-hash names.

    Put the new key first in TRACKER_DATA_KEY (keeping the old ones after it),
    run this, then remove the old keys.
    """
    from tracker.crypto import keyring
    from tracker.models import Base, Beneficiary
    from tracker.models.base import Encrypted

    ring = keyring()
    counts = {}
    encrypted = [
        (mapper.class_, tuple(c.key for c in mapper.columns if isinstance(c.type, Encrypted)))
        for mapper in Base.registry.mappers
    ]
    with audit.suspended():
        for model, fields in ((m, f) for m, f in encrypted if f):
            table = model.__table__
            n = 0
            for row in db.session.execute(select(table.c.id, *(table.c[f] for f in fields))):
                values = {}
                for field in fields:
                    raw = row._mapping[table.c[field]]
                    if raw is not None:
                        values[field] = raw  # already decrypted by the column type
                if model is Beneficiary and "full_name" in values:
                    values["name_hash"] = ring.name_hash(values["full_name"])
                if values:
                    db.session.execute(table.update().where(table.c.id == row.id).values(**values))
                    n += 1
            counts[model.__tablename__] = n
    audit.record(db.session, "data_key_rotated", changes={k: [None, v] for k, v in counts.items()})
    db.session.commit()
    click.echo("Re-encrypted: " + ", ".join(f"{n} {t}" for t, n in counts.items()))


def init_app(app) -> None:
    from tracker.funding.commands import plan_cli
    from tracker.iati.commands import export_cli
    from tracker.imports.commands import import_command
    from tracker.jobs.commands import jobs_cli
    from tracker.reports.commands import report_cli

    app.cli.add_command(report_cli)
    app.cli.add_command(plan_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(data_key_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(import_command)
    app.cli.add_command(jobs_cli)
