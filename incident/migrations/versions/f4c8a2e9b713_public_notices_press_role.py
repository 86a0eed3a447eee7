"""Public information and the press desk (SPEC §5): the press role, log entries of kind media,
shelters marked public, public notices with their four-eyes approval, and the e-mails that sent
a notice to the press list.

SQLite changes a CHECK by copying the table (batch mode); the copy of log_entries loses the
triggers that keep the log append-only, so they are made again.

Revision ID: f4c8a2e9b713
Revises: a9d4e6f2b8c1
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = 'f4c8a2e9b713'
down_revision = 'a9d4e6f2b8c1'
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('viewer', 'officer', 'admin')"
ROLES_AFTER = "role IN ('viewer', 'press', 'officer', 'admin')"
LOG_KINDS_BEFORE = "kind IN ('note', 'decision', 'action', 'communication', 'system')"
LOG_KINDS_AFTER = "kind IN ('note', 'decision', 'action', 'communication', 'media', 'system')"
SQLITE_LOG_TRIGGERS = (
    """CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
       BEGIN SELECT RAISE(ABORT, 'log entries are append-only: add a correction instead'); END""",
    """CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
       BEGIN SELECT RAISE(ABORT, 'log entries are append-only: add a correction instead'); END""",
)


def _log_kinds(check: str) -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_delete")
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_log_entries_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_log_entries_kind'), check)
    if sqlite:
        for statement in SQLITE_LOG_TRIGGERS:
            op.execute(statement)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role'), ROLES_AFTER)
    _log_kinds(LOG_KINDS_AFTER)
    op.add_column('resources', sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_geospatial_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('instruction', sa.Text(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('area', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('area_desc', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by', sa.String(length=254), nullable=True),
    sa.Column('hands', sa.JSON(), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_by', sa.String(length=254), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by', sa.String(length=254), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=254), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("severity IN ('extreme', 'severe', 'moderate', 'minor', 'unknown')", name=op.f('ck_notices_severity')),
    sa.CheckConstraint("status IN ('draft', 'pending', 'published', 'withdrawn')", name=op.f('ck_notices_status')),
    sa.CheckConstraint("urgency IN ('immediate', 'expected', 'future', 'past', 'unknown')", name=op.f('ck_notices_urgency')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_notices_incident_id_incidents')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['notices.id'], name=op.f('fk_notices_superseded_by_id_notices')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['notices.id'], name=op.f('fk_notices_supersedes_id_notices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_supersedes_id'), ['supersedes_id'], unique=False)

    op.create_table('notice_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_by', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_notice_sends_alert_id_alerts')),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_sends_notice_id_notices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_sends'))
    )
    with op.batch_alter_table('notice_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_sends_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_sends_notice_id'), ['notice_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notice_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_sends_notice_id'))
        batch_op.drop_index(batch_op.f('ix_notice_sends_alert_id'))
    op.drop_table('notice_sends')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_supersedes_id'))
        batch_op.drop_index(batch_op.f('ix_notices_status'))
        batch_op.drop_index(batch_op.f('ix_notices_published_at'))
        batch_op.drop_index(batch_op.f('ix_notices_incident_id'))
    op.drop_geospatial_table('notices')
    op.drop_column('resources', 'public')
    # Media entries are part of the legal log: their kind is in each entry's hash, so it cannot be
    # changed to an older one. A database that has them stays on this revision.
    media = op.get_bind().execute(sa.text("SELECT count(*) FROM log_entries WHERE kind = 'media'")).scalar_one()
    if media:
        raise RuntimeError(f"{media} log entries are of kind media, which the older schema cannot hold; "
                           "the log is append-only, so this database cannot go below revision f4c8a2e9b713.")
    _log_kinds(LOG_KINDS_BEFORE)
    # A press officer reads, as a viewer does.
    op.execute("UPDATE users SET role = 'viewer' WHERE role = 'press'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role'), ROLES_BEFORE)
