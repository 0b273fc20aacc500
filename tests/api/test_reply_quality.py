"""The reply check before the centre's review (Suqian 四（三）/四（五）, Suzhou 规范答复): required elements,
forbidden hollow phrases and relevance to the request, shown to the handler; nothing is stored."""
from __future__ import annotations

from tests.api.escalation_support import unit_users  # noqa: F401
from tests.api.test_pages import CSRF, Browser
from tests.conftest import complaint

GOOD = "经办人李明于11月3日上午电话联系诉求人，告知已责令工地停止夜间施工，噪音问题已解决，诉求人表示满意。"


def handle_task(as_user, city, unit):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint(city=city, title="工地夜间施工噪音",
                                                             content="工地连续多日夜间施工，噪音很大。")).get_json()
    as_user("dispatcher").complete(ticket["id"], "dispatch", {"unit": unit})
    as_user(f"{unit}.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    return ticket, as_user(f"{unit}.handler").ready_task(ticket["id"], "handle")


def check(api, task, reply):
    response = api.post(f"/api/v1/tasks/{task['id']}/reply-check", json={"reply": reply})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_suqian_hollow_phrases_and_missing_elements(as_user, unit_users):
    unit_users("suqian", "sq_sucheng")
    ticket, task = handle_task(as_user, "suqian", "sq_sucheng")
    handler = as_user("sq_sucheng.handler")
    result = check(handler, task, "已联系市民解释，详情请拨打12345咨询。")
    codes = [(p["code"], p["element"]) for p in result["problems"]]
    assert ("hollow_phrase", "已联系市民解释") in codes and ("hollow_phrase", "详情请拨打") in codes
    assert {e for c, e in codes if c == "missing_element"} == {"handler_name", "contact_time", "satisfaction"}
    assert ("low_relevance", None) in codes
    good = check(handler, task, GOOD)
    assert good["problems"] == [] and good["relevance"] > 0.1 and good["source"].startswith("004")
    # nothing was stored: the task is still open and the log has no completion
    assert handler.ready_task(ticket["id"], "handle")["id"] == task["id"]


def test_nantong_checks_relevance_only_and_others_cannot_check(as_user):
    ticket, task = handle_task(as_user, "nantong", "nt_chongchuan")
    handler = as_user("nt_chongchuan.handler")
    assert [p["code"] for p in check(handler, task, "天气很好，心情愉快。")["problems"]] == ["low_relevance"]
    assert check(handler, task, "已到工地现场核查夜间施工噪音问题，责令停止夜间施工。")["problems"] == []
    assert as_user("nt_housing.handler").post(f"/api/v1/tasks/{task['id']}/reply-check",
                                              json={"reply": "x"}).status_code == 404
    assert handler.post(f"/api/v1/tasks/{task['id']}/reply-check", json={}).status_code == 422


def test_the_handle_form_checks_the_reply_in_place(client, as_user, unit_users):
    unit_users("suqian", "sq_sucheng")
    _, task = handle_task(as_user, "suqian", "sq_sucheng")
    Browser(client).login("sq_sucheng.handler")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="reply-check-button"' in page and "vendor/htmx.org/htmx.min.js" in page
    token = CSRF.search(page).group(1)
    fragment = client.post(f"/tasks/{task['id']}/reply-check", data={"reply": "正在办理，请等待处理结果"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "无效表述" in fragment and 'data-code="hollow_phrase"' in fragment
