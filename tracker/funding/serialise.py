"""The funding picture as the stable JSON and CSV of DESIGN section 7."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from tracker.funding.engine import Figures, FundingPicture, ProjectFigures

#: ``uncovered_gap`` in ``fund`` is a deprecated copy of ``totals.uncovered_gap`` (DESIGN section 7), for one release.
FUND_KEYS = ("pledged", "received", "outstanding_pledges", "exchange_difference", "allocated", "unallocated",
             "free_resources", "uncovered_gap")
FIGURE_KEYS = ("need", "allocated", "committed", "disbursed", "gap", "coverage", "balance", "overcommitted", "burn",
               "runway_months", "school_fee_forward_need", "children_at_risk")
TOTAL_KEYS = FIGURE_KEYS + ("earmarked_outstanding", "uncovered_gap")
PROJECT_KEYS = ("code", "country") + FIGURE_KEYS
MONEY_KEYS = {"pledged", "received", "outstanding_pledges", "exchange_difference", "allocated", "unallocated",
              "free_resources", "uncovered_gap", "earmarked_outstanding", "need", "committed", "disbursed", "gap",
              "balance", "overcommitted", "burn", "school_fee_forward_need"}


def amount_text(value: Decimal) -> str:
    """Money as a string with two decimals: ``"1250.50"``."""
    return f"{value.quantize(Decimal('0.01')):f}"


def ratio(value: Decimal | None):
    """A ratio as a JSON number, or null (4 decimals at most, so the number is exact)."""
    return None if value is None else float(value)


def figures_dict(f: Figures, keys) -> dict:
    """The figures named by ``keys`` (such as :data:`PROJECT_KEYS`) of a scope or project, as in the JSON of
    DESIGN section 7: money as two-decimal strings, ``coverage`` and ``runway_months`` as numbers or null.

    The API's project list uses it so that its figures read exactly as the funding picture's.
    """
    out = {}
    for key in keys:
        value = getattr(f, key)
        if key in MONEY_KEYS:
            out[key] = amount_text(value)
        elif key in ("coverage", "runway_months"):
            out[key] = ratio(value)
        else:
            out[key] = value
    return out


def picture_dict(p: FundingPicture) -> dict:
    return {
        "scope": p.scope,
        "from": p.date_from.isoformat(),
        "to": p.date_to.isoformat(),
        "as_of": p.as_of.isoformat(),
        "currency": "USD",
        "fund": {k: amount_text(getattr(p.fund, k)) for k in FUND_KEYS},
        "totals": figures_dict(p.totals, TOTAL_KEYS),
        "by_category": {c: {"need": amount_text(n), "disbursed": amount_text(d)}
                        for c, (n, d) in p.by_category.items()},
        "projects": [figures_dict(pr, PROJECT_KEYS) for pr in p.projects],
    }


def to_json(p: FundingPicture) -> str:
    import json

    return json.dumps(picture_dict(p), indent=2, ensure_ascii=False) + "\n"


def csv_rows(p: FundingPicture):
    """One row per project, then a TOTAL row; money as plain decimals, ratios as decimals or empty."""
    yield list(PROJECT_KEYS)
    for pr in p.projects:
        yield _csv_row(pr, pr.code, pr.country)
    yield _csv_row(p.totals, "TOTAL", "")


def _csv_row(f: Figures | ProjectFigures, code: str, country: str) -> list:
    return [code, country, *csv_cells(f, FIGURE_KEYS)]


def csv_cells(f, keys) -> list[str]:
    """The figures named by ``keys`` as CSV cells: money as plain decimals, ratios as decimals or empty."""
    cells = []
    for key in keys:
        value = getattr(f, key)
        if key in MONEY_KEYS:
            cells.append(amount_text(value))
        elif value is None:
            cells.append("")
        else:
            cells.append(str(value))
    return cells


def to_csv(p: FundingPicture) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv_rows(p):
        writer.writerow(row)
    return out.getvalue()
