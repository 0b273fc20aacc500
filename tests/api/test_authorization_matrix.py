"""The authorisation matrix (issue 8): every JSON endpoint of the OpenAPI document and every GET page of the
app, as every centre role, as the handler, principal leader (leader + principal) and deputy leader of two
units, and as nobody, with unit A's, unit B's, a case's and guessed
ids. Each answer is judged against the table below: allowed (anything but 401/403/404), refused (403 or
404; anonymous: 401, or for a page a redirect to /login), never a 500. A unit's users never find another
unit's tickets in any answer (title or citizen phone), allowed or not.

The table is written from the code's own checks (``_require``/``actor.has`` in engine/, ``require_roles``
and the pages' ``PermissionDenied``) and the README, spelled out here rather than imported, so a changed
check fails this test instead of silently moving the expectation. Where code and README disagree the
line says so (``README:``).
"""
from __future__ import annotations

import io

import pytest

from api.openapi import OPERATIONS
from tests.api import authz_support as Z
from tests.api.authz_support import (A_PHONE, A_TITLE, A_UNIT, ANONYMOUS, B_PHONE, B_TITLE, B_UNIT, C_PHONE,
                                     C_TITLE, CENTRE, D_PHONE, D_TITLE, PRINCIPALS, SIGNED_IN, UNIT_A, UNIT_B,
                                     UNIT_USERS, having)
from tests.api.test_pages import Browser
from tests.conftest import ApiClient

NOBODY = frozenset()
PUBLIC = SIGNED_IN | {ANONYMOUS}
ADMIN = frozenset({"admin"})
A_HANDLER, B_HANDLER = f"{UNIT_A}.handler", f"{UNIT_B}.handler"
A_LEADERS, B_LEADERS = A_UNIT - {A_HANDLER}, B_UNIT - {B_HANDLER}
UNIT_LEADERS = A_LEADERS | B_LEADERS

# Role groups, as the code spells them.
INTAKE = having("operator", "dispatcher", "admin")                                          # facade INTAKE_ROLES
KPI = having("dispatcher", "supervisor", "inspector", "city_leader", "analyst", "admin", "auditor")  # KPI_ROLES
DASHBOARD = KPI                                                      # facade DASHBOARD_ROLES: the same roles
AUDIT = having("auditor", "admin", "supervisor")                                            # AUDIT_ROLES
UPGRADE = having("dispatcher", "supervisor", "admin")
SUPERVISE = having("dispatcher", "supervisor", "inspector", "city_leader", "admin")
CONSULT = having("dispatcher", "supervisor", "handler", "leader", "principal", "admin")
MERGE = having("dispatcher", "admin")
MODELS = having("operator", "dispatcher", "supervisor", "analyst", "admin", "auditor")      # dispatch_model VIEW_ROLES
TRAIN = having("analyst", "admin")                          # also deployments and the studio (STUDIO_ROLES)
RULES = having("analyst", "admin", "auditor")               # diff, console, admin log, /rules/, calendar reads
TEXT_LOOKUP = having("operator", "dispatcher", "supervisor", "admin")          # duplicates for text at intake
ISSUE = having("supervisor", "admin")                       # issuing reports, entering score items
KNOWLEDGE_READ = having("operator", "dispatcher", "admin", "handler", "leader")
KNOWLEDGE_A = ADMIN | A_UNIT                                # an entry of unit A is kept by A's users and admins
EMERGENCY_ACT = having("operator", "dispatcher", "supervisor", "admin")                     # emergency HAND_OFF_ROLES
EMERGENCY_VIEW = EMERGENCY_ACT | having("auditor", "inspector", "city_leader")              # emergency VIEW_ROLES

# What each principal may see of a ticket: the centre everything, a unit its own tickets.
SEES = {"A": CENTRE | A_UNIT, "B": CENTRE | B_UNIT, "case": CENTRE | A_UNIT,
        # Surprising (reported): the consultation A's handler proposed on A's ticket is invisible to A's unit
        # until the supervisor confirms it (the case has no unit and no unit task before that).
        "consultation": CENTRE}


