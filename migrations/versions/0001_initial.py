"""resources, search index, identity keys, coded events

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 14:30:18.140424
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('resource',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sort_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('type', 'id', name='uq_resource_type_id')
    )
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.create_index('ix_resource_patient', ['patient_id', 'type'], unique=False)
        batch_op.create_index('ix_resource_type_sort', ['type', 'sort_date'], unique=False)
        batch_op.create_index('ix_resource_type_updated', ['type', 'last_updated'], unique=False)

    op.create_table('resource_version',
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('type', 'id', 'version')
    )
    op.create_table('coded_event',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=40), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('child_id', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=64), nullable=True),
    sa.Column('event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('outcome_system', sa.String(length=255), nullable=False),
    sa.Column('outcome_code', sa.String(length=64), nullable=False),
    sa.Column('is_child', sa.Boolean(), nullable=False),
    sa.Column('age_days', sa.Integer(), nullable=True),
    sa.Column('service_system', sa.String(length=255), nullable=True),
    sa.Column('service_code', sa.String(length=128), nullable=True),
    sa.Column('service_display', sa.String(length=255), nullable=True),
    sa.Column('organisation', sa.String(length=255), nullable=True),
    sa.Column('source_system', sa.String(length=255), nullable=True),
    sa.Column('original_codes', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('resource_pk')
    )
    with op.batch_alter_table('coded_event', schema=None) as batch_op:
        batch_op.create_index('ix_event_category_at', ['category', 'event_at'], unique=False)
        batch_op.create_index('ix_event_child_at', ['child_id', 'event_at'], unique=False)
        batch_op.create_index('ix_event_family_at', ['family_id', 'event_at'], unique=False)
        batch_op.create_index('ix_event_service_at', ['service_code', 'event_at'], unique=False)

    op.create_table('identity_key',
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('type', 'system', 'value', 'scope')
    )
    with op.batch_alter_table('identity_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_key_resource_pk'), ['resource_pk'], unique=False)

    op.create_table('search_index',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('param', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.Column('date_lo', sa.DateTime(timezone=True), nullable=True),
    sa.Column('date_hi', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('search_index', schema=None) as batch_op:
        batch_op.create_index('ix_search_code', ['type', 'param', 'code', 'system'], unique=False)
        batch_op.create_index('ix_search_date', ['type', 'param', 'date_lo'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_index_resource_pk'), ['resource_pk'], unique=False)




def downgrade() -> None:
    
    with op.batch_alter_table('search_index', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_index_resource_pk'))
        batch_op.drop_index('ix_search_date')
        batch_op.drop_index('ix_search_code')

    op.drop_table('search_index')
    with op.batch_alter_table('identity_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_key_resource_pk'))

    op.drop_table('identity_key')
    with op.batch_alter_table('coded_event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_service_at')
        batch_op.drop_index('ix_event_family_at')
        batch_op.drop_index('ix_event_child_at')
        batch_op.drop_index('ix_event_category_at')

    op.drop_table('coded_event')
    op.drop_table('resource_version')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_type_updated')
        batch_op.drop_index('ix_resource_type_sort')
        batch_op.drop_index('ix_resource_patient')

    op.drop_table('resource')

