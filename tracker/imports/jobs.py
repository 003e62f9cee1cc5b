"""Large imports as jobs (tracker/jobs): the check of an uploaded file, then its import once confirmed.

A file larger than ``IMPORT_JOB_BYTES`` is not read in the request that
uploads it: the request keeps it encrypted (:func:`~tracker.imports.pending.store_file`)
and starts an ``import_check`` job, which reads it, runs the dry run and keeps
its rows for the confirmation, as the upload page does for a small file.
Confirming starts an ``import_save`` job, which imports the rows checked. Both
report the rows done out of the file's, and their result page
(``imports.job_result``) is the page the request would have shown: the
preview with its problems or its confirm button, the file's problem on the
upload form, or the upload page with the import's summary.

What a job found is kept on the job, encrypted (``save_result``): the
counts, the first :data:`KEPT_ERRORS` problems and the file's name. Its
parameters hold only the upload's token, the kind, ``history`` and the
user's id. The work runs as the user who uploaded, in her language, within
her countries; if she may no longer import the kind, the job fails.
"""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from tracker.auth.scope import user_countries
from tracker.database import as_writer
from tracker.extensions import db
from tracker.imports import pending
from tracker.imports.kinds import KINDS, FileProblem, Kind, RowError
from tracker.imports.reading import parse_upload
from tracker.imports.running import ImportResult, run_import
from tracker.jobs import kinds as job_kinds
from tracker.jobs.kinds import JobRun
from tracker.jobs.queue import start_job
from tracker.jobs.services import read_result, save_result
from tracker.models import Job, User

#: Problems kept on a job and listed on its result page; the count of rows with problems is always whole.
KEPT_ERRORS = 1000


class NotAllowed(Exception):
    """The user who uploaded may no longer import this kind (or was disabled): the job fails."""


def runs_as_job(size: int) -> bool:
    """Whether a file of ``size`` bytes is checked and imported by a job rather than in the request."""
    above = current_app.config.get("IMPORT_JOB_BYTES")
    return above is not None and size > above


def may_import(user: User, kind: Kind) -> bool:
    """Importing a kind needs its permission, or only its history permission to load past records."""
    return user.can(kind.permission) or (kind.supports_history and user.can(kind.history_permission))


def _country(user: User) -> str | None:
    """Whose managers may watch the job: the uploader's one country; ``None`` (admins) when she has several."""
    countries = user_countries(user)
    return countries[0] if countries is not None and len(countries) == 1 else None


def start_check(kind: Kind, token: str, user: User, history: bool) -> Job:
    return _start(CHECK, kind, token, user, history)


def start_save(kind: Kind, token: str, user: User, history: bool) -> Job:
    return _start(SAVE, kind, token, user, history)


def _start(job_kind: job_kinds.Kind, kind: Kind, token: str, user: User, history: bool) -> Job:
    return start_job(kind=job_kind.name, params={"token": token, "kind": kind.name, "history": history,
                                                 "user_id": user.id},
                     user=user, country=_country(user), subject=kind.name)


def _setting_out(params: dict) -> tuple[Kind, User]:
    kind = KINDS.get(params["kind"])
    user = db.session.get(User, params["user_id"])
    if kind is None or user is None or not user.active or not may_import(user, kind):
        raise NotAllowed(params["kind"])
    return kind, user


def result_document(result: ImportResult | None, *, filename: str, history: bool, problem: str | None = None,
                    confirmable: bool = False) -> dict:
    """What a job keeps of an import for its result page."""
    document = {"filename": filename, "history": history, "problem": problem, "confirmable": confirmable}
    if result is not None:
        document.update(total=result.total, created=result.created, updated=result.updated,
                        unchanged=result.unchanged, committed=result.committed, dry_run=result.dry_run,
                        rows_with_errors=result.rows_with_errors, problems=len(result.errors),
                        errors=[[e.row, e.column, str(e.message)] for e in result.errors[:KEPT_ERRORS]])
    return document


