"""Write an :class:`~tracker.iati.data.Export` as an IATI 2.03 ``iati-activities`` document (lxml).

Children are appended in the order of the schema's ``xsd:sequence`` for each
element (iati-activities-schema.xsd, 2.03); the test validates the result
against the official schema. Narratives are in English and French
(``xml:lang``); French texts come from the catalogue.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from lxml import etree

from tracker.countries import country_name
from tracker.iati.data import Activity, Export
from tracker.models.base import now_utc, today
from tracker.vocab import label

IATI_VERSION = "2.03"
LANGUAGES = ("en", "fr")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: IATI ActivityStatus codes.
ACTIVITY_STATUS = {"pipeline": "1", "active": "2", "closed": "4"}
#: IATI OrganisationType codes; an NGO may be international or national, so it gets none.
PARTNER_TYPE = {"un_entity": "40", "government": "10", "other": "90"}
DONOR_TYPE = {"member_state": "10", "intergovernmental": "40"}
#: The Fund is a UN trust fund: multilateral.
FUND_TYPE = "40"
#: IATI FinanceType 110: standard grant.
FINANCE_STANDARD_GRANT = "110"
#: IATI TransactionType codes.
INCOMING_FUNDS, COMMITMENT, DISBURSEMENT = "1", "2", "3"
#: IATI ActivityDateType codes.
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"
#: IATI BudgetType 1 (original) and BudgetStatus 1 (indicative: an approved need, not yet money in hand).
BUDGET_ORIGINAL, BUDGET_INDICATIVE = "1", "1"


def to_xml(export: Export) -> bytes:
    """The whole document as UTF-8 bytes with an XML declaration."""
    root = etree.Element("iati-activities", version=IATI_VERSION,
                         attrib={"generated-datetime": now_utc().replace(microsecond=0).isoformat()})
    fund = _Fund()
    for activity in export.activities:
        root.append(_activity(activity, fund, export.date_to))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class _Fund:
    """The reporting organisation, from the settings."""

    def __init__(self):
        config = current_app.config
        self.ref = config["IATI_REPORTING_ORG_REF"]
        self.names = {"en": config["IATI_REPORTING_ORG_NAME"], "fr": config["IATI_REPORTING_ORG_NAME_FR"]}


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _sub(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _narrative(parent, text: str, lang: str | None = None) -> None:
    element = etree.SubElement(parent, "narrative")
    if lang:
        element.set(XML_LANG, lang)
    element.text = text


def _narratives(parent, texts: dict[str, str]) -> None:
    for lang in LANGUAGES:
        _narrative(parent, texts[lang], lang)


def _translated(make) -> dict[str, str]:
    """``make()`` called once in each language of the export."""
    out = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            out[lang] = str(make(lang))
    return out


def _activity(a: Activity, fund: _Fund, date_to: dt.date) -> etree._Element:
    activity = etree.Element("iati-activity", {XML_LANG: "en", "default-currency": "USD"})
    _sub(activity, "iati-identifier", f"{fund.ref}-{a.code}")
    reporting = _sub(activity, "reporting-org", ref=fund.ref, type=FUND_TYPE)
    _narratives(reporting, fund.names)

    title = _sub(activity, "title")
    french_title = _translated(lambda lang: _(
        "Assistance to survivors of sexual exploitation and abuse and their children, %(country)s (%(code)s)",
        country=country_name(a.country, lang), code=a.code))["fr"]
    _narratives(title, {"en": a.title, "fr": french_title})
    description = _sub(activity, "description", type="1")
    general = _translated(lambda lang: _(
        "Grant of the Trust Fund in Support of Victims of Sexual Exploitation and Abuse to %(partner)s in "
        "%(country)s: school fees and materials, income-generating activities, medical, psychosocial and legal "
        "support, paid to schools and providers on behalf of survivors and their children.",
        partner=a.partner, country=country_name(a.country, lang)))
    _narratives(description, {"en": a.description or general["en"], "fr": general["fr"]})

    for role in ("1", "3"):  # funding, extending
        org = _sub(activity, "participating-org", ref=fund.ref, type=FUND_TYPE, role=role)
        _narratives(org, fund.names)
    partner = _sub(activity, "participating-org", type=PARTNER_TYPE.get(a.partner_kind), role="4")
    _narrative(partner, a.partner)

    _sub(activity, "activity-status", code=ACTIVITY_STATUS[a.status])
    _activity_dates(activity, a, date_to)
    _sub(activity, "recipient-country", code=a.country, percentage="100")
    for code, percentage in a.sectors:
        _sub(activity, "sector", vocabulary="1", code=code, percentage=_money(percentage))
    _sub(activity, "default-finance-type", code=FINANCE_STANDARD_GRANT)
    _budgets(activity, a)
    _transactions(activity, a, fund, date_to)
    return activity


def _activity_dates(activity, a: Activity, date_to: dt.date) -> None:
    """Planned dates always; actual ones only once they have happened, by the period's end and by today
    (IATI refuses actual dates still to come)."""
    happened = min(date_to, today())
    started = a.status in ("active", "closed") and a.start_date <= happened
    ended = a.status == "closed" and a.end_date <= happened
    _sub(activity, "activity-date", type=PLANNED_START, iso_date=a.start_date.isoformat())
    if started:
        _sub(activity, "activity-date", type=ACTUAL_START, iso_date=a.start_date.isoformat())
    _sub(activity, "activity-date", type=PLANNED_END, iso_date=a.end_date.isoformat())
    if ended:
        _sub(activity, "activity-date", type=ACTUAL_END, iso_date=a.end_date.isoformat())


def _budgets(activity, a: Activity) -> None:
    """One budget per calendar year, cut to the project's dates when the year overlaps them."""
    for year, amount in sorted(a.budgets.items()):
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        if start <= a.end_date and end >= a.start_date:
            start, end = max(start, a.start_date), min(end, a.end_date)
        budget = _sub(activity, "budget", type=BUDGET_ORIGINAL, status=BUDGET_INDICATIVE)
        _sub(budget, "period-start", iso_date=start.isoformat())
        _sub(budget, "period-end", iso_date=end.isoformat())
        _sub(budget, "value", _money(amount), value_date=start.isoformat())


