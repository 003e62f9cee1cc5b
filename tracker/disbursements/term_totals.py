"""The running total of a whole-term batch before it is submitted: what the ticked rows come to in their
currencies and in USD, against the project's balance.

The USD value is the one approval would freeze (:func:`tracker.disbursements.services.approve`): each
payment's amount at the rate in force on the request's date, rounded to cents half-even, then added.
The balance is the funding engine's (:func:`tracker.funding.engine.project_balances`): allocations less
what is paid and what is approved to pay. Other payments still waiting for approval are not in it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tracker import validation as v
from tracker.errors import Invalid
from tracker.funding.engine import project_balances
from tracker.models import Project
from tracker.money import to_usd
from tracker.rates import rate_on

ZERO = Decimal("0")


@dataclass(frozen=True)
class BatchTotals:
    #: Rows ticked, and those of them whose amount could be read (only those are added up).
    ticked: int
    counted: int
    #: ``(currency, total)`` in the order of the currencies' codes.
    by_currency: list[tuple[str, Decimal]]
    #: ``None`` when a ticked currency has no rate on ``rate_day``.
    usd: Decimal | None
    rate_day: dt.date
    rates: dict[str, Decimal]
    missing_rates: list[str]
    balance: Decimal
    #: Row (enrolment id) → why its amount was left out of the totals.
    unreadable: dict[int, str] = field(default_factory=dict)

    @property
    def over_by(self) -> Decimal:
        """How much the selection's USD value exceeds the balance (0 when it fits or is unknown)."""
        if self.usd is None:
            return ZERO
        return max(self.usd - self.balance, ZERO)

    @property
    def left_after(self) -> Decimal | None:
        """The balance left once the selection is approved, when it fits."""
        if self.usd is None or self.over_by:
            return None
        return self.balance - self.usd


def batch_totals(*, project: Project, rows: Iterable, ticked: Iterable[int], amounts: Mapping[int, str],
                 entered_on, today: dt.date) -> BatchTotals:
    """Totals of the ``ticked`` rows (:class:`~tracker.disbursements.queries.TermRow`) at the ``amounts`` typed
    (enrolment id → text; the row's fee when absent), for a request dated ``entered_on`` (``today`` when it is
    empty or not a date: the submission itself reports a bad date)."""
    try:
        day = v.date(entered_on, "entered_on", required=False, not_future=False) or today
    except Invalid:
        day = today
    chosen = set(ticked)
    sums: dict[str, Decimal] = {}
    usd_total = ZERO
    rates: dict[str, Decimal] = {}
    missing: list[str] = []
    unreadable: dict[int, str] = {}
    counted = count = 0
    for row in rows:
        if row.enrolment_id not in chosen:
            continue
        count += 1
        typed = amounts.get(row.enrolment_id)
        try:
            amount = row.fee_per_term if typed is None else v.amount(typed, "amount", row.currency)
        except Invalid as error:
            unreadable[row.enrolment_id] = "; ".join(str(m) for m in error.errors.values())
            continue
        counted += 1
        sums[row.currency] = sums.get(row.currency, ZERO) + amount
        if row.currency not in rates and row.currency not in missing:
            rate = Decimal("1") if row.currency == "USD" else rate_on(row.currency, day)
            if rate is None:
                missing.append(row.currency)
            else:
                rates[row.currency] = rate
        if row.currency in rates:
            usd_total += to_usd(amount, row.currency, rates[row.currency])
    balance = project_balances([project.id], today).get(project.id, ZERO)
    return BatchTotals(
        ticked=count, counted=counted, by_currency=sorted(sums.items()), usd=None if missing else usd_total,
        rate_day=day, rates={c: r for c, r in rates.items() if c != "USD"}, missing_rates=sorted(missing),
        balance=balance, unreadable=unreadable,
    )
