"""An allocation may carry a reference: unique when given, so that it names one allocation.

DESIGN section 7 lists ``[reference]`` among the columns of the allocations
file and rules that importing the same file twice adds nothing the second
time, references being keys. A reference therefore names one allocation: a
unique index on it, which refuses a second allocation with a reference
already used, while allocations without a reference (NULL, the many entered
before references existed) are allowed any number of times on SQLite and
PostgreSQL alike. A plain unique index rather than a unique constraint, so
that SQLite adds it without rebuilding the table.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=60), nullable=True))
        batch_op.create_index(batch_op.f('ix_allocations_reference'), ['reference'], unique=True)


def downgrade():
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocations_reference'))
        batch_op.drop_column('reference')
