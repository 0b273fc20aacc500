"""The engine facade used directly (as the CLI and the scheduler do): persistence, pinning,
calendar overrides, timers and safe failure."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from engine import accounts
from engine.cities import lifecycle_files, rule_files, set_calendar_override
from engine.errors import WorkflowFailed
from engine.facade import Hotline
from engine.models import Deployment, TaskRow, Ticket
from engine.runtime import TicketRun
from engine.scheduler import sweep
from engine.scripting import RestrictedScriptEngine
from engine.spiff import SERIALIZER_VERSION
from tests.conftest import at, complaint


def principal(session, username):
    return accounts.principal_for_username(session, username)


def start_and_dispatch(db, clock, **overrides):
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        ticket = facade.start_ticket(principal(s, "operator"), {**complaint(**overrides), "received_at": clock.now()})
        task = facade.list_tasks(principal(s, "dispatcher"), ticket_id=ticket.id)[0]
        facade.complete_task(principal(s, "dispatcher"), task.id, {"unit": "nt_chongchuan"})
        return ticket.id


def test_instances_do_not_embed_the_spec_and_reload_with_the_restricted_engine(db, clock, city):
    ticket_id = start_and_dispatch(db, clock)
    with db.unit_of_work() as s:
        ticket = s.get(Ticket, ticket_id)
        deployment = s.get(Deployment, ticket.deployment_id)
        state = json.loads(ticket.workflow_state)
        assert "spec" not in state and "subprocess_specs" not in state
        assert state["serializer_version"] == SERIALIZER_VERSION == deployment.serializer_version
        assert len(ticket.workflow_state) < len(deployment.spec_json)
        run = TicketRun(s, clock, ticket, deployment, "test")
        run.load()
        assert isinstance(run.workflow.script_engine, RestrictedScriptEngine)
        assert run.workflow.script_engine.clock is clock


def test_an_instance_from_another_serializer_version_is_refused(db, clock, city):
    ticket_id = start_and_dispatch(db, clock)
    with db.unit_of_work() as s:
        ticket = s.get(Ticket, ticket_id)
        state = json.loads(ticket.workflow_state)
        state["serializer_version"] = "1.4"
        ticket.workflow_state = json.dumps(state)
    with db.unit_of_work() as s:
        run = TicketRun(s, clock, s.get(Ticket, ticket_id), s.get(Deployment, s.get(Ticket, ticket_id).deployment_id), "t")
        with pytest.raises(ValueError, match="serializer"):
            run.load()


def test_admin_override_wins_over_the_package(db, clock, city):
    clock.set(at("2025-11-03T09:00:00"))
    plain = start_and_dispatch(db, clock)
    with db.unit_of_work() as s:
        set_calendar_override(s, "nantong", date(2025, 11, 5), False, "临时停工日")
    shifted = start_and_dispatch(db, clock)
    with db.unit_of_work() as s:
        assert s.get(Ticket, plain).handle_due_at == at("2025-11-24T09:00:00")
        assert s.get(Ticket, shifted).handle_due_at == at("2025-11-25T09:00:00")


def test_entering_a_years_schedule_makes_its_deadlines_final(db, clock, city):
    clock.set(at("2031-03-03T09:00:00"))
    provisional = start_and_dispatch(db, clock)
    with db.unit_of_work() as s:
        set_calendar_override(s, "*", date(2031, 4, 4), False, "清明节")
    final = start_and_dispatch(db, clock)
    with db.unit_of_work() as s:
        assert s.get(Ticket, provisional).deadline_provisional is True
        assert s.get(Ticket, final).deadline_provisional is False


def test_scheduler_sweep_fires_due_timers_on_the_engine_clock(db, clock, city):
    clock.set(at("2025-11-03T09:00:00"))
    ticket_id = start_and_dispatch(db, clock)
    assert sweep(db, lambda s: clock) == 0
    clock.set(at("2025-11-03T11:00:01"))
    assert sweep(db, lambda s: clock, worker="w1") == 1
    assert sweep(db, lambda s: clock, worker="w2") == 0
    with db.unit_of_work() as s:
        assert s.get(Ticket, ticket_id).sign_overdue is True


def test_a_failing_script_surfaces_as_an_error_and_saves_nothing(db, clock, city):
    bpmn = lifecycle_files()
    name = "ticket_lifecycle.bpmn"
    text = bpmn[name].decode()
    marker = "sign_due_at = add_working_hours(dispatched_at, sign_limit_hours)"
    assert marker in text
    bpmn[name] = text.replace(marker, "sign_due_at = add_working_hours(dispatched_at, sign_limit_hours / 0)").encode()
    with db.unit_of_work() as s:
        Hotline(s, clock).deploy(principal(s, "admin"), "nantong", bpmn, rule_files("nantong"), activate=True)
        ticket = Hotline(s, clock).start_ticket(principal(s, "operator"), {**complaint(), "received_at": clock.now()})
        ticket_id, before = ticket.id, ticket.workflow_state
    with db.unit_of_work() as s:
        task = Hotline(s, clock).list_tasks(principal(s, "dispatcher"), ticket_id=ticket_id)[0]
        task_id = task.id
    with pytest.raises(WorkflowFailed):
        with db.unit_of_work() as s:
            Hotline(s, clock).complete_task(principal(s, "dispatcher"), task_id, {"unit": "nt_chongchuan"})
    with db.unit_of_work() as s:
        assert s.get(Ticket, ticket_id).workflow_state == before
        assert s.scalar(select(TaskRow.state).where(TaskRow.id == task_id)) == "ready"


def test_an_outdated_password_hash_is_upgraded_at_sign_in(db, city):
    from argon2 import PasswordHasher
    from engine.models import User
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("demo")
    with db.unit_of_work() as s:
        s.scalar(select(User).where(User.username == "operator")).password_hash = weak
    with db.unit_of_work() as s:
        user = accounts.authenticate(s, "operator", "demo")
        assert user.password_hash != weak
    with db.unit_of_work() as s:
        assert accounts.authenticate(s, "operator", "demo").username == "operator"