def ticket(who=SIGNED_IN) -> dict:
    """An endpoint on a ticket or case: the role check ∩ who sees it; guessed ids are nobody's."""
    return {variant: frozenset(who) & seen for variant, seen in SEES.items()}


def lifecycle(who) -> dict:
    """A command on a citizen's ticket only: a case's id is 'not found' for everyone."""
    return {**ticket(who), "case": NOBODY, "consultation": NOBODY}


TASK_SEE = {"A": CENTRE | {A_HANDLER}, "B": CENTRE | {B_HANDLER}, "dispatch": CENTRE, "case": CENTRE}
# Only the task's role in the task's unit acts: A's leaders neither see nor act on A's handler's task.
TASK_ACT = {"A": {A_HANDLER}, "B": {B_HANDLER}, "dispatch": {"dispatcher"}, "case": {"supervisor"}}
ISSUED = {"daily": KPI | UNIT_LEADERS, "chokepoint": KPI}
# README: "units' leaders read the reports sent to them (daily, weekly, monthly)", issued or computed.
COMPUTED = {"daily": KPI | UNIT_LEADERS, "weekly": KPI | UNIT_LEADERS, "chokepoint": KPI}

API = {
    ("post", "/api/v1/auth/token"): PUBLIC,
    ("post", "/api/v1/auth/revoke"): SIGNED_IN,
    ("post", "/api/v1/tickets"): INTAKE,
    ("get", "/api/v1/tickets"): SIGNED_IN,
    ("get", "/api/v1/tickets/{ticket_id}"): ticket(),
    ("get", "/api/v1/tickets/{ticket_id}/events"): ticket(),
    ("get", "/api/v1/tickets/{ticket_id}/tasks"): ticket(),
    ("get", "/api/v1/tickets/{ticket_id}/replay"): ticket(AUDIT),
    ("post", "/api/v1/tickets/{ticket_id}/upgrade"): lifecycle(UPGRADE),
    ("post", "/api/v1/tickets/{ticket_id}/supervisions"): lifecycle(SUPERVISE),
    ("get", "/api/v1/tickets/{ticket_id}/cases"): ticket(),
    ("post", "/api/v1/consultations"): {"A": CONSULT & SEES["A"], "B": CONSULT & SEES["B"]},
    ("get", "/api/v1/tickets/{ticket_id}/diagram"): ticket(),
    ("get", "/api/v1/tickets/{ticket_id}/audit"): ticket(AUDIT),
    ("get", "/api/v1/dashboard"): DASHBOARD,
    ("get", "/api/v1/tasks"): SIGNED_IN,
    ("get", "/api/v1/tasks/{task_id}"): TASK_SEE,
    ("post", "/api/v1/tasks/{task_id}/claim"): TASK_ACT,
    ("post", "/api/v1/tasks/{task_id}/reply-check"): TASK_SEE,
    ("post", "/api/v1/tasks/{task_id}/complete"): TASK_ACT,
    # Surprising (reported): deployments, rule-set versions and their BPMN/DMN files are open to every
    # signed-in user, units included; only writing them is checked.
    ("get", "/api/v1/deployments"): SIGNED_IN,
    ("post", "/api/v1/deployments"): TRAIN,
    ("get", "/api/v1/rules/{city}/versions"): {"": SIGNED_IN},
    ("post", "/api/v1/rules/{city}/versions/{version}/activate"): {"": ADMIN},
    ("get", "/api/v1/rules/{city}/versions/{version}/files/{name}"): {"": SIGNED_IN},
    ("get", "/api/v1/rules/{city}/diff"): {"": RULES},
    ("post", "/api/v1/rules/{city}/migrations"): {"": ADMIN},
    ("post", "/api/v1/rules/{city}/decisions/{decision_id}/evaluate"): {"": RULES},
    ("post", "/api/v1/rules/{city}/backtest"): {"": TRAIN},
    ("get", "/api/v1/rules/log"): RULES,
    ("get", "/api/v1/messages"): SIGNED_IN,
    ("post", "/api/v1/messages/{message_id}/read"): {"A": {A_HANDLER}},          # one's own messages only
    # Surprising (reported): the test clock (HOTLINE_TEST_CLOCK=1 only) takes any signed-in user, not admins only;
    # the suite relies on operators, dispatchers and supervisors moving it.
    ("put", "/api/v1/test/clock"): SIGNED_IN,
    ("get", "/api/v1/test/clock"): SIGNED_IN,
    ("post", "/api/v1/test/tick"): SIGNED_IN,
    ("get", "/api/v1/admin/users"): ADMIN,
    ("post", "/api/v1/admin/users"): ADMIN,
    ("get", "/api/v1/admin/calendar"): RULES,
    ("put", "/api/v1/admin/calendar"): ADMIN,
    ("delete", "/api/v1/admin/calendar/{city}/{day}"): {"": ADMIN},
    ("get", "/api/v1/admin/cities/{city}"): {"": RULES | {"supervisor"}},
    ("put", "/api/v1/admin/cities/{city}/working-hours"): {"": ADMIN},
    ("put", "/api/v1/admin/cities/{city}/channels"): {"": ADMIN},
    ("post", "/api/v1/admin/cities/{city}/units"): {"": ADMIN},
    ("post", "/api/v1/tickets/{ticket_id}/attachments"): ticket(),            # the auditor: 422 read-only, below
    ("get", "/api/v1/tickets/{ticket_id}/attachments"): ticket(),
    ("get", "/api/v1/attachments/{attachment_id}"): {"A": SEES["A"]},
    ("get", "/api/v1/tickets/{ticket_id}/similar"): ticket(),
    ("post", "/api/v1/similar"): TEXT_LOOKUP,
    ("post", "/api/v1/tickets/{ticket_id}/merge"): ticket(MERGE),
    ("get", "/api/v1/tickets/{ticket_id}/merged"): ticket(),
    ("get", "/api/v1/tickets/{ticket_id}/dispatch-suggestion"): ticket(MODELS),
    ("post", "/api/v1/dispatch-suggestion"): MODELS,
    ("get", "/api/v1/ai/models"): MODELS,
    ("post", "/api/v1/ai/models"): TRAIN,
    ("get", "/api/v1/ai/models/{model_id}"): {"A": MODELS},
    ("get", "/api/v1/scores"): KPI,
    ("post", "/api/v1/scores/entries"): ISSUE,
    # README: "a unit's leaders see their own unit"; the code also lets the unit's handlers in (own unit only).
    ("get", "/api/v1/kpis"): KPI | UNIT_USERS,
    ("post", "/api/v1/tickets/{ticket_id}/leader-readings"): {"A": A_LEADERS, "B": B_LEADERS},
    ("get", "/api/v1/reports/{kind}"): COMPUTED,
    ("post", "/api/v1/reports/{kind}/issue"): {"daily": ISSUE},
    ("get", "/api/v1/reports"): KPI | UNIT_LEADERS,
    ("get", "/api/v1/reports/issued/{report_id}"): ISSUED,
    ("get", "/api/v1/tickets/{ticket_id}/personal-data-views"): ticket(having("auditor", "admin")),
    ("get", "/api/v1/hot-issues"): DASHBOARD,
    ("get", "/api/v1/hot-words"): DASHBOARD,
    ("get", "/api/v1/knowledge"): KNOWLEDGE_READ,
    ("post", "/api/v1/knowledge"): KNOWLEDGE_A,
    ("get", "/api/v1/knowledge/search"): KNOWLEDGE_READ,
    ("get", "/api/v1/knowledge/{entry_id}"): {"A": KNOWLEDGE_READ},
    ("put", "/api/v1/knowledge/{entry_id}"): {"A": KNOWLEDGE_A},
    ("post", "/api/v1/knowledge/{entry_id}/retire"): {"A": KNOWLEDGE_A},
    # Issue 9. Machine clients authenticate with their own key, never with a user's token (EXACT below).
    ("post", "/api/v1/channel/requests"): NOBODY,
    ("get", "/api/v1/channel/requests/{number}"): {},
    ("post", "/api/v1/upstream/tickets"): NOBODY,
    ("get", "/api/v1/admin/channel-clients"): ADMIN,
    ("post", "/api/v1/admin/channel-clients"): ADMIN,
    ("post", "/api/v1/admin/channel-clients/{client_id}/revoke"): {"A": ADMIN},
    ("post", "/api/v1/admin/upstream/imports"): ADMIN,
    ("get", "/api/v1/admin/webhooks"): ADMIN,
    ("post", "/api/v1/admin/webhooks/{delivery_id}/retry"): {"A": ADMIN},      # a pending one: 409, past the check
    ("get", "/api/v1/emergency-transfers"): EMERGENCY_VIEW,
    # A normal ticket has no transfer: 404 for those who may look, 403 for the rest.
    ("get", "/api/v1/tickets/{ticket_id}/emergency-transfer"): {"E": EMERGENCY_VIEW},
    ("post", "/api/v1/tickets/{ticket_id}/emergency-transfer/handover"): {"E": EMERGENCY_ACT},
    ("post", "/api/v1/tickets/{ticket_id}/emergency-transfer/acknowledge"): {"E": EMERGENCY_ACT},
    # Open311 is public by design (GeoReport v2): status and masked, publishable text, never the citizen.
    ("get", "/open311/v2/discovery.json"): PUBLIC,
    ("get", "/open311/v2/services.json"): PUBLIC,
    ("get", "/open311/v2/services/{service_code}.json"): {"A": PUBLIC},
    ("get", "/open311/v2/requests.json"): PUBLIC,
    ("get", "/open311/v2/requests/{service_request_id}.json"): {"A": PUBLIC},
    ("post", "/open311/v2/requests.json"): NOBODY,                       # an open311 client's api_key (EXACT)
    # Issue 10: probes and metrics for the load balancer and Prometheus (HOTLINE_METRICS_TOKEN unset here).
    ("get", "/healthz"): PUBLIC,
    ("get", "/readyz"): PUBLIC,
    ("get", "/metrics"): PUBLIC,
}

