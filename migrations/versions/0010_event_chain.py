"""events.hash: the tamper-evident chain; events become append-only in the database; personal-data
views; attachments.purged_at (retention)

Existing events are chained in place (each ticket's log by seq; the administrative log is numbered by
id), then triggers refuse UPDATE and DELETE on events.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def _backfill(bind) -> None:
    from datetime import datetime, timezone
    from types import SimpleNamespace
    from engine.audit_chain import GENESIS, event_hash
    import json
    events = sa.table('events', sa.column('id'), sa.column('ticket_id'), sa.column('seq'), sa.column('type'),
                      sa.column('actor'), sa.column('at'), sa.column('deployment_id'), sa.column('task_name'),
                      sa.column('data'), sa.column('hash'))
    admin = bind.execute(sa.select(events.c.id).where(events.c.ticket_id.is_(None)).order_by(events.c.id)).scalars().all()
    for number, event_id in enumerate(admin, 1):
        bind.execute(events.update().where(events.c.id == event_id).values(seq=number))
    rows = bind.execute(sa.select(events).order_by(events.c.ticket_id, events.c.seq, events.c.id)).mappings()
    previous, log = GENESIS, object()
    for row in rows:
        if row['ticket_id'] != log:
            previous, log = GENESIS, row['ticket_id']
        at = row['at']
        if isinstance(at, str):      # SQLite stores the UTC time as text
            at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        data = row['data']
        if isinstance(data, str):
            data = json.loads(data)
        value = event_hash(previous, SimpleNamespace(**{**row, 'at': at, 'data': data}))
        bind.execute(events.update().where(events.c.id == row['id']).values(hash=value))
        previous = value


def upgrade() -> None:
    import engine.models
    op.create_table('personal_data_views',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('at', engine.models.UTCDateTime(), nullable=False),
    sa.Column('purpose', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_personal_data_views_ticket', 'personal_data_views', ['ticket_id'])
    with op.batch_alter_table('attachments') as batch:
        batch.add_column(sa.Column('purged_at', engine.models.UTCDateTime(), nullable=True))
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
                   "FOR EACH ROW EXECUTE FUNCTION events_append_only()")
    else:
        op.execute("CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
                   "BEGIN SELECT RAISE(ABORT, 'events are append-only (UPDATE refused)'); END")
        op.execute("CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
                   "BEGIN SELECT RAISE(ABORT, 'events are append-only (DELETE refused)'); END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
    with op.batch_alter_table('events') as batch:
        batch.drop_column('hash')
    with op.batch_alter_table('attachments') as batch:
        batch.drop_column('purged_at')
    op.drop_index('ix_personal_data_views_ticket', table_name='personal_data_views')
    op.drop_table('personal_data_views')
