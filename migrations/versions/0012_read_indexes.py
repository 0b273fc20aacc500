"""indexes the benchmarks at a million tickets asked for: events (type, task_name, at) for the dashboard's
and KPIs' reads of one kind of step in a period, and the warning sweep's pending tasks (partial)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'ready' AND warned_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_type_task_at', ['type', 'task_name', 'at'], unique=False)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_warn_pending', ['warn_at'], unique=False, postgresql_where=PENDING,
                              sqlite_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_warn_pending')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_type_task_at')
