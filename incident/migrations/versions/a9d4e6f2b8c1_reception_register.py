"""The reception register (SPEC §6): evacuees housed in a shelter for an incident.

Revision ID: a9d4e6f2b8c1
Revises: f3a8c2d6e1b9
Create Date: 2026-12-02 09:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'a9d4e6f2b8c1'
down_revision = 'f3a8c2d6e1b9'
branch_labels = None
depends_on = None


def _sort_key_type():
    return sa.Text().with_variant(sa.Text(collation='C'), 'postgresql')


def upgrade():
    op.create_table(
        'evacuees',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('shelter_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('name_key', _sort_key_type(), nullable=True),
        sa.Column('birth_year', sa.Integer(), nullable=True),
        sa.Column('phone', sa.String(length=40), nullable=False),
        sa.Column('household', sa.String(length=200), nullable=False),
        sa.Column('needs', sa.String(length=200), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('destination', sa.String(length=500), nullable=False),
        sa.Column('search', sa.Text(), nullable=False),
        sa.Column('age_group', sa.String(length=16), nullable=True),
        sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('checked_in_by', sa.String(length=254), nullable=False),
        sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('present', 'left')", name=op.f('ck_evacuees_status')),
        sa.CheckConstraint("age_group IS NULL OR age_group IN ('child', 'adult', 'elderly')",
                           name=op.f('ck_evacuees_age_group')),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_evacuees_incident_id_incidents')),
        sa.ForeignKeyConstraint(['shelter_id'], ['resources.id'], name=op.f('fk_evacuees_shelter_id_resources')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evacuees')),
    )
    op.create_index('ix_evacuees_shelter_status', 'evacuees', ['shelter_id', 'status'], unique=False)
    op.create_index('ix_evacuees_incident_status', 'evacuees', ['incident_id', 'status'], unique=False)
    op.create_index(op.f('ix_evacuees_household'), 'evacuees', ['household'], unique=False)
    op.create_index(op.f('ix_evacuees_name_key'), 'evacuees', ['name_key'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_evacuees_name_key'), table_name='evacuees')
    op.drop_index(op.f('ix_evacuees_household'), table_name='evacuees')
    op.drop_index('ix_evacuees_incident_status', table_name='evacuees')
    op.drop_index('ix_evacuees_shelter_status', table_name='evacuees')
    op.drop_table('evacuees')
