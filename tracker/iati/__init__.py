"""IATI 2.03 activity export: one ``iati-activity`` per project.

:mod:`tracker.iati.data` reads the figures (SQL aggregates into plain
dataclasses), :mod:`tracker.iati.xml` writes them with lxml in the order of the
schema's sequences, :mod:`tracker.iati.commands` is ``flask export iati``. The
managers' download is ``dashboard.iati`` (``/review/iati.xml``).

How the Fund's records become IATI elements:

- ``iati-identifier``: ``{IATI_REPORTING_ORG_REF}-{project code}``; the Fund is
  the reporting organisation, and the funding (role 1) and extending (role 3)
  participating organisation; the partner is the implementing one (role 4).
- ``activity-status``: pipeline 1 (Pipeline/identification), active 2
  (Implementation), closed 4 (Closed). Planned start and end are the project's
  dates; the actual start is given once the project is active or closed and its
  start date has come, the actual end once it is closed and its end date has come.
- ``sector`` (OECD DAC 5-digit): the share of the project's budget lines (all
  years) in ``school_fees`` is 11220 Primary education; every other category
  (income-generating activities, medical, psychosocial and legal help, material
  assistance, outreach, administration) assists survivors of sexual
  exploitation and abuse: 15180 Ending violence against women and girls.
  Percentages have two decimals and add up to 100.
- ``budget``: one per calendar year of the project's budget lines (every year,
  whatever the period: a budget is the activity's plan), the sum of its
  categories, from 1 January to 31 December cut to the project's dates.
- ``transaction``, in USD from the amounts frozen on the records, only those
  dated in the period:

  - incoming funds (1): each contribution received against a pledge earmarked
    for the project (a contribution against a pledge earmarked for a country,
    or against no pledge, belongs to no one project and is left out);
  - commitments (2): each allocation to the project (the engine's ``allocated``);
  - disbursements (3): payments ``paid`` with ``paid_on`` in the period, voided
    ones never (the engine's ``disbursed``), summed per calendar quarter and
    category, dated on the quarter's last day (or the period's end, if earlier).
    Never per person: no code, name or payee leaves through this export.
"""
