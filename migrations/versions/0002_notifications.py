"""notifications: messages, tasks.warned_at, users.email/phone

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('city', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(), nullable=False),
    sa.Column('deliver_after', engine.models.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', engine.models.UTCDateTime(), nullable=True),
    sa.Column('delivery_error', sa.Text(), nullable=True),
    sa.Column('read_at', engine.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_username_read', ['username', 'read_at'], unique=False)
        batch_op.create_index('ix_messages_delivery', ['delivered_at', 'deliver_after'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warned_at', engine.models.UTCDateTime(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('email')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('warned_at')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_delivery')
        batch_op.drop_index('ix_messages_username_read')

    op.drop_table('messages')
