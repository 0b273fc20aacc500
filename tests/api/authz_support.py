"""Support for the authorisation matrix (tests/api/test_authorization_matrix.py).

- the principals: every centre role, the handler / principal leader / deputy leader of two units, anonymous;
- a small world built once: unit A's ticket with its ready ``sign`` task, unit B's ticket, a ticket waiting
  for dispatch, a supervision order and a consultation on A's ticket, an attachment, a knowledge entry,
  a message, issued reports, a dispatch model and a calendar override;
- path substitution (each id in several variants: A's, B's, a case's, a guessed one), request bodies,
  and a walker that sends one request and classifies the answer.
"""
from __future__ import annotations

import io
import re
import shutil
import traceback
from dataclasses import dataclass, field

from engine import accounts, setup
from engine.clock import FixedClock
from engine.config import Settings
from engine.db import Database
from tests.api.test_pages import Browser
from tests.conftest import DEMO_UNITS, ApiClient, at, complaint

UNIT_A, UNIT_B = DEMO_UNITS                       # nt_chongchuan, nt_housing
MONDAY = "2025-11-03T09:00:00+08:00"
PASSWORD = "demo"

CENTRE = frozenset(name for name, _roles, _label in setup.CENTRE_DEMO_USERS)
A_UNIT = frozenset({f"{UNIT_A}.handler", f"{UNIT_A}.leader", f"{UNIT_A}.deputy"})
B_UNIT = frozenset({f"{UNIT_B}.handler", f"{UNIT_B}.leader", f"{UNIT_B}.deputy"})
UNIT_USERS = A_UNIT | B_UNIT
SIGNED_IN = CENTRE | UNIT_USERS
ANONYMOUS = "anonymous"
PRINCIPALS = (ANONYMOUS, *sorted(CENTRE), *sorted(A_UNIT), *sorted(B_UNIT))

# What identifies each ticket in a response body: a title fragment and the citizen's phone.
A_TITLE, A_PHONE = "甲单位矩阵工单", "13911110001"
B_TITLE, B_PHONE = "乙单位矩阵工单", "13922220002"
C_TITLE, C_PHONE = "待派矩阵工单", "13933330003"
D_TITLE, D_PHONE = "并单矩阵工单", "13944440004"        # merged into A's ticket: never dispatched to a unit
E_TITLE, E_PHONE = "应急矩阵工单", "13955550005"        # an emergency handed to 119: never dispatched either
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 200
MISSING_ID = 999999
MISSING_TASK = "00000000-0000-4000-8000-000000000000"


def roles_of(name: str) -> frozenset:
    """The roles a principal of the matrix holds (as tests/conftest.py creates them)."""
    if name in CENTRE:
        return frozenset({name})
    suffix = name.rsplit(".", 1)[-1]
    return frozenset({"handler"} if suffix == "handler" else {"leader", "principal"} if suffix == "leader"
                     else {"leader"})


def having(*roles: str) -> frozenset:
    """The principals holding any of these roles."""
    return frozenset(p for p in SIGNED_IN if roles_of(p) & set(roles))


def load_world_db(url: str, demo_hash: str) -> None:
    """Nantong with the centre's demo users and the two demo units' users (the conftest ``city`` fixture)."""
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            setup.load_city_into_db(session, FixedClock(at("2025-09-26T09:00:00")), "nantong")
            for username, roles, name in setup.CENTRE_DEMO_USERS:
                accounts.add_user(session, username, None, roles, city="nantong", display_name=name,
                                  password_hash=demo_hash)
            for unit in DEMO_UNITS:
                for suffix, roles in (("handler", ["handler"]), ("leader", ["leader", "principal"]),
                                      ("deputy", ["leader"])):
                    accounts.add_user(session, f"{unit}.{suffix}", None, roles, unit_code=unit, city="nantong",
                                      password_hash=demo_hash)
    finally:
        db.dispose()


