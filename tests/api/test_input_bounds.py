"""Inputs no database column or clock can hold are refused as bad input, not as a 500 (found by the fuzzer)."""
from __future__ import annotations

from tests.conftest import complaint

HUGE = 2 ** 70


def test_an_id_beyond_64_bits_in_the_path_is_not_found(as_user):
    for huge in (HUGE, 2 ** 63, 10 ** 18):
        response = as_user("operator").get(f"/api/v1/tickets/{huge}/attachments")
        assert response.status_code == 404, huge
    response = as_user("operator").get(f"/api/v1/tickets/{HUGE}")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "http_404"


def test_an_integer_beyond_64_bits_in_a_body_is_refused(as_user):
    dispatcher = as_user("dispatcher")
    ticket = as_user("operator").post("/api/v1/tickets", json=complaint()).get_json()
    response = dispatcher.post(f"/api/v1/tickets/{ticket['id']}/merge", json={"into": HUGE, "reason": "同一事项"})
    assert response.status_code == 422 and "into" in response.get_json()["error"]["details"]


def test_a_page_number_too_far_is_refused(as_user):
    response = as_user("operator").get(f"/api/v1/tickets?page={10 ** 12}")
    assert response.status_code == 422 and "page" in response.get_json()["error"]["details"]


def test_a_date_in_a_far_year_is_refused(as_user):
    operator = as_user("operator")
    response = operator.put("/api/v1/test/clock", json={"now": "0497-07-01T12:00:00+08:00"})
    assert response.status_code == 422 and "now" in response.get_json()["error"]["details"]
    response = operator.post("/api/v1/tickets", json=complaint(received_at="1899-12-31T09:00:00+08:00"))
    assert response.status_code == 422 and "received_at" in response.get_json()["error"]["details"]
