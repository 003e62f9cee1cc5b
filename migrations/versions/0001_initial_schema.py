"""Initial schema: every table of the data model.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 10:13:31.985689

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('code_sequences',
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('country', 'kind', name=op.f('pk_code_sequences'))
    )
    op.create_table('donors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('member_state', 'intergovernmental', 'ngo', 'private', 'withheld_payments')", name=op.f('ck_donors_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donors')),
    sa.UniqueConstraint('name', name=op.f('uq_donors_name'))
    )
    op.create_table('exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('usd_per_unit', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_exchange_rates_currency_iso')),
    sa.CheckConstraint('usd_per_unit > 0', name=op.f('ck_exchange_rates_rate_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates')),
    sa.UniqueConstraint('currency', 'valid_from', name=op.f('uq_exchange_rates_currency_valid_from'))
    )
    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.CheckConstraint("kind IN ('un_entity', 'ngo', 'government', 'other')", name=op.f('ck_partners_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('name', name=op.f('uq_partners_name'))
    )
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pipeline', 'active', 'closed')", name=op.f('ck_projects_status_known')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_projects_dates_in_order')),
    sa.CheckConstraint('length(country) = 2', name=op.f('ck_projects_country_alpha2')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_projects_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('code', name=op.f('uq_projects_code'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_country'), ['country'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totp_secret', sa.Text(), nullable=True),
    sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(role = 'donor') = (donor_id IS NOT NULL)", name=op.f('ck_users_donor_link')),
    sa.CheckConstraint("role IN ('admin', 'manager', 'staff', 'donor')", name=op.f('ck_users_role_known')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lower')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_users_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('amount_usd', sa.BigInteger(), nullable=False),
    sa.Column('allocated_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_usd > 0', name=op.f('ck_allocations_amount_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_allocations_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_allocations_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations'))
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocations_project_id'), ['project_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=True),
    sa.Column('entity_id', sa.String(length=60), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_events_entity', ['entity', 'entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_user_id'), ['user_id'], unique=False)

    op.create_table('beneficiaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('name_hash', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('village', sa.Text(), nullable=True),
    sa.Column('year_of_birth', sa.Integer(), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('exit_reason', sa.String(length=20), nullable=True),
    sa.Column('exited_on', sa.Date(), nullable=True),
    sa.Column('consent_services_on', sa.Date(), nullable=True),
    sa.Column('consent_services_withdrawn_on', sa.Date(), nullable=True),
    sa.Column('consent_reporting_on', sa.Date(), nullable=True),
    sa.Column('consent_reporting_withdrawn_on', sa.Date(), nullable=True),
    sa.Column('children_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'exited') = (exit_reason IS NOT NULL)", name=op.f('ck_beneficiaries_exit_has_reason')),
    sa.CheckConstraint("(status = 'exited') = (exited_on IS NOT NULL)", name=op.f('ck_beneficiaries_exit_has_date')),
    sa.CheckConstraint("exit_reason IN ('graduated', 'moved', 'withdrew', 'deceased')", name=op.f('ck_beneficiaries_exit_reason_known')),
    sa.CheckConstraint("status IN ('active', 'exited')", name=op.f('ck_beneficiaries_status_known')),
    sa.CheckConstraint('year_of_birth BETWEEN 1900 AND 2100', name=op.f('ck_beneficiaries_year_of_birth_plausible')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_beneficiaries_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiaries')),
    sa.UniqueConstraint('code', name=op.f('uq_beneficiaries_code')),
    sa.UniqueConstraint('country', 'number', name=op.f('uq_beneficiaries_country_number'))
    )
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beneficiaries_name_hash'), ['name_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_beneficiaries_project_id'), ['project_id'], unique=False)

    op.create_table('budget_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('amount_usd', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("category IN ('school_fees', 'iga', 'medical', 'psychosocial', 'legal', 'material', 'outreach', 'admin')", name=op.f('ck_budget_lines_category_known')),
    sa.CheckConstraint('amount_usd > 0', name=op.f('ck_budget_lines_amount_positive')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_budget_lines_year_plausible')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_budget_lines_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_lines')),
    sa.UniqueConstraint('project_id', 'year', 'category', name=op.f('uq_budget_lines_project_id_year_category'))
    )
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_lines_project_id'), ['project_id'], unique=False)

    op.create_table('issued_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=60), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("lang IN ('en', 'fr')", name=op.f('ck_issued_reports_lang_known')),
    sa.CheckConstraint("status IN ('rendering', 'issued', 'failed')", name=op.f('ck_issued_reports_status_known')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_issued_reports_donor_id_donors')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_issued_reports_issued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_reports')),
    sa.UniqueConstraint('number', name=op.f('uq_issued_reports_number')),
    sa.UniqueConstraint('sha256', name=op.f('uq_issued_reports_sha256'))
    )
    with op.batch_alter_table('issued_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_reports_donor_id'), ['donor_id'], unique=False)

    op.create_table('pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('pledged_on', sa.Date(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('usd_amount', sa.BigInteger(), nullable=False),
    sa.Column('usd_rate', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_pledges_amount_positive')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_pledges_currency_iso')),
    sa.CheckConstraint('usd_amount >= 0', name=op.f('ck_pledges_usd_not_negative')),
    sa.CheckConstraint('usd_rate > 0', name=op.f('ck_pledges_rate_positive')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_pledges_donor_id_donors')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_pledges_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('reference', name=op.f('uq_pledges_reference'))
    )
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledges_donor_id'), ['donor_id'], unique=False)

    op.create_table('user_countries',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_countries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'country', name=op.f('pk_user_countries'))
    )
    op.create_table('children',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('mother_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.Text(), nullable=False),
    sa.Column('year_of_birth', sa.Integer(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("sex IN ('F', 'M')", name=op.f('ck_children_sex_known')),
    sa.CheckConstraint('year_of_birth BETWEEN 1900 AND 2100', name=op.f('ck_children_year_of_birth_plausible')),
    sa.ForeignKeyConstraint(['mother_id'], ['beneficiaries.id'], name=op.f('fk_children_mother_id_beneficiaries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_children')),
    sa.UniqueConstraint('code', name=op.f('uq_children_code')),
    sa.UniqueConstraint('mother_id', 'number', name=op.f('uq_children_mother_id_number'))
    )
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_children_mother_id'), ['mother_id'], unique=False)

    op.create_table('contributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('usd_amount', sa.BigInteger(), nullable=False),
    sa.Column('usd_rate', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_contributions_amount_positive')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_contributions_currency_iso')),
    sa.CheckConstraint('usd_amount >= 0', name=op.f('ck_contributions_usd_not_negative')),
    sa.CheckConstraint('usd_rate > 0', name=op.f('ck_contributions_rate_positive')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_contributions_donor_id_donors')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_contributions_pledge_id_pledges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contributions')),
    sa.UniqueConstraint('reference', name=op.f('uq_contributions_reference'))
    )
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contributions_donor_id'), ['donor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributions_pledge_id'), ['pledge_id'], unique=False)

    op.create_table('income_projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('activity', sa.String(length=120), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('planned_grant', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'active', 'struggling', 'closed_successful', 'closed_failed')", name=op.f('ck_income_projects_status_known')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_income_projects_currency_iso')),
    sa.CheckConstraint('planned_grant > 0', name=op.f('ck_income_projects_grant_positive')),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_income_projects_beneficiary_id_beneficiaries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_income_projects')),
    sa.UniqueConstraint('reference', name=op.f('uq_income_projects_reference'))
    )
    with op.batch_alter_table('income_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_income_projects_beneficiary_id'), ['beneficiary_id'], unique=False)

    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('school', sa.String(length=200), nullable=False),
    sa.Column('academic_year', sa.String(length=9), nullable=False),
    sa.Column('grade', sa.String(length=40), nullable=False),
    sa.Column('fee_per_term', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('terms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('fee_per_term > 0', name=op.f('ck_enrolments_fee_positive')),
    sa.CheckConstraint('length(academic_year) = 9', name=op.f('ck_enrolments_academic_year_form')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_enrolments_currency_iso')),
    sa.CheckConstraint('terms BETWEEN 1 AND 4', name=op.f('ck_enrolments_terms_range')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_enrolments_child_id_children')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('child_id', 'academic_year', name=op.f('uq_enrolments_child_id_academic_year'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_academic_year'), ['academic_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_school'), ['school'], unique=False)

    op.create_table('income_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('income_project_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.Column('costs', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('costs >= 0', name=op.f('ck_income_reports_costs_not_negative')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_income_reports_currency_iso')),
    sa.CheckConstraint('revenue >= 0', name=op.f('ck_income_reports_revenue_not_negative')),
    sa.ForeignKeyConstraint(['income_project_id'], ['income_projects.id'], name=op.f('fk_income_reports_income_project_id_income_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_income_reports')),
    sa.UniqueConstraint('income_project_id', 'month', name=op.f('uq_income_reports_income_project_id_month'))
    )
    with op.batch_alter_table('income_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_income_reports_income_project_id'), ['income_project_id'], unique=False)

    op.create_table('paternity_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('member_state', sa.String(length=2), nullable=False),
    sa.Column('personnel_category', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("personnel_category IN ('military', 'police', 'civilian')", name=op.f('ck_paternity_claims_personnel_category_known')),
    sa.CheckConstraint("status IN ('received', 'notified_to_member_state', 'dna_sample_collected', 'dna_result_received', 'paternity_established', 'not_established', 'withdrawn', 'legally_recognised', 'support_ordered', 'support_paid')", name=op.f('ck_paternity_claims_status_known')),
    sa.CheckConstraint('length(member_state) = 2', name=op.f('ck_paternity_claims_member_state_alpha2')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_paternity_claims_child_id_children')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paternity_claims')),
    sa.UniqueConstraint('child_id', name=op.f('uq_paternity_claims_child_id'))
    )
    op.create_table('claim_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=30), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('correction_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("step IN ('received', 'notified_to_member_state', 'dna_sample_collected', 'dna_result_received', 'paternity_established', 'not_established', 'withdrawn', 'legally_recognised', 'support_ordered', 'support_paid')", name=op.f('ck_claim_steps_step_known')),
    sa.CheckConstraint('(superseded_at IS NULL) OR (correction_reason IS NOT NULL)', name=op.f('ck_claim_steps_correction_has_reason')),
    sa.ForeignKeyConstraint(['claim_id'], ['paternity_claims.id'], name=op.f('fk_claim_steps_claim_id_paternity_claims')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_claim_steps_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['claim_steps.id'], name=op.f('fk_claim_steps_superseded_by_id_claim_steps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_steps'))
    )
    with op.batch_alter_table('claim_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_steps_claim_id'), ['claim_id'], unique=False)

    op.create_table('disbursements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('term', sa.Integer(), nullable=True),
    sa.Column('income_project_id', sa.Integer(), nullable=True),
    sa.Column('payee', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('entered_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('usd_amount', sa.BigInteger(), nullable=True),
    sa.Column('usd_rate', sa.BigInteger(), nullable=True),
    sa.Column('top_up', sa.Boolean(), nullable=False),
    sa.Column('top_up_reason', sa.Text(), nullable=True),
    sa.Column('imported_history', sa.Boolean(), nullable=False),
    sa.Column('batch_key', sa.String(length=40), nullable=True),
    sa.Column('request_key', sa.String(length=64), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('payment_reference', sa.String(length=80), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_by_id', sa.Integer(), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("category <> 'iga' OR income_project_id IS NOT NULL", name=op.f('ck_disbursements_iga_target')),
    sa.CheckConstraint("category <> 'school_fees' OR (child_id IS NOT NULL AND enrolment_id IS NOT NULL AND term IS NOT NULL)", name=op.f('ck_disbursements_school_fees_target')),
    sa.CheckConstraint("category IN ('school_fees', 'iga', 'medical', 'psychosocial', 'legal', 'material', 'outreach', 'admin')", name=op.f('ck_disbursements_category_known')),
    sa.CheckConstraint("status <> 'paid' OR (paid_on IS NOT NULL AND payment_reference IS NOT NULL)", name=op.f('ck_disbursements_paid_has_proof')),
    sa.CheckConstraint("status <> 'rejected' OR rejection_reason IS NOT NULL", name=op.f('ck_disbursements_reject_has_reason')),
    sa.CheckConstraint("status <> 'voided' OR void_reason IS NOT NULL", name=op.f('ck_disbursements_void_has_reason')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'approved', 'paid', 'rejected', 'voided')", name=op.f('ck_disbursements_status_known')),
    sa.CheckConstraint("status NOT IN ('approved', 'paid') OR usd_amount IS NOT NULL", name=op.f('ck_disbursements_usd_frozen')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_disbursements_amount_positive')),
    sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id <> entered_by_id', name=op.f('ck_disbursements_four_eyes')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_disbursements_currency_iso')),
    sa.CheckConstraint('term IS NULL OR term BETWEEN 1 AND 4', name=op.f('ck_disbursements_term_range')),
    sa.CheckConstraint('top_up = false OR top_up_reason IS NOT NULL', name=op.f('ck_disbursements_top_up_has_reason')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_disbursements_approved_by_id_users')),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_disbursements_beneficiary_id_beneficiaries')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_disbursements_child_id_children')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_disbursements_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_disbursements_entered_by_id_users')),
    sa.ForeignKeyConstraint(['income_project_id'], ['income_projects.id'], name=op.f('fk_disbursements_income_project_id_income_projects')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['users.id'], name=op.f('fk_disbursements_paid_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_disbursements_project_id_projects')),
    sa.ForeignKeyConstraint(['rejected_by_id'], ['users.id'], name=op.f('fk_disbursements_rejected_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_disbursements_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_disbursements_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursements')),
    sa.UniqueConstraint('project_id', 'payment_reference', name=op.f('uq_disbursements_project_id_payment_reference')),
    sa.UniqueConstraint('reference', name=op.f('uq_disbursements_reference')),
    sa.UniqueConstraint('request_key', name=op.f('uq_disbursements_request_key'))
    )
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disbursements_batch_key'), ['batch_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_disbursements_beneficiary_id'), ['beneficiary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disbursements_child_id'), ['child_id'], unique=False)
        batch_op.create_index('ix_disbursements_enrolment_term', ['enrolment_id', 'term'], unique=False)
        batch_op.create_index(batch_op.f('ix_disbursements_income_project_id'), ['income_project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disbursements_paid_on'), ['paid_on'], unique=False)
        batch_op.create_index('ix_disbursements_project_status', ['project_id', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_index('ix_disbursements_project_status')
        batch_op.drop_index(batch_op.f('ix_disbursements_paid_on'))
        batch_op.drop_index(batch_op.f('ix_disbursements_income_project_id'))
        batch_op.drop_index('ix_disbursements_enrolment_term')
        batch_op.drop_index(batch_op.f('ix_disbursements_child_id'))
        batch_op.drop_index(batch_op.f('ix_disbursements_beneficiary_id'))
        batch_op.drop_index(batch_op.f('ix_disbursements_batch_key'))

    op.drop_table('disbursements')
    with op.batch_alter_table('claim_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_steps_claim_id'))

    op.drop_table('claim_steps')
    op.drop_table('paternity_claims')
    with op.batch_alter_table('income_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_income_reports_income_project_id'))

    op.drop_table('income_reports')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_school'))
        batch_op.drop_index(batch_op.f('ix_enrolments_child_id'))
        batch_op.drop_index(batch_op.f('ix_enrolments_academic_year'))

    op.drop_table('enrolments')
    with op.batch_alter_table('income_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_income_projects_beneficiary_id'))

    op.drop_table('income_projects')
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contributions_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_contributions_donor_id'))

    op.drop_table('contributions')
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_children_mother_id'))

    op.drop_table('children')
    op.drop_table('user_countries')
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledges_donor_id'))

    op.drop_table('pledges')
    with op.batch_alter_table('issued_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_reports_donor_id'))

    op.drop_table('issued_reports')
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_lines_project_id'))

    op.drop_table('budget_lines')
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beneficiaries_project_id'))
        batch_op.drop_index(batch_op.f('ix_beneficiaries_name_hash'))

    op.drop_table('beneficiaries')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_user_id'))
        batch_op.drop_index('ix_audit_events_entity')
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocations_project_id'))

    op.drop_table('allocations')
    op.drop_table('users')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_country'))

    op.drop_table('projects')
    op.drop_table('partners')
    op.drop_table('exchange_rates')
    op.drop_table('donors')
    op.drop_table('code_sequences')
