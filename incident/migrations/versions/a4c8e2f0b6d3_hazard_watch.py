"""Hazard watch (SPEC §8): the feeds' state, weather warnings, gauge stations and readings,
watch events (proposals accepted or dismissed).

Revision ID: a4c8e2f0b6d3
Revises: f4c8a2e9b713
Create Date: 2026-12-01 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a4c8e2f0b6d3'
down_revision = 'f4c8a2e9b713'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'watch_feeds',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('etag', sa.String(length=500), nullable=True),
        sa.Column('last_modified', sa.String(length=100), nullable=True),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ok_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_watch_feeds')),
    )
    op.create_table(
        'watch_warnings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identifier', sa.String(length=255), nullable=False),
        sa.Column('lineage', sa.String(length=255), nullable=False),
        sa.Column('sender', sa.String(length=255), nullable=False),
        sa.Column('sent', sa.DateTime(timezone=True), nullable=True),
        sa.Column('msg_type', sa.String(length=16), nullable=False),
        sa.Column('event', sa.String(length=255), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=False),
        sa.Column('hazard', sa.String(length=32), nullable=False),
        sa.Column('onset', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires', sa.DateTime(timezone=True), nullable=True),
        sa.Column('area', sa.String(length=500), nullable=False),
        sa.Column('codes', sa.JSON(), nullable=False),
        sa.Column('headline', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level IN ('yellow', 'orange', 'red')", name=op.f('ck_watch_warnings_level')),
        sa.CheckConstraint("status IN ('active', 'updated', 'cancelled', 'ended')", name=op.f('ck_watch_warnings_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_warnings')),
        sa.UniqueConstraint('identifier', name=op.f('uq_watch_warnings_identifier')),
    )
    op.create_index(op.f('ix_watch_warnings_lineage'), 'watch_warnings', ['lineage'], unique=False)
    op.create_index(op.f('ix_watch_warnings_expires'), 'watch_warnings', ['expires'], unique=False)
    op.create_index(op.f('ix_watch_warnings_status'), 'watch_warnings', ['status'], unique=False)
    op.create_table(
        'watch_gauge_stations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station', sa.String(length=100), nullable=False),
        sa.Column('level_cm', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('threshold', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_gauge_stations')),
        sa.UniqueConstraint('station', name=op.f('uq_watch_gauge_stations_station')),
    )
    op.create_table(
        'watch_gauge_readings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('level_cm', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('manual', 'feed')", name=op.f('ck_watch_gauge_readings_source')),
        sa.ForeignKeyConstraint(['station_id'], ['watch_gauge_stations.id'],
                                name=op.f('fk_watch_gauge_readings_station_id_watch_gauge_stations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_gauge_readings')),
        sa.UniqueConstraint('station_id', 'at', name='uq_watch_gauge_readings_station_at'),
    )
    op.create_index(op.f('ix_watch_gauge_readings_station_id'), 'watch_gauge_readings', ['station_id'], unique=False)
    op.create_index(op.f('ix_watch_gauge_readings_at'), 'watch_gauge_readings', ['at'], unique=False)
    op.create_table(
        'watch_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=True),
        sa.Column('station', sa.String(length=100), nullable=True),
        sa.Column('threshold', sa.Integer(), nullable=True),
        sa.Column('threshold_cm', sa.Integer(), nullable=True),
        sa.Column('level_cm', sa.Integer(), nullable=True),
        sa.Column('reading_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('warning_id', sa.Integer(), nullable=True),
        sa.Column('warning_level', sa.String(length=8), nullable=True),
        sa.Column('hazard', sa.String(length=32), nullable=False),
        sa.Column('readiness_level', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by', sa.String(length=254), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('alert_draft', sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('gauge', 'warning')", name=op.f('ck_watch_events_kind')),
        sa.CheckConstraint("status IN ('open', 'accepted', 'dismissed')", name=op.f('ck_watch_events_status')),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_watch_events_incident_id_incidents')),
        sa.ForeignKeyConstraint(['station_id'], ['watch_gauge_stations.id'],
                                name=op.f('fk_watch_events_station_id_watch_gauge_stations')),
        sa.ForeignKeyConstraint(['warning_id'], ['watch_warnings.id'], name=op.f('fk_watch_events_warning_id_watch_warnings')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_events')),
        sa.UniqueConstraint('key', name=op.f('uq_watch_events_key')),
    )
    op.create_index(op.f('ix_watch_events_station_id'), 'watch_events', ['station_id'], unique=False)
    op.create_index(op.f('ix_watch_events_warning_id'), 'watch_events', ['warning_id'], unique=False)
    op.create_index(op.f('ix_watch_events_status'), 'watch_events', ['status'], unique=False)
    op.create_index(op.f('ix_watch_events_created_at'), 'watch_events', ['created_at'], unique=False)
    op.create_index(op.f('ix_watch_events_incident_id'), 'watch_events', ['incident_id'], unique=False)


def downgrade():
    op.drop_table('watch_events')
    op.drop_table('watch_gauge_readings')
    op.drop_table('watch_gauge_stations')
    op.drop_table('watch_warnings')
    op.drop_table('watch_feeds')
