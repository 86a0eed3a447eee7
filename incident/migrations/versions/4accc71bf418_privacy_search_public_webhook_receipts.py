"""Privacy: the contacts' folded search text without phone and e-mail (a viewer's search), and
the receipts of acted-on webhooks (a replayed Twilio request acts once).

Revision ID: 4accc71bf418
Revises: 5a1c0e7d9b21
Create Date: 2026-11-27 10:00:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '4accc71bf418'
down_revision = '5a1c0e7d9b21'
branch_labels = None
depends_on = None


def _fold(text):
    # As incident.validation.fold at the time of writing (a migration keeps its own copy).
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def upgrade():
    # A plain ADD COLUMN: a batch (table copy) would lose SpatiaLite's geometry registration.
    op.add_column('contacts', sa.Column('search_public', sa.Text(), server_default='', nullable=False))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name, organization, role FROM contacts")).all()
    for row in rows:
        text = " ".join((row.name or "", row.organization or "", row.role or ""))
        bind.execute(sa.text("UPDATE contacts SET search_public = :search WHERE id = :id"),
                     {"search": _fold(text), "id": row.id})

    op.create_table('webhook_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_receipts')),
    sa.UniqueConstraint('kind', 'key', name='uq_webhook_receipts_kind_key')
    )


def downgrade():
    op.drop_table('webhook_receipts')
    op.execute("ALTER TABLE contacts DROP COLUMN search_public")
