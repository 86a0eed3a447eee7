"""Incidents, their append-only hash-chained log (the database refuses UPDATE and DELETE of
entries), assignments of resources, and counters.

Revision ID: 1dc371f4712d
Revises: e03a314316b3
Create Date: 2026-11-26 13:40:59.728161

"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision = '1dc371f4712d'
down_revision = 'e03a314316b3'
branch_labels = None
depends_on = None


# The log is append-only in the database itself: an UPDATE or DELETE of an entry fails, whoever
# sends it. Corrections are new entries that point at the corrected one.
SQLITE_TRIGGERS = (
    """CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
       BEGIN SELECT RAISE(ABORT, 'log entries are append-only: add a correction instead'); END""",
    """CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
       BEGIN SELECT RAISE(ABORT, 'log entries are append-only: add a correction instead'); END""",
)
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION riado_log_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'log entries are append-only: add a correction instead'; END $$""",
    """CREATE TRIGGER log_entries_no_change BEFORE UPDATE OR DELETE ON log_entries
       FOR EACH ROW EXECUTE FUNCTION riado_log_entries_append_only()""",
    """CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
       FOR EACH STATEMENT EXECUTE FUNCTION riado_log_entries_append_only()""",
)


def upgrade():
    op.create_table('counters',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_geospatial_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('drill', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('commander', sa.String(length=200), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('area', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contained_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('log_count', sa.Integer(), nullable=False),
    sa.Column('log_head', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('flood', 'storm', 'fire', 'hazmat', 'power_outage', 'water_outage', 'heat', 'snow_ice', 'gas_leak', 'building_collapse', 'traffic', 'epidemic', 'other')", name=op.f('ck_incidents_kind')),
    sa.CheckConstraint("severity IN ('extreme', 'severe', 'moderate', 'minor', 'unknown')", name=op.f('ck_incidents_severity')),
    sa.CheckConstraint("status IN ('reported', 'active', 'contained', 'closed')", name=op.f('ck_incidents_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('year', 'serial', name='uq_incidents_year_serial')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_incidents_area', ['area'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_geospatial_index('idx_incidents_location', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_incidents_drill'), ['drill'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_status'), ['status'], unique=False)

    op.create_table('log_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('corrects', sa.Integer(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('note', 'decision', 'action', 'communication', 'system')", name=op.f('ck_log_entries_kind')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_log_entries_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_entries')),
    sa.UniqueConstraint('incident_id', 'seq', name='uq_log_entries_incident_seq')
    )
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_entries_incident_id'), ['incident_id'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_by', sa.String(length=254), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=254), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_assignments_quantity')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_assignments_incident_id_incidents')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_assignments_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_released_at'), ['released_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_resource_id'), ['resource_id'], unique=False)

    for statement in POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_truncate ON log_entries")
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_change ON log_entries")
        op.execute("DROP FUNCTION IF EXISTS riado_log_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_delete")
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_resource_id'))
        batch_op.drop_index(batch_op.f('ix_assignments_released_at'))
        batch_op.drop_index(batch_op.f('ix_assignments_incident_id'))

    op.drop_table('assignments')
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_entries_incident_id'))

    op.drop_table('log_entries')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_status'))
        batch_op.drop_index(batch_op.f('ix_incidents_drill'))
        batch_op.drop_geospatial_index('idx_incidents_location', postgresql_using='gist', column_name='location')
        batch_op.drop_geospatial_index('idx_incidents_area', postgresql_using='gist', column_name='area')

    op.drop_geospatial_table('incidents')
    op.drop_table('counters')