PAGES = {
    "/": SIGNED_IN,
    "/login": PUBLIC,
    "/lang/{code}": PUBLIC,
    "/static/{filename}": PUBLIC,
    "/inbox": SIGNED_IN,
    "/messages": SIGNED_IN,
    "/tickets": SIGNED_IN,
    # Surprising (reported): the intake form opens for everyone signed in; only submitting it is checked.
    # README: "intake: operators, dispatchers and administrators".
    "/intake": SIGNED_IN,
    "/intake/suggestions": TEXT_LOOKUP,
    "/intake/knowledge": KNOWLEDGE_READ,
    "/tickets/{ticket_id}": ticket(),
    "/tickets/{ticket_id}/intelligence": ticket(),
    "/tasks/{task_id}": TASK_SEE,
    "/attachments/{attachment_id}": {"A": SEES["A"]},
    "/audit/tickets/{ticket_id}": ticket(AUDIT),
    "/audit/tickets/{ticket_id}.csv": ticket(AUDIT),
    "/audit/tickets/{ticket_id}.pdf": ticket(AUDIT),
    "/dashboard": DASHBOARD,
    "/hot-issues": DASHBOARD,
    "/kpis": KPI | UNIT_USERS,
    "/scores": KPI,
    "/cockpit": KPI,
    "/reports": KPI | UNIT_LEADERS,
    "/reports/{kind}": COMPUTED,
    "/reports/{kind}/download": COMPUTED,
    "/reports/issued/{report_id}": ISSUED,
    "/reports/issued/{report_id}/download": ISSUED,
    "/knowledge/": KNOWLEDGE_READ,
    "/knowledge/new": ADMIN | UNIT_USERS,
    "/knowledge/{entry_id}": {"A": KNOWLEDGE_READ},
    "/rules/": RULES,
    "/rules/console": RULES,
    "/studio/": TRAIN,
    "/studio/{city}/{name}": {"": TRAIN},
    "/studio/{city}/{name}/download": {"": TRAIN},
    "/admin/": ADMIN,
    "/admin/channels": ADMIN,
    "/admin/webhooks": ADMIN,
    "/emergency": EMERGENCY_VIEW,
    "/healthz": PUBLIC,
    "/readyz": PUBLIC,
    "/metrics": PUBLIC,
    **{f"/open311/v2/{name}.{fmt}": PUBLIC for name in ("discovery", "services", "requests") for fmt in ("json", "xml")},
    **{f"/open311/v2/{name}.{fmt}": {"A": PUBLIC} for name in ("services/{service_code}",
                                                                "requests/{service_request_id}")
       for fmt in ("json", "xml")},
    # The citizen portal needs no account. The receipt and a ticket's progress send a browser that has not
    # proved the ticket with its query code to the tracking form (302, not to /login); a made-up rating
    # link is a 404 (EXACT).
    "/portal/": PUBLIC,
    "/portal/submit": PUBLIC,
    "/portal/receipt": PUBLIC,
    "/portal/track": PUBLIC,
    "/portal/track/{number}": {"A": PUBLIC, "missing": PUBLIC},
    "/portal/disclosed": PUBLIC,
    "/portal/rate/{token}": NOBODY,
}