@dataclass
class _Org:
    ref: str | None = None
    type: str | None = None
    #: narratives: language (or ``None`` for a name that reads the same in every language) -> text
    names: dict = field(default_factory=dict)


@dataclass
class _Transaction:
    on: dt.date
    kind: str
    value: Decimal
    description: dict[str, str]
    ref: str | None = None
    provider: _Org | None = None
    receiver: _Org | None = None


def _transactions(activity, a: Activity, fund: _Fund, date_to: dt.date) -> None:
    """Incoming funds, commitments and quarterly disbursements, in order of date (then type)."""
    the_fund = _Org(fund.ref, FUND_TYPE, fund.names)
    partner = _Org(None, PARTNER_TYPE.get(a.partner_kind), {None: a.partner})
    rows = []
    for c in a.incoming:
        if c.donor_kind == "private":  # a private donor may be a person: never named
            donor = _Org(None, None, _translated(lambda lang: _("Private donor")))
        else:
            donor = _Org(None, DONOR_TYPE.get(c.donor_kind), {None: c.donor})
        rows.append(_Transaction(
            c.received_on, INCOMING_FUNDS, c.usd, ref=c.reference, provider=donor, receiver=the_fund,
            description=_translated(lambda lang, c=c: _(
                "Contribution %(reference)s, received against a pledge earmarked for this project",
                reference=c.reference))))
    for c in a.commitments:
        rows.append(_Transaction(
            c.allocated_on, COMMITMENT, c.usd, provider=the_fund, receiver=partner,
            description=_translated(lambda lang: _("Allocation of the Trust Fund to this project"))))
    for q in a.disbursements:
        rows.append(_Transaction(
            min(q.last_day, date_to), DISBURSEMENT, q.usd, provider=partner,
            ref=f"{a.code}-{q.year}-Q{q.quarter}-{q.category}",
            description=_translated(lambda lang, q=q: _(
                "%(category)s: payments on behalf of beneficiaries in quarter %(quarter)s of %(year)s, summed",
                category=label(q.category), quarter=q.quarter, year=q.year))))
    rows.sort(key=lambda t: (t.on, t.kind))
    for t in rows:
        transaction = _sub(activity, "transaction", ref=t.ref)
        _sub(transaction, "transaction-type", code=t.kind)
        _sub(transaction, "transaction-date", iso_date=t.on.isoformat())
        _sub(transaction, "value", _money(t.value), value_date=t.on.isoformat())
        _narratives(_sub(transaction, "description"), t.description)
        for tag, org in (("provider-org", t.provider), ("receiver-org", t.receiver)):
            if org is not None:
                element = _sub(transaction, tag, ref=org.ref, type=org.type)
                for lang, text in org.names.items():
                    _narrative(element, text, lang)