class KeptResult(ImportResult):
    """An :class:`ImportResult` read back from a job; ``rows_with_errors`` counts the problems not kept too."""

    def __init__(self, document: dict):
        super().__init__(total=document["total"], created=document["created"], updated=document["updated"],
                         unchanged=document["unchanged"], committed=document["committed"],
                         dry_run=document["dry_run"],
                         errors=[RowError(row, column, message) for row, column, message in document["errors"]])
        self._rows_with_errors = document["rows_with_errors"]
        #: More problems were found than were kept.
        self.truncated = len(self.errors) < document.get("problems", len(self.errors))

    @property
    def rows_with_errors(self) -> int:
        return self._rows_with_errors


def kept_result(job: Job) -> tuple[dict, KeptResult | None] | None:
    """The document a finished import job kept, and its result (``None`` when the file itself was refused)."""
    document = read_result(job)
    if document is None:
        return None
    return document, (KeptResult(document) if "total" in document else None)


def _upload_gone(run: JobRun, history: bool) -> None:
    save_result(run.id, result_document(None, filename="", history=history, problem=str(
        _l("The file uploaded is no longer on the server (it waits one hour). Upload it again."))))


def _check(run: JobRun) -> None:
    kind, user = _setting_out(run.params)
    token, history = run.params["token"], run.params["history"]
    with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
        try:
            waiting = pending.load_waiting(token)
        except pending.UploadGone:
            _upload_gone(run, history)
            return
        parsed = waiting.parsed
        if parsed is None:
            try:
                parsed = parse_upload(waiting.data, waiting.filename, kind)
            except FileProblem as problem:
                pending.discard_upload(token)
                save_result(run.id, result_document(None, filename=waiting.filename, history=history,
                                                    problem=problem.message))
                return
            # Kept at once: a run interrupted after this point does not read the file again.
            pending.store_upload(parsed, user_id=user.id, kind=kind.name, history=history,
                                 filename=waiting.filename, size=waiting.size, token=token)
        run.progress(0, len(parsed))
        db.session.commit()  # what was read to set out ends here: the import's transaction begins as a writer
        with as_writer():
            result = run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=True, history=history,
                                progress=run.progress)
        if not result.ok:
            pending.discard_upload(token)
        save_result(run.id, result_document(result, filename=waiting.filename, history=history,
                                            confirmable=result.ok))


def _save(run: JobRun) -> None:
    kind, user = _setting_out(run.params)
    token, history = run.params["token"], run.params["history"]
    if db.session.get(Job, run.id).result is not None:
        return  # an earlier run committed the import (and its result) and was cut off before the job was done
    with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
        try:
            upload = pending.load_claimed(token)
        except pending.UploadGone:
            _upload_gone(run, history)
            return
        run.progress(0, len(upload.parsed))
        db.session.commit()
        with as_writer():
            result = run_import(kind, upload.parsed, read_errors=upload.parsed.errors, user=user, dry_run=False,
                                history=history, progress=run.progress,
                                before_commit=lambda done: save_result(
                                    run.id, result_document(done, filename=upload.filename, history=history),
                                    commit=False))
        if not result.committed:
            save_result(run.id, result_document(result, filename=upload.filename, history=history))
        pending.discard_upload(token)


def _forget_upload(params: dict, reason: str) -> None:
    pending.discard_upload(params.get("token", ""))


def _kind_label(name: str) -> str:
    kind = KINDS.get(name)
    return str(kind.label) if kind is not None else name


def _result_url(job: Job) -> str | None:
    if not job.subject:
        return None
    return url_for("imports.job_result", kind_name=job.subject, job_id=job.id)


job_kinds.REASONS[NotAllowed.__name__] = _l(
    "The person who uploaded the file may no longer import it (her role or her account changed); nothing of it "
    "was kept.")
CHECK = job_kinds.register(job_kinds.Kind(
    name="import_check", run=_check, label=_l("Checking a file"), unit=_l("rows"), result=_result_url,
    subject_label=_kind_label, on_failed=_forget_upload))
SAVE = job_kinds.register(job_kinds.Kind(
    name="import_save", run=_save, label=_l("Importing"), unit=_l("rows"), result=_result_url,
    subject_label=_kind_label, on_failed=_forget_upload))
