"""Notifications through the API and the pages: the warning sweep and overdue timers on the test
clock, the /api/v1/messages inbox and its scoping, the /messages page and the header badge."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.models import Message
from tests.api.test_pages import CSRF, Browser
from tests.conftest import complaint


class Recorder:
    def __init__(self):
        self.sent = []

    def send(self, message, user):
        self.sent.append((user.username, message.kind))


def dispatched(as_user, when="2025-11-03T09:00:00+08:00"):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(when)
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    return dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})


def rows(app, **where):
    with app.extensions["hotline_db"].unit_of_work() as s:
        query = select(Message).order_by(Message.id)
        for column, value in where.items():
            query = query.where(getattr(Message, column) == value)
        return list(s.scalars(query))


def test_the_warning_sweep_warns_once_when_the_clock_passes_the_yellow_point(as_user, app):
    recorder = Recorder()
    app.extensions["hotline_outbound"] = recorder
    ticket = dispatched(as_user)
    operator = as_user("operator")
    sign = as_user("nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    assert sign["warn_at"] == "2025-11-03T10:36:00+08:00"          # 80% of the 2 working hours
    operator.set_clock("2025-11-03T10:35:00+08:00")
    assert operator.tick() == 0 and rows(app, kind="warning") == []
    operator.set_clock("2025-11-03T10:37:00+08:00")
    assert operator.tick() == 0                                     # the tick still counts fired timers only
    assert operator.tick() == 0
    warnings = rows(app, kind="warning")
    assert sorted(m.username for m in warnings) == ["nt_chongchuan.deputy", "nt_chongchuan.handler", "nt_chongchuan.leader"]
    assert all(m.task_id == sign["id"] and m.title.startswith("临期预警：签收") for m in warnings)
    assert all(m.delivered_at is not None for m in warnings)         # delivered by the same tick
    assert sorted(r for r in recorder.sent if r[1] == "warning") == [("nt_chongchuan.deputy", "warning"),
                                                                      ("nt_chongchuan.handler", "warning"),
                                                                      ("nt_chongchuan.leader", "warning")]


def test_the_sign_off_timer_sends_an_urgent_overdue_message_to_handlers_and_leaders(as_user, app):
    ticket = dispatched(as_user)
    operator, leader = as_user("operator"), as_user("nt_chongchuan.leader")
    sign = as_user("nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    operator.set_clock("2025-11-03T11:00:01+08:00")
    assert operator.tick() == 1
    overdue = rows(app, kind="overdue")
    assert sorted(m.username for m in overdue) == ["nt_chongchuan.deputy", "nt_chongchuan.handler", "nt_chongchuan.leader"]
    assert all(m.urgent and m.task_id == sign["id"] and m.title.startswith("已超时：签收") for m in overdue)
    assert all(m.deliver_after == m.created_at for m in overdue)
    # Past the deadline already: the overdue notice stands in for the warning.
    assert rows(app, kind="warning") == []
    inbox = leader.get("/api/v1/messages").get_json()
    assert [m["kind"] for m in inbox["items"]] == ["overdue"] and inbox["items"][0]["urgent"] is True
    assert not rows(app, kind="overdue", username="nt_housing.handler")


def test_each_user_sees_only_their_own_messages(as_user):
    ticket = dispatched(as_user)
    handler, other = as_user("nt_chongchuan.handler"), as_user("nt_housing.handler")
    mine = handler.get("/api/v1/messages").get_json()
    assert mine["unread"] == 1 and len(mine["items"]) == 1
    message = mine["items"][0]
    assert message["kind"] == "task" and message["ticket_id"] == ticket["id"] and message["read_at"] is None
    assert message["created_at"] == "2025-11-03T09:00:00+08:00"
    assert other.get("/api/v1/messages").get_json() == {"items": [], "unread": 0}
    # Someone else's message looks like a missing one.
    assert other.post(f"/api/v1/messages/{message['id']}/read").status_code == 404
    assert other.post("/api/v1/messages/999999/read").get_json()["error"]["code"] == "not_found"
    read = handler.post(f"/api/v1/messages/{message['id']}/read")
    assert read.status_code == 200 and read.get_json()["read_at"] == "2025-11-03T09:00:00+08:00"
    assert handler.get("/api/v1/messages?unread=true").get_json() == {"items": [], "unread": 0}
    assert len(handler.get("/api/v1/messages").get_json()["items"]) == 1
    assert handler.get("/api/v1/messages?limit=0").status_code == 422


def test_messages_need_a_token_and_are_in_the_openapi_document(client):
    assert client.get("/api/v1/messages").status_code == 401
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/messages"] and "post" in paths["/api/v1/messages/{message_id}/read"]


def test_the_messages_page_and_the_header_badge(as_user, app):
    ticket = dispatched(as_user)
    browser = Browser(app.test_client())
    assert browser.client.get("/messages").status_code == 302          # sign-in first
    browser.login("nt_chongchuan.handler")
    inbox = browser.client.get("/inbox").get_data(as_text=True)
    assert 'class="badge" data-unread="1">1<' in inbox
    page = browser.client.get("/messages").get_data(as_text=True)
    assert "新任务：签收" in page and ticket["number"] in page and 'data-count="unread">1<' in page
    message_id = re.search(r'data-message="(\d+)"', page).group(1)
    # Without the CSRF token nothing happens.
    assert browser.client.post(f"/messages/{message_id}/read").status_code == 400
    token = CSRF.search(page).group(1)
    response = browser.client.post(f"/messages/{message_id}/read", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/messages")
    page = browser.client.get("/messages").get_data(as_text=True)
    assert 'data-count="unread">0<' in page and 'class="badge"' not in page and "已读" in page
    # Someone else's message cannot be marked from the page either.
    dispatcher_message = rows(app, username="dispatcher")[0].id
    assert browser.client.post(f"/messages/{dispatcher_message}/read", data={"csrf_token": token}).status_code == 404
    english = browser.client.get("/messages?lang=en").get_data(as_text=True)
    assert "Messages" in english and "New task" in english


def test_a_message_held_overnight_shows_when_it_will_be_sent(as_user, app):
    as_user("operator").set_clock("2025-11-03T20:00:00+08:00")
    as_user("operator").post("/api/v1/tickets", json=complaint())
    browser = Browser(app.test_client())
    browser.login("dispatcher")
    page = browser.client.get("/messages").get_data(as_text=True)
    assert "待2025-11-04 08:30发送" in page
