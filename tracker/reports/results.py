"""The results a donor report counts: the people reached and what came of the work, as suppressed tables.

Each table is counted in SQL over the mothers who agreed to be counted in
reports, by the report's rows (countries for the Fund, projects for a country
or a project), and goes through small-cell suppression before anything else
sees it. When suppression would hide most of a table, the table says little:
its categories are then merged (claims "open" and "closed" rather than each
step), and if that is not enough its rows are added together, until most of
what is left can be shown (DESIGN section 4). The table says what was merged,
and the methods explain why. No name, code, date of birth or other field of
one person is ever read here: only counts leave the database.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from tracker.extensions import db
from tracker.models import (
    Beneficiary,
    Child,
    Disbursement,
    Enrolment,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
    Project,
)
from tracker.reports.suppression import SuppressedTable, UnprotectableTableError, suppress

#: Claim statuses from the first step to the last, and where each one stands for a donor.
CLAIM_OPEN = ("received", "notified_to_member_state", "dna_sample_collected", "dna_result_received",
              "paternity_established", "legally_recognised", "support_ordered")
CLAIM_CLOSED = ("support_paid", "not_established", "withdrawn")
IGA_UNDER_WAY = ("planned", "active", "struggling")


@dataclass(frozen=True)
class Grouping:
    """How a table's columns are shown: each shown column adds up the raw categories it names."""

    columns: tuple[tuple[str, ...], ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class ResultTable:
    key: str
    title: str
    note: str
    row_labels: list[str]
    column_labels: list[str]
    #: ``None`` when no suppression can protect the table: it is then not published.
    table: SuppressedTable | None
    #: What was merged so that the table can say something: "", "columns", "rows" or "both".
    merged: str = ""
    in_reach: bool = True

    @property
    def by_row(self) -> bool:
        """True when the table still has the report's own rows (not added together)."""
        return self.merged in ("", "columns")


@dataclass(frozen=True)
class Spec:
    key: str
    title: str
    note: str
    #: The ways to show the columns, from the most detailed to the most merged.
    groupings: tuple[Grouping, ...]
    #: Add the rows together before merging categories (where the categories are the point of the table).
    rows_first: bool = False
    #: Shown on each country's page among its counts.
    in_reach: bool = True


def _grouping(*pairs) -> Grouping:
    return Grouping(tuple(tuple(keys) for keys, _label in pairs), tuple(str(label) for _keys, label in pairs))


def mostly_hidden(table: SuppressedTable) -> bool:
    """More than half of the table's non-zero cells are hidden ("<10" or "x")."""
    cells = [c for row in table.cells for c in row]
    nonzero = [c for c in cells if c.hidden or c.value]
    hidden = [c for c in nonzero if c.hidden]
    return len(hidden) * 2 > len(nonzero)


def publish(spec: Spec, row_labels: list[str], counts: dict[tuple[int, str], int], all_rows: str,
            min_cell: int) -> ResultTable:
    """The most detailed form of ``spec``'s table that suppression leaves mostly shown.

    ``counts`` maps (row index, raw category) to a count. The forms are tried in
    order: every column and row; the columns merged, step by step; then the same
    with every row added together into one row labelled ``all_rows``. The first
    form that is protectable and not mostly hidden is published; failing that,
    the last protectable one (it is then as merged as it can be).
    """
    n = len(row_labels)
    if spec.rows_first:
        forms = [(spec.groupings[0], False)] + ([(g, True) for g in spec.groupings] if n > 1 else [])
        forms += [(g, False) for g in spec.groupings[1:]]
    else:
        forms = [(g, False) for g in spec.groupings] + ([(g, True) for g in spec.groupings] if n > 1 else [])
    chosen = None
    for grouping, merge_rows in forms:
        indices = [list(range(n))] if merge_rows else [[i] for i in range(n)]
        grid = [[sum(counts.get((i, raw), 0) for i in rows for raw in column) for column in grouping.columns]
                for rows in indices]
        if not grid:
            break
        try:
            table = suppress(grid, min_cell=min_cell)
        except UnprotectableTableError:
            continue
        merged_columns = grouping is not spec.groupings[0]
        merged = ("both" if merged_columns else "rows") if merge_rows else ("columns" if merged_columns else "")
        chosen = ResultTable(spec.key, spec.title, spec.note, [all_rows] if merge_rows else list(row_labels),
                             list(grouping.labels), table, merged, spec.in_reach)
        if not mostly_hidden(table):
            return chosen
    if chosen is None:
        return ResultTable(spec.key, spec.title, spec.note, list(row_labels), list(spec.groupings[0].labels), None,
                           in_reach=spec.in_reach)
    return chosen


def _consenting():
    return and_(Beneficiary.consent_reporting_on.is_not(None), Beneficiary.consent_reporting_withdrawn_on.is_(None))


def result_tables(*, row_keys: list, row_labels: list[str], by_project: bool, project_ids: list[int],
                  date_from: dt.date, date_to: dt.date, academic_year: str, all_rows: str,
                  min_cell: int) -> list[ResultTable]:
    """The report's results: women, children in school, terms paid, income activities, their results, claims."""
    key = Beneficiary.project_id if by_project else Project.country
    index = {k: i for i, k in enumerate(row_keys)}

    def count(stmt) -> dict[tuple[int, str], int]:
        counts: dict[tuple[int, str], int] = {}
        for k, category, n in db.session.execute(stmt):
            if k in index:
                counts[(index[k], str(category))] = counts.get((index[k], str(category)), 0) + n
        return counts

    base = (select().select_from(Beneficiary).join(Project, Beneficiary.project_id == Project.id)
            .where(Beneficiary.project_id.in_(project_ids), _consenting()))
    women = count(base.add_columns(key, Beneficiary.status, func.count(Beneficiary.id))
                  .group_by(key, Beneficiary.status))
    children = count(
        base.join(Child, Child.mother_id == Beneficiary.id).join(Enrolment, Enrolment.child_id == Child.id)
        .where(Enrolment.academic_year == academic_year)
        .add_columns(key, Child.sex, func.count(func.distinct(Child.id))).group_by(key, Child.sex))
    terms = count(
        base.join(Disbursement, Disbursement.beneficiary_id == Beneficiary.id)
        .where(Disbursement.category == "school_fees", Disbursement.status == "paid",
               Disbursement.term.is_not(None), Disbursement.paid_on.between(date_from, date_to))
        .add_columns(key, Disbursement.term, func.count(Disbursement.id)).group_by(key, Disbursement.term))
    activities = count(
        base.join(IncomeProject, IncomeProject.beneficiary_id == Beneficiary.id)
        .add_columns(key, IncomeProject.status, func.count(IncomeProject.id)).group_by(key, IncomeProject.status))
    # Each activity that reported in the period: did its revenue exceed its costs over those months?
    margins = (
        base.join(IncomeProject, IncomeProject.beneficiary_id == Beneficiary.id)
        .join(IncomeReport, IncomeReport.income_project_id == IncomeProject.id)
        .where(IncomeReport.month.between(date_from.replace(day=1), date_to))
        .add_columns(key.label("k"), IncomeProject.id.label("activity"),
                     func.sum(IncomeReport.revenue).label("revenue"), func.sum(IncomeReport.costs).label("costs"))
        .group_by(key, IncomeProject.id)
        .subquery()
    )
    outcome = case((margins.c.revenue > margins.c.costs, "profit"), else_="no_profit").label("outcome")
    results = count(select(margins.c.k, outcome, func.count()).group_by(margins.c.k, outcome))
    claims = count(
        base.join(Child, Child.mother_id == Beneficiary.id).join(PaternityClaim, PaternityClaim.child_id == Child.id)
        .add_columns(key, PaternityClaim.status, func.count(PaternityClaim.id)).group_by(key, PaternityClaim.status))

    term_numbers = sorted({int(t) for _i, t in terms} | {1, 2, 3})
    specs_and_counts = [
        (Spec("women", str(_l("Women assisted")),
              str(_l("Women who agreed to be counted, in the programme or having left it.")),
              (_grouping((("active",), _l("In the programme")), (("exited",), _l("Left the programme"))),
               _grouping((("active", "exited"), _l("Women"))))), women),
        (Spec("children", str(_l("Children in school, %(year)s", year=academic_year)),
              str(_l("Children enrolled in school this academic year with the Fund's support.")),
              (_grouping((("F",), _l("Girls")), (("M",), _l("Boys"))),
               _grouping((("F", "M"), _l("Children"))))), children),
        (Spec("terms", str(_l("School terms paid in the period")),
              str(_l("School fees paid for one child and one term, by term of the school year.")),
              (_grouping(*(((str(t),), _l("Term %(n)s", n=t)) for t in term_numbers)),
               _grouping((tuple(str(t) for t in term_numbers), _l("Terms paid"))))), terms),
        (Spec("activities", str(_l("Income-generating activities")),
              str(_l("Small businesses the women started with the Fund's grants, by where they stand today.")),
              (_grouping((("planned",), _l("Planned")), (("active",), _l("Running")),
                         (("struggling",), _l("Struggling")), (("closed_successful",), _l("Closed, successful")),
                         (("closed_failed",), _l("Closed, not successful"))),
               _grouping((IGA_UNDER_WAY, _l("Under way")), (("closed_successful",), _l("Closed, successful")),
                         (("closed_failed",), _l("Closed, not successful"))),
               _grouping((IGA_UNDER_WAY, _l("Under way")), (("closed_successful", "closed_failed"), _l("Closed"))),
               _grouping((IGA_UNDER_WAY + ("closed_successful", "closed_failed"), _l("Activities"))))),
         activities),
        (Spec("activity_results", str(_l("Results of the activities in the period")),
              str(_l("Activities that sent monthly reports in the period: whether their revenue exceeded their "
                     "costs over those months.")),
              (_grouping((("profit",), _l("Revenue above costs")), (("no_profit",), _l("Revenue at or below costs"))),
               _grouping((("profit", "no_profit"), _l("Activities reporting")))), rows_first=True, in_reach=False),
         results),
        (Spec("claims", str(_l("Paternity claims")),
              str(_l("Claims of the children's paternity against UN personnel, by the step they have reached.")),
              (_grouping((("received",), _l("Received")), (("notified_to_member_state",), _l("With the Member State")),
                         (("dna_sample_collected", "dna_result_received"), _l("DNA testing")),
                         (("paternity_established", "legally_recognised", "support_ordered"),
                          _l("Paternity established")),
                         (("support_paid",), _l("Support paid")),
                         (("not_established", "withdrawn"), _l("Closed without support"))),
               _grouping((CLAIM_OPEN, _l("Open")), (CLAIM_CLOSED, _l("Closed"))),
               _grouping((CLAIM_OPEN + CLAIM_CLOSED, _l("Claims"))))), claims),
    ]
    return [publish(spec, row_labels, counts, all_rows, min_cell) for spec, counts in specs_and_counts]
