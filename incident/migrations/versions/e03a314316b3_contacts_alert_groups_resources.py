"""Contacts, alert groups, resource kinds (seeded) and resources.

Revision ID: e03a314316b3
Revises: e0b35e3210e3
Create Date: 2026-11-26 13:01:36.892787

"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision = 'e03a314316b3'
down_revision = 'e0b35e3210e3'
branch_labels = None
depends_on = None


SEEDED_KINDS = (
    ("vehicle", "Jármű", "Vehicle"),
    ("boat", "Csónak, hajó", "Boat"),
    ("pump", "Szivattyú", "Pump"),
    ("generator", "Áramfejlesztő", "Generator"),
    ("sandbags", "Homokzsák", "Sandbags"),
    ("shelter", "Befogadóhely", "Shelter"),
    ("heavy_machinery", "Munkagép", "Heavy machinery"),
    ("medical", "Egészségügyi eszköz", "Medical"),
    ("food_water", "Élelmiszer, ivóvíz", "Food and water"),
    ("communications", "Híradástechnika", "Communications"),
    ("lighting", "Világítás", "Lighting"),
    ("other", "Egyéb", "Other"),
)


def upgrade():
    op.create_table('alert_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_alert_groups_name'))
    )
    op.create_geospatial_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('sms_opt_in', sa.Boolean(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('search', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_contacts_location', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_contacts_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_phone'), ['phone'], unique=False)

    kinds = op.create_table('resource_kinds',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label_hu', sa.String(length=100), nullable=False),
    sa.Column('label_en', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_resource_kinds'))
    )
    op.bulk_insert(kinds, [{"code": c, "label_hu": hu, "label_en": en} for c, hu, en in SEEDED_KINDS])
    op.create_table('contact_groups',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_groups_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['alert_groups.id'], name=op.f('fk_contact_groups_group_id_alert_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'group_id', name=op.f('pk_contact_groups'))
    )
    with op.batch_alter_table('contact_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_groups_group_id'), ['group_id'], unique=False)

    op.create_geospatial_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('search', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('available', 'deployed', 'maintenance', 'unavailable')", name=op.f('ck_resources_status')),
    sa.CheckConstraint('capacity IS NULL OR capacity >= 0', name=op.f('ck_resources_capacity')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_resources_quantity')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_resources_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['kind'], ['resource_kinds.code'], name=op.f('fk_resources_kind_resource_kinds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_resources_location', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_resources_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_status'), ['status'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # Nearest-first in metres: KNN (<->) on geography needs an index on that expression.
        op.execute("CREATE INDEX ix_resources_location_geog ON resources USING gist ((location::geography))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_resources_location_geog")
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_status'))
        batch_op.drop_index(batch_op.f('ix_resources_name'))
        batch_op.drop_index(batch_op.f('ix_resources_kind'))
        batch_op.drop_index(batch_op.f('ix_resources_contact_id'))
        batch_op.drop_geospatial_index('idx_resources_location', postgresql_using='gist', column_name='location')

    op.drop_geospatial_table('resources')
    with op.batch_alter_table('contact_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_groups_group_id'))

    op.drop_table('contact_groups')
    op.drop_table('resource_kinds')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_phone'))
        batch_op.drop_index(batch_op.f('ix_contacts_name'))
        batch_op.drop_geospatial_index('idx_contacts_location', postgresql_using='gist', column_name='location')

    op.drop_geospatial_table('contacts')
    op.drop_table('alert_groups')
