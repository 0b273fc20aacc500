"""cases: tickets.process, tasks.subject_ticket_id, ticket_links

Supervision orders and consultations run as their own BPMN processes in ticket rows linked to the
tickets they concern.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('process', sa.String(length=40), nullable=False,
                                      server_default='ticket_lifecycle'))
        batch_op.create_index(batch_op.f('ix_tickets_process'), ['process'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_ticket_id', BigId, nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_subject_ticket_id'), ['subject_ticket_id'], unique=False)
        batch_op.create_foreign_key('fk_tasks_subject_ticket_id', 'tickets', ['subject_ticket_id'], ['id'])

    op.create_table('ticket_links',
    sa.Column('id', BigId, nullable=False),
    sa.Column('case_id', BigId, nullable=False),
    sa.Column('ticket_id', BigId, nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'ticket_id')
    )
    with op.batch_alter_table('ticket_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_links_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_links_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_links_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_links_case_id'))
    op.drop_table('ticket_links')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tasks_subject_ticket_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tasks_subject_ticket_id'))
        batch_op.drop_column('subject_ticket_id')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_process'))
        batch_op.drop_column('process')
