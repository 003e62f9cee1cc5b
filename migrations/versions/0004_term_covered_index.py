"""An index for the funding engine's question "is this school term covered?" (approved or paid school fees).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

COVERED = "category = 'school_fees' AND status IN ('approved', 'paid')"


def upgrade():
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.create_index('ix_disbursements_term_covered', ['enrolment_id', 'term'], unique=False,
                              sqlite_where=sa.text(COVERED), postgresql_where=sa.text(COVERED))


def downgrade():
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_index('ix_disbursements_term_covered')
