"""Replies to alerts (every SMS that came back, what it did, and for a simulated one the outbox
message it was typed on) and when a recipient opted out by answering an alert (STOP). The
acknowledgements stored before (on their deliveries) become replies too.

Revision ID: b61f0c2d7a35
Revises: b7e1d2c3a4f5
Create Date: 2026-11-30 18:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b61f0c2d7a35'
down_revision = 'b7e1d2c3a4f5'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (nullable, no default): no table copy on SQLite.
    op.add_column('deliveries', sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('alert_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_replies_alert_id_alerts')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_alert_replies_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['sms_outbox.id'],
                            name=op.f('fk_alert_replies_outbox_message_id_sms_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_replies'))
    )
    with op.batch_alter_table('alert_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_replies_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_replies_outbox_message_id'), ['outbox_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_replies_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_replies_received_at'), ['received_at'], unique=False)

    _backfill_acknowledgements()


def _backfill_acknowledgements():
    """An acknowledgement stored before this revision (a delivery's acknowledged_at and ack_text)
    becomes its reply, so that the alert page lists it beside the count it is part of. One that
    an officer simulated on the console outbox (the audit trail keeps which: its "simulate" row
    names the outcome, the alert and the phone) is marked simulated, with its outbox message."""
    deliveries = sa.table('deliveries', sa.column('id'), sa.column('alert_id'), sa.column('kind'), sa.column('name'),
                          sa.column('phone'), sa.column('acknowledged_at'), sa.column('ack_text'))
    replies = sa.table('alert_replies', sa.column('alert_id'), sa.column('delivery_id'), sa.column('name'),
                       sa.column('phone'), sa.column('text'), sa.column('action'), sa.column('simulated', sa.Boolean()),
                       sa.column('outbox_message_id'), sa.column('received_at'))
    op.execute(replies.insert().from_select(
        ['alert_id', 'delivery_id', 'name', 'phone', 'text', 'action', 'simulated', 'received_at'],
        sa.select(deliveries.c.alert_id, deliveries.c.id, deliveries.c.name, deliveries.c.phone,
                  sa.func.coalesce(deliveries.c.ack_text, ''), sa.literal('ack'), sa.false(), deliveries.c.acknowledged_at)
        .where(deliveries.c.acknowledged_at.is_not(None), deliveries.c.kind == 'alert')
    ))

    audit = sa.table('audit_log', sa.column('id'), sa.column('entity'), sa.column('action'), sa.column('record_id'),
                     sa.column('changes', sa.JSON()))
    outbox = sa.table('sms_outbox', sa.column('id'))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(audit.c.record_id, audit.c.changes)
        .where(audit.c.entity == 'sms_outbox', audit.c.action == 'simulate').order_by(audit.c.id)
    ).all()

    def new_value(changes, key):
        value = (changes or {}).get(key)
        return value[-1] if isinstance(value, list) and value else None

    for record_id, changes in rows:
        alert_id, phone = new_value(changes, 'alert_id'), new_value(changes, 'to')
        if new_value(changes, 'outcome') != 'ack' or not isinstance(alert_id, int) or not phone:
            continue
        try:
            message_id = int(record_id)
        except (TypeError, ValueError):
            message_id = None
        message = sa.select(outbox.c.id).where(outbox.c.id == message_id).scalar_subquery()  # NULL if it is gone
        conn.execute(replies.update().where(replies.c.action == 'ack', replies.c.alert_id == alert_id,
                                            replies.c.phone == phone)
                     .values(simulated=True, outbox_message_id=message))


def downgrade():
    with op.batch_alter_table('alert_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_replies_received_at'))
        batch_op.drop_index(batch_op.f('ix_alert_replies_phone'))
        batch_op.drop_index(batch_op.f('ix_alert_replies_outbox_message_id'))
        batch_op.drop_index(batch_op.f('ix_alert_replies_alert_id'))

    op.drop_table('alert_replies')
    op.execute("ALTER TABLE deliveries DROP COLUMN opted_out_at")
