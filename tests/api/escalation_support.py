"""Shared steps for the escalation scenarios (upgrade, supervision, co-handling, consultation)."""
from __future__ import annotations

import pytest

from engine import accounts, setup
from tests.conftest import complaint

REPLY = "经办人李明于当日与诉求人电话沟通，现场核查后已责令整改完毕，诉求人表示满意。"


@pytest.fixture
def unit_users(db, clock, city, demo_hash):
    """add(city, unit): load the city (if not Nantong) and create <unit>.handler/.leader/.deputy."""
    loaded = {"nantong"}

    def add(city_code: str, *units: str):
        with db.unit_of_work() as session:
            if city_code not in loaded:
                setup.load_city_into_db(session, clock, city_code)
                loaded.add(city_code)
            for unit in units:
                for suffix, roles in (("handler", ["handler"]), ("leader", ["leader", "principal"]),
                                      ("deputy", ["leader"])):
                    accounts.add_user(session, f"{unit}.{suffix}", None, roles, unit_code=unit, city=city_code,
                                      password_hash=demo_hash)
    return add


def start(api, **overrides):
    response = api.post("/api/v1/tickets", json=complaint(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def events(api, ticket_id, type_=None):
    items = api.get(f"/api/v1/tickets/{ticket_id}/events").get_json()["items"]
    return [e for e in items if type_ is None or e["type"] == type_]


def returned(as_user, ticket_id, unit, *, approver="leader"):
    """The unit asks to return the ticket and its leader approves: it is back at the centre."""
    as_user(f"{unit}.handler").complete(ticket_id, "sign", {"decision": "return", "reason": "不属于本单位职责范围",
                                                          "suggested_unit": "nt_housing"})
    return as_user(f"{unit}.{approver}").complete(ticket_id, "approve_return", {"approved": True})


def reply_and_review(as_user, ticket_id, unit, *, approver="leader"):
    as_user(f"{unit}.handler").complete(ticket_id, "handle", {"action": "reply", "reply": REPLY})
    as_user(f"{unit}.{approver}").complete(ticket_id, "approve_reply", {"approved": True})
    return as_user("dispatcher").complete(ticket_id, "review_reply", {"approved": True})


def task_names(api, ticket_id):
    return sorted(t["name"] for t in api.get(f"/api/v1/tickets/{ticket_id}/tasks?state=ready").get_json()["items"])
