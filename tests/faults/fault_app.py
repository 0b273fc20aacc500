"""The app in this process for the fault tests that need no gunicorn: as in production, not in TESTING mode,
so an unexpected exception goes through the app's error handlers instead of into the test."""
from __future__ import annotations

import re
from pathlib import Path

from app import create_app
from engine.config import Settings


def production_app(database_url: str, attachment_dir: Path):
    settings = Settings(database_url=database_url, secret_key="fault-tests", test_clock=False, scheduler_interval=5,
                        scheduler_batch=50, max_upload_bytes=8 * 1024 * 1024, default_language="zh",
                        attachment_dir=str(attachment_dir))
    app = create_app(settings)
    assert not app.testing and not app.config["PROPAGATE_EXCEPTIONS"]
    return app


def bearer(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def page_session(client, username: str) -> None:
    """Signed in to the pages as ``username`` (the cookie the login form would set)."""
    with client.session_transaction() as cookie:
        cookie["user"] = username


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
