"""Loading a city (units + its shipped rule set) and the optional demo data."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import accounts
from .accounts import SYSTEM
from .cities import lifecycle_files, load_city, rule_files
from .clock import Clock
from .facade import Hotline
from .models import Unit, User

DEMO_PASSWORD = "demo"
CENTRE_DEMO_USERS = [("admin", ["admin"], "系统管理员"), ("operator", ["operator"], "话务员"),
                     ("dispatcher", ["dispatcher"], "派单员"), ("callback", ["callback"], "回访员"),
                     ("supervisor", ["supervisor"], "督办员"), ("inspector", ["inspector"], "督查办"),
                     ("city_leader", ["city_leader"], "市领导"), ("analyst", ["analyst"], "业务分析员"),
                     ("auditor", ["auditor"], "审计员")]


def load_city_into_db(session: Session, clock: Clock, city_code: str) -> dict:
    """Upsert the city's units and deploy its shipped diagrams and rules (a no-op if unchanged)."""
    city = load_city(city_code)
    existing = {u.code: u for u in session.scalars(select(Unit).where(Unit.city == city.code))}
    for raw in city.units:
        unit = existing.get(raw["code"]) or Unit(city=city.code, code=raw["code"], active=True, source="rule_set")
        if unit.source == "admin":
            continue          # the administrator changed this unit; the rule set does not override it
        unit.name, unit.type, unit.parent_code = raw["name"], raw.get("type", "department"), raw.get("parent")
        session.add(unit)
    deployment, created = Hotline(session, clock).deploy(SYSTEM, city.code, lifecycle_files(), rule_files(city.code),
                                                         activate=True)
    return {"city": city.code, "units": len(city.units), "deployment": deployment.version, "created": created}


def demo_units(city_code: str) -> list[dict]:
    return [u for u in load_city(city_code).units if u.get("demo")]


def load_demo(session: Session, clock: Clock, city_code: str) -> dict:
    summary = load_city_into_db(session, clock, city_code)
    users = []
    demo_hash = accounts.hash_password(DEMO_PASSWORD)
    for username, roles, name in CENTRE_DEMO_USERS:
        accounts.add_user(session, username, None, roles, city=city_code, display_name=name, password_hash=demo_hash)
        users.append(username)
    for unit in demo_units(city_code):
        # .leader is the principal leader (主要领导, who may also approve as deputy); .deputy the deputy (分管领导).
        for suffix, roles, label in (("handler", ["handler"], "经办人"), ("leader", ["leader", "principal"], "主要领导"),
                                     ("deputy", ["leader"], "分管领导")):
            username = f"{unit['code']}.{suffix}"
            accounts.add_user(session, username, None, roles, unit_code=unit["code"], city=city_code,
                              display_name=f"{unit['name']}{label}", password_hash=demo_hash)
            users.append(username)
    if session.scalar(select(User).where(User.username == "operator")) and not _has_tickets(session, city_code):
        summary["tickets"] = _sample_tickets(session, clock, city_code)
    summary["users"] = users
    return summary


def _has_tickets(session: Session, city_code: str) -> bool:
    from .models import Ticket
    return session.scalar(select(Ticket.id).where(Ticket.city == city_code).limit(1)) is not None


SAMPLES = [
    ("phone_12345", "complaint", "小区夜间施工噪音扰民", "某小区旁工地连续多日夜间22点后施工，噪音很大，影响休息，希望有关部门查处。", "张先生", "13800001111"),
    ("web", "consult", "公积金提取需要哪些材料", "想咨询租房提取住房公积金需要准备哪些材料，在哪里办理。", "李女士", "13900002222"),
    ("app", "help", "路灯损坏夜间出行不便", "某路段有三盏路灯不亮已一周，夜间行人很多，存在安全隐患。", "王先生", "13700003333"),
    ("phone_12345", "suggestion", "建议增设公交站点", "建议在新建小区门口增设公交站点，方便居民出行。", "赵女士", "13600004444"),
    ("phone_12345", "report", "河道有人偷排污水", "发现某河段晚上有管道向河里排放黑色污水，有异味。", None, None),
]


def _sample_tickets(session: Session, clock: Clock, city_code: str) -> int:
    """A few tickets in different stages so every demo role has something in the inbox."""
    facade = Hotline(session, clock)
    operator = accounts.principal_for_username(session, "operator")
    dispatcher = accounts.principal_for_username(session, "dispatcher")
    units = demo_units(city_code)
    tickets = []
    for i, (channel, rtype, title, content, name, phone) in enumerate(SAMPLES):
        tickets.append(facade.start_ticket(operator, {
            "city": city_code, "channel": channel, "request_type": rtype, "title": title, "content": content,
            "citizen": {"name": name, "phone": phone}, "received_at": clock.now() - timedelta(minutes=30 - i)}))
    # Dispatch the first three to demo units; the rest wait for the dispatcher.
    for ticket, unit in zip(tickets[:3], units * 3):
        task = facade.list_tasks(dispatcher, ticket_id=ticket.id)[0]
        facade.complete_task(dispatcher, task.id, {"unit": unit["code"]})
    if units:
        handler = accounts.principal_for_username(session, f"{units[0]['code']}.handler")
        task = facade.list_tasks(handler, ticket_id=tickets[0].id)[0]
        facade.complete_task(handler, task.id, {"decision": "accept"})
        # The signed ticket is also under supervision, so the supervisor's inbox has an order to register.
        supervisor = accounts.principal_for_username(session, "supervisor")
        if supervisor is not None:
            facade.open_supervision(supervisor, tickets[0].id, trigger="media_exposure",
                                    reason="示例：该问题经本地媒体报道，社会关注度高")
    return len(tickets)
