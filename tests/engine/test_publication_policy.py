"""One publication policy for the portal's disclosure list and Open311's public reads
(engine/personal_data.publishable): only tickets taken in the normal scope, never marked of high sensitivity
and not handed to 110/119/120/122 have their text published; Open311 still gives their status."""
from __future__ import annotations

import pytest

from tests.conftest import complaint

pytestmark = pytest.mark.replay_all

TEXT = "小区门口路面塌陷，有一个大坑。"


def public(client, number):
    response = client.get(f"/open311/v2/requests/{number}.json?jurisdiction_id=nantong")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()[0]


@pytest.mark.parametrize("overrides", [
    {"sensitivity": "high"},
    {"scope": "secret_privacy"},
    {"scope": "emergency", "emergency_agency": "122", "title": "路面塌陷致车辆侧翻"},
])
def test_withheld_tickets_show_their_status_but_not_their_text(as_user, client, overrides):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint(content=TEXT, address="崇川区青年中路88号",
                                                             **overrides)).get_json()
    shown = public(client, ticket["number"])
    assert shown["status"] in ("open", "closed") and shown["status_notes"]
    assert shown["description"] is None and shown["address"] is None


def test_an_ordinary_ticket_is_published_masked(as_user, client):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint(content=TEXT + "联系电话13800001111。")).get_json()
    shown = public(client, ticket["number"])
    assert shown["description"].startswith("小区门口路面塌陷") and "13800001111" not in shown["description"]
