"""Real processes for the fault tests: gunicorn (deploy/gunicorn.conf.py) and ``flask scheduler``, each in a
process group of its own so a test can always kill everything it started; the workers of a gunicorn
master, and the TCP ports a process talks to PostgreSQL from (to see its open transaction in
pg_stat_activity before killing it)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.faults.fault_cluster import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "gunicorn.conf.py"


def app_env(database_url: str, directory: Path, **extra: str) -> dict:
    """The environment of a web or scheduler process: this database, JSON logs, files under ``directory``.
    Variables of the caller's own configuration that would redirect the process are dropped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "PROMETHEUS_"))}
    env.update({"HOTLINE_DATABASE_URL": database_url, "HOTLINE_SECRET_KEY": "fault-tests",
                "HOTLINE_LOG_FORMAT": "json", "HOTLINE_ATTACHMENT_DIR": str(directory / "attachments"),
                "HOTLINE_INSTANCE_DIR": str(directory / "instance")})
    env.update(extra)
    return env


class Service:
    """One child process in its own session (process group); ``stop`` always ends the whole group."""

    def __init__(self, command: list[str], env: dict, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.pid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 15) -> None:
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.pid, signal.SIGKILL)      # stragglers of the group (e.g. orphaned workers)
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        self._log.close()

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
        return lines

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


class Gunicorn(Service):
    def __init__(self, database_url: str, directory: Path, workers: int = 2, **extra: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        metrics = directory / "metrics"
        metrics.mkdir(exist_ok=True)
        env = app_env(database_url, directory, HOTLINE_WEB_BIND=f"127.0.0.1:{self.port}",
                      HOTLINE_WEB_WORKERS=str(workers), HOTLINE_WEB_TIMEOUT="30",
                      PROMETHEUS_MULTIPROC_DIR=str(metrics), **extra)
        super().__init__([sys.executable, "-m", "gunicorn", "-c", str(CONF)], env, directory / "gunicorn.log")
        self.workers_wanted = workers

    def workers(self) -> set[int]:
        return children_of(self.pid)

    def wait_ready(self, timeout: float = 90) -> None:
        """/readyz answers 200 and every worker is up (the second may still be importing the app)."""
        def ready():
            if not self.alive():
                raise AssertionError("gunicorn exited:\n" + self.log_tail())
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=5) as response:
                    return response.status == 200 and len(self.workers()) == self.workers_wanted
            except OSError:
                return False
        wait_until(ready, timeout, 0.3, "gunicorn to be ready")


def scheduler(database_url: str, directory: Path, name: str, **extra: str) -> Service:
    env = app_env(database_url, directory, HOTLINE_TEST_CLOCK="1", **extra)
    return Service([sys.executable, "-m", "flask", "--app", "app", "scheduler"], env, directory / f"{name}.log")


def children_of(pid: int) -> set[int]:
    """The live child processes of ``pid``, from /proc (no psutil): field 4 of /proc/N/stat is the parent."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()      # after "(comm)", which may contain spaces
        if fields[0] != "Z" and int(fields[1]) == pid:
            children.add(int(entry.name))
    return children


def client_ports(pid: int, server_port: int) -> set[int]:
    """The local ports of the TCP connections process ``pid`` holds to ``server_port`` (its database
    sessions), from its socket inodes and /proc/net/tcp."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            parts = row.split()
            local, remote, inode = parts[1], parts[2], parts[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


# Which sessions count as "in the middle of a write" for kill_when_writing.
WRITING = "backend_xid IS NOT NULL"                       # the transaction has written (or row-locked)
HOLDING_A_TICKET = ("pid IN (SELECT pid FROM pg_locks WHERE relation = 'tickets'::regclass "
                    "AND mode = 'RowShareLock')")          # inside SELECT ... FOR UPDATE on a ticket


def kill_when_writing(pids: set[int], cluster, dbname: str, condition: str = WRITING,
                      timeout: float = 15) -> tuple[int, bool]:
    """SIGKILL the first of ``pids`` whose database session matches ``condition`` (so the kill lands inside
    an uncommitted write); after ``timeout`` the first of them anyway. Returns the pid and whether it matched."""
    deadline = time.monotonic() + timeout
    with cluster.connect(dbname) as monitor:    # one session for the polling (in that database: regclass)
        while time.monotonic() < deadline:
            for pid in sorted(pids):
                ports = client_ports(pid, cluster.port)
                if ports and monitor.execute(
                        f"SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND client_port = ANY(%s) "
                        f"AND {condition}", (dbname, sorted(ports))).fetchone()[0]:
                    os.kill(pid, signal.SIGKILL)
                    return pid, True
            time.sleep(0.005)
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    return victim, False
