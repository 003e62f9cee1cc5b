"""Render a donor report: HTML for the browser preview, PDF for issuing, both from the same template."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from flask import render_template, url_for
from flask_babel import force_locale

from tracker.models import Donor
from tracker.reports.data import ReportData, build_report
from tracker.reports.pdf import StaticOnlyFetcher, render_pdf


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    data_seconds: float
    html_seconds: float
    pdf_seconds: float


def report_html(data: ReportData, *, for_pdf: bool) -> str:
    asset_base = "static/" if for_pdf else url_for("static", filename="")
    return render_template("reports/pdf/report.html", r=data, asset_base=asset_base)


def render_report(*, scope: str, date_from: dt.date | None, date_to: dt.date | None, lang: str,
                  donor: Donor | None = None, number: str | None = None, verify_url: str | None = None,
                  before_layout=None) -> Rendered:
    """Build the data, the HTML and the PDF of a report in its language, timing each step.

    ``before_layout`` runs once the data is read and before WeasyPrint's long layout (the
    archive ends its read transaction there, so nobody waits on it).
    """
    with force_locale(lang):
        t0 = time.perf_counter()
        data = build_report(scope=scope, date_from=date_from, date_to=date_to, lang=lang, donor=donor,
                            number=number, verify_url=verify_url)
        t1 = time.perf_counter()
        html = report_html(data, for_pdf=True)
        if before_layout is not None:
            before_layout()
        t2 = time.perf_counter()
        pdf, pages = render_pdf(html, fetcher=StaticOnlyFetcher())
        t3 = time.perf_counter()
    return Rendered(pdf, pages, t1 - t0, t2 - t1, t3 - t2)
