"""One payment holds a term of school fees: a partial unique index, so that two people entering it at once cannot both succeed.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

HELD = ("category = 'school_fees' AND top_up = false "
        "AND status IN ('draft', 'submitted', 'approved', 'paid')")


def upgrade():
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.create_index('uq_disbursements_term_held', ['enrolment_id', 'term'], unique=True,
                              sqlite_where=sa.text(HELD), postgresql_where=sa.text(HELD))


def downgrade():
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_index('uq_disbursements_term_held')
