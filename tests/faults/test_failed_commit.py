"""A write the database refuses (issue 10, fault tests), on the private PostgreSQL:

- at COMMIT, after the view has done everything and built its 201 (a deferred constraint trigger raising an
  I/O error, as a failing disk under the WAL would): the client gets 503 ``database_unavailable``, not the
  201, on a page the error page and no "ticket created" message, and not one row stays behind;
- at the first write, because the database went read-only (a failover to a standby; the app's sessions
  are cut and reconnect): the same 503, also for reads that must log who saw a citizen's data; other
  reads still work.
Once the fault is gone, the same app serves writes again."""
from __future__ import annotations

import pytest

from tests.conftest import complaint
from tests.faults.fault_app import bearer, csrf_token, page_session, production_app
from tests.faults.fault_checks import consistency_problems, row_counts

REFUSE = """
CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'could not write: the fault test refuses this commit' USING ERRCODE = 'io_error'; END $$;
CREATE CONSTRAINT TRIGGER refuse_{table} AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW {when} EXECUTE FUNCTION refuse_commit();
"""


@pytest.fixture
def pg_app(fresh_pg, tmp_path):
    _name, url = fresh_pg
    app = production_app(url, tmp_path / "attachments")
    yield app
    app.extensions["hotline_db"].dispose()


def ticket_state(client, headers, ticket_id) -> tuple:
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    tasks = client.get(f"/api/v1/tickets/{ticket_id}/tasks?state=ready", headers=headers).get_json()["items"]
    return ticket["status"], ticket["updated_at"], sorted((t["id"], t["name"]) for t in tasks)


def test_a_refused_commit_answers_503_and_leaves_nothing_behind(pg_cluster, fresh_pg, pg_app):
    name, url = fresh_pg
    client = pg_app.test_client()
    operator, dispatcher = bearer(client, "operator"), bearer(client, "dispatcher")
    waiting = client.post("/api/v1/tickets", json=complaint(title="待派单"), headers=operator).get_json()
    pg_cluster.execute(REFUSE.format(table="tickets", when=""), dbname=name)
    before = row_counts(url)

    refused = client.post("/api/v1/tickets", json=complaint(title="提交失败"), headers=operator)
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "database_unavailable"
    assert refused.get_json()["error"]["message"] == "数据库暂时不可用，操作未完成，请稍后重试"
    english = client.post("/api/v1/tickets?lang=en", json=complaint(title="commit fails"), headers=operator)
    assert (english.status_code, english.get_json()["error"]["message"]) == \
        (503, "The database is unavailable; the request did not complete. Retry shortly")

    page_session(client, "operator")
    form = {"csrf_token": csrf_token(client.get("/intake").get_data(as_text=True)), "city": "nantong",
            "channel": "phone_12345", "request_type": "complaint", "title": "页面提交失败", "content": "内容",
            "citizen_name": "张三", "citizen_phone": "13800001111"}
    page = client.post("/intake", data=form)
    assert page.status_code == 503 and "数据库暂时不可用" in page.get_data(as_text=True)
    assert "工单已创建" not in page.get_data(as_text=True)
    assert "工单已创建" not in client.get("/tickets").get_data(as_text=True), "a failed commit announced as done"
    assert row_counts(url) == before

    # A task completion whose commit fails: the ticket stays exactly where it was.
    pg_cluster.execute(REFUSE.replace("CREATE FUNCTION refuse_commit", "CREATE OR REPLACE FUNCTION refuse_commit")
                       .format(table="events", when="WHEN (NEW.type = 'task_completed')"), dbname=name)
    state = ticket_state(client, dispatcher, waiting["id"])
    task_id = state[2][0][0]
    completed = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"unit": "nt_chongchuan"}},
                            headers=dispatcher)
    assert (completed.status_code, completed.get_json()["error"]["code"]) == (503, "database_unavailable")
    assert ticket_state(client, dispatcher, waiting["id"]) == state
    assert row_counts(url) == before

    pg_cluster.execute("DROP TRIGGER refuse_tickets ON tickets; DROP TRIGGER refuse_events ON events", dbname=name)
    assert client.post("/api/v1/tickets", json=complaint(title="恢复后"), headers=operator).status_code == 201
    assert client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"unit": "nt_chongchuan"}},
                       headers=dispatcher).status_code == 200
    assert consistency_problems(url) == {}


def test_a_database_gone_read_only_refuses_writes_with_503(pg_cluster, fresh_pg, pg_app):
    name, url = fresh_pg
    client = pg_app.test_client()
    operator = bearer(client, "operator")
    assert client.post("/api/v1/tickets", json=complaint(title="只读之前"), headers=operator).status_code == 201
    pg_cluster.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    try:
        pg_cluster.terminate_connections(name)      # the app's pooled sessions die and reconnect read-only
        before = row_counts(url)
        refused = client.post("/api/v1/tickets", json=complaint(title="只读期间"), headers=operator)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (503, "database_unavailable")
        # Showing tickets logs who saw the citizen's data (personal_data_views): no log, no data.
        listed = client.get("/api/v1/tickets", headers=operator)
        assert (listed.status_code, listed.get_json()["error"]["code"]) == (503, "database_unavailable")
        assert client.get("/api/v1/deployments?city=nantong", headers=operator).status_code == 200
        ready = client.get("/readyz")                # the load balancer takes the worker out
        assert ready.status_code == 503 and "database" in ready.get_json()["failed"]
        assert row_counts(url) == before
    finally:
        pg_cluster.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
    pg_cluster.terminate_connections(name)
    assert client.post("/api/v1/tickets", json=complaint(title="恢复可写"), headers=operator).status_code == 201
    assert client.get("/readyz").status_code == 200
    assert consistency_problems(url) == {}


def test_a_write_colliding_on_a_unique_key_answers_409_and_stores_nothing(sqlite_demo, tmp_path):
    """On SQLite: a unique index the write violates (as two concurrent writers of one key would) is the
    conflict answer, never a 500, and the half-done command is rolled back."""
    app = production_app(sqlite_demo, tmp_path / "attachments")
    client = app.test_client()
    operator = bearer(client, "operator")
    with app.extensions["hotline_db"].engine.begin() as connection:
        connection.exec_driver_sql("CREATE UNIQUE INDEX fault_one_ticket_per_title ON tickets (title)")
    assert client.post("/api/v1/tickets", json=complaint(title="同名"), headers=operator).status_code == 201
    before = row_counts(sqlite_demo)
    again = client.post("/api/v1/tickets", json=complaint(title="同名"), headers=operator)
    assert (again.status_code, again.get_json()["error"]) == (409, {
        "code": "conflict", "details": None, "message": "数据已被他人修改，请刷新后重试"})
    assert row_counts(sqlite_demo) == before
    app.extensions["hotline_db"].dispose()
    assert consistency_problems(sqlite_demo) == {}
