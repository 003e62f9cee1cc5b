"""The disbursements list's order as an index: ``(entered_on, id)``.

The list shows the newest payments first (``ORDER BY entered_on DESC, id DESC``) and pages through them by
key (tracker/web.py ``keyset_page``: ``WHERE (entered_on, id) < (:day, :id)``). With this index the database
reads the first 51 rows of a page straight from it, backwards, on any page, instead of sorting every payment
in the user's countries first. The mothers list is ordered by code, which has its unique index already.

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_disbursements_entered_on_id', 'disbursements', ['entered_on', 'id'])


def downgrade():
    op.drop_index('ix_disbursements_entered_on_id', table_name='disbursements')
