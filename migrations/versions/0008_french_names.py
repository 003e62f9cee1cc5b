"""Donors and projects may carry their names in French: ``donors.name_fr`` and ``projects.title_fr``.

DESIGN section 4: a donor report issued in French is French throughout, names
too. Both columns are optional (NULL: the English name serves), so a plain
nullable column on each table. Added and dropped with plain ``ALTER TABLE``
(SQLite 3.35 or later drops a column in place): a batch would rebuild the
table on SQLite to drop it, and with foreign keys on, dropping the old
``projects`` or ``donors`` table refuses while pledges or budget lines point
at it.
DESIGN section 7 lists them as the optional columns ``[name_fr]`` of the donors
file and ``[title_fr]`` of the projects file. The lengths are the English
columns' (``name`` 200, ``title`` 300). A French name need not be unique: two
donors may well share one.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('projects', sa.Column('title_fr', sa.String(length=300), nullable=True))
    op.add_column('donors', sa.Column('name_fr', sa.String(length=200), nullable=True))


def downgrade():
    op.drop_column('donors', 'name_fr')
    op.drop_column('projects', 'title_fr')
