"""Upload pages: choose a kind, upload, check the dry run, confirm.

The routes of one kind declare ``SIGNED_IN`` and check the kind's own
permission in the view (:func:`_kind_or_404`), because each kind names its
permission (records, funding, rates...).

A file larger than ``IMPORT_JOB_BYTES`` is checked, and then imported, by a
job (tracker/imports/jobs.py): the upload and the confirmation lead to the
job's page, which shows its progress and ends on :func:`job_result`, the same
preview or summary as a small file's.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from tracker.auth.permissions import SIGNED_IN, permission
from tracker.exports import csv_response, xlsx_response
from tracker.extensions import db
from tracker.imports import jobs
from tracker.imports.blueprint import bp
from tracker.imports.forms import ConfirmForm, UploadForm
from tracker.imports.kinds import KINDS, FileProblem, Kind, history_refusal
from tracker.imports.pending import (
    UploadGone,
    UploadNotYours,
    claim_upload,
    discard_upload,
    load_claimed,
    store_file,
    store_upload,
)
from tracker.imports.reading import MAX_BYTES, parse_upload, refuse_at_once
from tracker.imports.running import ImportResult, run_import
from tracker.jobs.queries import visible_jobs
from tracker.models import Job


@dataclass(frozen=True)
class ColumnView:
    name: str
    required: bool
    help: str


@dataclass(frozen=True)
class KindView:
    name: str
    label: str
    columns: tuple[ColumnView, ...]


def _view(kind: Kind) -> KindView:
    return KindView(kind.name, str(kind.label),
                    tuple(ColumnView(c.name, c.required, str(c.help)) for c in kind.columns))


def _kind_or_404(name: str) -> Kind:
    """The kind named in the URL, if the user may import it (donors learn nothing: 404)."""
    kind = KINDS.get(name)
    if kind is None:
        abort(404)
    if not _may_import(kind):
        abort(404 if current_user.role == "donor" else 403)
    return kind


def _may_import(kind: Kind) -> bool:
    """Importing a kind needs its permission, or only its history permission to load past records."""
    return current_user.can(kind.permission) or _may_load_history(kind)


def _history_only(kind: Kind) -> bool:
    return not current_user.can(kind.permission)


def _may_load_history(kind: Kind) -> bool:
    return kind.supports_history and current_user.can(kind.history_permission)


@bp.route("/")
@permission("records.view")
def index():
    kinds = sorted((_view(k) for k in KINDS.values() if _may_import(k)), key=lambda k: k.label)
    return render_template("imports/index.html", kinds=kinds)


@bp.route("/<kind_name>", methods=["GET", "POST"])
@permission(SIGNED_IN)
def upload(kind_name: str):
    kind = _kind_or_404(kind_name)
    form = UploadForm()
    may_history = _may_load_history(kind)
    if not may_history:
        del form.history
    if form.validate_on_submit():
        storage = form.file.data
        data = storage.read(MAX_BYTES + 1)
        filename = storage.filename or ""
        history = bool(may_history and (form.history.data or _history_only(kind)))
        user_id = current_user.id
        refused = history_refusal(kind) if history else None
        if refused:
            form.file.errors = [refused]
            return render_template("imports/upload.html", kind=_view(kind), form=form)
        try:
            if jobs.runs_as_job(len(data)):
                refuse_at_once(data, filename)
                token = store_file(data, user_id=user_id, kind=kind.name, history=history, filename=filename)
                job = jobs.start_check(kind, token, current_user._get_current_object(), history)
                return redirect(url_for("jobs.show", job_id=job.id), code=303)
            parsed = parse_upload(data, filename, kind)
        except FileProblem as problem:
            form.file.errors = [problem.message]
        else:
            result = run_import(kind, parsed, read_errors=parsed.errors, user=current_user._get_current_object(),
                                dry_run=True, history=history)
            confirm = None
            if result.ok:
                token = store_upload(parsed, user_id=user_id, kind=kind.name, history=history, filename=filename,
                                     size=len(data))
                confirm = ConfirmForm(token=token)
            return _preview(kind, result, confirm=confirm, filename=filename, history=history)
    return render_template("imports/upload.html", kind=_view(kind), form=form)


@bp.route("/<kind_name>/confirm", methods=["POST"])
@permission(SIGNED_IN)
def confirm(kind_name: str):
    """Import for real the rows checked on the preview, kept on the server under the form's token.

    The rows are those read for the preview: the file is not read again.
    """
    kind = _kind_or_404(kind_name)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        pending = claim_upload(form.token.data, user_id=current_user.id, kind=kind.name)
    except UploadNotYours:
        abort(404)
    except UploadGone:
        flash(_("This upload is no longer waiting: it was imported already or is older than an hour. "
                "Upload the file again."), "error")
        return redirect(url_for(".upload", kind_name=kind.name))
    in_job = False
    try:
        history = pending.history and _may_load_history(kind)
        refused = history_refusal(kind) if history else None
        if refused:
            flash(refused, "error")
            return redirect(url_for(".upload", kind_name=kind.name))
        if jobs.runs_as_job(pending.size):
            job = jobs.start_save(kind, pending.token, current_user._get_current_object(), history)
            in_job = True  # the job imports the rows taken aside, then discards them
            return redirect(url_for("jobs.show", job_id=job.id), code=303)
        pending = load_claimed(pending.token)
        result = run_import(kind, pending.parsed, read_errors=pending.parsed.errors,
                            user=current_user._get_current_object(), dry_run=False, history=history)
    except UploadGone:
        flash(_("This upload is no longer waiting: it was imported already or is older than an hour. "
                "Upload the file again."), "error")
        return redirect(url_for(".upload", kind_name=kind.name))
    finally:
        if not in_job:
            discard_upload(pending.token)
    if result.committed:
        flash(_summary(result), "success")
        return redirect(url_for(".upload", kind_name=kind.name))
    return _preview(kind, result, confirm=None, filename=pending.filename, history=history)


@bp.route("/<kind_name>/jobs/<int:job_id>")
@permission(SIGNED_IN)
def job_result(kind_name: str, job_id: int):
    """Where a finished import job leads: the page the request would have shown for a small file.

    Only the person who uploaded may confirm; a manager watching her
    country's jobs sees the same preview without the button.
    """
    kind = _kind_or_404(kind_name)
    job = db.session.scalars(visible_jobs(current_user).where(
        Job.id == job_id, Job.kind.in_((jobs.CHECK.name, jobs.SAVE.name)), Job.subject == kind.name)).one_or_none()
    if job is None:
        abort(404)
    if job.state != "done":
        return redirect(url_for("jobs.show", job_id=job.id))
    kept = jobs.kept_result(job)
    if kept is None:
        abort(404)
    document, result = kept
    params = json.loads(job.params)
    if result is None:  # the file itself was refused: the upload form says why, as for a small file
        form = UploadForm()
        if not _may_load_history(kind):
            del form.history
        form.file.errors = [document["problem"]]
        return render_template("imports/upload.html", kind=_view(kind), form=form)
    if job.kind == jobs.SAVE.name and result.committed:
        if job.started_by_id == current_user.id:
            flash(_summary(result), "success")
            return redirect(url_for(".upload", kind_name=kind.name))
    confirm = None
    if job.kind == jobs.CHECK.name and document["confirmable"] and job.started_by_id == current_user.id:
        confirm = ConfirmForm(token=params["token"])
    return _preview(kind, result, confirm=confirm, filename=document["filename"], history=document["history"],
                    summary=_summary(result) if result.committed else None)


def _preview(kind: Kind, result: ImportResult, *, confirm: ConfirmForm | None, filename: str, history: bool,
             summary: str | None = None):
    """The dry run's (or a failed import's) page; at most :data:`~tracker.imports.jobs.KEPT_ERRORS` problems are
    listed, so that the page of a file wrong on every row still comes at once."""
    shown = jobs.KEPT_ERRORS
    more = len(result.errors) > shown or getattr(result, "truncated", False)
    return render_template("imports/preview.html", kind=_view(kind), result=result, confirm=confirm,
                           filename=filename, history=history, summary=summary, shown_errors=shown,
                           more_problems=more)


def _summary(result: ImportResult) -> str:
    rows = ngettext("Imported %(num)d row", "Imported %(num)d rows", result.total)
    return _("%(rows)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.", rows=rows,
             created=result.created, updated=result.updated, unchanged=result.unchanged)


def _template_rows(kind: Kind) -> tuple[list[str], list[list[str]]]:
    header = list(kind.column_names)
    return header, [[example.get(name, "") for name in header] for example in kind.example_rows]


@bp.route("/<kind_name>/template.csv")
@permission(SIGNED_IN)
def template_csv(kind_name: str):
    kind = _kind_or_404(kind_name)
    header, rows = _template_rows(kind)
    return csv_response(f"{kind.name}-template.csv", header, rows)


@bp.route("/<kind_name>/template.xlsx")
@permission(SIGNED_IN)
def template_xlsx(kind_name: str):
    """The header and example rows, and a second sheet "help" explaining each column."""
    kind = _kind_or_404(kind_name)
    header, rows = _template_rows(kind)
    help_rows = [[c.name, _("required") if c.required else _("optional"), str(c.help)] for c in kind.columns]
    return xlsx_response(f"{kind.name}-template.xlsx", header, rows, sheet_title=kind.name,
                         more_sheets=[("help", [_("column"), _("required or optional"), _("help")], help_rows)])
