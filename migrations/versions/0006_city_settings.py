"""city settings edited by the administrator: units.active/source, city_settings (hours, channels)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.text('1') if op.get_bind().dialect.name == 'sqlite' else sa.true()))
        batch_op.add_column(sa.Column('source', sa.String(length=10), nullable=False, server_default='rule_set'))
    op.create_table('city_settings',
    sa.Column('city', sa.String(length=40), nullable=False),
    sa.Column('working_hours', sa.JSON(), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=True),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.Column('updated_at', engine.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('city')
    )


def downgrade() -> None:
    op.drop_table('city_settings')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('source')
        batch_op.drop_column('active')
