"""``flask export iati``: the IATI 2.03 activity file of every project."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from tracker import audit
from tracker.extensions import db
from tracker.models.base import today
from tracker.reports.commands import option_day

export_cli = AppGroup("export", help="Open-data exports of the Fund's figures.")


@export_cli.command("iati")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="the XML file to write")
@click.option("--from", "date_from", metavar="YYYY-MM-DD",
              help="first day of the transactions (default: from the beginning)")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="last day of the transactions (default: today)")
def export_iati(output, date_from, date_to):
    """Write every project as an IATI 2.03 activity (budgets of every year; transactions of the period).

    Disbursements are summed per quarter and category: no person, code or
    payee is in the file. The export is recorded in the audit log.
    """
    from tracker.iati.data import PeriodError, iati_export
    from tracker.iati.xml import to_xml

    start, end = option_day(date_from, "from"), option_day(date_to, "to") or today()
    try:
        export = iati_export(date_from=start, date_to=end)
    except PeriodError as error:
        raise click.BadParameter(f"{error}: --from {start} is after --to {end}"
                                 + ("" if date_to else " (today)"), param_hint="--to") from None
    data = to_xml(export)
    with open(output, "wb") as handle:
        handle.write(data)
    with audit.acting_as(None, "cli"):
        audit.record(db.session, "export", entity="iati", entity_id="fund", changes=export.audit_changes())
        db.session.commit()
    click.echo(f"Wrote {output}: {len(export.activities)} activities, {len(data)} bytes", err=True)

