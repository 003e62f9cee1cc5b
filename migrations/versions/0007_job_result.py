"""Jobs keep what their work found for its result page (an import's counts and problems), encrypted.

Large imports are checked and saved as jobs (tracker/imports/jobs.py); the
page that ends such a job shows the same preview or summary as an import done
within the request, read from ``jobs.result``.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('result')
