"""Hot issues and hot words through the HTTP API (tickets taken in with POST /api/v1/tickets), who may see
them, refused periods, and the page."""
from __future__ import annotations

import re

import pytest

from tests.api.test_pages import Browser
from tests.conftest import complaint

NOISE = [  # one matter, three callers, one of them twice
    ("13800000001", "张三", "文峰路地铁工地夜间施工噪音扰民", "崇川区文峰路地铁工地每天晚上十一点以后还在施工，噪音很大，影响休息。", "崇川区文峰路"),
    ("13800000002", "李四", "文峰路工地晚上施工太吵", "文峰路的地铁施工工地夜里施工，机器轰鸣，孩子没法睡觉。", "崇川区文峰路88号"),
    ("13800000003", "王五", "投诉文峰路夜间施工噪声", "文峰路地铁站工地夜间施工噪声扰民，请执法部门查处。", "崇川区文峰路12号"),
    ("13800000001", "张三", "文峰路施工噪音还是没人管", "上次反映的文峰路地铁工地夜间施工噪音问题，现在晚上还在施工。", "崇川区文峰路"),
]
OTHERS = [
    ("13900000001", "赵六", "医保卡异地就医如何备案", "我在外地工作，想问一下医保异地就医备案需要什么材料。", "通州区金沙街道"),
    ("13900000002", "钱七", "孩子入学报名材料咨询", "今年孩子上小学，户口和房产不在一起，报名需要哪些材料？", "海门区"),
    ("13900000003", "孙八", "出租车拒载", "在火车站打出租车，司机嫌距离近拒载。", None),
]


def take_in(api, rows, day, first_hour=9):
    ids = []
    for i, (phone, name, title, content, address) in enumerate(rows):
        response = api.post("/api/v1/tickets", json=complaint(
            title=title, content=content, address=address, citizen={"name": name, "phone": phone},
            received_at=f"{day}T{first_hour + i:02d}:00:00+08:00"))
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


@pytest.fixture
def seeded(as_user):
    operator = as_user("operator")
    operator.set_clock("2025-09-26T17:30:00+08:00")
    others = take_in(operator, OTHERS, "2025-09-25")
    noise = take_in(operator, NOISE, "2025-09-26")
    return {"noise": noise, "others": others}


def hot(api, path="/api/v1/hot-issues", **params):
    query = "&".join(f"{k}={v}" for k, v in {"city": "nantong", **params}.items())
    return api.get(f"{path}?{query}")


