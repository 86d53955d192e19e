"""agencies, subscriptions and the webhook outbox (issue 11)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flag_area',
    sa.Column('flag_id', sa.String(length=64), nullable=False),
    sa.Column('area', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('flag_id', 'area')
    )
    with op.batch_alter_table('flag_area', schema=None) as batch_op:
        batch_op.create_index('ix_flag_area_area', ['area', 'flag_id'], unique=False)

    op.create_table('agency_binding',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('agency_type', sa.String(length=64), nullable=False),
    sa.Column('areas', sa.Text(), nullable=False),
    sa.Column('full_resource', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['api_client.client_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('subscription',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('filters', sa.Text(), nullable=False),
    sa.Column('endpoint', sa.String(length=2000), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('payload', sa.String(length=16), nullable=False),
    sa.Column('secret', sa.String(length=255), nullable=False),
    sa.Column('previous_secret', sa.String(length=255), nullable=True),
    sa.Column('previous_secret_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('fhir_base', sa.String(length=255), nullable=False),
    sa.Column('events_since_start', sa.BigInteger(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['api_client.client_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_client_id'), ['client_id'], unique=False)

    op.create_table('webhook_message',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('msg_id', sa.String(length=64), nullable=False),
    sa.Column('subscription_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('order_key', sa.String(length=64), nullable=False),
    sa.Column('event_number', sa.BigInteger(), nullable=True),
    sa.Column('focus', sa.String(length=120), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['subscription_pk'], ['subscription.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('msg_id')
    )
    with op.batch_alter_table('webhook_message', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_due', ['next_attempt_at'], unique=False, postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))
        batch_op.create_index('ix_webhook_order', ['subscription_pk', 'order_key', 'pk'], unique=False)

    op.create_table('delivery_attempt',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('message_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subscription_pk', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('response', sa.String(length=500), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['message_pk'], ['webhook_message.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempt_message_pk'), ['message_pk'], unique=False)
        batch_op.create_index('ix_delivery_attempt_sub', ['subscription_pk', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_attempt_sub')
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_message_pk'))

    op.drop_table('delivery_attempt')
    with op.batch_alter_table('webhook_message', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_order')
        batch_op.drop_index('ix_webhook_due', postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))

    op.drop_table('webhook_message')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_client_id'))

    op.drop_table('subscription')
    op.drop_table('agency_binding')
    with op.batch_alter_table('flag_area', schema=None) as batch_op:
        batch_op.drop_index('ix_flag_area_area')

    op.drop_table('flag_area')
