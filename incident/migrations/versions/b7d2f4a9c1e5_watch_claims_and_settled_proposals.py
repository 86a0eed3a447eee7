"""Hazard watch review fixes: a feed's poll under way is claimed (one poller reads a feed at a
time, and the pages say it is being read); a gauge remembers the level of its newest current
reading (history read late proposes nothing); a proposal Riadó closed itself says why (its
warning is over, reopened should it come back; or settled by a higher one accepted).

Revision ID: b7d2f4a9c1e5
Revises: c7d1e5a3f9b2
Create Date: 2026-12-08 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d2f4a9c1e5'
down_revision = 'c7d1e5a3f9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('watch_feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('poller', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('polling_since', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('watch_gauge_stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('watched_threshold', sa.Integer(), server_default='0', nullable=False))
    # What the stations' newest readings crossed stays crossed: nothing proposes again.
    op.execute("UPDATE watch_gauge_stations SET watched_threshold = threshold")
    with op.batch_alter_table('watch_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system_reason', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(op.f('ck_watch_events_system_reason'), "system_reason IN ('ended', 'settled')")
    # Proposals the system closed before did so because their warning was cancelled.
    op.execute("UPDATE watch_events SET system_reason = 'ended' WHERE status = 'dismissed' AND decided_by = 'system' "
               "AND decided_by_id IS NULL")


def downgrade():
    with op.batch_alter_table('watch_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_watch_events_system_reason'), type_='check')
        batch_op.drop_column('system_reason')
    with op.batch_alter_table('watch_gauge_stations', schema=None) as batch_op:
        batch_op.drop_column('watched_threshold')
    with op.batch_alter_table('watch_feeds', schema=None) as batch_op:
        batch_op.drop_column('polling_since')
        batch_op.drop_column('poller')
