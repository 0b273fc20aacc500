"""The knowledge base (知识库) over HTTP: the JSON API (CRUD, permissions, validation, stale revisions, search),
answering a consultation from an entry at intake, the review reminder through the scheduler tick, and the
pages (list with filters, create/edit with CSRF, retire, the intake page's htmx suggestions)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.api.test_pages import CSRF, Browser
from tests.conftest import complaint
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

FUND = {"city": "nantong", "kind": "script", "title": "租房提取住房公积金的条件和材料",
        "body": "您好！职工在本市无自有住房且租赁住房的，可持身份证、租赁合同申请提取住房公积金，也可在线办理。",
        "keywords": ["公积金", "租房提取"], "category": "labour_social_security",
        "valid_from": "2025-01-01", "review_due": "2026-03-31"}
LIFT = {"city": "nantong", "unit": "nt_housing", "kind": "policy", "title": "既有多层住宅加装电梯的申请条件和补贴",
        "body": "经本单元三分之二以上业主同意，可向所在区住建部门申请加装电梯，符合条件的可申请补贴。",
        "keywords": ["加装电梯", "补贴"], "review_due": "2025-10-31"}


class _Controls(HTMLParser):
    """Form controls that are neither inside a <label> nor carry an aria-label (hidden inputs aside)."""

    def __init__(self):
        super().__init__()
        self.depth, self.unlabelled = 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.depth += 1
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden" \
                and not self.depth and not attrs.get("aria-label"):
            self.unlabelled.append(attrs.get("name"))

    def handle_endtag(self, tag):
        if tag == "label":
            self.depth -= 1


def unlabelled(page: str) -> list:
    parser = _Controls()
    parser.feed(page)
    return parser.unlabelled


def entry(api, data=None, status=201, **overrides):
    response = api.post("/api/v1/knowledge", json={**(data or FUND), **overrides})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_unit_keeps_its_entries_through_the_api_with_revisions(as_user):
    handler = as_user("nt_housing.handler")
    handler.set_clock("2025-11-03T09:00:00+08:00")
    created = entry(handler)
    assert (created["unit"], created["revision"], created["status"], created["created_by"]) == \
        ("nt_housing", 1, "active", "nt_housing.handler")
    assert created["keywords"] == ["公积金", "租房提取"] and created["review_overdue"] is False and created["valid_today"]
    url = f"/api/v1/knowledge/{created['id']}"
    assert as_user("operator").get(url).get_json()["title"] == FUND["title"]
    leader = as_user("nt_housing.leader")
    changed = leader.put(url, json={"revision": 1, "body": "更新后的答复口径。", "valid_until": "2026-12-31"})
    assert changed.status_code == 200, changed.get_json()
    changed = changed.get_json()
    assert (changed["revision"], changed["updated_by"], changed["created_by"], changed["valid_until"]) == \
        (2, "nt_housing.leader", "nt_housing.handler", "2026-12-31")
    assert changed["title"] == FUND["title"]
    stale = handler.put(url, json={"revision": 1, "title": "覆盖他人修改"})
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "conflict" and "第2版" in error["message"] and error["details"] == {"revision": 2}
    assert handler.get(url).get_json()["title"] == FUND["title"]          # nothing was overwritten
    retired = handler.post(f"{url}/retire", json={"revision": 2})
    assert retired.status_code == 200 and retired.get_json()["status"] == "retired"
    assert retired.get_json()["revision"] == 3
    assert handler.post(f"{url}/retire").status_code == 409             # already retired
    assert handler.get("/api/v1/knowledge/99999").status_code == 404
    types = [e["type"] for e in as_user("admin").get("/api/v1/rules/log").get_json()["items"]][:3]
    assert types == ["knowledge_retired", "knowledge_changed", "knowledge_created"]


def test_permissions_and_validation_errors(as_user):
    housing, operator = as_user("nt_housing.handler"), as_user("operator")
    assert operator.post("/api/v1/knowledge", json=FUND).status_code == 403
    forbidden = housing.post("/api/v1/knowledge", json={**FUND, "unit": "nt_chongchuan"})
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["message"] == "只能维护本单位的知识库条目"
    created = entry(housing)
    other = as_user("nt_chongchuan.handler").put(f"/api/v1/knowledge/{created['id']}", json={"revision": 1, "title": "x"})
    assert other.status_code == 403
    assert as_user("analyst").get("/api/v1/knowledge").status_code == 403
    assert as_user("dispatcher").get("/api/v1/knowledge").status_code == 200
    # the engine's checks: one field error each, with a machine code and the Chinese message
    refused = housing.post("/api/v1/knowledge", json={**FUND, "valid_from": "2025-06-01", "valid_until": "2025-05-01",
                                                      "category": "astrology", "title": "  "})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "validation_failed" and error["message"] == "知识库条目信息不完整或有误"
    assert {f: d[0]["code"] for f, d in error["details"].items()} == {
        "valid_until": "before_valid_from", "category": "not_an_option", "title": "required"}
    assert error["details"]["valid_until"][0]["message_zh"] == "有效期截止日期不能早于起始日期"
    # the schema's checks: a missing review deadline, an unknown kind
    missing = housing.post("/api/v1/knowledge", json={k: v for k, v in FUND.items() if k != "review_due"})
    assert missing.status_code == 422 and "review_due" in missing.get_json()["error"]["details"]
    assert housing.post("/api/v1/knowledge", json={**FUND, "kind": "rumour"}).status_code == 422
    assert housing.post("/api/v1/knowledge", json={**FUND, "unit": "nt_nowhere"}).status_code == 403   # not theirs
    admin_refused = as_user("admin").post("/api/v1/knowledge?lang=en", json={**FUND, "unit": "nt_nowhere"})
    assert admin_refused.status_code == 422 and admin_refused.get_json()["error"]["message"] == "The knowledge entry is invalid"
    assert admin_refused.get_json()["error"]["details"]["unit"][0]["code"] == "unknown_unit"
    assert [e["id"] for e in operator.get("/api/v1/knowledge?city=nantong").get_json()["items"]] == [created["id"]]


def test_list_filters_and_search(as_user):
    housing, admin, operator = as_user("nt_housing.handler"), as_user("admin"), as_user("operator")
    housing.set_clock("2025-11-03T09:00:00+08:00")
    fund, lift = entry(housing), entry(housing, LIFT)
    expired = entry(housing, title="租房提取公积金（旧口径）", valid_from="2024-01-01", valid_until="2025-06-30")
    school = entry(admin, {**FUND, "unit": "nt_education", "kind": "policy", "title": "义务教育新生入学报名",
                           "body": "实行免试就近入学，按学区报名。", "keywords": ["学区", "入学"], "category": None})

    def ids(query):
        response = operator.get(f"/api/v1/knowledge?{query}")
        assert response.status_code == 200, response.get_json()
        return sorted(e["id"] for e in response.get_json()["items"])
    assert ids("city=nantong") == sorted([fund["id"], lift["id"], expired["id"], school["id"]])
    assert ids("unit=nt_education") == [school["id"]]
    assert ids("kind=policy") == sorted([lift["id"], school["id"]])
    assert ids("review_overdue=true") == [lift["id"]]          # its review was due on 31 October
    assert ids("q=学区") == [school["id"]]
    assert operator.get("/api/v1/knowledge?kind=rumour").status_code == 422

    found = operator.get("/api/v1/knowledge/search", query_string={"city": "nantong", "q": "请问租房提取公积金要准备什么材料"})
    assert found.status_code == 200, found.get_json()
    items = found.get_json()["items"]
    assert items[0]["entry"]["id"] == fund["id"] and items[0]["matched_keywords"] == ["公积金", "租房提取"]
    assert expired["id"] not in [i["entry"]["id"] for i in items] and found.get_json()["on"] == "2025-11-03"
    lift_hit = operator.get("/api/v1/knowledge/search", query_string={"city": "nantong", "q": "老小区加装电梯补贴"}).get_json()
    assert lift_hit["items"][0]["entry"]["id"] == lift["id"] and lift_hit["items"][0]["review_overdue"] is True
    back_then = operator.get("/api/v1/knowledge/search",
                             query_string={"city": "nantong", "q": "租房提取公积金", "on": "2025-03-01"}).get_json()
    assert expired["id"] in [i["entry"]["id"] for i in back_then["items"]]
    housing.post(f"/api/v1/knowledge/{fund['id']}/retire")
    after = operator.get("/api/v1/knowledge/search", query_string={"city": "nantong", "q": "租房提取公积金材料"}).get_json()
    assert fund["id"] not in [i["entry"]["id"] for i in after["items"]]
    assert operator.get("/api/v1/knowledge/search?city=nantong").status_code == 422          # no q
    assert operator.get("/api/v1/knowledge/search?city=atlantis&q=x").status_code == 404
    paths = operator.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/knowledge", "/api/v1/knowledge/search", "/api/v1/knowledge/{entry_id}",
            "/api/v1/knowledge/{entry_id}/retire"} <= set(paths)


def test_an_operator_closes_a_consultation_by_answering_from_an_entry(as_user):
    housing, operator = as_user("nt_housing.handler"), as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    fund = entry(housing)
    response = operator.post("/api/v1/tickets", json=complaint(request_type="consult", title="租房提取公积金要什么材料",
                                                              content="想咨询租房提取公积金的材料。",
                                                              knowledge_entry_id=fund["id"]))
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert (ticket["status"], ticket["outcome"], ticket["knowledge_entry_id"]) == ("closed", "answered", fund["id"])
    events = operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    created = next(e for e in events if e["type"] == "ticket_created")
    assert created["data"]["knowledge_entry"] == {"id": fund["id"], "revision": 1, "title": FUND["title"]}
    assert created["data"]["start_data"]["direct_answer"] == FUND["body"]
    assert operator.get(f"/api/v1/tickets/{ticket['id']}").get_json()["knowledge_entry_id"] == fund["id"]
    # a complaint cannot be "answered" from the knowledge base
    refused = operator.post("/api/v1/tickets", json=complaint(knowledge_entry_id=fund["id"]))
    assert refused.status_code == 422
    detail = refused.get_json()["error"]["details"]["knowledge_entry_id"][0]
    assert detail["code"] == "not_a_consultation" and detail["message_zh"] == "只有咨询类诉求可以用知识库条目直接答复"
    housing.post(f"/api/v1/knowledge/{fund['id']}/retire")
    retired = operator.post("/api/v1/tickets", json=complaint(request_type="consult", knowledge_entry_id=fund["id"]))
    assert retired.status_code == 422
    assert retired.get_json()["error"]["details"]["knowledge_entry_id"][0]["code"] == "entry_retired"
    ordinary = operator.post("/api/v1/tickets", json=complaint())
    assert ordinary.status_code == 201 and ordinary.get_json()["knowledge_entry_id"] is None


def test_the_scheduler_reminds_the_unit_once_when_a_review_is_overdue(as_user):
    housing = as_user("nt_housing.handler")
    housing.set_clock("2025-10-30T09:00:00+08:00")
    entry(housing, LIFT)

    def reminders():
        items = housing.get("/api/v1/messages").get_json()["items"]
        return [m for m in items if m["kind"] == "knowledge_review"]
    housing.tick()
    assert reminders() == []
    housing.set_clock("2025-11-03T09:00:00+08:00")      # the deadline (31 October) has passed
    housing.tick()
    housing.tick()
    found = reminders()
    assert len(found) == 1 and LIFT["title"] in found[0]["title"] and found[0]["ticket_id"] is None
    assert len([m for m in as_user("nt_housing.leader").get("/api/v1/messages").get_json()["items"]
                if m["kind"] == "knowledge_review"]) == 1
    assert [m for m in as_user("nt_chongchuan.handler").get("/api/v1/messages").get_json()["items"]
            if m["kind"] == "knowledge_review"] == []


def test_the_knowledge_pages_list_create_edit_and_retire(client, as_user):
    as_user("operator").set_clock("2025-11-03T09:00:00+08:00")
    lift = entry(as_user("nt_housing.handler"), LIFT)
    browser = Browser(client)
    browser.login("nt_housing.handler")
    assert ">知识库<" in client.get("/inbox").get_data(as_text=True).split("<nav>", 1)[1].split("</nav>", 1)[0]
    page = client.get("/knowledge/").get_data(as_text=True)
    assert page.count("<h1>") == 1 and f'data-entry="{lift["id"]}" data-overdue="1"' in page and "已过复核期限" in page
    assert 'href="/knowledge/new?city=nantong"' in page and "停用" in page
    token = CSRF.search(page).group(1)
    form = {"csrf_token": token, "city": "nantong", "unit": "nt_housing", "kind": "script", "title": FUND["title"],
            "body": FUND["body"], "keywords": "公积金，租房提取、 提取", "category": "labour_social_security",
            "valid_from": "2025-01-01", "valid_until": "", "review_due": "2026-03-31"}
    refused = client.post("/knowledge/new", data={**form, "review_due": "", "valid_until": "2024-12-31"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请填写复核更新期限" in text and "有效期截止日期不能早于起始日期" in text
    assert FUND["body"] in text                                          # what was typed is kept
    created = client.post("/knowledge/new", data=form)
    assert created.status_code == 302
    entry_id = int(re.search(r"/knowledge/(\d+)", created.headers["Location"]).group(1))
    saved = as_user("operator").get(f"/api/v1/knowledge/{entry_id}").get_json()
    assert saved["keywords"] == ["公积金", "租房提取", "提取"] and saved["valid_until"] is None
    edit = client.get(f"/knowledge/{entry_id}").get_data(as_text=True)
    for name in ("unit", "kind", "title", "body", "keywords", "category", "valid_from", "valid_until", "review_due"):
        assert f'name="{name}"' in edit, name
    assert unlabelled(edit) == [] and unlabelled(page) == []
    assert 'name="revision" value="1"' in edit and edit.count("<h1>") == 1
    assert client.post(f"/knowledge/{entry_id}", data={**form, "revision": "1", "title": "租房提取公积金（修订）"}).status_code == 302
    stale = client.post(f"/knowledge/{entry_id}", data={**form, "revision": "1", "title": "旧页面的改动"})
    assert stale.status_code == 409 and "第2版" in stale.get_data(as_text=True)
    assert 'name="revision" value="2"' in stale.get_data(as_text=True)   # saving again is now deliberate
    assert as_user("operator").get(f"/api/v1/knowledge/{entry_id}").get_json()["title"] == "租房提取公积金（修订）"
    overdue_only = client.get("/knowledge/?overdue=1").get_data(as_text=True)
    assert f'data-entry="{lift["id"]}"' in overdue_only and f'data-entry="{entry_id}"' not in overdue_only
    scripts = client.get("/knowledge/?kind=script&unit=nt_housing").get_data(as_text=True)
    assert f'data-entry="{entry_id}"' in scripts and f'data-entry="{lift["id"]}"' not in scripts
    retired = client.post(f"/knowledge/{lift['id']}/retire", data={"csrf_token": token, "revision": "1"})
    assert retired.status_code == 302
    assert f'data-entry="{lift["id"]}"' not in client.get("/knowledge/").get_data(as_text=True)
    assert f'data-entry="{lift["id"]}"' in client.get("/knowledge/?status=retired").get_data(as_text=True)
    assert client.post(f"/knowledge/{entry_id}/retire", data={"revision": "2"}).status_code == 400   # no CSRF token
    english = client.get("/knowledge/?lang=en").get_data(as_text=True)
    assert "Knowledge base" in english and "Answer script" in english
    # another unit reads the entry but gets no form; an analyst may not open the pages
    Browser(client).login("nt_chongchuan.handler")
    other = client.get(f"/knowledge/{entry_id}").get_data(as_text=True)
    assert FUND["body"] in other and 'id="knowledge-form"' not in other
    own = client.get("/knowledge/new").get_data(as_text=True)       # they write for their own unit only
    assert re.findall(r'<option value="(nt_[a-z_]+)"', own.split('name="unit"', 1)[1].split("</select>", 1)[0]) == \
        ["nt_chongchuan"]
    Browser(client).login("analyst")
    assert client.get("/knowledge/").status_code == 403


def test_the_intake_page_suggests_entries_and_its_form_answers_from_one(client, as_user):
    as_user("operator").set_clock("2025-11-03T09:00:00+08:00")
    fund = entry(as_user("nt_housing.handler"))
    lift = entry(as_user("nt_housing.handler"), LIFT)
    browser = Browser(client)
    browser.login("operator")
    page = client.get("/intake").get_data(as_text=True)
    region = re.search(r'<div id="knowledge-suggestions"[^>]*>', page).group(0)
    assert 'hx-get="/intake/knowledge"' in region and "from:[name=title]" in region and "from:[name=content]" in region
    assert 'id="intake-suggestions"' in page                          # the other region is left alone
    assert 'name="knowledge_entry_id"' in page and "vendor/htmx.org/htmx.min.js" in page
    assert page.count("<h1>") == 1 and unlabelled(page) == []
    fragment = client.get("/intake/knowledge", query_string={"city": "nantong", "request_type": "consult",
                                                            "title": "租房提取公积金", "content": "需要带哪些材料？"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    hits = re.findall(r'<li data-entry="(\d+)"', fragment)
    assert hits[0] == str(fund["id"]) and "用此条目答复" in fragment and f'data-entry="{fund["id"]}"' in fragment
    assert 'class="secondary knowledge-use"' in fragment and "<html" not in fragment
    assert "hx-on" not in fragment            # no inline handler: the CSP allows our own scripts only
    elevator = client.get("/intake/knowledge", query_string={"city": "nantong", "request_type": "consult",
                                                            "title": "加装电梯补贴", "content": ""}).get_data(as_text=True)
    assert re.findall(r'<li data-entry="(\d+)"', elevator)[0] == str(lift["id"]) and "已过复核期限" in elevator
    not_consult = client.get("/intake/knowledge", query_string={"city": "nantong", "request_type": "complaint",
                                                               "title": "租房提取公积金"}).get_data(as_text=True)
    assert "<li" not in not_consult and 'hx-swap-oob="true"' in not_consult and 'id="knowledge-entry-id" value=""' in not_consult
    nothing = client.get("/intake/knowledge", query_string={"city": "nantong", "title": "火星移民政策"}).get_data(as_text=True)
    assert "知识库中暂无匹配的条目" in nothing
    # the form (what the button fills in) closes the consultation from the entry
    token = CSRF.search(page).group(1)
    response = client.post("/intake", data={"csrf_token": token, "city": "nantong", "channel": "phone_12345",
                                            "request_type": "consult", "title": "租房提取公积金", "content": "要什么材料？",
                                            "direct_answer": FUND["body"], "knowledge_entry_id": str(fund["id"])})
    assert response.status_code == 302, response.get_data(as_text=True)
    ticket_id = int(re.search(r"/tickets/(\d+)", response.headers["Location"]).group(1))
    ticket = as_user("operator").get(f"/api/v1/tickets/{ticket_id}").get_json()
    assert (ticket["status"], ticket["outcome"], ticket["knowledge_entry_id"]) == ("closed", "answered", fund["id"])
    assert f'data-knowledge-entry="{fund["id"]}"' in client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    refused = client.post("/intake", data={"csrf_token": token, "city": "nantong", "channel": "phone_12345",
                                           "request_type": "complaint", "title": "噪音", "content": "夜间施工",
                                           "knowledge_entry_id": str(fund["id"])})
    assert refused.status_code == 422 and "只有咨询类诉求可以用知识库条目直接答复" in refused.get_data(as_text=True)
    # without JavaScript nothing changes: the form still takes a plain consultation
    plain = client.post("/intake", data={"csrf_token": token, "city": "nantong", "channel": "phone_12345",
                                         "request_type": "consult", "title": "咨询", "content": "一般咨询"})
    assert plain.status_code == 302
