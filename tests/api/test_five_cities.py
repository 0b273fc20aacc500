"""The same complaint, received in each of the five cities through the HTTP API, gets that city's
deadlines (Friday 2025-09-26 09:00, just before the National Day week)."""
from __future__ import annotations

import pytest

from engine import setup
from engine.cities import load_city
from tests.conftest import complaint

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

EXPECTED = {  # city: (channel, sign_due_at, handle_due_at)
    "nantong": ("2025-09-26T11:00:00+08:00", "2025-10-23T09:00:00+08:00"),    # 2 working hours, 15 days
    "rugao": ("2025-09-26T11:00:00+08:00", "2025-10-23T09:00:00+08:00"),      # inherits Nantong
    "suzhou_ah": ("2025-09-26T17:30:00+08:00", "2025-10-13T09:00:00+08:00"),  # morning → 17:30; 7 days
    "changzhou": ("2025-09-26T10:00:00+08:00", "2025-10-10T09:00:00+08:00"),  # 1 working hour; 5 days
    "suqian": ("2025-09-26T11:00:00+08:00", "2025-10-23T09:00:00+08:00"),     # 2 working hours; 15 days
}


@pytest.fixture
def all_cities(db, clock, city):
    with db.unit_of_work() as session:
        for code in EXPECTED:
            setup.load_city_into_db(session, clock, code)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_city_applies_its_own_limits(code, all_cities, as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-09-26T09:00:00+08:00")
    settings = load_city(code)
    unit = next(u["code"] for u in settings.units if u.get("type") != "centre")
    response = operator.post("/api/v1/tickets", json=complaint(city=code, received_at="2025-09-26T08:50:00+08:00"))
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert ticket["number"].startswith(settings.number_prefix)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": unit})
    assert (ticket["sign_due_at"], ticket["handle_due_at"]) == EXPECTED[code]


def test_a_unit_of_another_city_cannot_be_chosen(all_cities, as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    ticket = operator.post("/api/v1/tickets", json=complaint(city="changzhou")).get_json()
    task = dispatcher.ready_task(ticket["id"], "dispatch")
    response = dispatcher.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"unit": "nt_chongchuan"}})
    assert response.status_code == 422 and "unit" in response.get_json()["error"]["details"]
