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
    summary["knowledge"] = _sample_knowledge(session, clock, city_code)
    # The cold-start dispatch model (from the project's own sentences), so the first suggestion is instant.
    from .facade import Hotline
    model = Hotline(session, clock).ensure_cold_start_model(city_code)
    summary["dispatch_model"] = f"{model.target} v{model.version} ({model.source})"
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


# Knowledge-base entries (知识库) of the demo: (unit, kind, title, keywords, category, body, review in days).
# The last one is past its review deadline, so the list and the intake suggestions show the flag.
SAMPLE_KNOWLEDGE = {
    "nantong": [
        ("nt_housing", "script", "租房提取住房公积金的条件和材料", ["公积金", "住房公积金", "提取", "租房", "租房提取", "材料"],
         "labour_social_security",
         "您好！职工本人及配偶在本市无自有住房且租赁住房的，可以申请提取住房公积金支付房租。办理时请携带本人身份证、"
         "租赁合同（已办理租赁备案的请提供备案证明）和本人银行卡，到南通市住房公积金管理中心各服务网点办理，"
         "也可以通过“南通公积金”微信公众号或江苏政务服务网在线申请。提取额度和次数按本市公积金管理规定执行，"
         "详情可拨打12329公积金服务热线咨询。", 180),
        ("nt_hrss", "procedure", "灵活就业人员参加企业职工基本养老保险的办理流程", ["灵活就业", "社保", "养老保险", "参保", "缴费", "个体"],
         "labour_social_security",
         "您好！具有本市户籍或持有本市居住证的灵活就业人员，可以个人身份参加企业职工基本养老保险。办理流程："
         "1. 携带本人身份证到户籍或居住地所在的人社服务窗口办理参保登记，或通过“江苏智慧人社”APP在线登记；"
         "2. 在缴费基数上下限之间自主选择缴费档次；3. 按月或按季通过银行、税务APP缴纳。"
         "具体缴费标准以当年公布为准，可咨询12333人社服务热线。", 120),
        ("nt_education", "policy", "义务教育阶段新生入学报名政策", ["入学", "报名", "学区", "小学", "初中", "学位", "招生"],
         "education_culture_sports",
         "您好！本市义务教育阶段学校实行免试就近入学。每年招生政策和报名时间由市、区教育行政部门在5月至6月间公布，"
         "家长可在“南通市义务教育招生入学服务平台”按学区填报信息，需准备户口簿、房产证明或居住证等材料。"
         "随迁子女按积分或居住证明统筹安排入学。具体学区划分请以所在区教育局发布的招生公告为准。", 200),
        ("nt_housing", "policy", "既有多层住宅加装电梯的申请条件和补贴", ["加装电梯", "电梯", "老旧小区", "补贴", "多层住宅"],
         "urban_construction",
         "您好！本市既有多层住宅加装电梯，应经本单元房屋专有部分面积占比三分之二以上且人数占比三分之二以上的业主同意，"
         "并由业主推选代表或委托实施主体向所在区住建部门提出申请，经规划公示、审批后施工。"
         "符合条件的项目可按规定申请财政补贴，也可按规定提取住房公积金用于加装电梯。具体请咨询所在区住建部门。", -10),
    ],
}


def _sample_knowledge(session: Session, clock: Clock, city_code: str) -> int:
    """A few entries so the intake page suggests answers for consultations (once: not when there are any)."""
    from .models import KnowledgeEntry
    from .knowledge import today_of
    if session.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.city == city_code).limit(1)) is not None:
        return 0
    facade, today = Hotline(session, clock), today_of(clock.now())
    units = {u.code for u in session.scalars(select(Unit).where(Unit.city == city_code))}
    created = 0
    for unit, kind, title, keywords, category, body, review_in in SAMPLE_KNOWLEDGE.get(city_code, []):
        if unit not in units:
            continue
        facade.create_knowledge(SYSTEM, city_code, {
            "unit": unit, "kind": kind, "title": title, "body": body, "keywords": keywords, "category": category,
            "valid_from": today - timedelta(days=365), "valid_until": None,
            "review_due": today + timedelta(days=review_in)})
        created += 1
    return created