# Exact statuses where the general rule says too little.
EXACT = {
    # Auditors may see a ticket but are read-only: the upload is refused as invalid, not as forbidden.
    **{("post", "/api/v1/tickets/{ticket_id}/attachments", variant, "auditor"): 422
       for variant in ("A", "B", "case", "consultation")},
}

# A user's token is no client key: 401 (the machine-client scheme), not 403, whoever holds it.
EXACT.update({(method, path, variant, who): 401 for method, path, variants in (
    ("post", "/api/v1/channel/requests", ("",)), ("get", "/api/v1/channel/requests/{number}", ("A", "missing")),
    ("post", "/api/v1/upstream/tickets", ("",))) for variant in variants for who in PRINCIPALS})
# Open311 answers a missing or wrong api_key with 403, as GeoReport v2 specifies, to anonymous callers too.
EXACT.update({("post", "/open311/v2/requests.json", "", who): 403 for who in PRINCIPALS})
EXACT.update({("get", "/portal/rate/{token}", "missing", who): 404 for who in PRINCIPALS})
EXACT.update({("get", "/portal/track/{number}", "missing", who): 302 for who in PRINCIPALS})

# By design (宿州 附件6): the daily hot-issue report is sent to every unit's leaders and names the city's
# 多人一投 matters with their tickets, whichever unit has them (reported).
CITY_WIDE = {("get", "/api/v1/reports/issued/{report_id}", "daily"), ("get", "/reports/issued/{report_id}", "daily")}

