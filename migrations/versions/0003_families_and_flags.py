"""families, statuses, raised flags, reviews, due checks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:55:47.158348
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('family',
    sa.Column('family_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('family_id')
    )
    op.create_table('family_link',
    sa.Column('link_key', sa.String(length=300), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('link_key', 'patient_id', 'source')
    )
    with op.batch_alter_table('family_link', schema=None) as batch_op:
        batch_op.create_index('ix_family_link_patient', ['patient_id'], unique=False)
        batch_op.create_index('ix_family_link_source', ['source'], unique=False)

    op.create_table('raised_flag',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('flag_id', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('agencies', sa.String(length=255), nullable=False),
    sa.Column('evidence_events', sa.Text(), nullable=False),
    sa.Column('family_children', sa.Text(), nullable=False),
    sa.Column('organisation', sa.String(length=255), nullable=True),
    sa.Column('age_days', sa.Integer(), nullable=True),
    sa.Column('first_event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('flag_id')
    )
    with op.batch_alter_table('raised_flag', schema=None) as batch_op:
        batch_op.create_index('ix_raised_flag_child', ['child_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_raised_flag_family', ['family_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_raised_flag_worklist', ['is_open', 'priority', 'opened_at'], unique=False)
        batch_op.create_index('uq_raised_flag_open', ['rule_id', 'child_id'], unique=True, postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))

    op.create_table('family_member',
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['family.family_id'], ),
    sa.PrimaryKeyConstraint('patient_id')
    )
    with op.batch_alter_table('family_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_member_family_id'), ['family_id'], unique=False)

    op.create_table('flag_review',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('flag_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_kind', sa.String(length=16), nullable=False),
    sa.Column('by_id', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('flag_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['flag_pk'], ['raised_flag.pk'], ),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('flag_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_review_flag_pk'), ['flag_pk'], unique=False)

    op.create_table('safeguarding_status',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('child_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_pk')
    )
    with op.batch_alter_table('safeguarding_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safeguarding_status_child_id'), ['child_id'], unique=False)

    op.create_table('due_check',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['coded_event.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('event_pk', 'rule_id', name='uq_due_check')
    )
    with op.batch_alter_table('due_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_due_check_due_at'), ['due_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('due_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_due_check_due_at'))

    op.drop_table('due_check')
    with op.batch_alter_table('safeguarding_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safeguarding_status_child_id'))

    op.drop_table('safeguarding_status')
    with op.batch_alter_table('flag_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_review_flag_pk'))

    op.drop_table('flag_review')
    with op.batch_alter_table('family_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_member_family_id'))

    op.drop_table('family_member')
    with op.batch_alter_table('raised_flag', schema=None) as batch_op:
        batch_op.drop_index('uq_raised_flag_open', postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))
        batch_op.drop_index('ix_raised_flag_worklist')
        batch_op.drop_index('ix_raised_flag_family')
        batch_op.drop_index('ix_raised_flag_child')

    op.drop_table('raised_flag')
    with op.batch_alter_table('family_link', schema=None) as batch_op:
        batch_op.drop_index('ix_family_link_source')
        batch_op.drop_index('ix_family_link_patient')

    op.drop_table('family_link')
    op.drop_table('family')

