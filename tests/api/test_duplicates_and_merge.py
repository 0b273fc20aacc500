"""Duplicate lookup (AI辨重) and merging duplicates into a master ticket (一体派发), through the HTTP API."""
from __future__ import annotations

import pytest

from tests.api.escalation_support import REPLY, events, start, task_names
from tests.api.test_pages import Browser

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

NOISE = dict(title="魅力之城小区临街烧烤店油烟扰民", address="崇川区劳动东路魅力之城小区",
             content="劳动东路魅力之城小区临街门面的烧烤夜宵店每天营业到凌晨，油烟直排进居民家中，噪音也很大，请尽快处理。")
NOISE_AGAIN = dict(title="劳动东路魅力之城小区楼下夜宵摊油烟和噪音扰民", address="劳动东路魅力之城小区",
                   content="魅力之城小区一楼的烧烤夜宵摊油烟直排，凌晨还在营业，噪音扰民严重，希望相关部门处理。",
                   citizen={"name": "李四", "phone": "13900002222"})
UNRELATED = dict(title="咨询公积金提取需要哪些材料", request_type="consult",
                 content="我想提取住房公积金用于租房，请问需要准备哪些材料，在哪里办理？", address="通州区")


@pytest.fixture
def dispatcher(as_user):
    return as_user("dispatcher")


def test_similar_ranks_the_same_matter_first_with_reasons(dispatcher):
    first = start(dispatcher, **NOISE)
    other = start(dispatcher, **UNRELATED)
    again = start(dispatcher, **NOISE_AGAIN)
    response = dispatcher.get(f"/api/v1/tickets/{again['id']}/similar")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert items and items[0]["id"] == first["id"]
    assert again["id"] not in [i["id"] for i in items]
    codes = {r["code"]: r for r in items[0]["reasons"]}
    assert codes["text"]["value"] > 0.1 and "魅力之城小区" in codes["same_place"]["value"]
    assert codes["same_place"]["message_zh"].startswith("地点相同")
    unrelated = [i for i in items if i["id"] == other["id"]]
    assert not unrelated or unrelated[0]["score"] < items[0]["score"] / 2


def test_lookup_at_intake_and_same_citizen_reason(dispatcher):
    first = start(dispatcher, **NOISE)
    response = dispatcher.post("/api/v1/similar", json={"city": "nantong", "title": NOISE_AGAIN["title"],
                                                         "content": NOISE_AGAIN["content"],
                                                         "citizen_phone": "13800001111"})
    assert response.status_code == 200
    top = response.get_json()["items"][0]
    assert top["id"] == first["id"] and "same_citizen" in {r["code"] for r in top["reasons"]}


def test_index_catches_up_and_respects_the_window(dispatcher):
    dispatcher.set_clock("2025-09-26T09:00:00+08:00")
    first = start(dispatcher, **NOISE)
    assert dispatcher.get(f"/api/v1/tickets/{first['id']}/similar").get_json()["items"] == []
    second = start(dispatcher, **NOISE_AGAIN)          # arrives after the index was built
    assert [i["id"] for i in dispatcher.get(f"/api/v1/tickets/{first['id']}/similar").get_json()["items"]] \
        == [second["id"]]
    old = start(dispatcher, **{**NOISE, "received_at": "2025-06-01T09:00:00+08:00"})
    ids = [i["id"] for i in dispatcher.get(f"/api/v1/tickets/{second['id']}/similar?days=30").get_json()["items"]]
    assert old["id"] not in ids and first["id"] in ids
    ids = [i["id"] for i in dispatcher.get(f"/api/v1/tickets/{second['id']}/similar?days=180").get_json()["items"]]
    assert old["id"] in ids


def test_bad_lookup_parameters_are_422(dispatcher):
    first = start(dispatcher, **NOISE)
    response = dispatcher.get(f"/api/v1/tickets/{first['id']}/similar?limit=0")
    assert response.status_code == 422 and "limit" in response.get_json()["error"]["details"]
    response = dispatcher.post("/api/v1/similar", json={"city": "nantong"})
    assert response.status_code == 422


