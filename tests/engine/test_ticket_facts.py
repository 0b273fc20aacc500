"""The facts cache: folded once from the log, read back equal, and folded again when the log grows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.clock import SHANGHAI
from engine.models import TicketFactsCache
from engine.runtime import append_event
from engine.ticket_facts import TICKET_COLUMNS, cached_facts, facts_from_json, facts_to_json, ticket_facts
from engine.models import Ticket
from tests.engine.test_kpi_measures import LATE, RETURNED_TO_SAME, ticket


def test_facts_survive_their_json_round_trip():
    for history in (LATE, RETURNED_TO_SAME):
        facts = ticket_facts(ticket(), history)
        assert facts_from_json(ticket(), facts_to_json(facts)) == facts


def _rows(session, ids):
    return list(session.execute(select(*TICKET_COLUMNS).where(Ticket.id.in_(ids)).order_by(Ticket.id)))


def test_the_cache_is_filled_reused_and_refreshed_when_an_event_is_added(as_user, db):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    created = dispatcher.post("/api/v1/tickets", json={
        "city": "nantong", "channel": "phone_12345", "request_type": "complaint", "title": "小区电梯故障困人",
        "content": "电梯多次故障", "citizen": {"name": "张三", "phone": "13800001111"}}).get_json()
    dispatcher.complete(created["id"], "dispatch", {"unit": "nt_housing"})
    with db.unit_of_work() as session:
        facts, terms = cached_facts(session, "nantong", _rows(session, [created["id"]]), with_terms=True)
        assert facts[created["id"]].units == ["nt_housing"] and "电梯" in terms[created["id"]]
    with db.unit_of_work() as session:
        cached = session.get(TicketFactsCache, created["id"])
        first_seq = cached.last_seq
        assert cached.facts["units"] == ["nt_housing"] and cached.terms["电梯"] >= 1
        append_event(session, created["id"], "leader_read", actor="nt_housing.leader",
                     at=datetime(2025, 11, 3, 10, tzinfo=SHANGHAI), deployment_id=None,
                     data={"unit": "nt_housing", "comment": "阅"})
    with db.unit_of_work() as session:
        facts, _terms = cached_facts(session, "nantong", _rows(session, [created["id"]]))
        assert facts[created["id"]].read_by == {"nt_housing": 1}
        assert session.get(TicketFactsCache, created["id"]).last_seq == first_seq + 1


def test_the_nightly_warm_up_folds_the_tickets_changed_lately(as_user, db):
    from datetime import timedelta
    from engine.ticket_facts import warm_facts
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    created = dispatcher.post("/api/v1/tickets", json={
        "city": "nantong", "channel": "phone_12345", "request_type": "complaint", "title": "路灯不亮",
        "content": "小区路灯坏了", "citizen": {"name": "张三", "phone": "13800001111"}}).get_json()
    now = datetime(2025, 11, 3, 12, tzinfo=SHANGHAI)
    with db.unit_of_work() as session:
        assert warm_facts(session, now + timedelta(hours=1)) == 0          # nothing changed since then
        assert session.get(TicketFactsCache, created["id"]) is None
        assert warm_facts(session, now - timedelta(days=1)) == 1
    with db.unit_of_work() as session:
        assert session.get(TicketFactsCache, created["id"]).terms.get("路灯")