def make_app(tmp_path, sqlite_template, demo_hash):
    from app import create_app
    path = tmp_path / "hotline.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    load_world_db(url, demo_hash)
    # The walk sends thousands of requests from one address: the per-IP limit of the public endpoints is off
    # and the failure throttle (sign-in, the portal's wrong codes and links) is wide (both are tested on their
    # own), or Open311's reads and the portal's made-up links would answer 429 halfway.
    settings = Settings(database_url=url, secret_key="test-secret", test_clock=True,
                        attachment_dir=str(tmp_path / "attachments"), scheduler_interval=1, scheduler_batch=50,
                        max_upload_bytes=8 * 1024 * 1024, default_language="zh", public_rate_per_minute=0,
                        login_max_failures=100000)
    application = create_app(settings)
    application.config.update(TESTING=True)
    return application


def upload(api, ticket_id, data=JPEG, name="现场照片.jpg"):
    return api.client.post(f"/api/v1/tickets/{ticket_id}/attachments", headers=api.headers,
                           data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_json(silent=True))
    return response.get_json()


@dataclass
class World:
    app: object
    ids: dict
    api: dict = field(default_factory=dict)       # principal -> ApiClient
    browsers: dict = field(default_factory=dict)  # principal -> signed-in test client (anonymous: none)

    def client(self, name):
        """An API client for a principal (signed in once per module)."""
        if name not in self.api:
            self.api[name] = ApiClient(self.app.test_client(), name)
        return self.api[name]

    def browser(self, name):
        """A browser session for a principal (anonymous: a client that never signed in)."""
        if name not in self.browsers:
            client = self.app.test_client()
            if name != ANONYMOUS:
                response = Browser(client).login(name, PASSWORD)
                assert response.status_code == 302, (name, response.status_code)
            self.browsers[name] = client
        return self.browsers[name]


