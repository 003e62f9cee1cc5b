"""The allocation planner's proposal (:mod:`tracker.funding.planner`) as JSON and CSV.

``flask plan allocations`` prints them and ``GET /api/v1/plan`` answers the same JSON. Money is a string with
two decimals (:func:`tracker.funding.serialise.amount_text`), a runway a number to one decimal or null, as in the
funding picture's JSON; only the projects the plan gives something appear, by code.
"""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

from tracker.funding.planner import Plan, Standing
from tracker.funding.serialise import amount_text, csv_cells, figures_dict

#: The figures an allocation moves, in this order in the JSON and the CSV.
STANDING_KEYS = ("children_at_risk", "balance", "runway_months", "gap", "overcommitted", "allocated")
#: An amount as the command and the API take it: US dollars, digits and at most two decimals after a dot.
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
#: Project codes separated by commas (the order of ``share=order``), as the API's OpenAPI document states it.
ORDER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}(,[A-Za-z0-9][A-Za-z0-9._-]{0,59}){0,199}$"
#: The largest amount a plan takes (as any amount typed into the tracker: below a million million).
MAX_AMOUNT = Decimal("999999999999.99")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def parse_amount(raw: str) -> Decimal:
    """The amount given as text (``"1250.50"``); a :class:`ValueError` saying what is wrong otherwise."""
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not an amount in US dollars like 1250.50 (digits and one dot only)")
    if text.startswith("-"):
        raise ValueError(f"the amount cannot be negative; got {text[:40]}")
    if len(text.partition(".")[2]) > 2:
        raise ValueError(f"the amount has more than two decimals; got {text[:40]}")
    value = Decimal(text)
    if value > MAX_AMOUNT:
        raise ValueError(f"the amount is too large: at most {MAX_AMOUNT}")
    return value.quantize(Decimal("0.01"))


def standing_dict(s: Standing) -> dict:
    return figures_dict(s, STANDING_KEYS)


def plan_dict(plan: Plan) -> dict:
    """The proposal: the money, the totals before and after, and each allocation (by project code)."""
    out = {
        "scope": plan.scope,
        "to": plan.date_to.isoformat(),
        "share": plan.share,
        "with_pledges": plan.with_pledges,
        "amount": amount_text(plan.amount),
        "pledges": amount_text(plan.pledges),
        "available": amount_text(plan.available),
        "total": amount_text(plan.total),
        "left": amount_text(plan.left),
        "unallocated": amount_text(plan.unallocated),
        "fingerprint": plan.fingerprint,
        "before": standing_dict(plan.before),
        "after": standing_dict(plan.after),
        "allocations": [{
            "project": line.code,
            "country": line.country,
            "amount_usd": amount_text(line.amount_usd),
            "children_covered": line.children_covered,
            "reasons": list(line.reasons),
            "before": standing_dict(line.before),
            "after": standing_dict(line.after),
        } for line in sorted(plan.allocations, key=lambda line: line.code)],
    }
    if plan.with_pledges:
        out["pots"] = [{"kind": pot.kind, "key": pot.key, "amount": amount_text(pot.amount),
                        "used": amount_text(pot.used)} for pot in plan.pots]
    return out


def plan_json(plan: Plan) -> str:
    return json.dumps(plan_dict(plan), indent=2, ensure_ascii=False) + "\n"


def csv_header() -> list[str]:
    return ["project", "country", "amount_usd", "children_covered",
            *(f"before_{key}" for key in STANDING_KEYS), *(f"after_{key}" for key in STANDING_KEYS)]


def _cells(s: Standing) -> list[str]:
    return csv_cells(s, STANDING_KEYS)


def csv_rows(plan: Plan):
    """One row per allocation, by project code, then a TOTAL row (the scope's figures before and after)."""
    yield csv_header()
    for line in sorted(plan.allocations, key=lambda line: line.code):
        yield [line.code, line.country, amount_text(line.amount_usd), str(line.children_covered),
               *_cells(line.before), *_cells(line.after)]
    yield ["TOTAL", "", amount_text(plan.total), str(plan.children_covered), *_cells(plan.before),
           *_cells(plan.after)]


def plan_csv(plan: Plan) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(csv_rows(plan))
    return out.getvalue()


def parse_order(text: str) -> tuple[str, ...]:
    """Project codes separated by commas, first served first; ``ValueError`` says what is wrong."""
    if not re.fullmatch(ORDER_PATTERN, text):
        raise ValueError(f"{text[:60]!r} is not a list of project codes separated by commas, such as "
                         "TF-CD-2025-01,TF-CF-2025-01")
    return tuple(text.split(","))
