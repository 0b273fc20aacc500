"""Unit KPIs computed from the ticket event log, so a past period can be recomputed and explained.

Each ticket's events are read in order and folded into ``TicketFacts`` (who handled it, when it was
signed and replied, returns, extensions, callbacks, supervision tiers, leader readings); the KPIs of a
unit are sums over the facts of the tickets it handled. Which tickets belong to a period is the city's
rule (``kpi.period_rule`` in city.json):

* ``received`` (default): the tickets received in the period;
* ``closed`` (Changzhou): the tickets closed in the period; open tickets roll forward to the period in
  which they close.

Definitions (Nantong 第三十六条 names the measures; the seeds of Suzhou give the formulas where they exist):

* timely sign-off rate: signed tickets signed before their sign deadline (no sign-overdue timer fired);
* on-time completion rate: replied tickets whose reply was recorded before the handling deadline;
* average handling time: working hours from the first dispatch to the unit until its reply;
* return rate: returns asked / tickets dispatched to the unit; an improper return (不当退单, Suzhou) is an
  approved return after which the centre dispatched the ticket to the same unit again;
* satisfaction: ``first_callback`` (satisfied first callbacks / answered first callbacks) or, for Suzhou,
  ``second_evaluation``: 1 − dissatisfied second (or later) evaluations / handled tickets, an unanswered
  callback counting as satisfied;
* resolution rate: handled tickets closed as archived with a satisfied last callback;
* reopened: tickets sent back to the unit after a dissatisfied callback; repeat complaints: tickets whose
  citizen had another ticket with the unit in the 30 days before;
* supervision counts by tier (0 routine … 3), from the supervision decisions mirrored into the ticket log;
* leader reading rate (阅批率): tickets a leader of the unit read and annotated / tickets dispatched;
* efficiency index (效能指数): the city's weighted sum of sign-off, on-time and satisfaction rates × 100;
* abnormal cases: 不作为 (sign deadline passed without signing, or handling deadline passed without a
  reply), 慢作为 (replied late, or two or more extensions), 乱作为 (an improper return, or a reply the
  centre sent back for re-handling).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .cities import LIFECYCLE_PROCESS, calendar_for, city_raw
from .models import Event, Ticket
from .ticket_facts import TICKET_COLUMNS, TicketFacts, cached_facts, improper_returns, unit_hours

DEFAULT_WEIGHTS = {"sign": 0.3, "on_time": 0.4, "satisfaction": 0.3}
REPEAT_DAYS = 30


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


class KpiSettings:
    def __init__(self, city: str):
        raw = city_raw(city).get("kpi") or {}
        self.period_rule = raw.get("period_rule", "received")
        self.satisfaction = raw.get("satisfaction", "first_callback")
        self.weights = {**DEFAULT_WEIGHTS, **(raw.get("efficiency_weights") or {})}


def period_tickets(session: Session, city: str, start: datetime, end: datetime, rule: str, *,
                   channels: tuple | None = None, exclude_channels: tuple | None = None) -> list[Ticket]:
    """The period's tickets by the city's rule; ``channels``/``exclude_channels`` select a scope of them
    (Suqian scores provincial and city tickets separately)."""
    column = Ticket.closed_at if rule == "closed" else Ticket.received_at
    query = select(Ticket).where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS, column >= start,
                                 column < end)
    if channels:
        query = query.where(Ticket.channel.in_(channels))
    if exclude_channels:
        query = query.where(Ticket.channel.not_in(exclude_channels))
    return list(session.scalars(query.order_by(Ticket.id)))


def period_rows(session: Session, city: str, start: datetime, end: datetime, rule: str, *,
                channels: tuple | None = None, exclude_channels: tuple | None = None) -> list:
    """The same selection as ``period_tickets``, as plain rows of the columns the facts need."""
    column = Ticket.closed_at if rule == "closed" else Ticket.received_at
    query = select(*TICKET_COLUMNS).where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS,
                                          column >= start, column < end)
    if channels:
        query = query.where(Ticket.channel.in_(channels))
    if exclude_channels:
        query = query.where(Ticket.channel.not_in(exclude_channels))
    return list(session.execute(query.order_by(Ticket.id)))


def compute_kpis(session: Session, city: str, start: datetime, end: datetime, *, unit: str | None = None,
                 by_request_type: bool = False, channels: tuple | None = None,
                 exclude_channels: tuple | None = None, rows: list | None = None,
                 facts: dict | None = None) -> dict:
    """KPIs per unit over [start, end). ``rows``/``facts`` let a report that already read the period's
    tickets and facts reuse them."""
    settings = KpiSettings(city)
    if rows is None:
        rows = period_rows(session, city, start, end, settings.period_rule, channels=channels,
                           exclude_channels=exclude_channels)
    if facts is None:
        facts, _terms = cached_facts(session, city, rows)
    members_all = [facts[r.id] for r in rows]
    calendar = calendar_for(session, city)
    earlier = _earlier_tickets_by_citizen(session, city, start - timedelta(days=REPEAT_DAYS), end)
    groups: dict[tuple, list[TicketFacts]] = defaultdict(list)
    for f in members_all:
        for u in dict.fromkeys(f.units):
            if unit and u != unit:
                continue
            groups[(u, f.request_type if by_request_type else None)].append(f)
    items = [_unit_kpis(u, rtype, members, settings, calendar, earlier)
             for (u, rtype), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]
    return {"city": city, "from": start, "to": end, "period_rule": settings.period_rule,
            "satisfaction_formula": settings.satisfaction, "weights": settings.weights, "tickets": len(rows),
            "items": items}


def _earlier_tickets_by_citizen(session, city, since, until) -> dict[tuple[str, str], list[datetime]]:
    rows = session.execute(select(Ticket.citizen_phone, Ticket.unit_code, Ticket.received_at)
                           .where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS,
                                  Ticket.citizen_phone.is_not(None), Ticket.received_at >= since,
                                  Ticket.received_at < until))
    out: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for phone, unit_code, received in rows:
        out[(phone, unit_code)].append(received)
    return out


def _unit_kpis(unit: str, request_type, members: list[TicketFacts], settings: KpiSettings, calendar, earlier) -> dict:
    dispatched = len(members)
    handled = [f for f in members if f.unit == unit and f.replied_at]
    signed = [f for f in members if unit in f.signed]
    signed_on_time = [f for f in signed if unit not in f.sign_overdue]
    on_time = [f for f in handled if not f.replied_late]
    # working hours counted once per ticket on the city's calendar (cached with the facts)
    derived = {f.id: (f.hours.get(unit) if f.hours else None) or unit_hours(f, unit, calendar) for f in members}
    hours = [derived[f.id][0] for f in handled if derived[f.id][0] is not None]
    limits = [derived[f.id][1] for f in handled if derived[f.id][1] is not None]
    day = calendar.working_hours.hours_per_day or 8.0
    late_returns = [f for f in members if derived[f.id][2]]
    returns = sum(f.returns.get(unit, 0) for f in members)
    improper = [f for f in members if improper_returns(f, unit)]
    extensions = sum(f.extensions.get(unit, 0) for f in members)
    first_answers = [f.callbacks[0] for f in handled if f.callbacks and f.callbacks[0] is not None]
    second_dissatisfied = [f for f in handled if any(c is False for c in f.callbacks[1:])]
    if settings.satisfaction == "second_evaluation":
        satisfaction = round(1 - len(second_dissatisfied) / len(handled), 4) if handled else None
    else:
        satisfaction = _rate(sum(1 for c in first_answers if c), len(first_answers))
    resolved = [f for f in handled if f.outcome == "archived" and (not f.callbacks or f.callbacks[-1] is not False)]
    reopened = [f for f in members if f.unit == unit and f.reopened]
    repeat = [f for f in members if f.citizen and any(
        f.received_at - timedelta(days=REPEAT_DAYS) <= t < f.received_at for t in earlier.get((f.citizen, unit), []))]
    tiers = defaultdict(int)
    for f in members:
        if f.unit == unit:
            for tier in f.tiers:
                tiers[tier] += 1
    read = [f for f in members if f.read_by.get(unit)]
    sign_rate, on_time_rate = _rate(len(signed_on_time), len(signed)), _rate(len(on_time), len(handled))
    parts = {"sign": sign_rate, "on_time": on_time_rate, "satisfaction": satisfaction}
    weights = {k: w for k, w in settings.weights.items() if parts.get(k) is not None}
    efficiency = round(100 * sum(parts[k] * w for k, w in weights.items()) / sum(weights.values()), 2) \
        if weights else None
    abnormal = _abnormal(unit, members)
    abnormal_tickets = sorted({c["ticket_id"] for c in abnormal})
    return {
        "unit": unit, "request_type": request_type, "dispatched": dispatched, "handled": len(handled),
        "signed": len(signed), "signed_on_time": len(signed_on_time), "sign_rate": sign_rate,
        "on_time": len(on_time), "on_time_rate": on_time_rate,
        "avg_handling_hours": round(sum(hours) / len(hours), 2) if hours else None,
        "avg_handling_days": round(sum(hours) / len(hours) / day, 2) if hours else None,
        "avg_limit_days": round(sum(limits) / len(limits) / day, 2) if limits else None,
        "late_returns": len(late_returns),
        "returns": returns, "return_rate": _rate(returns, dispatched), "improper_returns": len(improper),
        "extensions": extensions, "satisfaction_rate": satisfaction,
        "second_evaluation_dissatisfied": len(second_dissatisfied),
        "resolved": len(resolved), "resolution_rate": _rate(len(resolved), len(handled)),
        "reopened": len(reopened), "repeat_complaints": len(repeat),
        "supervision_by_tier": {str(k): v for k, v in sorted(tiers.items())},
        "leader_read": len(read), "leader_reading_rate": _rate(len(read), dispatched),
        "efficiency_index": efficiency, "abnormal": abnormal,
        # the tickets behind each countable fact, for the scoring methods' deductions
        "evidence": {
            "sign_overdue": [f.id for f in members if unit in f.sign_overdue],
            "late_return": [f.id for f in late_returns],
            "abnormal": abnormal_tickets,
            "improper_return": {f.id: improper_returns(f, unit) for f in improper},
            "overdue": [f.id for f in members if (f.unit == unit and f.replied_late)
                        or (unit in f.handle_overdue_fired and not (f.unit == unit and f.replied_at))],
            "tiers": {str(t): [f.id for f in members if f.unit == unit and t in f.tiers] for t in sorted(tiers)},
        },
    }


def _abnormal(unit: str, members: list[TicketFacts]) -> list[dict]:
    cases = []
    for f in members:
        reasons = []
        if unit in f.sign_overdue and unit not in f.signed:
            reasons.append(("inaction", "sign_overdue"))
        if unit in f.handle_overdue_fired and not (f.unit == unit and f.replied_at):
            reasons.append(("inaction", "handle_overdue"))
        if f.unit == unit and f.replied_late:
            reasons.append(("slow", "replied_late"))
        if f.extensions.get(unit, 0) >= 2:
            reasons.append(("slow", "repeated_extensions"))
        if improper_returns(f, unit):
            reasons.append(("misconduct", "improper_return"))
        if f.unit == unit and f.sent_back:
            reasons.append(("misconduct", "reply_sent_back"))
        for kind, reason in reasons:
            cases.append({"ticket_id": f.id, "number": f.number, "kind": kind, "reason": reason})
    return cases


KPI_ROLES = ("dispatcher", "supervisor", "inspector", "city_leader", "analyst", "admin", "auditor")
READING_ROLES = ("leader", "principal")
MAX_KPI_DAYS = 366


class KpiCommands:
    def unit_kpis(self, actor, city: str, start, end, *, unit: str | None = None,
                  by_request_type: bool = False, channels: tuple | None = None,
                  exclude_channels: tuple | None = None) -> dict:
        """KPIs per unit over the inclusive days ``start``..``end`` (Beijing time). A unit's leaders and
        handlers see their own unit's figures only."""
        from .clock import SHANGHAI
        from .errors import PermissionDenied, field_error
        if not actor.has(*KPI_ROLES, "system"):
            if actor.unit_code and actor.has("leader", "principal", "handler"):
                unit = actor.unit_code
            else:
                raise PermissionDenied()
        if end < start:
            raise field_error("to", "before_from", "结束日期不能早于开始日期", "must not be before from")
        if (end - start).days >= MAX_KPI_DAYS:
            raise field_error("to", "span_too_long", f"统计区间不能超过{MAX_KPI_DAYS}天",
                              f"at most {MAX_KPI_DAYS} days")
        city_raw(city)     # an unknown city is a clear error before any query
        lo = datetime(start.year, start.month, start.day, tzinfo=SHANGHAI)
        hi = datetime(end.year, end.month, end.day, tzinfo=SHANGHAI) + timedelta(days=1)
        result = compute_kpis(self.session, city, lo, hi, unit=unit, by_request_type=by_request_type,
                              channels=channels, exclude_channels=exclude_channels)
        result.update({"from": start, "to": end})
        return result

    def record_leader_reading(self, actor, ticket_id: int, comment: str) -> Event:
        """A unit leader read the ticket and wrote an instruction (阅批); counted in the leader reading rate."""
        from .errors import PermissionDenied, field_error
        from .runtime import append_event
        ticket = self.get_ticket(actor, ticket_id)
        if not actor.has(*READING_ROLES) or not actor.unit_code:
            raise PermissionDenied("只有承办单位负责同志可以阅批", "Only a unit's leaders may record a reading")
        units = {e.data.get("form", {}).get("unit") for e in self.session.scalars(
            select(Event).where(Event.ticket_id == ticket.id, Event.type == "task_completed",
                                Event.task_name == "dispatch"))}
        if actor.unit_code not in units:
            raise PermissionDenied("本单位未承办此工单", "This ticket was not dispatched to your unit")
        if not (comment or "").strip():
            raise field_error("comment", "required", "请填写阅批意见", "write the instruction")
        self._lock_ticket(ticket.id)
        return append_event(self.session, ticket.id, "leader_read", actor=actor.username, at=self.clock.now(),
                            deployment_id=ticket.deployment_id,
                            data={"unit": actor.unit_code, "comment": comment.strip()[:1000]})
