"""A full disk (issue 10, fault tests): the attachment directory's, PostgreSQL's, SQLite's. Each answers a clear
507 with its own code and a zh/en message, stores nothing (no row or event claims a file that is not
complete), and once space is freed the same app works again without a restart.

The attachment disk and PostgreSQL's tablespace are small tmpfs mounts (root only; skipped otherwise).
SQLite's limit is its own ``max_page_count``, which fails exactly like a full disk (SQLITE_FULL)."""
from __future__ import annotations

import hashlib
import io
import pwd

from sqlalchemy import event, select

from engine.db import Database
from engine.models import Attachment
from tests.conftest import complaint
from tests.faults.fault_app import bearer, production_app
from tests.faults.fault_checks import consistency_problems, row_counts
from tests.faults.fault_disk import fill, small_tmpfs

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 16


def upload(client, headers, ticket_id, lang="zh"):
    return client.post(f"/api/v1/tickets/{ticket_id}/attachments?lang={lang}", headers=headers,
                       data={"file": (io.BytesIO(JPEG), "现场.jpg")}, content_type="multipart/form-data")


def attachments_intact(url: str, directory) -> bool:
    """Every attachment row names a stored file whose bytes match its checksum."""
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            for row in session.scalars(select(Attachment)):
                path = directory / row.storage_key[:2] / row.storage_key
                if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != row.sha256:
                    return False
        return True
    finally:
        db.dispose()


def stored_files(directory) -> int:
    """Attachment files in the store (its two-character folders; the disk filler lies beside them)."""
    return sum(1 for folder in directory.iterdir() if folder.is_dir() for _ in folder.iterdir())


def test_a_full_attachment_disk_answers_507_and_no_row_claims_the_file(fresh_pg, tmp_path):
    _name, url = fresh_pg
    with small_tmpfs(tmp_path / "attachments", "512k") as directory:
        app = production_app(url, directory)
        try:
            client = app.test_client()
            operator = bearer(client, "operator")
            ticket = client.post("/api/v1/tickets", json=complaint(), headers=operator).get_json()
            assert upload(client, operator, ticket["id"]).status_code == 201
            filler = fill(directory)
            before = row_counts(url)

            full = upload(client, operator, ticket["id"])
            assert full.status_code == 507
            assert full.get_json()["error"] == {"code": "storage_full", "details": None,
                                                "message": "附件存储空间已满，文件未保存，请联系系统管理员"}
            assert upload(client, operator, ticket["id"], "en").get_json()["error"]["message"] == \
                "The attachment storage is full; the file was not saved. Contact the administrator"
            assert row_counts(url) == before                  # no attachment row, no attachment_added event
            assert attachments_intact(url, directory)
            assert stored_files(directory) == 1               # the refused writes left no partial file
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "attachments" in ready.get_json()["failed"]

            filler.unlink()
            assert upload(client, operator, ticket["id"]).status_code == 201
            assert attachments_intact(url, directory)
        finally:
            app.extensions["hotline_db"].dispose()
    assert consistency_problems(url) == {}


def test_a_full_postgres_disk_answers_507_and_the_app_recovers_when_space_is_freed(pg_cluster, pg_template,
                                                                                      tmp_path):
    owner = pwd.getpwnam("postgres") if pg_cluster.as_root else None
    with small_tmpfs(pg_cluster.root / "tiny", "32m", owner and owner.pw_uid, owner and owner.pw_gid) as disk:
        pg_cluster.execute(f"CREATE TABLESPACE tiny LOCATION '{disk}'")
        url = pg_cluster.create_database("fault_full", template=pg_template, tablespace="tiny")
        app = production_app(url, tmp_path / "attachments")
        try:
            client = app.test_client()
            operator = bearer(client, "operator")
            filler = fill(disk)
            answers = [client.post("/api/v1/tickets", json=complaint(title=f"磁盘满{i}"), headers=operator)
                       for i in range(40)]
            refused = [a for a in answers if a.status_code != 201]
            assert refused, "40 tickets fitted on a full disk"
            stored = row_counts(url)["tickets"]
            assert stored == len(answers) - len(refused)      # every 201 is there, no refused one is
            assert {(a.status_code, a.get_json()["error"]["code"]) for a in refused} == {(507, "database_full")}
            assert refused[0].get_json()["error"]["message"] == "数据库存储空间已满，操作未保存，请联系系统管理员"

            filler.unlink()
            assert client.post("/api/v1/tickets", json=complaint(title="空间释放后"), headers=operator).status_code == 201
            assert consistency_problems(url) == {}
        finally:
            app.extensions["hotline_db"].dispose()
            pg_cluster.execute("DROP DATABASE IF EXISTS fault_full WITH (FORCE)")
            pg_cluster.execute("DROP TABLESPACE IF EXISTS tiny")


def test_a_full_sqlite_database_answers_507_and_stores_nothing(sqlite_demo, tmp_path):
    app = production_app(sqlite_demo, tmp_path / "attachments")
    engine = app.extensions["hotline_db"].engine
    client = app.test_client()
    operator = bearer(client, "operator")
    assert client.post("/api/v1/tickets", json=complaint(title="写满之前"), headers=operator).status_code == 201
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    def no_room_to_grow(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")
    event.listen(engine, "connect", no_room_to_grow)
    engine.dispose()                                           # every new connection has the limit
    try:
        before = row_counts(sqlite_demo)
        full = client.post("/api/v1/tickets", json=complaint(title="写满之后"), headers=operator)
        assert (full.status_code, full.get_json()["error"]["code"]) == (507, "database_full")
        assert row_counts(sqlite_demo) == before
    finally:
        event.remove(engine, "connect", no_room_to_grow)
        engine.dispose()
    assert client.post("/api/v1/tickets", json=complaint(title="恢复"), headers=operator).status_code == 201
    app.extensions["hotline_db"].dispose()
    assert consistency_problems(sqlite_demo) == {}
