"""The request id an alert was sent by (its workers' log lines carry it).

Revision ID: b7e1d2c3a4f5
Revises: 7c3d2f1a8e64
Create Date: 2026-11-30 18:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = 'b7e1d2c3a4f5'
down_revision = '7c3d2f1a8e64'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('alerts', sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('request_id')