def test_unit_handler_sees_only_tickets_of_its_unit(dispatcher, as_user):
    first = start(dispatcher, **NOISE)
    dispatcher.complete(first["id"], "dispatch", {"unit": "nt_housing"})
    again = start(dispatcher, **NOISE_AGAIN)
    dispatcher.complete(again["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler = as_user("nt_chongchuan.handler")
    assert handler.get(f"/api/v1/tickets/{again['id']}/similar").get_json()["items"] == []


def _reply(as_user, ticket_id, unit="nt_housing"):
    as_user(f"{unit}.handler").complete(ticket_id, "sign", {"decision": "accept"})
    as_user(f"{unit}.handler").complete(ticket_id, "handle", {"action": "reply", "reply": REPLY})
    as_user(f"{unit}.leader").complete(ticket_id, "approve_reply", {"approved": True})
    return as_user("dispatcher").complete(ticket_id, "review_reply", {"approved": True})


def test_merged_ticket_follows_the_master_and_its_citizen_gets_the_reply_and_a_callback(dispatcher, as_user):
    master = start(dispatcher, **NOISE)
    child = start(dispatcher, **NOISE_AGAIN)
    dispatcher.complete(master["id"], "dispatch", {"unit": "nt_housing"})
    response = dispatcher.post(f"/api/v1/tickets/{child['id']}/merge", json={"into": master["id"], "reason": "同一事项"})
    assert response.status_code == 200, response.get_json()
    merged = response.get_json()
    assert merged["status"] == "merged" and merged["merged_into_id"] == master["id"]
    assert task_names(dispatcher, child["id"]) == []
    assert [t["id"] for t in dispatcher.get(f"/api/v1/tickets/{master['id']}/merged").get_json()["items"]] \
        == [child["id"]]
    assert events(dispatcher, master["id"], "ticket_merged_in")[0]["data"]["ticket_id"] == child["id"]
    assert events(dispatcher, child["id"], "ticket_merged")[0]["data"]["merged_into"] == master["id"]

    _reply(as_user, master["id"])
    assert task_names(dispatcher, master["id"]) == ["callback"]
    assert task_names(dispatcher, child["id"]) == ["callback_merged"]
    got = events(dispatcher, child["id"], "master_reply_received")[0]["data"]
    assert got["reply"] == REPLY and got["unit"] == "nt_housing"
    child_now = dispatcher.get(f"/api/v1/tickets/{child['id']}").get_json()
    assert child_now["status"] == "callback" and child_now["unit"] == "nt_housing"

    as_user("callback").complete(child["id"], "callback_merged", {"satisfied": True})
    closed = dispatcher.get(f"/api/v1/tickets/{child['id']}").get_json()
    assert closed["status"] == "closed" and closed["outcome"] == "archived"
    replay = as_user("auditor").get(f"/api/v1/tickets/{child['id']}/replay").get_json()
    assert replay["verified"] is True, replay


def test_dissatisfied_citizen_of_a_merged_ticket_goes_back_to_dispatch(dispatcher, as_user):
    master = start(dispatcher, **NOISE)
    dispatcher.complete(master["id"], "dispatch", {"unit": "nt_housing"})
    _reply(as_user, master["id"])
    child = start(dispatcher, **NOISE_AGAIN)
    # The master already has its reply: the merged ticket gets it at once.
    dispatcher.post(f"/api/v1/tickets/{child['id']}/merge", json={"into": master["id"]})
    assert task_names(dispatcher, child["id"]) == ["callback_merged"]
    as_user("callback").complete(child["id"], "callback_merged", {"satisfied": False, "comment": "油烟仍然很大"})
    again = dispatcher.get(f"/api/v1/tickets/{child['id']}").get_json()
    assert again["status"] == "dispatching" and again["merged_into_id"] is None
    assert events(dispatcher, child["id"], "ticket_unmerged")


def test_merge_is_refused_with_clear_errors(dispatcher, as_user):
    master = start(dispatcher, **NOISE)
    child = start(dispatcher, **NOISE_AGAIN)
    response = dispatcher.post(f"/api/v1/tickets/{child['id']}/merge", json={"into": child["id"]})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["into"][0]["code"] == "same_ticket"
    response = dispatcher.post(f"/api/v1/tickets/{child['id']}/merge", json={"into": 999999})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["into"][0]["code"] == "unknown_master"
    dispatcher.complete(child["id"], "dispatch", {"unit": "nt_housing"})
    response = dispatcher.post(f"/api/v1/tickets/{child['id']}/merge", json={"into": master["id"]})
    assert response.status_code == 409 and response.get_json()["error"]["message"]
    third = start(dispatcher, **NOISE)
    dispatcher.post(f"/api/v1/tickets/{third['id']}/merge", json={"into": master["id"]})
    fourth = start(dispatcher, **NOISE)
    response = dispatcher.post(f"/api/v1/tickets/{fourth['id']}/merge", json={"into": third["id"]})
    assert response.get_json()["error"]["details"]["into"][0]["code"] == "master_is_merged"
    handler = as_user("nt_housing.handler")
    assert handler.post(f"/api/v1/tickets/{fourth['id']}/merge", json={"into": master["id"]}).status_code in (403, 404)


def test_dispatch_page_shows_suggestion_and_duplicates_and_merges_from_the_page(dispatcher, client, as_user):
    master = start(dispatcher, **NOISE)
    child = start(dispatcher, **NOISE_AGAIN)
    Browser(client).login("dispatcher")
    task = dispatcher.ready_task(child["id"], "dispatch")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert f'hx-get="/tickets/{child["id"]}/intelligence"' in page
    panel = client.get(f"/tickets/{child['id']}/intelligence").get_data(as_text=True)
    assert "智能分拨建议" in panel and f'data-similar-id="{master["id"]}"' in panel and "合并至此工单" in panel
    html = client.get(f"/tickets/{master['id']}").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/tickets/{child['id']}/merge", data={"csrf_token": token, "into": master["id"]})
    assert response.status_code == 302
    page = client.get(f"/tickets/{child['id']}").get_data(as_text=True)
    assert f'data-merged-into="{master["id"]}"' in page
    refused = client.post(f"/tickets/{child['id']}/merge", data={"csrf_token": token, "into": master["id"]})
    assert refused.status_code == 409 and "待派单" in refused.get_data(as_text=True)


def test_intake_panel_lists_duplicates_while_typing(dispatcher, client):
    first = start(dispatcher, **NOISE)
    Browser(client).login("operator")
    assert 'id="intake-suggestions"' in client.get("/intake").get_data(as_text=True)
    panel = client.get("/intake/suggestions", query_string={"city": "nantong", "title": NOISE_AGAIN["title"],
                                                           "content": NOISE_AGAIN["content"]}).get_data(as_text=True)
    assert f'data-similar-id="{first["id"]}"' in panel and "合并至此工单" not in panel
    assert client.get("/intake/suggestions", query_string={"city": "nantong", "title": "a"}).get_data(as_text=True) == ""


def test_ticket_page_shows_the_category_and_the_merge_history_in_words(dispatcher, client):
    master = start(dispatcher, **NOISE)
    child = start(dispatcher, **NOISE_AGAIN)
    dispatcher.complete(master["id"], "dispatch", {"unit": "nt_housing", "category": "environment"})
    dispatcher.post(f"/api/v1/tickets/{child['id']}/merge", json={"into": master["id"]})
    Browser(client).login("dispatcher")
    page = client.get(f"/tickets/{master['id']}").get_data(as_text=True)
    assert 'data-category="environment"' in page and "环境保护" in page and "重复工单并入" in page
    assert "合并至主工单" in client.get(f"/tickets/{child['id']}").get_data(as_text=True)
