"""Escalation waves across channels (SPEC §4): an alert's waves (``alerts.escalation``: after how
many minutes, on which channel, and once gone out when, to how many, who could not be reached)
and when the next one is due (``alerts.next_wave_at``); each delivery's wave (0: the alert itself),
in the deliveries' unique key, so that every wave may reach an address once. An alert's single SMS
reminder (``escalate_after_minutes``) becomes its one SMS wave, its reminders wave 1.

Revision ID: e7b3c9d1f2a6
Revises: d5e2f7a9c1b4
Create Date: 2026-12-01 10:00:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = 'e7b3c9d1f2a6'
down_revision = 'd5e2f7a9c1b4'
branch_labels = None
depends_on = None


alerts = sa.table(
    'alerts', sa.column('id', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('escalate_after_minutes', sa.Integer()), sa.column('escalated_at', sa.DateTime(timezone=True)),
    sa.column('escalation', sa.JSON()), sa.column('next_wave_at', sa.DateTime(timezone=True)),
)


def _utc(value):
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def upgrade():
    op.add_column('alerts', sa.Column('escalation', sa.JSON(), nullable=True))
    op.add_column('alerts', sa.Column('next_wave_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_alerts_next_wave_at'), 'alerts', ['next_wave_at'], unique=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wave', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint('uq_deliveries_alert_channel_address_kind', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_deliveries_alert_address_kind_wave'),
                                          ['alert_id', 'channel', 'phone', 'email', 'kind', 'wave'])
    op.execute("UPDATE deliveries SET wave = 1 WHERE kind = 'reminder'")
    conn = op.get_bind()
    sqlite = conn.dialect.name == 'sqlite'
    rows = conn.execute(sa.select(alerts.c.id, alerts.c.created_at, alerts.c.escalate_after_minutes, alerts.c.escalated_at)
                        .where(alerts.c.escalate_after_minutes.is_not(None))).all()
    for alert_id, created_at, minutes, escalated_at in rows:
        wave = {"after_minutes": minutes, "channel": "sms"}
        due = None
        if escalated_at is not None:
            wave.update(sent_at=_utc(escalated_at).isoformat(), recipients=conn.execute(sa.text(
                "SELECT count(*) FROM deliveries WHERE alert_id = :id AND kind = 'reminder'"), {"id": alert_id}).scalar_one(),
                unreachable={})
        else:
            due = _utc(created_at) + dt.timedelta(minutes=minutes)
            due = due.replace(tzinfo=None) if sqlite else due
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(escalation=[wave], next_wave_at=due))


def downgrade():
    # Before waves, an alert had one SMS reminder: other waves' messages go.
    op.execute("DELETE FROM alert_replies WHERE delivery_id IN (SELECT id FROM deliveries WHERE wave > 1 OR "
               "(wave = 1 AND (kind <> 'reminder' OR channel <> 'sms')))")
    op.execute("DELETE FROM deliveries WHERE wave > 1 OR (wave = 1 AND (kind <> 'reminder' OR channel <> 'sms'))")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_deliveries_alert_address_kind_wave', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_deliveries_alert_channel_address_kind'),
                                          ['alert_id', 'channel', 'phone', 'email', 'kind'])
        batch_op.drop_column('wave')
    op.drop_index(op.f('ix_alerts_next_wave_at'), table_name='alerts')
    op.drop_column('alerts', 'next_wave_at')
    op.drop_column('alerts', 'escalation')
