"""Readiness plans and checklists (issue 16, SPEC §7): plans per hazard and readiness level with
their ordered tasks; the tasks copied onto an incident when a plan is applied; an incident's
readiness level (0–3).

Revision ID: f3a8c2d6e1b9
Revises: e7b3c9d1f2a6
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f3a8c2d6e1b9'
down_revision = 'e7b3c9d1f2a6'
branch_labels = None
depends_on = None

KINDS = ("'flood', 'storm', 'fire', 'hazmat', 'power_outage', 'water_outage', 'heat', 'snow_ice', 'gas_leak', "
         "'building_collapse', 'traffic', 'epidemic', 'other'")


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == 'sqlite':
        # A column with its CHECK, without rebuilding the spatial table (batch mode would copy it).
        op.execute("ALTER TABLE incidents ADD COLUMN readiness_level INTEGER DEFAULT '0' NOT NULL "
                   "CONSTRAINT ck_incidents_readiness_level CHECK (readiness_level BETWEEN 0 AND 3)")
    else:
        op.add_column('incidents', sa.Column('readiness_level', sa.Integer(), server_default='0', nullable=False))
        op.create_check_constraint(op.f('ck_incidents_readiness_level'), 'incidents', 'readiness_level BETWEEN 0 AND 3')

    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('hazard', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint(f"hazard IN ({KINDS})", name=op.f('ck_plans_hazard')),
    sa.CheckConstraint('level IS NULL OR level BETWEEN 1 AND 3', name=op.f('ck_plans_level')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('name', name=op.f('uq_plans_name'))
    )
    op.create_index(op.f('ix_plans_hazard'), 'plans', ['hazard'], unique=False)

    op.create_table('plan_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('responsible', sa.String(length=200), nullable=False),
    sa.Column('due_minutes', sa.Integer(), nullable=True),
    sa.CheckConstraint('due_minutes IS NULL OR due_minutes >= 0', name=op.f('ck_plan_tasks_due_minutes')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_tasks_plan_id_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_tasks'))
    )
    op.create_index(op.f('ix_plan_tasks_plan_id'), 'plan_tasks', ['plan_id'], unique=False)

    op.create_table('incident_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('plan_name', sa.String(length=200), nullable=False),
    sa.Column('plan_revision', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('responsible', sa.String(length=200), nullable=False),
    sa.Column('due_minutes', sa.Integer(), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_by', sa.String(length=254), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=254), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'done', 'skipped')", name=op.f('ck_incident_tasks_status')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_tasks_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_tasks'))
    )
    op.create_index(op.f('ix_incident_tasks_incident_id'), 'incident_tasks', ['incident_id'], unique=False)
    op.create_index(op.f('ix_incident_tasks_plan_id'), 'incident_tasks', ['plan_id'], unique=False)
    op.create_index(op.f('ix_incident_tasks_due_at'), 'incident_tasks', ['due_at'], unique=False)
    op.create_index(op.f('ix_incident_tasks_status'), 'incident_tasks', ['status'], unique=False)


def downgrade():
    op.drop_table('incident_tasks')
    op.drop_table('plan_tasks')
    op.drop_table('plans')
    conn = op.get_bind()
    if conn.dialect.name == 'sqlite':
        op.execute("ALTER TABLE incidents DROP COLUMN readiness_level")
    else:
        op.drop_constraint(op.f('ck_incidents_readiness_level'), 'incidents', type_='check')
        op.drop_column('incidents', 'readiness_level')