def build_world(app) -> World:
    world = World(app, {})
    ids, c = world.ids, world.client
    operator, dispatcher, supervisor = c("operator"), c("dispatcher"), c("supervisor")
    a_handler = c(f"{UNIT_A}.handler")
    operator.set_clock(MONDAY)
    # Two tickets on the same matter (so each is the other's duplicate candidate), one per unit.
    ticket_a = _ok(operator.post("/api/v1/tickets", json=complaint(
        title=f"{A_TITLE}：某小区地下车库积水严重", content="某小区地下车库连日积水，车辆无法进出，物业不处理。",
        citizen={"name": "甲市民", "phone": A_PHONE})), 201)
    ticket_b = _ok(operator.post("/api/v1/tickets", json=complaint(
        title=f"{B_TITLE}：某小区地下车库积水严重", content="某小区地下车库连日积水，车辆无法进出，物业不处理。",
        citizen={"name": "乙市民", "phone": B_PHONE})), 201)
    ticket_c = _ok(operator.post("/api/v1/tickets", json=complaint(
        title=f"{C_TITLE}：路灯不亮", content="某路段路灯连续一周不亮。", citizen={"name": "丙市民", "phone": C_PHONE})),
        201)
    ticket_d = _ok(operator.post("/api/v1/tickets", json=complaint(
        title=f"{D_TITLE}：某小区地下车库积水严重", content="某小区地下车库连日积水，车辆无法进出。",
        citizen={"name": "丁市民", "phone": D_PHONE})), 201)
    dispatcher.complete(ticket_a["id"], "dispatch", {"unit": UNIT_A})
    dispatcher.complete(ticket_b["id"], "dispatch", {"unit": UNIT_B})
    _ok(dispatcher.post(f"/api/v1/tickets/{ticket_d['id']}/merge", json={"into": ticket_a["id"], "reason": "同一事项"}))
    ids.update(ticket_a=ticket_a["id"], ticket_b=ticket_b["id"], ticket_c=ticket_c["id"], ticket_d=ticket_d["id"])
    ids["task_a"] = a_handler.ready_task(ticket_a["id"], "sign")["id"]
    ids["task_b"] = c(f"{UNIT_B}.handler").ready_task(ticket_b["id"], "sign")["id"]
    ids["task_dispatch"] = dispatcher.ready_task(ticket_c["id"], "dispatch")["id"]
    ids["attachment"] = _ok(upload(a_handler, ticket_a["id"]), 201)["id"]
    # A supervision order on A's ticket, and a consultation A's unit proposes on it.
    case = _ok(supervisor.post(f"/api/v1/tickets/{ticket_a['id']}/supervisions",
                               json={"trigger": "repeat_complaint", "reason": "市民反复投诉车库积水"}), 201)
    ids["case_supervision"] = case["id"]
    consultation = _ok(a_handler.post("/api/v1/consultations", json={
        "ticket_ids": [ticket_a["id"]], "topic": "车库积水多部门会商", "description": "涉及物业、住建多部门",
        "lead_unit": UNIT_A}), 201)
    ids["case_consultation"] = consultation["id"]
    ids["task_case"] = supervisor.ready_task(consultation["id"], "confirm_topic")["id"]
    # A's knowledge entry, A's handler's message about the sign task.
    entry = _ok(a_handler.post("/api/v1/knowledge", json={
        "city": "nantong", "unit": UNIT_A, "kind": "script", "title": "车库积水的答复口径",
        "body": "地下车库积水由物业负责排水，区住建部门负责监督。", "keywords": ["车库积水"], "review_due": "2026-06-30"}), 201)
    ids["entry"] = entry["id"]
    messages = a_handler.get("/api/v1/messages").get_json()["items"]
    assert messages, "the sign task notifies A's handler"
    ids["message"] = messages[0]["id"]
    # Issued reports: the daily one (sent to units' leaders) and the chokepoint one (city leaders only).
    ids["report_daily"] = _ok(supervisor.post("/api/v1/reports/daily/issue",
                                              json={"city": "nantong", "period": "2025-11-03"}), 201)["id"]
    ids["report_chokepoint"] = _ok(supervisor.post("/api/v1/reports/chokepoint/issue",
                                                   json={"city": "nantong", "period": "2025-10"}), 201)["id"]
    # The cold-start dispatch model is made on the first suggestion.
    _ok(dispatcher.get(f"/api/v1/tickets/{ticket_c['id']}/dispatch-suggestion"))
    ids["model"] = _ok(c("analyst").get("/api/v1/ai/models?city=nantong"))["items"][0]["id"]
    # The rule set: its active version and one of its files; a calendar override to delete.
    version = next(v for v in _ok(operator.get("/api/v1/rules/nantong/versions"))["items"] if v["active"])
    ids["version"], ids["file"] = version["version"], sorted(version["files"])[0]
    _ok(c("admin").put("/api/v1/admin/calendar", json={"city": "nantong", "day": "2030-01-02", "is_working": False,
                                                      "note": "矩阵测试"}))
    ids["day"] = "2030-01-02"
    # Issue 9: an emergency handed to 119; a channel client (revoked by the walk); an upstream platform's
    # directive with its pending status report to the platform (a retry of a pending one is a 409).
    ids["ticket_e"] = _ok(operator.post("/api/v1/tickets", json=complaint(
        title=f"{E_TITLE}：楼道冒烟", content="3号楼楼道冒烟。", scope="emergency", emergency_agency="119",
        citizen={"name": "戊市民", "phone": E_PHONE})), 201)["id"]
    admin = c("admin")
    ids["client"] = _ok(admin.post("/api/v1/admin/channel-clients", json={
        "city": "nantong", "name": "matrix-grid", "channel": "grid", "kind": "grid"}), 201)["id"]
    upstream = _ok(admin.post("/api/v1/admin/channel-clients", json={
        "city": "nantong", "name": "matrix-province", "channel": "provincial_platform", "kind": "upstream",
        "webhook_url": "http://127.0.0.1:9/hotline"}), 201)
    response = world.app.test_client().post("/api/v1/upstream/tickets", headers={"X-Api-Key": upstream["key"]},
                                            json={"external_id": "JS-MATRIX-1", "title": "省平台矩阵指令",
                                                  "content": "省平台转办的诉求。", "request_type": "help",
                                                  "received_at": MONDAY, "due_at": "2025-11-10T17:30:00+08:00"})
    assert response.status_code == 201, response.get_json()
    ids["delivery"] = _ok(admin.get("/api/v1/admin/webhooks?state=pending"))["items"][0]["id"]
    ids["number_a"] = ticket_a["number"]
    overview = _ok(c("admin").get("/api/v1/admin/cities/nantong"))
    ids["channels"] = [{"code": ch["code"], "name": ch["name"]} for ch in overview["channels"]]
    ids["working_hours"] = overview["working_hours"]
    return world


