"""Citizens' personal data (name, phone): who sees it unmasked, the masks, and the log of every view.

The seeds punish leaks (宿州 附件5 保密要求; 南通 第三十八条), so a citizen's identity reaches only those
who need it:

* the centre's staff who take, dispatch, call back and supervise tickets (``FULL_ROLES``);
* a unit's users while the unit handles the ticket: it has an open task on it (the lead unit, an
  assisting unit, a unit carrying out a consultation's agreed item). Once its task is done, or the
  ticket is closed, the unit sees the mask.

Everyone else (analysts, city leaders, auditors, inspectors, other units) sees ``138****1234`` and
``张*``. Every time unmasked data is shown, a ``personal_data_views`` row records who, when and where;
the auditors read that log. ``disclosed_text`` masks phone numbers, ID numbers and the handler's name in a
reply before it is made public.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from .channel_models import EmergencyTransfer
from .models import Event, PersonalDataView, TaskRow, Ticket

FULL_ROLES = ("operator", "dispatcher", "callback", "supervisor", "admin")
# Where a high sensitivity can be recorded: at intake, at dispatch, in an upgrade request and its result.
SENSITIVITY_PATHS = (("start_data", "sensitivity"), ("form", "sensitivity"), ("payload", "sensitivity"),
                     ("sensitivity",))
UNIT_ROLES = ("handler", "leader", "principal")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)(\d{3,4})(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9Xx])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9Xx])")


def mask_phone(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return None
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else digits[:1] + "*" * (len(digits) - 1)


def mask_name(name: str | None) -> str | None:
    name = (name or "").strip()
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else (name or None)


def units_handling(session: Session, ticket_ids: list[int]) -> dict[int, set[str]]:
    """ticket -> the units with an open task on it (or on a case about it)."""
    out: dict[int, set[str]] = {}
    if not ticket_ids:
        return out
    rows = session.execute(select(TaskRow.ticket_id, TaskRow.subject_ticket_id, TaskRow.unit_code).where(
        TaskRow.state == "ready", TaskRow.unit_code.is_not(None),
        (TaskRow.ticket_id.in_(ticket_ids)) | (TaskRow.subject_ticket_id.in_(ticket_ids))))
    for ticket_id, subject_id, unit in rows:
        for tid in {ticket_id, subject_id} - {None}:
            out.setdefault(tid, set()).add(unit)
    return out


def may_see(actor, ticket, handling: set[str] | None) -> bool:
    if actor is None:
        return False
    if actor.has(*FULL_ROLES, "system"):
        return True
    return bool(actor.unit_code and actor.has(*UNIT_ROLES) and ticket.closed_at is None
                and actor.unit_code in (handling or set()))


def citizen_views(session: Session, actor, tickets: list, now: datetime, purpose: str) -> dict[int, dict]:
    """ticket id -> {name, phone, masked}; the unmasked ones are logged as viewed by ``actor``."""
    handling = units_handling(session, [t.id for t in tickets])
    out, seen = {}, []
    for t in tickets:
        if not (t.citizen_name or t.citizen_phone):
            out[t.id] = {"name": None, "phone": None, "masked": False}
        elif may_see(actor, t, handling.get(t.id)):
            out[t.id] = {"name": t.citizen_name, "phone": t.citizen_phone, "masked": False}
            seen.append(t.id)
        else:
            out[t.id] = {"name": mask_name(t.citizen_name), "phone": mask_phone(t.citizen_phone), "masked": True}
    if seen and actor is not None and not actor.has("system"):
        session.add_all(PersonalDataView(ticket_id=tid, username=actor.username, at=now, purpose=purpose[:120])
                        for tid in seen)
    return out


def views_of(session: Session, ticket_id: int, limit: int = 500) -> list[PersonalDataView]:
    return list(session.scalars(select(PersonalDataView).where(PersonalDataView.ticket_id == ticket_id)
                                .order_by(PersonalDataView.at.desc(), PersonalDataView.id.desc()).limit(limit)))


def disclosed_text(text: str | None, names: list[str] = ()) -> str:
    """A reply as the public may read it: mobile and landline numbers, ID numbers and the given names
    (the citizen's, the handler's) masked."""
    out = _PHONE.sub(lambda m: m.group(1) + "****" + m.group(3), text or "")
    out = _LANDLINE.sub(lambda m: m.group(1) + "****" + m.group(3), out)
    out = _ID_CARD.sub(lambda m: m.group(1) + "********" + m.group(2), out)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) > 1}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return out


def publishable():
    """The tickets whose text may be published (the portal's disclosure list, Open311's public reads): taken
    in the normal scope (not secret/privacy, petitions, litigation ...), never marked of high sensitivity,
    and not an emergency hand-off. A SQL condition on ``Ticket``."""
    def of_ticket(*conditions):
        return exists().where(Event.ticket_id == Ticket.id, *conditions)
    sensitive = or_(*(Event.data[path if len(path) > 1 else path[0]].as_string() == "high"
                      for path in SENSITIVITY_PATHS))
    return (of_ticket(Event.type == "ticket_created", Event.data["scope"].as_string() == "normal")
            & ~of_ticket(sensitive) & ~exists().where(EmergencyTransfer.ticket_id == Ticket.id))


def publishable_ids(session: Session, ticket_ids: list[int]) -> set[int]:
    if not ticket_ids:
        return set()
    return set(session.scalars(select(Ticket.id).where(Ticket.id.in_(ticket_ids), publishable())))
