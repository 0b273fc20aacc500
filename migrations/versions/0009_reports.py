"""ticket_facts (the KPI facts cache), reports (issued periodic reports), messages.link

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('ticket_facts',
    sa.Column('ticket_id', BigId, nullable=False),
    sa.Column('city', sa.String(length=40), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_index('ix_ticket_facts_city', 'ticket_facts', ['city'])
    op.create_table('reports',
    sa.Column('id', BigId, nullable=False),
    sa.Column('city', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('issued_at', engine.models.UTCDateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=80), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('city', 'kind', 'period', name='uq_reports_city_kind_period')
    )
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('link', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('link')
    op.drop_table('reports')
    op.drop_index('ix_ticket_facts_city', table_name='ticket_facts')
    op.drop_table('ticket_facts')