# What each principal must never find in an answer: other units' tickets, and tickets never dispatched.
FOREIGN = {name: (B_TITLE, B_PHONE, C_TITLE, C_PHONE, D_TITLE, D_PHONE) for name in A_UNIT}
FOREIGN.update({name: (A_TITLE, A_PHONE, C_TITLE, C_PHONE, D_TITLE, D_PHONE) for name in B_UNIT})
FOREIGN[ANONYMOUS] = (A_TITLE, A_PHONE, B_TITLE, B_PHONE, C_TITLE, C_PHONE, D_TITLE, D_PHONE)
PAGE_PARAMS = {"filename": "app.css", "code": "zh"}
DENIED = (401, 403, 404)


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlite_template, demo_hash):
    """One world for the module (SQLite): the walks only add rows or meet refusals, so they share it."""
    app = Z.make_app(tmp_path_factory.mktemp("authz"), sqlite_template, demo_hash)
    yield Z.build_world(app)
    app.extensions["hotline_db"].dispose()


def expected(table: dict, key, variant: str):
    """Who may; None for an endpoint the table does not name yet (then only 500s and anonymous access count,
    and test_the_table_names_every_endpoint_and_page fails)."""
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, dict):
        return frozenset(value.get(variant, NOBODY))          # guessed ids, unknown cities and kinds: nobody
    return frozenset(value)


