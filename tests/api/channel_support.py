"""Helpers of the channel tests: clients made through the admin API, one valid payload per kind, requests
with a key and an idempotency key, and what a request left behind (rows and files)."""
from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

from sqlalchemy import func, select

from engine.channel_models import IntakeRequest, TicketLocation
from engine.models import Attachment, Event, Ticket

URL = "/api/v1/channel/requests"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120
HTML = b"<html><script>alert(1)</script></html>"
CHANNEL_OF = {"generic": "web", "grid": "grid", "city_management": "city_management"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


GENERIC = {"reference": "WEB-2025-000871", "title": "小区门口路灯不亮", "content": "和平桥小区南门路灯连续一周不亮，夜间出行不便。",
           "request_type": "help", "citizen": {"name": "王芳", "phone": "13912345678"},
           "address": "崇川区和平桥小区南门", "category": "urban_construction",
           "location": {"lat": 32.0146, "lng": 120.8642, "grid_code": "320602001003"},
           "attachments": [{"filename": "路灯.jpg", "content_base64": b64(JPEG)}]}
GRID = {"event_no": "WG-320602-20251103-0042", "grid_code": "320602001003", "grid_name": "和平桥街道北濠社区第3网格",
        "reporter": {"name": "李明", "phone": "13800002222", "id": "WGY0173"},
        "happened_at": "2025-11-03T08:40:00+08:00", "description": "南大街88号门前人行道有流动摊贩占道经营，影响通行。",
        "event_type_code": "0401", "address": "崇川区南大街88号", "lat": 32.0083, "lng": 120.8571,
        "photos": [{"filename": "现场1.jpg", "content_base64": b64(JPEG)},
                   {"filename": "现场2.png", "content_base64": b64(PNG)}]}
CASE = {"case_no": "CG20251103000017", "case_class": "event", "big_class": "05", "small_class": "05",
        "cell_code": "32060200100302", "description": "工农路与青年路交叉口机动车占用人行道停放。",
        "address": "崇川区工农路与青年路交叉口", "lat": 32.0211, "lng": 120.8702,
        "reporter": {"name": "王强", "id": "JDY017"}, "reported_at": "2025-11-03T08:55:00+08:00",
        "photos": [{"filename": "case.jpg", "content_base64": b64(JPEG)}]}
PAYLOAD_OF = {"generic": GENERIC, "grid": GRID, "city_management": CASE}


def payload(kind: str, **overrides) -> dict:
    data = copy.deepcopy(PAYLOAD_OF[kind])
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}      # ``field=...`` removes a field


def new_client(admin, kind: str = "grid", name: str | None = None, channel: str | None = None,
               city: str = "nantong") -> str:
    response = admin.post("/api/v1/admin/channel-clients", json={
        "city": city, "name": name or f"{kind.replace('_', '-')}-test", "kind": kind,
        "channel": channel or CHANNEL_OF.get(kind, "web")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["key"]


def send(client, key: str | None, body, idempotency: str | None = "req-1", *, raw: str | None = None,
         content_type: str = "application/json", lang: str | None = None, data=None):
    headers = {}
    if key is not None:
        headers["X-Api-Key"] = key
    if idempotency is not None:
        headers["Idempotency-Key"] = idempotency
    if lang:
        headers["Accept-Language"] = lang
    if data is not None:       # multipart
        return client.post(URL, headers=headers, data=data, content_type="multipart/form-data")
    text = raw if raw is not None else json.dumps(body, ensure_ascii=False)
    return client.post(URL, headers=headers, data=text.encode(), content_type=content_type)


def stored(app) -> dict:
    """What the database and the attachment directory hold."""
    with app.extensions["hotline_db"].unit_of_work() as session:
        counts = {name: session.scalar(select(func.count()).select_from(model)) for name, model in
                  (("tickets", Ticket), ("intake_requests", IntakeRequest), ("attachments", Attachment),
                   ("locations", TicketLocation), ("events", Event))}
    directory = Path(app.extensions["hotline_settings"].attachment_dir)
    counts["files"] = sum(1 for p in directory.rglob("*") if p.is_file()) if directory.exists() else 0
    return counts


def location_of(app, ticket_id: int) -> dict | None:
    with app.extensions["hotline_db"].unit_of_work() as session:
        row = session.get(TicketLocation, ticket_id)
        return None if row is None else {"lat": row.latitude, "lng": row.longitude, "grid_code": row.grid_code,
                                         "external_category": row.external_category}
