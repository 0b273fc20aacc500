"""The measured ticket work through the facade and through the HTTP API.

Both drivers do the same thing: start N Nantong complaints, then dispatch each ticket to
nt_chongchuan, then sign each one, every operation in its own unit of work (facade) or request
(HTTP). Finding the id of the ready task to complete is bookkeeping and is not timed.
"""
from __future__ import annotations

from sqlalchemy import select

from engine import accounts
from engine.clock import Clock
from engine.config import Settings
from engine.db import Database
from engine.facade import Hotline
from engine.models import TaskRow

from .databases import CITY, DISPATCHER, HANDLER, OPERATOR, PASSWORD, UNIT
from .stats import Sample

DISPATCH_DATA = {"unit": UNIT}
SIGN_DATA = {"decision": "accept"}
EXPECTED_STATUS = {"intake": "dispatching", "dispatch": "signing", "sign": "handling"}


def complaint(i: int) -> dict:
    return {"city": CITY, "channel": "phone_12345", "request_type": "complaint",
            "title": f"夜间施工噪音扰民 #{i}", "content": "工地连续多日夜间施工，噪音很大，影响休息。",
            "citizen": {"name": "张三", "phone": "13800001111"}, "address": "崇川区某路1号"}


def ready_task_ids(database: Database, name: str, ticket_ids: list[int]) -> dict[int, str]:
    with database.unit_of_work() as session:
        rows = session.execute(select(TaskRow.ticket_id, TaskRow.id)
                               .where(TaskRow.name == name, TaskRow.state == "ready"))
        found = {ticket_id: task_id for ticket_id, task_id in rows}
    missing = [t for t in ticket_ids if t not in found]
    if missing:
        raise RuntimeError(f"no ready {name} task on tickets {missing[:5]}")
    return {t: found[t] for t in ticket_ids}


def _check(operation: str, status: str) -> None:
    if status != EXPECTED_STATUS[operation]:
        raise RuntimeError(f"after {operation} the ticket is {status!r}, expected {EXPECTED_STATUS[operation]!r}")


class FacadeDriver:
    """Calls ``Hotline`` directly, one ``Database.unit_of_work()`` per operation."""

    def __init__(self, url: str, clock: Clock):
        self.database = Database(url)
        self.clock = clock
        with self.database.unit_of_work() as session:
            self.actors = {name: accounts.principal_for_username(session, name)
                           for name in (OPERATOR, DISPATCHER, HANDLER)}

    def start_ticket(self, payload: dict) -> tuple[int, str]:
        with self.database.unit_of_work() as session:
            ticket = Hotline(session, self.clock).start_ticket(self.actors[OPERATOR], payload)
            result = ticket.id, ticket.status
        return result

    def complete(self, actor: str, task_id: str, data: dict) -> str:
        with self.database.unit_of_work() as session:
            status = Hotline(session, self.clock).complete_task(self.actors[actor], task_id, dict(data)).status
        return status

    def close(self) -> None:
        self.database.dispose()


class HttpDriver:
    """Goes through the Flask app with its test client and bearer tokens (one request per operation)."""

    def __init__(self, url: str, clock: Clock):
        from app import create_app   # Flask only when the HTTP mode is asked for
        settings = Settings(database_url=url, secret_key="bench-secret", test_clock=True, scheduler_interval=5,
                            scheduler_batch=50, max_upload_bytes=8 * 1024 * 1024, default_language="en")
        self.app = create_app(settings)
        self.database = self.app.extensions["hotline_db"]
        self.client = self.app.test_client()
        self.headers = {name: self._token(name) for name in (OPERATOR, DISPATCHER, HANDLER)}
        # The test clock (a database row) pins "now", so deadlines match the facade run.
        response = self.client.put("/api/v1/test/clock", json={"now": clock.now().isoformat()},
                                   headers=self.headers[OPERATOR])
        self._ok(response, 200)

    def _token(self, username: str) -> dict:
        response = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        self._ok(response, 201)
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    @staticmethod
    def _ok(response, status: int) -> dict:
        if response.status_code != status:
            raise RuntimeError(f"HTTP {response.status_code}: {response.get_data(as_text=True)[:500]}")
        return response.get_json()

    def start_ticket(self, payload: dict) -> tuple[int, str]:
        body = self._ok(self.client.post("/api/v1/tickets", json=payload, headers=self.headers[OPERATOR]), 201)
        return body["id"], body["status"]

    def complete(self, actor: str, task_id: str, data: dict) -> str:
        response = self.client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data},
                                    headers=self.headers[actor])
        return self._ok(response, 200)["status"]

    def close(self) -> None:
        self.database.dispose()


def run_lifecycle(driver, tickets: int, backend: str, warmup: int = 0) -> dict[str, Sample]:
    """Intake, dispatch and sign ``tickets`` tickets; the first ``warmup`` extra ones are not timed."""
    samples = {op: Sample(op, backend) for op in ("intake", "dispatch", "sign")}
    if warmup:
        run_lifecycle(driver, warmup, backend)   # fills caches (specs, compiled code, imports)
    ticket_ids = []
    for i in range(tickets):
        payload = complaint(i)
        with samples["intake"].timed():
            ticket_id, status = driver.start_ticket(payload)
        _check("intake", status)
        ticket_ids.append(ticket_id)
    for operation, task_name, actor, data in (("dispatch", "dispatch", DISPATCHER, DISPATCH_DATA),
                                              ("sign", "sign", HANDLER, SIGN_DATA)):
        task_ids = ready_task_ids(driver.database, task_name, ticket_ids)
        for ticket_id in ticket_ids:
            with samples[operation].timed():
                status = driver.complete(actor, task_ids[ticket_id], data)
            _check(operation, status)
    return samples
