"""Rule-set versions per city: list, activate (hot swap), diff, and explicit migration of running
tickets. Every administrative action is an audited event."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .errors import NotFound, ValidationFailed
from .models import Deployment, Event, TaskRow, Ticket
from .scripting import make_script_engine
from .spiff import codec_for


def versions(session: Session, city: str) -> list[Deployment]:
    return list(session.scalars(select(Deployment).where(Deployment.city == city).order_by(Deployment.version.desc())))


def get_version(session: Session, city: str, version: int) -> Deployment:
    deployment = session.scalar(select(Deployment).where(Deployment.city == city, Deployment.version == version))
    if deployment is None:
        raise NotFound(f"{city} 规则集版本 {version} 不存在", f"Rule set {city} has no version {version}")
    return deployment


def record_admin_event(session: Session, type_: str, actor: str, now: datetime, data: dict,
                       deployment_id: int | None = None) -> Event:
    """Administrative actions have no ticket; they are kept in the same append-only log."""
    event = Event(ticket_id=None, seq=0, type=type_, actor=actor, at=now, deployment_id=deployment_id, data=data)
    session.add(event)
    return event


def activate(session: Session, city: str, version: int, *, actor: str, now: datetime) -> Deployment:
    """Make a version the one new tickets start on; running tickets keep theirs. No restart needed:
    every command reads the active deployment from the database."""
    target = get_version(session, city, version)
    previous = session.scalar(select(Deployment).where(Deployment.city == city, Deployment.active.is_(True)))
    session.execute(update(Deployment).where(Deployment.city == city, Deployment.id != target.id).values(active=False))
    target.active = True
    record_admin_event(session, "ruleset_activated", actor, now,
                       {"city": city, "version": version, "previous": previous.version if previous else None},
                       deployment_id=target.id)
    return target


def admin_events(session: Session, city: str | None = None, limit: int = 100) -> list[Event]:
    query = select(Event).where(Event.ticket_id.is_(None)).order_by(Event.id.desc()).limit(limit)
    rows = list(session.scalars(query))
    return [e for e in rows if city is None or e.data.get("city") == city]


# -- migration of running tickets ------------------------------------------------------------------
def _open_tickets(session: Session, deployment: Deployment) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.deployment_id == deployment.id,
                                                     Ticket.status != "closed").order_by(Ticket.id)))


def migration_plan(session: Session, city: str, from_version: int, to_version: int) -> dict:
    """Which running tickets can move to another version: every task the instance holds must exist
    (by BPMN id) in the target diagram. Deadlines already computed are kept."""
    source, target = get_version(session, city, from_version), get_version(session, city, to_version)
    if source.id == target.id:
        raise ValidationFailed("源版本与目标版本相同", "Source and target versions are the same")
    target_specs = set(codec_for(target).spec.task_specs)
    movable, blocked = [], []
    for ticket in _open_tickets(session, source):
        state = json.loads(ticket.workflow_state)
        names = {t["task_spec"] for t in state["tasks"].values()}
        missing = sorted(names - target_specs)
        open_tasks = list(session.scalars(select(TaskRow.name).where(TaskRow.ticket_id == ticket.id,
                                                                     TaskRow.state == "ready")))
        entry = {"ticket_id": ticket.id, "number": ticket.number, "status": ticket.status, "open_tasks": open_tasks}
        (blocked if missing else movable).append({**entry, "missing_tasks": missing} if missing else entry)
    return {"city": city, "from_version": from_version, "to_version": to_version,
            "movable": movable, "blocked": blocked}


def migrate(session: Session, city: str, from_version: int, to_version: int, *, actor: str, now: datetime,
            ticket_ids: list[int] | None = None) -> dict:
    plan = migration_plan(session, city, from_version, to_version)
    target = get_version(session, city, to_version)
    chosen = {t["ticket_id"] for t in plan["movable"]}
    if ticket_ids is not None:
        unknown = sorted(set(ticket_ids) - chosen)
        if unknown:
            raise ValidationFailed("部分工单不能迁移", "Some tickets cannot be migrated", details={"ticket_ids": unknown})
        chosen = set(ticket_ids)
    moved = []
    target_codec = codec_for(target)
    for ticket_id in sorted(chosen):
        ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        old = ticket.deployment_id
        # Prove the instance loads on the new spec before switching (nothing runs: no clock needed).
        workflow = target_codec.load(ticket.workflow_state, make_script_engine({}))
        ticket.workflow_state = target_codec.dump(workflow)
        ticket.deployment_id = target.id
        ticket.updated_at = now
        seq = (session.scalar(select(func.max(Event.seq)).where(Event.ticket_id == ticket.id)) or 0) + 1
        session.add(Event(ticket_id=ticket.id, seq=seq, type="ticket_migrated", actor=actor, at=now,
                          deployment_id=target.id, data={"from_deployment": old, "from_version": from_version,
                                                         "to_version": to_version}))
        moved.append(ticket.id)
    record_admin_event(session, "tickets_migrated", actor, now,
                       {"city": city, "from_version": from_version, "to_version": to_version, "tickets": moved},
                       deployment_id=target.id)
    return {**plan, "migrated": moved}


# -- diff ---------------------------------------------------------------------------------------------
def diff_versions(session: Session, city: str, version_a: int, version_b: int) -> dict:
    """What changed between two versions: files, and for each decision the rows added/removed/changed."""
    from .dmn import parse_dmn

    a, b = get_version(session, city, version_a), get_version(session, city, version_b)

    def decisions_of(deployment):
        found = {}
        for name, text in deployment.files.items():
            if name.lower().endswith(".dmn"):
                found.update(parse_dmn(text.encode("utf-8"), name))
        return found

    files_a, files_b = set(a.files), set(b.files)
    result = {"city": city, "from_version": version_a, "to_version": version_b,
              "files": {"added": sorted(files_b - files_a), "removed": sorted(files_a - files_b),
                        "changed": sorted(n for n in files_a & files_b if a.files[n] != b.files[n])},
              "decisions": []}
    da, db_ = decisions_of(a), decisions_of(b)
    for decision_id in sorted(set(da) | set(db_)):
        before, after = da.get(decision_id), db_.get(decision_id)
        if before is None or after is None:
            result["decisions"].append({"decision": decision_id, "change": "added" if before is None else "removed"})
            continue
        rows = _row_changes(before, after)
        header_changed = (before.hit_policy, before.aggregation, _clauses(before)) != \
                         (after.hit_policy, after.aggregation, _clauses(after))
        if rows or header_changed:
            result["decisions"].append({"decision": decision_id, "name": after.name, "change": "changed",
                                        "table_changed": header_changed, "rows": rows})
    return result


def _clauses(decision) -> tuple:
    return (tuple((i.label, i.expression, i.type_ref) for i in decision.inputs),
            tuple((o.name, o.type_ref, o.default) for o in decision.outputs))


def _row(rule) -> dict:
    return {"rule": rule.number, "inputs": list(rule.inputs), "outputs": list(rule.outputs),
            "description": rule.description}


def _row_changes(before, after) -> list[dict]:
    old = {r.id or f"row{r.number}": r for r in before.rules}
    new = {r.id or f"row{r.number}": r for r in after.rules}
    changes = []
    for key in list(old) + [k for k in new if k not in old]:
        o, n = old.get(key), new.get(key)
        if o is None:
            changes.append({"change": "added", "after": _row(n)})
        elif n is None:
            changes.append({"change": "removed", "before": _row(o)})
        elif (o.inputs, o.outputs, o.number) != (n.inputs, n.outputs, n.number):
            changes.append({"change": "changed", "before": _row(o), "after": _row(n)})
    return changes
