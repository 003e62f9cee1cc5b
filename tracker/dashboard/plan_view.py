"""What the planner's pages show, as plain data: the parameters and edits read from a request, the summary
sentence, each figure's before and after, and the labels of reasons and statuses."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from tracker import validation as v
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import country, format_money, locale_code, number
from tracker.funding.planner import SHARES, Plan, Standing
from tracker.models import Project
from tracker.models._helpers import in_language

#: Why a project gets money (planner.REASONS), as short labels.
REASON_LABELS = {
    "children": _l("children"),
    "overcommitment": _l("over-commitment"),
    "gap": _l("gap"),
}
#: How the money left after the children and the over-commitments is shared (planner.SHARES).
SHARE_LABELS = {
    "need": _l("In proportion to need"),
    "order": _l("In the order I set"),
}
#: Longest a priority number may be (a few hundred projects at most).
RANK_DIGITS = 4


@dataclass
class Params:
    """What the planner is asked: the money, the pledges or not, the country, how the rest is shared."""

    country: str | None = None
    amount_text: str = ""
    amount: Decimal | None = None
    with_pledges: bool = False
    share: str = "need"

    @property
    def scope(self) -> str:
        return f"country:{self.country}" if self.country else "fund"



@dataclass
class Edits:
    """The manager's amounts and priorities, as typed, and what is wrong with them (by project code)."""

    amounts: dict[str, Decimal] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    ranks: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    errors: dict[str, list[str]] = field(default_factory=dict)


def read_params(source, countries: list[str] | None) -> tuple[Params, dict[str, str]]:
    """The parameters from a query string or a form; a country outside the user's is for the caller to refuse
    (``None`` is returned for it in ``params.country`` and ``"outside"`` in the errors)."""
    errors: dict[str, str] = {}
    country = (source.get("country") or "").strip().upper()[:2] or None
    if country and countries is not None and country not in countries:
        errors["outside"] = country
        country = None
    amount_text = (source.get("amount") or "").strip()[:40]
    amount = None
    if amount_text:
        try:
            amount = v.amount(amount_text, "amount", "USD", allow_zero=True)
        except Invalid as error:
            errors["amount"] = error.errors["amount"]
    share = source.get("share") if source.get("share") in SHARES else "need"
    return Params(country=country, amount_text=amount_text, amount=amount,
                  with_pledges=source.get("with_pledges") in ("1", "on", "y"), share=share), errors


def read_edits(source, codes: list[str]) -> Edits:
    """Each open project's amount (``amount-CODE``; blank is 0) and priority (``rank-CODE``), as typed."""
    edits = Edits()
    ranked = []
    for code in codes:
        raw = (source.get(f"amount-{code}") or "").strip()[:40]
        edits.typed[code] = raw
        if raw:
            try:
                edits.amounts[code] = v.amount(raw, "amount", "USD", allow_zero=True)
            except Invalid as error:
                edits.errors.setdefault(code, []).append(error.errors["amount"])
        rank = (source.get(f"rank-{code}") or "").strip()[:12]
        if rank:
            edits.ranks[code] = rank
            if rank.isascii() and rank.isdigit() and len(rank) <= RANK_DIGITS and int(rank) > 0:
                ranked.append((int(rank), code))
            else:
                edits.errors.setdefault(code, []).append(
                    _("the priority must be a whole number from 1, such as 3 (%(value)s is not)", value=rank))
    unranked = [code for code in codes if code not in {c for _r, c in ranked}]
    edits.order = tuple(code for _r, code in sorted(ranked)) + tuple(unranked)
    return edits


def default_ranks(plan: Plan) -> dict[str, str]:
    """Priority numbers in the plan's order (the planner's: by code, when no order is set)."""
    codes = [line.code for line in plan.lines if line.open]
    rank = {code: i for i, code in enumerate(plan.order)}
    ordered = sorted(codes, key=lambda code: (rank.get(code, len(rank)), code))
    return {code: str(i) for i, code in enumerate(ordered, start=1)}


def summary(plan: Plan) -> str:
    """One sentence: what the plan's money does for the children, the over-commitment and the gap."""
    total = format_money(plan.total, "USD")
    if not plan.total:
        return _("This plan gives nothing: no figure changes.")
    effects = []
    at_risk, covered = plan.before.children_at_risk, plan.children_covered
    if at_risk and covered == at_risk:
        effects.append(ngettext("keeps the %(num)s child at risk in school next term",
                                "keeps all %(num)s children at risk in school next term", at_risk))
    elif at_risk and not covered:
        effects.append(ngettext("does not keep the %(num)s child at risk in school next term",
                                "keeps none of the %(num)s children at risk in school next term", at_risk))
    elif at_risk:
        effects.append(ngettext("keeps %(covered)s of the %(num)s child at risk in school next term",
                                "keeps %(covered)s of the %(num)s children at risk in school next term",
                                at_risk, covered=number(covered)))
    cleared = plan.before.overcommitted - plan.after.overcommitted
    if cleared > 0:
        effects.append(_("clears %(amount)s of over-commitment", amount=format_money(cleared, "USD")))
    gap = plan.before.gap - plan.after.gap
    if gap > 0:
        effects.append(_("covers %(amount)s of this year's gap", amount=format_money(gap, "USD")))
    if not effects:
        sentence = _("%(total)s keeps no more children in school, clears no over-commitment and covers none of "
                     "this year's gap: it only raises balances.", total=total)
    else:
        sentence = _("%(total)s %(effects)s.", total=total, effects=format_list(effects, locale=locale_code()))
    return _("If the pledges owed arrive, %(sentence)s", sentence=sentence) if plan.with_pledges else sentence


@dataclass(frozen=True)
class Change:
    """A figure before and after, as text; ``better`` when the after is an improvement."""

    before: str
    after: str
    changed: bool
    better: bool


def _runway(value: Decimal | None) -> str:
    return "—" if value is None else number(value, 1)


def changes(before: Standing, after: Standing) -> dict[str, Change]:
    """Children at risk, balance, runway, gap and over-commitment, before and after."""
    def change(b, a, text, higher_is_better):
        rank = (lambda x: Decimal(-1) if x is None else x) if higher_is_better else (lambda x: x)
        better = rank(a) > rank(b) if higher_is_better else a < b
        return Change(text(b), text(a), a != b, better)

    money = lambda x: format_money(x, "USD")  # noqa: E731
    return {
        "children_at_risk": change(before.children_at_risk, after.children_at_risk, number, False),
        "balance": change(before.balance, after.balance, money, True),
        "runway_months": change(before.runway_months, after.runway_months, _runway, True),
        "gap": change(before.gap, after.gap, money, False),
        "overcommitted": change(before.overcommitted, after.overcommitted, money, False),
    }


def pot_label(pot) -> str:
    if pot.kind == "free":
        return _("Free money (any project)")
    if pot.kind == "country":
        return _("Pledges earmarked for %(country)s", country=country(pot.key))
    return _("Pledges earmarked for %(project)s", project=pot.key)


def titles(codes) -> dict[str, str]:
    """Each project's title in the reader's language (:func:`tracker.models._helpers.in_language`)."""
    lang = locale_code()
    rows = db.session.execute(select(Project.code, Project.title, Project.title_fr).where(Project.code.in_(codes)))
    return {code: in_language(lang, title, title_fr) for code, title, title_fr in rows}
