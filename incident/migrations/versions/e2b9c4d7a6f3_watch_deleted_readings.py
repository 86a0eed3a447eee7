"""Hazard watch: a reading typed in by mistake can be deleted; the open proposal it made is
closed by the system saying so (a third reason beside a warning over and a proposal settled).

SQLite changes a CHECK by copying the table (batch mode).

Revision ID: e2b9c4d7a6f3
Revises: b7d2f4a9c1e5
Create Date: 2026-12-10 12:00:00

"""
from alembic import op

revision = 'e2b9c4d7a6f3'
down_revision = 'b7d2f4a9c1e5'
branch_labels = None
depends_on = None

REASONS_BEFORE = "system_reason IN ('ended', 'settled')"
REASONS_AFTER = "system_reason IN ('ended', 'settled', 'deleted')"


def _reasons(check: str) -> None:
    with op.batch_alter_table('watch_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_watch_events_system_reason'), type_='check')
        batch_op.create_check_constraint(op.f('ck_watch_events_system_reason'), check)


def upgrade():
    _reasons(REASONS_AFTER)


def downgrade():
    # Closed for good, as a settled one is: never reopened.
    op.execute("UPDATE watch_events SET system_reason = 'settled' WHERE system_reason = 'deleted'")
    _reasons(REASONS_BEFORE)
