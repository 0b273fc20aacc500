"""Helpers of the citizen-portal tests: a browser-like client without an account, the centre driving a
ticket to its callback through the API, and a real local SMS gateway."""
from __future__ import annotations

import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT = re.compile(r'id="receipt-(?:number|code)">([^<]+)<')
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 120
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 200
REPLY = "经办人李明已到现场核查，责令施工单位停止夜间施工。如有问题请联系13912345678。已电话告知张三（13800001111）。"


def text_of(response) -> str:
    """A page's visible text, whitespace collapsed (what a citizen reads)."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class Citizen:
    """A phone's browser on the portal: its own cookie session, no account."""

    def __init__(self, app):
        self.client = app.test_client()

    def csrf(self, url="/portal/submit"):
        return CSRF.search(self.client.get(url).get_data(as_text=True)).group(1)

    def submit(self, photos=(), **fields):
        data = {"csrf_token": self.csrf(), "city": "nantong", "request_type": "complaint", "title": "夜间施工噪音扰民",
                "content": "工地连续多日夜间施工，噪音很大。", "name": "张三", "phone": "13800001111",
                "address": "崇川区某路1号"}
        data.update(fields)
        data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
        return self.client.post("/portal/submit", data=data, content_type="multipart/form-data")

    def receipt(self) -> tuple[str, str]:
        number, code = RECEIPT.findall(self.client.get("/portal/receipt").get_data(as_text=True))
        return number, code

    def track(self, number, code):
        return self.client.post("/portal/track", data={"csrf_token": self.csrf("/portal/track"), "number": number,
                                                       "code": code})

    def rate(self, url, rating, comment=""):
        """``url`` is the progress page (its form posts to its own action)."""
        page = self.client.get(url).get_data(as_text=True)
        action = re.search(r'<form method="post" action="([^"]+)"[^>]*id="portal-rating"', page).group(1)
        return self.client.post(action, data={"csrf_token": CSRF.search(page).group(1), "rating": rating,
                                              "comment": comment})


def submitted(app, **fields) -> tuple[Citizen, str, str]:
    citizen = Citizen(app)
    response = citizen.submit(**fields)
    assert response.status_code == 302, text_of(response)[:600]
    return citizen, *citizen.receipt()


def ticket_of(as_user, number) -> dict:
    items = as_user("operator").get(f"/api/v1/tickets?q={number}").get_json()["items"]
    assert len(items) == 1, items
    return items[0]


def to_callback(as_user, ticket_id, reply=REPLY, *, dispatch=True):
    """The centre and the unit drive the ticket to its callback (dispatch, sign, reply, approvals)."""
    if dispatch:
        as_user("dispatcher").complete(ticket_id, "dispatch", {"unit": "nt_chongchuan",
                                                               "dispatch_note": "内部备注：该诉求人多次来电"})
        as_user("nt_chongchuan.handler").complete(ticket_id, "sign", {"decision": "accept"})
    as_user("nt_chongchuan.handler").complete(ticket_id, "handle", {"action": "reply", "reply": reply})
    as_user("nt_chongchuan.leader").complete(ticket_id, "approve_reply", {"approved": True, "comment": "同意"})
    return as_user("dispatcher").complete(ticket_id, "review_reply", {"approved": True})


class SmsGateway:
    """A real HTTP server in a thread that records what an SMS gateway would receive."""

    def __init__(self):
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/sms"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
