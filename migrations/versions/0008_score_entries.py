"""score_entries: manual scoring items with evidence

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('score_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('city', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('unit_code', sa.String(length=60), nullable=False),
    sa.Column('item', sa.String(length=60), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('ticket_ids', sa.JSON(), nullable=False),
    sa.Column('entered_by', sa.String(length=80), nullable=False),
    sa.Column('entered_at', engine.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_score_entries_city_period', 'score_entries', ['city', 'period'])


def downgrade() -> None:
    op.drop_index('ix_score_entries_city_period', table_name='score_entries')
    op.drop_table('score_entries')
