"""A small load generator over HTTP (urllib, threads): operators post tickets, each with a unique title, and a
dispatcher completes their dispatch tasks. Every request's outcome is kept: the status and error code the
server answered, or the connection error when there was no answer (the outcome is then unknown to the
client, and the database must hold the request either completely or not at all)."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from tests.conftest import complaint

TIMEOUT = 20          # no request may hang longer than this, outage or not


@dataclass
class Outcome:
    kind: str                      # create | dispatch | probe
    key: str                       # the ticket's title (create) or id (dispatch)
    started: float
    elapsed: float = 0.0
    status: int | None = None      # None: no HTTP answer at all
    body: dict | None = None
    error: str | None = None       # the connection error, when there was no answer

    @property
    def code(self) -> str | None:
        return ((self.body or {}).get("error") or {}).get("code")


def call(method: str, url: str, payload: dict | None = None, token: str | None = None, timeout: float = TIMEOUT,
         kind: str = "probe", key: str = "") -> Outcome:
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    outcome = Outcome(kind, key, time.monotonic())
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            outcome.status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        outcome.status, raw = exc.code, exc.read()
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout) as exc:
        outcome.error, raw = f"{type(exc).__name__}: {exc}", b""
    outcome.elapsed = time.monotonic() - outcome.started
    try:
        outcome.body = json.loads(raw) if raw else None
    except ValueError:
        outcome.body = {"raw": raw[:500].decode(errors="replace")}
    return outcome


def sign_in(base: str, username: str) -> str:
    outcome = call("POST", f"{base}/api/v1/auth/token", {"username": username, "password": "demo"})
    assert outcome.status == 201, outcome
    return outcome.body["token"]


@dataclass
class TicketLoad:
    """``threads`` loops of: post a ticket (operator), then complete its dispatch task (dispatcher)."""
    base: str
    operator: str
    dispatcher: str
    tag: str
    threads: int = 3
    pause: float = 0.02            # between iterations: load, not a CPU-bound flood on a shared machine
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in range(self.threads)]

    def start(self) -> "TicketLoad":
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=TIMEOUT + 10)
        assert not any(w.is_alive() for w in self._workers), "a load thread hangs"

    def _keep(self, outcome: Outcome) -> Outcome:
        with self._lock:
            self.outcomes.append(outcome)
        return outcome

    def _loop(self, number: int) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            title = f"{self.tag}-{number}-{i}"
            created = self._keep(call("POST", f"{self.base}/api/v1/tickets", complaint(title=title),
                                      self.operator, kind="create", key=title))
            if created.status == 201:
                self.dispatch(created.body["id"])
            time.sleep(self.pause)

    def dispatch(self, ticket_id: int) -> None:
        tasks = call("GET", f"{self.base}/api/v1/tickets/{ticket_id}/tasks?state=ready", token=self.dispatcher)
        if tasks.status != 200:
            self._keep(Outcome("dispatch", str(ticket_id), tasks.started, tasks.elapsed, tasks.status, tasks.body,
                               tasks.error))
            return
        task = next((t for t in tasks.body["items"] if t["name"] == "dispatch"), None)
        if task is not None:
            self._keep(call("POST", f"{self.base}/api/v1/tasks/{task['id']}/complete",
                            {"data": {"unit": "nt_chongchuan"}}, self.dispatcher, kind="dispatch",
                            key=str(ticket_id)))

    # -- what happened -------------------------------------------------------------------------------
    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def count(self, kind: str, status: int | None = None, since: float | None = None) -> int:
        return sum(1 for o in self.snapshot() if o.kind == kind and (status is None or o.status == status)
                   and (since is None or o.started >= since))

    def acknowledged(self) -> dict[str, int]:
        """title -> ticket id of every ticket whose POST was answered 201."""
        return {o.key: o.body["id"] for o in self.snapshot() if o.kind == "create" and o.status == 201}

    def dispatched(self) -> set[int]:
        return {int(o.key) for o in self.snapshot() if o.kind == "dispatch" and o.status == 200}

    def unanswered(self, kind: str | None = None) -> list[Outcome]:
        return [o for o in self.snapshot() if o.status is None and (kind is None or o.kind == kind)]

    def refused(self) -> list[Outcome]:
        return [o for o in self.snapshot() if o.status is not None and o.status >= 400]