def judge(who: str, allowed: frozenset | None, outcome: Z.Outcome, *, page: bool,
          exact: int | None = None) -> str | None:
    """Why the answer is wrong, or None. Allowed: a page answers below 400 (not the sign-in redirect), an
    endpoint anything but 401/403/404 (a 409 or 422 got past the permission check). Refused: 403 or 404."""
    if outcome.error:
        return f"raised {outcome.error}"
    if outcome.status >= 500:
        return f"{outcome.status}"
    if exact is not None:
        return None if outcome.status == exact else f"{outcome.status}, expected {exact}"
    to_login = outcome.status == 302 and "/login" in outcome.location
    if who == ANONYMOUS and ANONYMOUS not in (allowed or ()):
        if page:
            return None if to_login else f"{outcome.status}, expected a redirect to /login"
        return None if outcome.status == 401 else f"{outcome.status}, expected 401"
    if allowed is None:
        return None
    if who in allowed:
        refused = to_login or outcome.status in DENIED or (page and outcome.status >= 400)
        return f"{outcome.status}, expected to be allowed" if refused else None
    return None if outcome.status in (403, 404) else f"{outcome.status}, expected 403 or 404"


def guessed(table: dict, key, variant: str, who: str) -> int | None:
    """A guessed id (or an unknown city or kind) is a 404 for whoever may use the real one: not a 500, and
    not a 403 that would tell it apart from a missing one."""
    value = table.get(key)
    if variant in ("missing", "unknown") and isinstance(value, dict) and any(who in v for v in value.values()):
        return 404
    return None


def leaked(who: str, outcome: Z.Outcome, key) -> str | None:
    found = Z.leaks(outcome.body, *FOREIGN.get(who, ()))
    return f"answer shows {found}" if found and key not in CITY_WIDE else None


def api_request(world, who: str, method: str, path: str, params: dict) -> Z.Outcome:
    client, headers = world.app.test_client(), {}
    if who != ANONYMOUS:
        api = world.client(who)
        client, headers = api.client, api.headers
        if path == "/api/v1/auth/revoke":        # revoke a token of its own, not the one the walk goes on with
            headers = ApiClient(world.app.test_client(), who).headers
    json_body, data = Z.body_for(method, path, params, world.ids)
    outcome = Z.send(client, method, Z.url_for_op(path, params), headers=headers, json_body=json_body, data=data,
                     content_type="multipart/form-data" if data else None)
    if path == "/api/v1/auth/revoke" and outcome.status == 204:
        after = Z.send(client, "get", "/api/v1/tickets", headers=headers)
        if after.status != 401:
            outcome.error = f"the revoked token still answers {after.status}"
    return outcome


def page_rules(app) -> list[str]:
    return sorted({Z.flask_template(r.rule) for r in app.url_map.iter_rules()
                   if "GET" in r.methods and not r.rule.startswith("/api/")})


def test_the_table_names_every_endpoint_and_page(world):
    operations = {(m, p) for m, p, *_ in OPERATIONS}
    assert sorted(operations - set(API)) == [], "JSON endpoints without an expectation"
    assert sorted(set(API) - operations) == [], "expectations for endpoints that are gone"
    documented = operations | {("get", "/api/v1/openapi.json"), ("get", "/api/v1/docs")}
    served = {(m.lower(), Z.flask_template(r.rule)) for r in world.app.url_map.iter_rules()
              if r.rule.startswith("/api/") for m in r.methods - {"HEAD", "OPTIONS"}}
    assert sorted(served - documented) == [], "JSON routes missing from api/openapi.py OPERATIONS"
    pages = set(page_rules(world.app))
    assert sorted(pages - set(PAGES)) == [], "pages without an expectation"
    assert sorted(set(PAGES) - pages) == [], "expectations for pages that are gone"