def test_hot_issues_find_the_cluster_and_the_caller_who_wrote_twice(as_user, seeded):
    response = hot(as_user("dispatcher"), **{"from": "2025-09-26", "to": "2025-09-26"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"], body["period"], body["tickets"]) == ("2025-09-26", "2025-09-26", "day", 4)
    bucket, = body["buckets"]
    assert (bucket["start"], bucket["end"], bucket["tickets"]) == ("2025-09-26", "2025-09-26", 4)
    issue, = bucket["many_people_one_issue"]
    assert issue["ticket_ids"] == seeded["noise"] and (issue["size"], issue["citizens"]) == (4, 3)
    assert issue["title"] in {row[2] for row in NOISE} and issue["representative_id"] in seeded["noise"]
    assert issue["places"] == ["文峰路"] and "施工" in issue["terms"]
    assert [t["id"] for t in issue["tickets"]] == seeded["noise"]
    assert all(t["number"].startswith("NT20250926") for t in issue["tickets"])
    assert issue["first_at"] == "2025-09-26T09:00:00+08:00" and issue["last_at"] == "2025-09-26T12:00:00+08:00"
    person, = bucket["one_person_many_tickets"]
    assert (person["citizen"], person["citizen_name"], person["count"]) == ("138****0001", "张*", 2)
    assert person["ticket_ids"] == [seeded["noise"][0], seeded["noise"][3]] and person["same_matter"] is True
    assert person["matters"][0]["cluster"] == issue["key"]
    assert "13800000001" not in response.get_data(as_text=True)       # numbers are masked


def test_periods_cut_the_range_into_days_weeks_and_months(as_user, seeded):
    supervisor = as_user("supervisor")
    days = hot(supervisor, **{"from": "2025-09-24", "to": "2025-09-26"}).get_json()["buckets"]
    assert [(b["start"], b["tickets"]) for b in days] == [("2025-09-24", 0), ("2025-09-25", 3), ("2025-09-26", 4)]
    assert days[1]["many_people_one_issue"] == [] and len(days[2]["many_people_one_issue"]) == 1
    week, = hot(supervisor, **{"from": "2025-09-24", "to": "2025-09-26", "period": "week"}).get_json()["buckets"]
    assert (week["start"], week["end"], week["tickets"]) == ("2025-09-24", "2025-09-26", 7)
    assert [i["ticket_ids"] for i in week["many_people_one_issue"]] == [seeded["noise"]]
    months = hot(supervisor, **{"from": "2025-08-30", "to": "2025-09-26", "period": "month"}).get_json()["buckets"]
    assert [(b["start"], b["end"], b["tickets"]) for b in months] == [("2025-08-30", "2025-08-31", 0),
                                                                       ("2025-09-01", "2025-09-26", 7)]
    # without dates: the last 7 days up to today
    default = hot(supervisor).get_json()
    assert (default["from"], default["to"], len(default["buckets"])) == ("2025-09-20", "2025-09-26", 7)


def test_a_duplicate_merged_into_its_master_counts_only_when_asked_for(as_user, seeded):
    dispatcher = as_user("dispatcher")
    master, child = seeded["noise"][0], seeded["noise"][1]
    dispatcher.complete(master, "dispatch", {"unit": "nt_chongchuan"})
    response = dispatcher.post(f"/api/v1/tickets/{child}/merge", json={"into": master, "reason": "同一事项"})
    assert response.status_code == 200, response.get_json()
    day = {"from": "2025-09-26", "to": "2025-09-26"}
    issue, = hot(dispatcher, **day).get_json()["buckets"][0]["many_people_one_issue"]
    assert child not in issue["ticket_ids"] and issue["citizens"] == 2
    issue, = hot(dispatcher, include_merged="true", **day).get_json()["buckets"][0]["many_people_one_issue"]
    assert child in issue["ticket_ids"] and issue["citizens"] == 3


@pytest.mark.parametrize("path", ["/api/v1/hot-issues", "/api/v1/hot-words"])
def test_only_centre_roles_see_hot_issues_and_hot_words(as_user, seeded, path):
    for username in ("nt_chongchuan.handler", "nt_chongchuan.leader", "operator", "callback"):
        response = hot(as_user(username), path)
        assert response.status_code == 403, username
        assert response.get_json()["error"]["code"] == "permission_denied"
    for username in ("dispatcher", "supervisor", "inspector", "city_leader", "analyst", "admin", "auditor"):
        assert hot(as_user(username), path).status_code == 200, username
    assert hot(as_user("dispatcher"), path, city="atlantis").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/hot-issues", "/api/v1/hot-words"])
def test_bad_periods_are_refused_with_a_code_and_a_chinese_message(as_user, seeded, path):
    analyst = as_user("analyst")
    response = hot(analyst, path, **{"from": "2025-09-26", "to": "2025-09-01"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["message"]) == ("validation_failed", "统计期间有误")
    assert error["details"]["from"] == [{"code": "after_to", "message_zh": "开始日期不能晚于结束日期",
                                        "message_en": "must not be after 'to'"}]
    error = hot(analyst, path, **{"from": "2025-01-01", "to": "2025-09-26"}).get_json()["error"]
    assert error["details"]["to"][0]["code"] == "span_too_long" and "92" in error["details"]["to"][0]["message_zh"]
    response = hot(analyst, path, **{"from": "2025-13-01"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["from"] == [
        {"code": "invalid_date", "message_zh": "日期格式应为 YYYY-MM-DD", "message_en": "must be a date YYYY-MM-DD"}]
    error = hot(analyst, path, lang="en", **{"from": "2025-09-26", "to": "2025-09-01"}).get_json()["error"]
    assert error["message"] == "The period is invalid"
    # 92 days is allowed
    assert hot(analyst, path, **{"from": "2025-06-27", "to": "2025-09-26"}).status_code == 200


def test_bad_period_and_grouping_names_are_refused(as_user, seeded):
    analyst = as_user("analyst")
    response = hot(analyst, period="year")
    assert response.status_code == 422 and "period" in response.get_json()["error"]["details"]
    response = hot(analyst, "/api/v1/hot-words", by="colour")
    assert response.status_code == 422 and "by" in response.get_json()["error"]["details"]


def test_hot_words_by_area_with_terms_rising_against_the_day_before(as_user, seeded):
    body = hot(as_user("city_leader"), "/api/v1/hot-words", **{"from": "2025-09-26", "to": "2025-09-26"}).get_json()
    assert (body["previous_from"], body["previous_to"]) == ("2025-09-25", "2025-09-25")
    assert (body["tickets"], body["previous_tickets"]) == (4, 3)
    overall, = body["groups"]
    assert overall["group"] is None
    construction = next(t for t in overall["terms"] if t["term"] == "施工")
    assert (construction["count"], construction["previous"]) == (4, 0)
    assert "施工" in {t["term"] for t in overall["rising"]}
    by_area = hot(as_user("city_leader"), "/api/v1/hot-words",
                  **{"from": "2025-09-25", "to": "2025-09-26", "by": "area"}).get_json()
    sizes = {g["group"]: g["tickets"] for g in by_area["groups"]}
    assert sizes == {"崇川区": 4, "通州区": 1, "海门区": 1, None: 1}
    # hot words default to today
    assert hot(as_user("city_leader"), "/api/v1/hot-words").get_json()["from"] == "2025-09-26"


def test_the_page_shows_the_clusters_and_the_hot_words(app, client, as_user, seeded):
    browser = Browser(client)
    browser.login("dispatcher")
    response = client.get("/hot-issues?city=nantong&from=2025-09-26&to=2025-09-26")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1 and "<h1>热点诉求</h1>" in html
    assert 'data-table="many-people"' in html and 'data-table="one-person"' in html
    for ticket_id in seeded["noise"]:
        assert f'href="/tickets/{ticket_id}"' in html
    assert "138****0001" in html and "13800000001" not in html
    assert 'data-chart="hot-words"' in html and "vendor/echarts/echarts.min.js" in html and "insights.js" in html
    assert re.search(r"<label>开始日期 <input type=\"date\" name=\"from\" value=\"2025-09-26\">", html)
    assert 'href="/hot-issues"' in html                               # the nav link
    english = client.get("/hot-issues?city=nantong&from=2025-09-26&to=2025-09-26&by=area&lang=en")
    text = english.get_data(as_text=True)
    assert english.status_code == 200 and "<h1>Hot issues</h1>" in text and "Many people, one issue" in text
    assert "崇川区" in text
    refused = client.get("/hot-issues?city=nantong&from=2025-09-26&to=2025-09-01")
    assert refused.status_code == 422 and "开始日期不能晚于结束日期" in refused.get_data(as_text=True)
    assert client.get("/static/insights.js").status_code == 200


def test_the_page_and_its_link_are_for_centre_roles_only(client, seeded):
    browser = Browser(client)
    browser.login("nt_chongchuan.handler")
    assert client.get("/hot-issues").status_code == 403
    assert 'href="/hot-issues"' not in client.get("/inbox").get_data(as_text=True)


def test_the_api_document_lists_both_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/hot-issues", "/api/v1/hot-words"} <= set(paths)
    names = {p["name"] for p in paths["/api/v1/hot-issues"]["get"]["parameters"]}
    assert names == {"city", "from", "to", "period", "include_merged"}
    assert {"by", "top"} <= {p["name"] for p in paths["/api/v1/hot-words"]["get"]["parameters"]}
