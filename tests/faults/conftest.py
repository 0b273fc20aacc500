"""Fixtures of the fault tests: one private PostgreSQL cluster per test session (tests/faults/fault_cluster.py),
a template database in it (migrated, Nantong loaded, the demo users), and a fresh copy of it per test."""
from __future__ import annotations

import itertools
import shutil

import pytest

from engine.migrate import upgrade
from tests.api.authz_support import load_world_db
from tests.faults.fault_cluster import PrivateCluster, postgres_bindir

TEMPLATE = "hotline_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("fault tests need the PostgreSQL server binaries (initdb, pg_ctl): "
                    "apt-get install postgresql, or put initdb on PATH")
    cluster = PrivateCluster(bindir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def load_demo_city(url: str, demo_hash: str) -> None:
    """Nantong deployed, with the centre's and two units' demo users (as tests/conftest.py's ``city``)."""
    load_world_db(url, demo_hash)


@pytest.fixture(scope="session")
def pg_template(pg_cluster, demo_hash):
    """The database every fault test copies: at the Alembic head, Nantong deployed, the demo users."""
    url = pg_cluster.create_database(TEMPLATE)
    upgrade(url)
    load_demo_city(url, demo_hash)
    return TEMPLATE


@pytest.fixture
def fresh_pg(pg_cluster, pg_template):
    """A new database copied from the template: (name, SQLAlchemy URL). Dropped afterwards."""
    name = f"fault_{next(_numbers)}"
    url = pg_cluster.create_database(name, template=pg_template)
    yield name, url
    try:
        pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:             # noqa: BLE001 - e.g. the cluster is down after a failed restart test
        pass


@pytest.fixture
def sqlite_demo(sqlite_template, tmp_path, demo_hash):
    """A SQLite file at the head revision with Nantong and the demo users (tests/conftest.py's template)."""
    path = tmp_path / "hotline.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    load_demo_city(url, demo_hash)
    return url
