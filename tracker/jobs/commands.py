"""``flask jobs recover``: what a restart left behind, before a worker starts (README, "Jobs")."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from tracker.jobs.queue import backend

jobs_cli = AppGroup("jobs", help="Long work run by a worker.")


@jobs_cli.command("recover")
def recover():
    """Queue again the jobs a dead worker left running (once), fail those interrupted twice, and, without
    Redis, run what is queued."""
    queue = backend()
    queue.start()
    if queue.name == "thread":
        queue.join(3600)
    click.echo("Interrupted jobs recovered.")
