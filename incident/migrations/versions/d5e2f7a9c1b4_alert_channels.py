"""Alerts on more than one channel (SMS, e-mail, voice): the channels and e-mail subject of an
alert, each delivery's and exclusion's channel and an e-mail delivery's address (one delivery per
channel and address), and the console outbox keeping e-mails (an address, a subject) too.

Revision ID: d5e2f7a9c1b4
Revises: c4a9e8f1d2b3
Create Date: 2026-11-30 21:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd5e2f7a9c1b4'
down_revision = 'c4a9e8f1d2b3'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('alerts', sa.Column('channels', sa.JSON(), nullable=True))
    op.add_column('alerts', sa.Column('subject', sa.String(length=200), nullable=True))
    op.add_column('alert_exclusions', sa.Column('channel', sa.String(length=8), server_default='sms', nullable=False))
    # A new unique key and CHECK: SQLite copies the table (it has no geometry).
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='sms', nullable=False))
        batch_op.add_column(sa.Column('email', sa.String(length=254), server_default='', nullable=False))
        batch_op.drop_constraint('uq_deliveries_alert_phone_kind', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_deliveries_alert_channel_address_kind'),
                                          ['alert_id', 'channel', 'phone', 'email', 'kind'])
        batch_op.create_check_constraint(op.f('ck_deliveries_channel'), "channel IN ('sms', 'email', 'voice')")
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.alter_column('to', existing_type=sa.String(length=20), type_=sa.String(length=254),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='sms', nullable=False))
        batch_op.add_column(sa.Column('subject', sa.String(length=200), nullable=True))


def downgrade():
    # What only this revision can hold goes first: e-mails and calls in the outbox (an address
    # does not fit the old column), deliveries and exclusions on other channels.
    op.execute("DELETE FROM sms_outbox WHERE channel <> 'sms'")
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.drop_column('subject')
        batch_op.drop_column('channel')
        batch_op.alter_column('to', existing_type=sa.String(length=254), type_=sa.String(length=20),
                              existing_nullable=False)
    op.execute("DELETE FROM deliveries WHERE channel <> 'sms'")
    op.execute("DELETE FROM alert_exclusions WHERE channel <> 'sms'")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_deliveries_channel'), type_='check')
        batch_op.drop_constraint('uq_deliveries_alert_channel_address_kind', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_deliveries_alert_phone_kind'), ['alert_id', 'phone', 'kind'])
        batch_op.drop_column('email')
        batch_op.drop_column('channel')
    op.drop_column('alert_exclusions', 'channel')
    op.drop_column('alerts', 'subject')
    op.drop_column('alerts', 'channels')