# -- path variants ---------------------------------------------------------------------------------
def variants(path: str, ids: dict) -> list[tuple[str, dict]]:
    """(variant, params) for a path template: each id as unit A's, unit B's, a case's or a guessed one."""
    base = {"city": "nantong", "version": ids["version"], "name": ids["file"], "decision_id": "handle_limit",
            "day": ids["day"], "kind": "daily", "model_id": ids["model"], "entry_id": ids["entry"],
            "message_id": ids["message"], "attachment_id": ids["attachment"], "report_id": ids["report_daily"]}
    if "/emergency-transfer" in path:
        return [("E", {**base, "ticket_id": ids["ticket_e"]}), ("A", {**base, "ticket_id": ids["ticket_a"]}),
                ("missing", {**base, "ticket_id": MISSING_ID})]
    for name, key, real, missing in (("{client_id}", "client_id", ids["client"], MISSING_ID),
                                     ("{delivery_id}", "delivery_id", ids["delivery"], MISSING_ID),
                                     ("{service_request_id}", "service_request_id", ids["number_a"], "NT00000000"),
                                     ("{service_code}", "service_code", "urban_construction", "nope"),
                                     ("{number}", "number", ids["number_a"], "NT00000000")):
        if name in path:
            return [("A", {**base, key: real}), ("missing", {**base, key: missing})]
    if "{token}" in path:
        return [("missing", {**base, "token": "not-a-signed-link"})]
    if "{ticket_id}" in path:
        return [("A", {**base, "ticket_id": ids["ticket_a"]}), ("B", {**base, "ticket_id": ids["ticket_b"]}),
                ("case", {**base, "ticket_id": ids["case_supervision"]}),
                ("consultation", {**base, "ticket_id": ids["case_consultation"]}),
                ("missing", {**base, "ticket_id": MISSING_ID})]
    if path == "/api/v1/consultations":
        return [("A", {**base, "ticket_id": ids["ticket_a"]}), ("B", {**base, "ticket_id": ids["ticket_b"]})]
    if "{task_id}" in path:
        return [("A", {**base, "task_id": ids["task_a"]}), ("B", {**base, "task_id": ids["task_b"]}),
                ("dispatch", {**base, "task_id": ids["task_dispatch"]}), ("case", {**base, "task_id": ids["task_case"]}),
                ("missing", {**base, "task_id": MISSING_TASK})]
    for name, key in (("{attachment_id}", "attachment_id"), ("{message_id}", "message_id"),
                      ("{entry_id}", "entry_id"), ("{model_id}", "model_id")):
        if name in path:
            return [("A", base), ("missing", {**base, key: MISSING_ID})]
    if "{report_id}" in path:
        return [("daily", base), ("chokepoint", {**base, "report_id": ids["report_chokepoint"]}),
                ("missing", {**base, "report_id": MISSING_ID})]
    if "{kind}" in path and path.endswith("/issue"):
        return [("daily", base)]
    if "{kind}" in path:
        return [("daily", base), ("weekly", {**base, "kind": "weekly"}), ("chokepoint", {**base, "kind": "chokepoint"}),
                ("unknown", {**base, "kind": "nope"})]
    if "{city}" in path:
        return [("", base), ("unknown", {**base, "city": "atlantis"})]
    return [("", base)]


def fill(path: str, params: dict) -> str:
    for key, value in params.items():
        path = path.replace("{" + key + "}", str(value))
    return path


