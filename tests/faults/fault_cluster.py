"""A private PostgreSQL cluster for the fault tests: its own data directory, port and socket, so the tests
may stop, restart, fill and reconfigure it without touching a shared server.

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` OS user (``runuser``);
otherwise to the current user. The data directory lives under /tmp (not pytest's tmp_path, which is
private to root) and is removed when the cluster stops.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

OS_USER = "postgres"


def postgres_bindir() -> Path | None:
    """Debian's /usr/lib/postgresql/<version>/bin (the newest), else the directory of initdb on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """initdb + pg_ctl around one throw-away cluster (trust authentication on 127.0.0.1 only)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="hotline-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if self.as_root:
            owner = pwd.getpwnam(OS_USER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.uid, self.gid = owner.pw_uid, owner.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", OS_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:1])} failed ({result.returncode}): {result.stderr[-2000:]}\n"
                               f"{self.log_tail()}")
        return result

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale",
                  "--no-sync", timeout=120)

    def start(self) -> None:
        # fsync off and small buffers: the tests need neither durability against power loss nor memory.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c shared_buffers=32MB -c max_connections=60 -c autovacuum=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start",
                  timeout=90)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    def is_running(self) -> bool:
        pid_file = self.data / "postmaster.pid"
        return pid_file.exists()

    def destroy(self) -> None:
        """Stop (immediately) if still running and remove everything. Never raises: it runs in finally."""
        try:
            if self.is_running():
                self.stop("immediate")
        except Exception:            # noqa: BLE001 - best effort; the directory goes anyway
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- SQL -------------------------------------------------------------------------------------
    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True,
                               connect_timeout=10)

    def execute(self, sql: str, params=None, dbname: str = "postgres") -> list:
        with self.connect(dbname) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str | None = None, tablespace: str | None = None) -> str:
        clauses = (f" TEMPLATE {template}" if template else "") + (f" TABLESPACE {tablespace}" if tablespace else "")
        self.execute(f"CREATE DATABASE {name}{clauses}")
        return self.url(name)

    def terminate_connections(self, dbname: str) -> int:
        """Cut every session on a database (as a failover or an administrator would)."""
        rows = self.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                            "AND pid <> pg_backend_pid()", (dbname,))
        return len(rows)


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll until predicate() is truthy; returns its value or raises AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
