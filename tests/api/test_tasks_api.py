"""Task inbox, forms, validation errors, permissions and concurrency through the HTTP API."""
from __future__ import annotations

import threading

from tests.conftest import ApiClient, complaint
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified


def dispatched(as_user, unit="nt_chongchuan"):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    dispatcher.complete(ticket["id"], "dispatch", {"unit": unit})
    return ticket


def test_task_detail_includes_the_form_definition(as_user):
    ticket = dispatched(as_user)
    handler = as_user("nt_chongchuan.handler")
    task = handler.ready_task(ticket["id"], "sign")
    detail = handler.get(f"/api/v1/tasks/{task['id']}").get_json()
    fields = {f["name"]: f for f in detail["form"]["fields"]}
    assert set(fields) == {"decision", "reason", "suggested_unit"}
    assert fields["decision"]["required"] is True and fields["decision"]["label"] == "签收或退单"
    assert {o["value"] for o in fields["decision"]["options"]} == {"accept", "return"}
    assert any(o["value"] == "nt_ecology" for o in fields["suggested_unit"]["options"])


def test_invalid_form_data_is_422_with_field_errors_and_changes_nothing(as_user):
    ticket = dispatched(as_user)
    handler = as_user("nt_chongchuan.handler")
    task = handler.ready_task(ticket["id"], "sign")
    response = handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "return"}})
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert body["code"] == "validation_failed" and {"reason", "suggested_unit"} <= set(body["details"])
    assert "请填写" in body["details"]["reason"][0]["message_zh"]
    response = handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "maybe", "x": 1}})
    assert set(response.get_json()["error"]["details"]) == {"decision", "x"}
    assert handler.ready_task(ticket["id"], "sign")["id"] == task["id"]      # still open, nothing lost


def test_error_messages_follow_the_users_language(as_user):
    ticket = dispatched(as_user)
    handler = as_user("nt_chongchuan.handler")
    task = handler.ready_task(ticket["id"], "sign")
    response = handler.post(f"/api/v1/tasks/{task['id']}/complete?lang=en", json={"data": {}})
    assert response.get_json()["error"]["message"] == "The submitted data is invalid"
    response = handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}})
    assert response.get_json()["error"]["message"] == "提交的数据不符合要求"


def test_completed_task_is_409(as_user):
    ticket = dispatched(as_user)
    handler = as_user("nt_chongchuan.handler")
    task = handler.ready_task(ticket["id"], "sign")
    assert handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "accept"}}).status_code == 200
    again = handler.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "accept"}})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "task_not_open"


def test_other_units_cannot_see_or_act_on_a_ticket(as_user):
    ticket = dispatched(as_user)
    owner, other = as_user("nt_chongchuan.handler"), as_user("nt_housing.handler")
    task = owner.ready_task(ticket["id"], "sign")
    assert other.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404
    assert other.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert other.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "accept"}}).status_code == 404
    assert other.get("/api/v1/tasks").get_json()["items"] == []
    assert other.get("/api/v1/tickets").get_json()["total"] == 0
    # A leader of the right unit may see the ticket but not do the handler's task.
    leader = as_user("nt_chongchuan.leader")
    assert leader.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
    assert leader.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "accept"}}).status_code == 404


def test_claim_reserves_a_task(as_user, client):
    ticket = dispatched(as_user)
    dispatcher = as_user("dispatcher")
    handler = as_user("nt_chongchuan.handler")
    task = handler.ready_task(ticket["id"], "sign")
    claimed = handler.post(f"/api/v1/tasks/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "nt_chongchuan.handler"
    mine = handler.get("/api/v1/tasks?assignee=me").get_json()["items"]
    assert [t["id"] for t in mine] == [task["id"]]
    assert dispatcher.get("/api/v1/tasks?assignee=me").get_json()["items"] == []


def test_inbox_filters_by_unit_and_sorts_by_deadline(as_user):
    first = dispatched(as_user)
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T08:40:00+08:00")   # earlier dispatch: earlier sign-off deadline
    second = operator.post("/api/v1/tickets", json=complaint(title="第二张")).get_json()
    dispatcher.complete(second["id"], "dispatch", {"unit": "nt_chongchuan"})
    items = as_user("nt_chongchuan.handler").get("/api/v1/tasks?unit=nt_chongchuan").get_json()["items"]
    assert [t["ticket_id"] for t in items] == [second["id"], first["id"]]
    assert items[0]["due_at"] < items[1]["due_at"]


def test_two_concurrent_completions_one_wins_one_gets_409(app, city, as_user):
    ticket = dispatched(as_user)
    task = as_user("nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    clients = [ApiClient(app.test_client(), "nt_chongchuan.handler") for _ in range(2)]
    barrier = threading.Barrier(2)
    statuses = []

    def complete(api):
        barrier.wait()
        response = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "accept"}})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=complete, args=(c,)) for c in clients]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(statuses) == [200, 409]
    events = as_user("operator").get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    assert sum(1 for e in events if e["type"] == "task_completed" and e["task_name"] == "sign") == 1
