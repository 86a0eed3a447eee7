"""Alert groups marked as press lists: the only groups a press officer may e-mail a published
public notice to (SPEC §5). No group is one until an officer marks it.

Revision ID: c7d1e5a3f9b2
Revises: a4c8e2f0b6d3
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c7d1e5a3f9b2'
down_revision = 'a4c8e2f0b6d3'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('alert_groups', sa.Column('press_list', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('alert_groups', schema=None) as batch_op:
        batch_op.drop_column('press_list')
