"""Intake and task-completion throughput, persisted (SQLite / PostgreSQL, facade / HTTP) versus raw
in-memory SpiffWorkflow on the same diagram and rules.

    python -m bench.throughput [--tickets N] [--backend sqlite|postgres|all] [--via facade|http|both]

PostgreSQL runs when asked for, or with ``--backend all`` when HOTLINE_BENCH_POSTGRES_URL is set.
Speed is only printed here, never asserted by the test suite.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import sys
from datetime import datetime

import sqlalchemy
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from SpiffWorkflow.version import __version__ as spiff_version

from engine.clock import SHANGHAI, FixedClock
from engine.db import Database
from engine.models import Deployment, Ticket
from engine import spiff

from . import databases
from .baseline import BACKEND as BASELINE, run_baseline
from .stats import Sample, combined
from .workloads import FacadeDriver, HttpDriver, run_lifecycle

# A Monday morning inside Nantong's working hours, so every deadline is the same on every run.
START = datetime(2025, 11, 3, 9, 0, tzinfo=SHANGHAI)
DRIVERS = {"facade": FacadeDriver, "http": HttpDriver}
OPERATIONS = ("intake", "dispatch", "sign", "complete")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=300, help="tickets per run (default 300)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "all"), default="all",
                        help=f"'all' = sqlite, plus postgres when {databases.POSTGRES_ENV} is set")
    parser.add_argument("--via", choices=("facade", "http", "both"), default="both")
    parser.add_argument("--warmup", type=int, default=5, help="untimed tickets run first (default 5)")
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.warmup < 0:
        parser.error("--tickets must be >= 1 and --warmup >= 0")
    if args.backend == "postgres" and not databases.postgres_url_from_env():
        parser.error(f"--backend postgres needs {databases.POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/bench")
    return args


def backends(choice: str) -> list[str]:
    if choice != "all":
        return [choice]
    return ["sqlite", "postgres"] if databases.postgres_url_from_env() else ["sqlite"]


def with_completions(samples: dict[str, Sample], backend: str) -> dict[str, Sample]:
    samples["complete"] = combined("complete", backend, samples["dispatch"], samples["sign"])
    return samples


def storage_sizes(url: str) -> dict:
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            states = [len(s.encode()) for s in session.scalars(select(Ticket.workflow_state))]
            spec = session.scalar(select(Deployment.spec_json).where(Deployment.active.is_(True)))
            version = session.scalar(text("SELECT version()")) if database.is_postgres else None
    finally:
        database.dispose()
    return {"tickets": len(states), "state_avg": sum(states) / len(states), "state_min": min(states),
            "state_max": max(states), "spec": len(spec.encode()), "server": version}


def embedded_spec_size(workflow, url: str) -> tuple[int, int | None]:
    """One baseline instance dumped the platform's way (no spec) and SpiffWorkflow's default way."""
    serializer = getattr(spiff, "_SERIALIZER", None)   # the engine's configured serializer, if it has one
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            deployment = session.scalar(select(Deployment).where(Deployment.active.is_(True)))
            codec = spiff.codec_for(deployment)
    finally:
        database.dispose()
    embedded = len(serializer.serialize_json(workflow).encode()) if serializer is not None else None
    return len(codec.dump(workflow).encode()), embedded


def run_backend(backend: str, via: str, args, workdir) -> tuple[dict[str, Sample], str, dict]:
    label = f"{backend}/{via}"
    print(f"[bench] {label}: preparing a fresh database", file=sys.stderr, flush=True)
    url = databases.fresh_url(backend, workdir, via)
    clock = FixedClock(START)
    databases.prepare(url, clock)
    driver = DRIVERS[via](url, clock)
    try:
        print(f"[bench] {label}: {args.tickets} tickets (+{args.warmup} warm-up)", file=sys.stderr, flush=True)
        samples = with_completions(run_lifecycle(driver, args.tickets, label, warmup=args.warmup), label)
    finally:
        driver.close()
    return samples, url, storage_sizes(url)


def command_line() -> str:
    env = ""
    if os.environ.get(databases.POSTGRES_ENV):
        shown = make_url(os.environ[databases.POSTGRES_ENV]).render_as_string(hide_password=True)
        env = f"{databases.POSTGRES_ENV}={shown} "
    return env + "python -m bench.throughput " + shlex.join(sys.argv[1:])


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"nproc {cores}; Python {platform.python_version()} ({platform.machine()}, {platform.system()} "
            f"{platform.release()}); SpiffWorkflow {spiff_version}; SQLAlchemy {sqlalchemy.__version__}")


def print_table(baseline: dict[str, Sample], runs: list[dict[str, Sample]]) -> None:
    header = f"{'operation':<10} {'backend':<16} {'n':>5} {'ops/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} " \
             f"{'overhead':>9}"
    print(header)
    print("-" * len(header))
    for operation in OPERATIONS:
        floor = baseline[operation].ops_per_s
        for samples in [baseline, *runs]:
            s = samples[operation]
            print(f"{operation:<10} {s.backend:<16} {s.count:>5} {s.ops_per_s:>9.1f} {s.ms(50):>8.2f} "
                  f"{s.ms(95):>8.2f} {s.ms(99):>8.2f} {floor / s.ops_per_s:>8.1f}x")
        print()


def main(argv=None) -> int:
    args = parse_args(argv)
    vias = ["facade", "http"] if args.via == "both" else [args.via]
    workdir = databases.new_workdir()
    print(f"[bench] raw SpiffWorkflow baseline: {args.tickets} tickets", file=sys.stderr, flush=True)
    baseline, workflows = run_baseline(FixedClock(START), args.tickets, warmup=args.warmup)
    baseline = with_completions(baseline, BASELINE)
    runs, sizes, last_url = [], [], None
    try:
        for backend in backends(args.backend):
            for via in vias:
                samples, last_url, size = run_backend(backend, via, args, workdir)
                runs.append(samples)
                sizes.append((f"{backend}/{via}", size))
        instance_sizes = embedded_spec_size(workflows[0], last_url) if last_url else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)   # the SQLite files
    print()
    print(f"command: {command_line()}")
    print(f"machine: {machine()}")
    for label, size in sizes:
        if size["server"]:
            print(f"server ({label}): {size['server'].split(',')[0]}")
            break
    print(f"clock: FixedClock {START.isoformat()}; {args.tickets} timed tickets per run after {args.warmup} "
          f"warm-up; each op = one unit of work (facade) or one request (http)")
    print("overhead = baseline ops/s / row ops/s; 'complete' = dispatch and sign completions together")
    print()
    print_table(baseline, runs)
    print("stored state (tickets at 'handle', after intake + dispatch + sign):")
    for label, size in sizes:
        print(f"  {label:<16} workflow_state avg {size['state_avg']:,.0f} B (min {size['state_min']:,}, "
              f"max {size['state_max']:,}) over {size['tickets']} tickets; deployment spec_json {size['spec']:,} B"
              f" stored once")
    if instance_sizes is not None:
        stored, embedded = instance_sizes
        line = f"  one baseline instance: {stored:,} B without spec (platform codec)"
        if embedded is not None:
            line += f" vs {embedded:,} B with SpiffWorkflow's default serializer (spec embedded per instance)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