def flask_template(rule: str) -> str:
    """/tickets/<int:ticket_id> → /tickets/{ticket_id}."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


# -- sending -----------------------------------------------------------------------------------------
@dataclass
class Outcome:
    status: int
    body: bytes
    location: str = ""
    error: str | None = None       # an exception that escaped the app (a 500 with TESTING on)


def send(client, method: str, url: str, *, headers=None, json_body=None, data=None, content_type=None) -> Outcome:
    kwargs = {"headers": headers or {}}
    if json_body is not None:
        kwargs["json"] = json_body
    if data is not None:
        kwargs["data"] = data
        kwargs["content_type"] = content_type
    try:
        response = getattr(client, method)(url, **kwargs)
    except Exception as exc:          # noqa: BLE001 - every escaped exception is a finding
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f"{f.filename.rsplit('/main/', 1)[-1]}:{f.lineno}" for f in reversed(frames)
                      if "/main/" in f.filename and "/.venv/" not in f.filename), "?")
        return Outcome(500, b"", error=f"{type(exc).__name__}: {exc} at {where}")
    return Outcome(response.status_code, response.get_data(), response.headers.get("Location", ""))


def leaks(body: bytes, *markers: str) -> list[str]:
    return [m for m in markers if m.encode() in body]



# -- requests ----------------------------------------------------------------------------------------
QUERIES = {
    "/api/v1/dashboard": "city=nantong",
    "/api/v1/rules/{city}/diff": "from={version}&to={version}",
    "/api/v1/admin/calendar": "city=nantong",
    "/api/v1/ai/models": "city=nantong",
    "/api/v1/scores": "city=nantong&period=2025-11",
    "/api/v1/kpis": "city=nantong&from=2025-11-01&to=2025-11-03",
    "/api/v1/reports/{kind}": "city=nantong",
    "/api/v1/reports": "city=nantong",
    "/api/v1/hot-issues": "city=nantong&from=2025-11-03&to=2025-11-03",
    "/api/v1/hot-words": "city=nantong&from=2025-11-03&to=2025-11-03",
    "/api/v1/knowledge": "city=nantong",
    "/api/v1/knowledge/search": "city=nantong&q=车库积水怎么办",
    # pages
    "/intake/suggestions": "city=nantong&title=地下车库积水&content=车库积水严重车辆无法进出",
    "/intake/knowledge": "city=nantong&title=车库积水怎么办",
    "/reports/{kind}/download": "format=xlsx",
}


def body_for(method: str, path: str, params: dict, ids: dict):
    """(json, multipart data) that passes each endpoint's schema, so what answers is the permission check.
    Writes are harmless to the world: they meet a 409 (wrong state, issued already), stay dry runs or add
    rows nobody else looks at."""
    v = ids["version"]
    probe = "地下车库积水，车辆无法进出"
    bodies = {
        ("post", "/api/v1/auth/token"): {"username": "operator", "password": PASSWORD},
        ("post", "/api/v1/tickets"): complaint(title="矩阵探测工单", citizen={"name": "探测", "phone": "13900009999"}),
        ("post", "/api/v1/tickets/{ticket_id}/upgrade"): {"reason": "矩阵测试：中心决定升级"},
        ("post", "/api/v1/tickets/{ticket_id}/supervisions"): {"trigger": "repeat_complaint", "reason": "矩阵测试督办"},
        ("post", "/api/v1/consultations"): {"ticket_ids": [params.get("ticket_id", ids["ticket_a"])],
                                            "topic": "矩阵测试会商", "description": "矩阵测试会商说明"},
        ("post", "/api/v1/tasks/{task_id}/reply-check"): {"reply": "已联系诉求人并处理完毕。"},
        ("post", "/api/v1/tasks/{task_id}/complete"): {"data": {}},
        ("post", "/api/v1/rules/{city}/migrations"): {"from_version": v, "to_version": v, "dry_run": True},
        ("post", "/api/v1/rules/{city}/decisions/{decision_id}/evaluate"):
            {"inputs": {"kind": "event", "request_type": "complaint"}},
        ("post", "/api/v1/rules/{city}/backtest"): {"version": v, "days": 7},
        ("put", "/api/v1/test/clock"): {"now": MONDAY},
        ("post", "/api/v1/admin/users"): {"username": "matrix.probe", "roles": ["operator"], "city": "nantong",
                                          "password": "matrix-probe-1"},
        ("put", "/api/v1/admin/calendar"): {"city": "nantong", "day": "2030-01-03", "is_working": False},
        ("put", "/api/v1/admin/cities/{city}/working-hours"): {"working_hours": ids["working_hours"]},
        ("put", "/api/v1/admin/cities/{city}/channels"): {"channels": ids["channels"]},
        ("post", "/api/v1/admin/cities/{city}/units"): {"code": "nt_matrix_probe", "name": "矩阵测试单位",
                                                         "type": "department"},
        ("post", "/api/v1/similar"): {"city": "nantong", "title": probe, "content": probe},
        ("post", "/api/v1/tickets/{ticket_id}/merge"): {"into": ids["ticket_c"], "reason": "矩阵测试"},
        ("post", "/api/v1/dispatch-suggestion"): {"city": "nantong", "title": probe, "content": probe},
        ("post", "/api/v1/ai/models"): {"city": "nantong"},
        ("post", "/api/v1/scores/entries"): {"city": "nantong", "period": "2025-11", "unit": UNIT_A,
                                             "item": "coordination", "points": -1, "reason": "矩阵测试扣分",
                                             "evidence": "矩阵测试材料"},
        ("post", "/api/v1/tickets/{ticket_id}/leader-readings"): {"comment": "请抓紧办理"},
        ("post", "/api/v1/reports/{kind}/issue"): {"city": "nantong", "period": "2025-11-03"},   # issued: 409
        ("post", "/api/v1/knowledge"): {"city": "nantong", "unit": UNIT_A, "kind": "procedure",
                                        "title": "矩阵测试条目", "body": "矩阵测试正文", "review_due": "2026-06-30"},
        ("put", "/api/v1/knowledge/{entry_id}"): {"revision": 1, "title": "车库积水的答复口径（修订）"},
        ("post", "/api/v1/knowledge/{entry_id}/retire"): {},
        ("post", "/api/v1/tickets/{ticket_id}/emergency-transfer/handover"): {"note": "矩阵测试转接"},
        ("post", "/api/v1/tickets/{ticket_id}/emergency-transfer/acknowledge"): {"agency_reference": "119-MATRIX"},
        ("post", "/api/v1/admin/channel-clients"): {"city": "nantong", "name": "matrix-probe", "channel": "web",
                                                    "kind": "generic"},
        ("post", "/api/v1/channel/requests"): {"title": "矩阵探测", "content": "矩阵探测", "request_type": "help"},
        ("post", "/api/v1/upstream/tickets"): {"external_id": "JS-MATRIX-2", "title": "矩阵探测", "content": "矩阵探测",
                                               "request_type": "help", "received_at": MONDAY,
                                               "due_at": "2025-11-10T17:30:00+08:00"},
    }
    if (method, path) == ("post", "/api/v1/deployments"):
        return None, {"name": "nantong"}
    if (method, path) == ("post", "/api/v1/admin/upstream/imports"):
        return None, {"client_id": str(ids["client"]), "file": (io.BytesIO(b"[]"), "import.json")}
    if (method, path) == ("post", "/open311/v2/requests.json"):
        return None, {"service_code": "urban_construction", "description": "矩阵探测：路面破损"}
    if (method, path) == ("post", "/api/v1/tickets/{ticket_id}/attachments"):
        return None, {"file": (io.BytesIO(JPEG), "探测.jpg")}
    return bodies.get((method, path)), None


def url_for_op(path: str, params: dict) -> str:
    url = fill(path, params)
    query = QUERIES.get(path)
    return f"{url}?{fill(query, params)}" if query else url
