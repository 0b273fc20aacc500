"""GET /metrics: request counters and latencies by Flask rule, task completion latency, open tickets by light
(the dashboard's numbers), the timer lag gauge on the test clock and the sweep's lag histogram."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import complaint

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TICKET_RULE = "/api/v1/tickets/<int:ticket_id>"


def scrape(client, **headers) -> dict:
    """{(sample name, frozenset(labels)): value} of one scrape."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain") and response.headers["Cache-Control"] == "no-store"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def sample(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def fresh(app):
    """Let the next scrape read the database again (the gauges are cached a few seconds)."""
    app.extensions["hotline_metrics_cache"].max_age = 0


def test_request_counters_move_by_method_rule_and_status(as_user, client):
    operator = as_user("operator")
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    ok = {"method": "GET", "endpoint": TICKET_RULE, "status": "200"}
    before, missing_before = sample("hotline_http_requests_total", **ok), \
        sample("hotline_http_requests_total", method="GET", endpoint="<unmatched>", status="404")
    timed_before = sample("hotline_http_request_duration_seconds_count", **ok)
    for _ in range(3):
        assert operator.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    brewed = sample("hotline_http_requests_total", method="other", endpoint="<unmatched>", status="405")
    assert client.open("/healthz", method="BREW").status_code == 405       # made-up methods: one label
    assert sample("hotline_http_requests_total", **ok) == before + 3
    assert sample("hotline_http_request_duration_seconds_count", **ok) == timed_before + 3
    assert sample("hotline_http_requests_total", method="GET", endpoint="<unmatched>", status="404") == missing_before + 1
    assert sample("hotline_http_requests_total", method="other", endpoint="<unmatched>", status="405") == brewed + 1
    assert sample("hotline_http_requests_total", method="BREW", endpoint="<unmatched>", status="405") == 0
    scraped = scrape(client)
    assert scraped[("hotline_http_requests_total", frozenset(ok.items()))] == before + 3
    # The rule, not the path: no series per ticket id.
    assert not [k for k in scraped if dict(k[1]).get("endpoint", "").endswith(str(ticket["id"]))]


def test_task_completions_are_timed_through_the_api_and_the_form(as_user, app):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()
    counts = lambda: {(c, o): sample("hotline_task_completion_seconds_count", channel=c, outcome=o)  # noqa: E731
                      for c in ("api", "form") for o in ("completed", "refused")}
    before = counts()
    task = dispatcher.ready_task(ticket["id"], "dispatch")
    assert dispatcher.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"unit": "nowhere"}}).status_code == 422
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})

    browser = app.test_client()
    login = browser.get("/login").get_data(as_text=True)
    browser.post("/login", data={"username": "nt_chongchuan.handler", "password": "demo",
                                 "csrf_token": CSRF.search(login).group(1)})
    sign = as_user("nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    token = CSRF.search(browser.get(f"/tasks/{sign['id']}").get_data(as_text=True)).group(1)
    assert browser.post(f"/tasks/{sign['id']}", data={"csrf_token": token, "_action": "claim"}).status_code == 302
    assert browser.post(f"/tasks/{sign['id']}", data={"csrf_token": token, "decision": "accept"}).status_code == 302

    after = counts()
    assert {k: after[k] - before[k] for k in after} == {("api", "completed"): 1, ("api", "refused"): 1,
                                                         ("form", "completed"): 1, ("form", "refused"): 0}


def lights_scenario(as_user):
    """Monday 2025-11-03: A dispatched 09:00 (sign-off due 11:00), B dispatched 09:30 (due 11:30, warned from
    11:06), C waiting for dispatch. At 11:10 A is red, B yellow, C green; A's timer is 10 minutes overdue."""
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    a = operator.post("/api/v1/tickets", json=complaint(title="A")).get_json()
    dispatcher.complete(a["id"], "dispatch", {"unit": "nt_chongchuan"})
    operator.set_clock("2025-11-03T09:30:00+08:00")
    b = operator.post("/api/v1/tickets", json=complaint(title="B")).get_json()
    dispatcher.complete(b["id"], "dispatch", {"unit": "nt_housing"})
    operator.post("/api/v1/tickets", json=complaint(title="C"))
    operator.set_clock("2025-11-03T11:10:00+08:00")
    return a, b


def open_tickets(scraped, city="nantong") -> dict:
    return {light: scraped[("hotline_open_tickets", frozenset({"city": city, "light": light}.items()))]
            for light in ("green", "yellow", "red")}


def test_open_tickets_by_light_match_the_dashboard(as_user, client):
    lights_scenario(as_user)
    board = as_user("dispatcher").get("/api/v1/dashboard?city=nantong").get_json()["lights"]
    assert board == {"green": 1, "yellow": 1, "red": 1}
    scraped = scrape(client)
    assert open_tickets(scraped) == board
    assert open_tickets(scraped, "suqian") == {"green": 0, "yellow": 0, "red": 0}   # every city, even empty
    assert scraped[("hotline_metrics_database_up", frozenset())] == 1


def test_timer_lag_gauge_and_the_sweeps_lag_histogram_on_the_test_clock(as_user, app, client):
    lights_scenario(as_user)
    scraped = scrape(client)
    assert scraped[("hotline_timer_lag_seconds", frozenset())] == 600       # 11:10 - A's 11:00 sign-off timer
    assert scraped[("hotline_timers_due", frozenset())] == 1                # B's is due at 11:30
    fired_before = sample("hotline_timer_fire_lag_seconds_count")
    lag_before = sample("hotline_timer_fire_lag_seconds_sum")
    within_10_min = sample("hotline_timer_fire_lag_seconds_bucket", le="600.0")
    assert as_user("operator").tick() == 1

    assert sample("hotline_timer_fire_lag_seconds_count") == fired_before + 1
    assert sample("hotline_timer_fire_lag_seconds_sum") == pytest.approx(lag_before + 600)
    assert sample("hotline_timer_fire_lag_seconds_bucket", le="600.0") == within_10_min + 1
    # Cached: the scrape a moment later still shows the snapshot it took ...
    assert scrape(client)[("hotline_timer_lag_seconds", frozenset())] == 600
    fresh(app)                                                              # ... until it is older than max_age
    scraped = scrape(client)
    assert scraped[("hotline_timer_lag_seconds", frozenset())] == 0
    assert scraped[("hotline_timers_due", frozenset())] == 0


def test_the_token_is_required_when_configured(app, client):
    app.extensions["hotline_settings"] = replace(app.extensions["hotline_settings"],
                                                 metrics_token="s3cret-metrics-token")
    refused = client.get("/metrics?lang=en")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.get_json()["error"]["code"] == "metrics_token_required"
    assert refused.get_json()["error"]["message"] == "Missing or wrong metrics token"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ("hotline_metrics_database_up", frozenset()) in scrape(client, Authorization="Bearer s3cret-metrics-token")


def test_without_a_database_the_process_metrics_still_answer(tmp_path):
    from app import create_app
    from engine.config import Settings
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}", secret_key="k",
                              test_clock=False, scheduler_interval=1, scheduler_batch=50,
                              max_upload_bytes=1 << 20, default_language="zh"))
    scraped = scrape(app.test_client())
    assert scraped[("hotline_metrics_database_up", frozenset())] == 0
    assert not [k for k in scraped if k[0] == "hotline_open_tickets"]
    assert [k for k in scraped if k[0] == "hotline_http_requests_total"]
