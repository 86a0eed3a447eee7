"""The names' place in the Hungarian order, stored and indexed (``name_key``) for resources,
contacts, alert groups, deliveries and exclusions, so that a list is read in order from an index
instead of calling the collation for every comparison; filled in for the rows already there.

Revision ID: c4a9e8f1d2b3
Revises: b61f0c2d7a35
Create Date: 2026-11-30 21:00:00

"""
import sqlalchemy as sa
from alembic import op

from incident.collation import sort_key

revision = 'c4a9e8f1d2b3'
down_revision = 'b61f0c2d7a35'
branch_labels = None
depends_on = None

TABLES = ('resources', 'contacts', 'alert_groups', 'deliveries', 'alert_exclusions')
BATCH = 5000


def _key_type():
    return sa.Text().with_variant(sa.Text(collation='C'), 'postgresql')


def upgrade():
    bind = op.get_bind()
    for name in TABLES:
        # A plain ADD COLUMN (nullable, no default): no table copy on SQLite.
        op.add_column(name, sa.Column('name_key', _key_type(), nullable=True))
        table = sa.table(name, sa.column('id', sa.Integer()), sa.column('name', sa.String()),
                         sa.column('name_key', sa.Text()))
        update = table.update().where(table.c.id == sa.bindparam('row_id')).values(name_key=sa.bindparam('key'))
        last = 0
        while True:
            rows = bind.execute(sa.select(table.c.id, table.c.name).where(table.c.id > last)
                                .order_by(table.c.id).limit(BATCH)).all()
            if not rows:
                break
            bind.execute(update, [{'row_id': row_id, 'key': sort_key(row_name)} for row_id, row_name in rows])
            last = rows[-1][0]
        op.create_index(op.f(f'ix_{name}_name_key'), name, ['name_key'], unique=False)


def downgrade():
    for name in reversed(TABLES):
        op.drop_index(op.f(f'ix_{name}_name_key'), table_name=name)
        # ALTER TABLE … DROP COLUMN (SQLite 3.35+): no copy of the spatial tables.
        op.drop_column(name, 'name_key')
