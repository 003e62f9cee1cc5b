"""All models, imported here so that metadata and Alembic see every table."""
from tracker.models.audit import AuditEvent
from tracker.models.base import Base
from tracker.models.disbursements import DISBURSEMENT_STATES, Disbursement
from tracker.models.funding import (
    DONOR_KINDS,
    PLAN_STATES,
    Allocation,
    AllocationPlan,
    AllocationPlanLine,
    Contribution,
    Donor,
    ExchangeRate,
    Pledge,
)
from tracker.models.jobs import JOB_STATES, Job
from tracker.models.projects import CATEGORIES, PARTNER_KINDS, PROJECT_STATUSES, BudgetLine, Partner, Project
from tracker.models.registry import (
    BENEFICIARY_STATUSES,
    CLAIM_STEPS,
    EXIT_REASONS,
    INCOME_PROJECT_STATUSES,
    PERSONNEL_CATEGORIES,
    SEXES,
    Beneficiary,
    Child,
    ClaimStep,
    CodeSequence,
    Enrolment,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
)
from tracker.models.reports import REPORT_STATES, IssuedReport
from tracker.models.security import ApiToken, RecoveryCode
from tracker.models.users import ROLES, User, UserCountry

__all__ = [
    "AuditEvent", "Base", "DISBURSEMENT_STATES", "Disbursement", "DONOR_KINDS", "Allocation", "Contribution",
    "Donor", "ExchangeRate", "Pledge", "CATEGORIES", "PARTNER_KINDS", "PROJECT_STATUSES", "BudgetLine", "Partner",
    "Project", "BENEFICIARY_STATUSES", "CLAIM_STEPS", "EXIT_REASONS", "INCOME_PROJECT_STATUSES",
    "PERSONNEL_CATEGORIES", "SEXES", "Beneficiary", "Child", "ClaimStep", "CodeSequence", "Enrolment",
    "IncomeProject", "IncomeReport", "PaternityClaim", "REPORT_STATES", "IssuedReport", "ROLES", "User",
    "UserCountry", "ApiToken", "RecoveryCode", "JOB_STATES", "Job", "PLAN_STATES", "AllocationPlan",
    "AllocationPlanLine",
]
