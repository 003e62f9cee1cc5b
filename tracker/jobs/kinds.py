"""The kinds of job: what a job of each kind runs, what it is called, where its result is shown.

A feature registers its kinds when it is imported (``tracker.reports.archive``
registers ``render_report``); the jobs package never imports the features.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JobRun:
    """What a kind's function gets: the job's id and arguments, and a way to report progress."""

    id: int
    params: dict
    report_progress: Callable[[int, int | None], None] = field(repr=False)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record ``done`` (of ``total``) units; also the heartbeat. Call it between transactions of the work."""
        self.report_progress(done, total)


@dataclass(frozen=True)
class Kind:
    name: str
    #: ``run(job_run)`` does the work in one or more transactions, each complete; it raises to fail the job.
    run: Callable[[JobRun], None]
    #: Lazy strings: the kind's name and the unit of its progress, as people read them.
    label: object
    unit: object
    #: The page a finished job leads to: ``(endpoint, argument)`` for ``url_for(endpoint, **{argument:
    #: job.subject})``, or ``result(job)`` giving its URL (``None``: no such page).
    result: tuple[str, str] | Callable[[Any], str | None] | None = None
    #: ``subject_label(subject)``: the subject as people read it (an import kind's name, ``disbursements``, as
    #: its label, "Disbursements"); the subject itself when not given.
    subject_label: Callable[[str], str] | None = None
    #: ``on_failed(params, reason)``: mark what the job was making as failed, in the transaction that fails the job.
    on_failed: Callable[[dict, str], None] | None = None


KINDS: dict[str, Kind] = {}
#: What a stored failure reason (an error's class name) means, in words, for the reasons a feature knows:
#: ``{"NotAllowed": lazy string}``; any other reason is shown as it is, with a pointer to the log.
REASONS: dict[str, object] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def get(name: str) -> Kind | None:
    return KINDS.get(name)