@pytest.mark.parametrize("who", PRINCIPALS)
def test_every_json_endpoint(world, who):
    failures = []
    for method, path, *_ in OPERATIONS:
        if path == "/api/v1/auth/token" and who != ANONYMOUS:
            continue                           # the caller's identity plays no part in signing in
        for variant, params in Z.variants(path, world.ids):
            outcome = api_request(world, who, method, path, params)
            exact = EXACT.get((method, path, variant, who)) or guessed(API, (method, path), variant, who)
            problem = judge(who, expected(API, (method, path), variant), outcome, page=False, exact=exact) \
                or leaked(who, outcome, (method, path, variant))
            if problem:
                failures.append(f"{who} {method.upper()} {path} [{variant or '-'}]: {problem}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("who", PRINCIPALS)
def test_every_page(world, who):
    browser, failures = world.browser(who), []
    for path in page_rules(world.app):
        for variant, params in Z.variants(path, world.ids):
            outcome = Z.send(browser, "get", Z.url_for_op(path, {**params, **PAGE_PARAMS}))
            exact = EXACT.get(("get", path, variant, who)) or guessed(PAGES, path, variant, who)
            problem = judge(who, expected(PAGES, path, variant), outcome, page=True, exact=exact) \
                or leaked(who, outcome, ("get", path, variant))
            if problem:
                failures.append(f"{who} GET {path} [{variant or '-'}]: {problem}")
    assert failures == [], "\n".join(failures)


def test_unit_b_cannot_reach_unit_a_by_its_ids(world):
    """Unit B's users with unit A's ids, the key requests with valid bodies: refused, nothing of A's ticket
    in the answer, and A's ticket unchanged."""
    ids, a = world.ids, world.ids["ticket_a"]
    handler, leader = world.client(B_HANDLER), world.client(f"{UNIT_B}.leader")
    task = f"/api/v1/tasks/{ids['task_a']}"
    before = state_of(world)
    refused = [
        (handler, "post", f"{task}/complete", {"data": {"decision": "accept"}}),
        (handler, "post", f"{task}/claim", None),
        (handler, "post", f"{task}/reply-check", {"reply": "已联系诉求人并处理完毕。"}),
        (handler, "get", task, None),
        (handler, "post", f"/api/v1/tickets/{a}/upgrade", {"reason": "中心决定升级"}),
        (handler, "post", f"/api/v1/tickets/{a}/merge", {"into": ids["ticket_b"]}),
        (handler, "post", "/api/v1/consultations", {"ticket_ids": [ids["ticket_b"], a], "topic": "两单会商",
                                                    "description": "把甲单位的工单拉进来"}),
        (leader, "post", f"/api/v1/tickets/{a}/leader-readings", {"comment": "阅，请抓紧办理"}),
        (handler, "get", f"/api/v1/attachments/{ids['attachment']}", None),
        (handler, "get", f"/api/v1/tickets/{ids['case_supervision']}/events", None),
        *((user, "get", f"/api/v1/tickets/{a}{tail}", None) for user in (handler, leader)
          for tail in ("", "/events", "/tasks", "/attachments", "/cases", "/similar", "/merged", "/diagram",
                       "/replay", "/audit", "/dispatch-suggestion")),
    ]
    failures = []
    for api, method, url, body in refused:
        response = getattr(api, method)(url, json=body) if method == "post" else api.get(url)
        shown = Z.leaks(response.get_data(), A_TITLE, A_PHONE)
        if response.status_code not in (403, 404) or shown:
            failures.append(f"{method.upper()} {url}: {response.status_code} {shown}")
    # Filters naming unit A answer with unit B's own things only.
    for url in (f"/api/v1/tickets?unit={UNIT_A}", f"/api/v1/tickets?q={A_TITLE}", f"/api/v1/tasks?unit={UNIT_A}",
                "/api/v1/tickets?process=supervision", "/api/v1/tickets?process=consultation",
                f"/api/v1/kpis?city=nantong&unit={UNIT_A}&from=2025-11-01&to=2025-11-03"):
        response = handler.get(url)
        units = {item.get("unit") for item in response.get_json()["items"]} - {UNIT_B, None}
        if response.status_code != 200 or units or Z.leaks(response.get_data(), A_TITLE, A_PHONE):
            failures.append(f"GET {url}: {response.status_code} {units}")
    assert failures == [], "\n".join(failures)
    assert state_of(world) == before


def state_of(world) -> tuple:
    """A's ticket as the centre sees it: its sign task, its events and attachments."""
    dispatcher, a = world.client("dispatcher"), world.ids["ticket_a"]
    sign = dispatcher.get(f"/api/v1/tasks/{world.ids['task_a']}").get_json()
    return (sign["state"], sign["assignee"], len(dispatcher.get(f"/api/v1/tickets/{a}/events").get_json()["items"]),
            len(dispatcher.get(f"/api/v1/tickets/{a}/attachments").get_json()["items"]))


def test_unit_b_pages_cannot_act_on_unit_a(world):
    """The same through the browser, with a valid CSRF token: the task form, the escalation and reading forms,
    the attachment upload."""
    ids, a = world.ids, world.ids["ticket_a"]
    before, failures = state_of(world), []
    for who, url, form in (
            (B_HANDLER, f"/tasks/{ids['task_a']}", {"decision": "accept"}),
            (B_HANDLER, f"/tasks/{ids['task_a']}", {"_action": "claim"}),
            (B_HANDLER, f"/tasks/{ids['task_a']}/reply-check", {"reply": "已处理"}),
            (B_HANDLER, f"/tickets/{a}/consult", {"topic": "会商议题", "description": "会商说明"}),
            (f"{UNIT_B}.leader", f"/tickets/{a}/leader-reading", {"comment": "阅，请抓紧办理"}),
            ("callback", f"/tickets/{a}/upgrade", {"reason": "回访员不能升级"}),
            ("operator", f"/tickets/{a}/supervise", {"trigger": "repeat_complaint", "reason": "话务员不能督办"})):
        browser = world.browser(who)
        token = Browser(browser).csrf("/inbox")
        outcome = Z.send(browser, "post", url, data={**form, "csrf_token": token},
                         content_type="application/x-www-form-urlencoded")
        shown = Z.leaks(outcome.body, *FOREIGN.get(who, ()))
        if outcome.status not in (403, 404) or shown:
            failures.append(f"{who} POST {url}: {outcome.status} {outcome.error or ''} {shown}")
    browser = world.browser(B_HANDLER)
    outcome = Z.send(browser, "post", f"/tickets/{a}/attachments", content_type="multipart/form-data",
                     data={"csrf_token": Browser(browser).csrf("/inbox"), "file": (io.BytesIO(Z.JPEG), "b.jpg")})
    if outcome.status != 302 or outcome.error:                     # refused with a message, nothing stored
        failures.append(f"{B_HANDLER} POST /tickets/{a}/attachments: {outcome.status} {outcome.error or ''}")
    assert failures == [], "\n".join(failures)
    assert state_of(world) == before


def test_merged_tickets_are_shown_to_whoever_may_see_them(world):
    """A duplicate merged into A's ticket was never dispatched to unit A: the centre lists it, A does not."""
    a, d = world.ids["ticket_a"], world.ids["ticket_d"]
    assert [t["id"] for t in world.client("dispatcher").get(f"/api/v1/tickets/{a}/merged").get_json()["items"]] == [d]
    assert world.client(A_HANDLER).get(f"/api/v1/tickets/{a}/merged").get_json()["items"] == []
    assert world.client(A_HANDLER).get(f"/api/v1/tickets/{d}").status_code == 404
