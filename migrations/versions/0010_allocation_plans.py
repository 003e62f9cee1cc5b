"""Allocation plans: the planner's allocations to several projects, decided as one, with four eyes above a sum.

tracker/funding/plans.py: a plan holds what it gives each project (``allocation_plan_lines``) and its status.
A plan whose total is at most ``ALLOCATION_FOUR_EYES_USD`` is ``allocated`` at once; a larger one stays
``pending``, holding no money, until a second manager confirms it (``confirmed``), rejects it or its maker
withdraws it. Each allocation made from a plan names it (``allocations.plan_id``), so that an allocation can be
traced to the plan and the managers who decided it. Undone, the plans go and the allocations stay.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'allocation_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('share', sa.String(length=10), nullable=False),
        sa.Column('amount_usd', sa.BigInteger(), nullable=False),
        sa.Column('total_usd', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'withdrawn', 'allocated')",
                           name=op.f('ck_allocation_plans_status_known')),
        sa.CheckConstraint("share IN ('need', 'order')", name=op.f('ck_allocation_plans_share_known')),
        sa.CheckConstraint('amount_usd >= 0', name=op.f('ck_allocation_plans_amount_not_negative')),
        sa.CheckConstraint('total_usd > 0', name=op.f('ck_allocation_plans_total_positive')),
        sa.CheckConstraint("status <> 'confirmed' OR decided_by_id <> created_by_id",
                           name=op.f('ck_allocation_plans_four_eyes')),
        sa.CheckConstraint("status <> 'rejected' OR reason IS NOT NULL",
                           name=op.f('ck_allocation_plans_reject_has_reason')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_allocation_plans_created_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_allocation_plans_decided_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_plans')),
        sa.UniqueConstraint('number', name=op.f('uq_allocation_plans_number')),
    )
    with op.batch_alter_table('allocation_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_plans_status'), ['status'], unique=False)

    op.create_table(
        'allocation_plan_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('amount_usd', sa.BigInteger(), nullable=False),
        sa.Column('children_covered', sa.Integer(), nullable=False),
        sa.CheckConstraint('amount_usd > 0', name=op.f('ck_allocation_plan_lines_amount_positive')),
        sa.CheckConstraint('children_covered >= 0', name=op.f('ck_allocation_plan_lines_children_not_negative')),
        sa.ForeignKeyConstraint(['plan_id'], ['allocation_plans.id'],
                                name=op.f('fk_allocation_plan_lines_plan_id_allocation_plans')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_allocation_plan_lines_project_id_projects')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_plan_lines')),
        sa.UniqueConstraint('plan_id', 'project_id', name=op.f('uq_allocation_plan_lines_plan_id_project_id')),
    )
    with op.batch_alter_table('allocation_plan_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_plan_lines_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_allocations_plan_id'), ['plan_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_allocations_plan_id_allocation_plans'), 'allocation_plans',
                                    ['plan_id'], ['id'])


def downgrade():
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_allocations_plan_id_allocation_plans'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_allocations_plan_id'))
        batch_op.drop_column('plan_id')

    with op.batch_alter_table('allocation_plan_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_plan_lines_project_id'))
    op.drop_table('allocation_plan_lines')
    with op.batch_alter_table('allocation_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_plans_status'))
    op.drop_table('allocation_plans')
