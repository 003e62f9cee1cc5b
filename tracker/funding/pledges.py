"""What each pledge still owes, in its own currency (DESIGN section 3), for the engine and every pledge table.

A donor promises an amount in a currency, and pays that amount in that
currency: a pledge of NOK 362,000 paid with NOK 362,000 owes nothing, however
the krone moved against the dollar in between. So the remainder is worked out
in the pledge's currency and only then valued in USD, at the pledge's frozen
rate. Comparing USD at the pledge's rate with USD at the receipt rates (as an
earlier version did) made paid pledges look unpaid whenever a currency fell.

What the rates did is kept apart, as the exchange difference: for each
contribution against a pledge, its frozen USD value less its amount in the
pledge's currency valued at the pledge's rate.

The arithmetic is per record (each rounding rule of section 3 is per pledge or
per contribution), on exact Decimals, from two queries: the pledges, and the
contributions made against them with the rate they need. The Fund has a few
hundred pledges, so this is the one place where the engine adds up in Python.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, literal, select

from tracker.extensions import db
from tracker.models import Contribution, Donor, ExchangeRate, Pledge, Project
from tracker.money import from_usd, to_usd

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PledgePosition:
    """A pledge as of a day: what was received against it, what it still owes and what the rates did."""

    id: int
    reference: str
    donor_id: int
    donor: str
    amount: Decimal
    currency: str
    usd_amount: Decimal
    usd_rate: Decimal
    pledged_on: dt.date
    #: The earmarked project, and the country the pledge is earmarked for (the project's, for a project earmark).
    project_id: int | None
    project_code: str | None
    country: str | None
    #: Received against the pledge up to the day, in the pledge's currency and at the receipts' frozen USD.
    received: Decimal
    received_usd: Decimal
    #: max(amount − received, 0) in the pledge's currency, and that at the pledge's rate (USD, cents).
    remaining: Decimal
    outstanding: Decimal
    #: Σ over the receipts of their USD − their amount in the pledge's currency × the pledge's rate.
    exchange_difference: Decimal
    as_of: dt.date

    @property
    def earmarked(self) -> bool:
        return self.project_id is not None or self.country is not None

    @property
    def age_days(self) -> int | None:
        """Days since the pledge while something is still owed; ``None`` once it is received in full."""
        return (self.as_of - self.pledged_on).days if self.remaining > 0 else None

    def earmarked_for(self, *, countries=None, project_id: int | None = None) -> bool:
        """Earmarked for ``project_id``, or for one of ``countries`` (its projects included)."""
        if project_id is not None:
            return self.project_id == project_id
        return self.country is not None and self.country in countries


def pledge_positions(to: dt.date, *, donor_id: int | None = None, outstanding_only: bool = False,
                     newest_first: bool = False) -> list[PledgePosition]:
    """Every pledge made up to ``to``, with what it owes as of ``to`` (oldest first unless ``newest_first``)."""
    stmt = (
        select(Pledge.id, Pledge.reference, Pledge.donor_id, Donor.name, Pledge.amount, Pledge.currency,
               Pledge.usd_amount, Pledge.usd_rate, Pledge.pledged_on, Pledge.project_id, Project.code,
               Pledge.country, Project.country)
        .join(Donor, Donor.id == Pledge.donor_id)
        .outerjoin(Project, Project.id == Pledge.project_id)
        .where(Pledge.pledged_on <= to)
    )
    if donor_id is not None:
        stmt = stmt.where(Pledge.donor_id == donor_id)
    if newest_first:
        stmt = stmt.order_by(Pledge.pledged_on.desc(), Pledge.reference)
    else:
        stmt = stmt.order_by(Pledge.pledged_on, Pledge.reference)
    pledges = db.session.execute(stmt).all()
    receipts: dict[int, list] = {}
    for receipt in _receipts(to=to, donor_id=donor_id):
        receipts.setdefault(receipt.pledge_id, []).append(receipt)
    out = []
    for (pid, reference, donor, name, amount, currency, usd_amount, usd_rate, pledged_on, project_id, project_code,
         country, project_country) in pledges:
        received = received_usd = difference = ZERO
        for receipt in receipts.get(pid, ()):
            counted = in_pledge_currency(receipt)
            received += counted
            received_usd += receipt.usd_amount
            difference += receipt.usd_amount - to_usd(counted, currency, usd_rate)
        remaining = max(amount - received, ZERO)
        position = PledgePosition(
            id=pid, reference=reference, donor_id=donor, donor=name, amount=amount, currency=currency,
            usd_amount=usd_amount, usd_rate=usd_rate, pledged_on=pledged_on, project_id=project_id,
            project_code=project_code, country=project_country or country, received=received,
            received_usd=received_usd, remaining=remaining, outstanding=to_usd(remaining, currency, usd_rate),
            exchange_difference=difference, as_of=to,
        )
        if position.remaining > 0 or not outstanding_only:
            out.append(position)
    return out


def in_pledge_currency(receipt) -> Decimal:
    """What a contribution counts for against its pledge, in the pledge's currency (DESIGN section 3).

    Its own amount when it is in the pledge's currency; otherwise its frozen USD
    value at the pledge currency's rate in force on the day it was received (the
    pledge's own rate when the table has none that early), rounded half-even to
    the currency's minor unit.
    """
    if receipt.currency == receipt.pledge_currency:
        return receipt.amount
    return from_usd(receipt.usd_amount, receipt.pledge_currency, receipt.rate_then or receipt.pledge_rate)


def _receipts(*, to: dt.date | None = None, donor_id: int | None = None, contribution_ids=None):
    """Contributions against pledges, with what :func:`in_pledge_currency` needs, in the order received."""
    rate_then = (
        select(ExchangeRate.usd_per_unit)
        .where(ExchangeRate.currency == Pledge.currency, ExchangeRate.valid_from <= Contribution.received_on)
        .order_by(ExchangeRate.valid_from.desc())
        .limit(1)
        .correlate(Pledge, Contribution)
        .scalar_subquery()
    )
    # The rate is looked up only where the currencies differ (rare): most receipts are in the pledge's currency.
    stmt = (
        select(Contribution.id, Contribution.pledge_id, Contribution.amount, Contribution.currency,
               Contribution.usd_amount, Pledge.currency.label("pledge_currency"),
               Pledge.usd_rate.label("pledge_rate"),
               case((and_(Contribution.currency != Pledge.currency, Pledge.currency != "USD"), rate_then),
                    else_=literal(None)).label("rate_then"))
        .join(Pledge, Pledge.id == Contribution.pledge_id)
        .order_by(Contribution.pledge_id, Contribution.received_on, Contribution.id)
    )
    if to is not None:
        stmt = stmt.where(Contribution.received_on <= to)
    if donor_id is not None:
        stmt = stmt.where(Pledge.donor_id == donor_id)
    if contribution_ids is not None:
        stmt = stmt.where(Contribution.id.in_(contribution_ids))
    return db.session.execute(stmt).all()


def counted_against_pledges(contribution_ids) -> dict[int, tuple[Decimal, str]]:
    """For contributions against a pledge in another currency: (what they count for, the pledge's currency)."""
    ids = list(contribution_ids)
    if not ids:
        return {}
    return {r.id: (in_pledge_currency(r), r.pledge_currency)
            for r in _receipts(contribution_ids=ids) if r.currency != r.pledge_currency}
