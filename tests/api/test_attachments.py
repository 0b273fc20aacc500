"""Attachments: photos and PDFs accepted by content (not by name), everything else refused with a clear
error and nothing stored; unit-scoped access; downloads that a browser never renders as a page."""
from __future__ import annotations

import io

from tests.api.escalation_support import events, start
from tests.api.test_pages import CSRF, Browser

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 200
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


def dispatched(as_user):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator)
    as_user("dispatcher").complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    return ticket


def upload(api, ticket_id, data, name):
    return api.client.post(f"/api/v1/tickets/{ticket_id}/attachments", headers=api.headers,
                           data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_handler_adds_a_photo_and_a_pdf_and_reads_them_back(as_user):
    ticket = dispatched(as_user)
    handler = as_user("nt_chongchuan.handler")
    photo = upload(handler, ticket["id"], JPEG, "现场照片.JPG")
    assert photo.status_code == 201, photo.get_json()
    assert photo.get_json()["content_type"] == "image/jpeg" and photo.get_json()["filename"] == "现场照片.jpg"
    pdf = upload(handler, ticket["id"], PDF, "../../etc/会议纪要.pdf").get_json()
    assert pdf["filename"] == "会议纪要.pdf"                          # no path survives
    items = handler.get(f"/api/v1/tickets/{ticket['id']}/attachments").get_json()["items"]
    assert [a["filename"] for a in items] == ["现场照片.jpg", "会议纪要.pdf"]
    download = handler.get(f"/api/v1/attachments/{photo.get_json()['id']}")
    assert download.status_code == 200 and download.data == JPEG and download.mimetype == "image/jpeg"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="attachment-')
    assert "sandbox" in download.headers["Content-Security-Policy"]
    added = events(handler, ticket["id"], "attachment_added")
    assert [e["data"]["filename"] for e in added] == ["现场照片.jpg", "会议纪要.pdf"] and added[0]["data"]["sha256"]


def test_dangerous_or_bad_files_are_refused_and_nothing_is_stored(as_user):
    ticket = dispatched(as_user)
    handler = as_user("nt_chongchuan.handler")
    for data, name in ((b"<html><script>alert(1)</script></html>", "photo.jpg"),
                       (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "a.svg"),
                       (b"MZ\x90\x00" + b"\x00" * 100, "setup.exe"), (b"PK\x03\x04", "a.zip"), (b"", "empty.png")):
        response = upload(handler, ticket["id"], data, name)
        assert response.status_code == 422, name
        assert response.get_json()["error"]["details"]["file"][0]["code"] in ("type_not_allowed", "empty")
    big = upload(handler, ticket["id"], JPEG + b"\x00" * (5 * 1024 * 1024), "big.jpg")
    assert big.status_code == 422 and big.get_json()["error"]["details"]["file"][0]["code"] == "too_large"
    missing = handler.client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=handler.headers, data={},
                                  content_type="multipart/form-data")
    assert missing.status_code == 422
    assert handler.get(f"/api/v1/tickets/{ticket['id']}/attachments").get_json()["items"] == []
    assert events(handler, ticket["id"], "attachment_added") == []


def test_another_unit_and_the_auditor(as_user):
    ticket = dispatched(as_user)
    photo = upload(as_user("nt_chongchuan.handler"), ticket["id"], JPEG, "a.jpg").get_json()
    other = as_user("nt_housing.handler")
    assert upload(other, ticket["id"], JPEG, "b.jpg").status_code == 404
    assert other.get(f"/api/v1/attachments/{photo['id']}").status_code == 404
    assert other.get(f"/api/v1/tickets/{ticket['id']}/attachments").status_code == 404
    auditor = as_user("auditor")
    assert auditor.get(f"/api/v1/attachments/{photo['id']}").status_code == 200
    assert upload(auditor, ticket["id"], JPEG, "c.jpg").status_code == 422


def test_attachments_on_the_task_page(client, as_user):
    ticket = dispatched(as_user)
    task = as_user("nt_chongchuan.handler").ready_task(ticket["id"], "sign")
    browser = Browser(client)
    browser.login("nt_chongchuan.handler")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "附件（照片与文件）" in page and 'enctype="multipart/form-data"' in page
    token = CSRF.search(page).group(1)
    response = client.post(f"/tickets/{ticket['id']}/attachments",
                           data={"csrf_token": token, "next": f"/tasks/{task['id']}", "file": (io.BytesIO(PDF), "说明.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{task['id']}")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "说明.pdf" in page and "附件已上传" in page
    evil = client.post(f"/tickets/{ticket['id']}/attachments",
                       data={"csrf_token": token, "next": "//evil.example/x", "file": (io.BytesIO(PDF), "x.pdf")},
                       content_type="multipart/form-data")
    assert evil.headers["Location"].endswith(f"/tickets/{ticket['id']}")
