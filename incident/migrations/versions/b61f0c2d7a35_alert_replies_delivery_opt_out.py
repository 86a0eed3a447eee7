"""Replies to alerts (every SMS that came back, and what it did) and when a recipient opted out
by answering an alert (STOP).

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
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_replies_alert_id_alerts')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_alert_replies_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_replies'))
    )
    with op.batch_alter_table('alert_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_replies_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_replies_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_replies_received_at'), ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('alert_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_replies_received_at'))
        batch_op.drop_index(batch_op.f('ix_alert_replies_phone'))
        batch_op.drop_index(batch_op.f('ix_alert_replies_alert_id'))

    op.drop_table('alert_replies')
    op.execute("ALTER TABLE deliveries DROP COLUMN opted_out_at")
