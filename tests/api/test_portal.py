"""The citizen portal (/portal/) through its pages: submitting with photos, errors that lose nothing,
tracking with the query code, rate limits and the public disclosure list. Rating the reply and the SMS
link are in test_portal_rating.py."""
from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import select

from api.security import FailureThrottle, RateLimit
from engine.channel_models import CitizenReceipt
from engine.config import Settings
from engine.errors import ValidationFailed
from engine.models import Attachment, Ticket, User
from tests.api.escalation_support import events, start
from tests.api.portal_support import JPEG, PNG, REPLY, Citizen, submitted, text_of, ticket_of, to_callback

pytestmark = pytest.mark.replay_all     # every ticket the portal starts must replay and chain verified


@pytest.fixture(autouse=True)
def working_day(as_user):
    as_user("operator").set_clock("2025-11-03T09:00:00+08:00")      # a Monday morning


def test_a_citizen_submits_with_photos_and_gets_a_number_and_a_query_code(app, as_user, db):
    citizen = Citizen(app)
    response = citizen.submit(photos=[("现场1.png", PNG), ("现场2.JPG", JPEG)])
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/receipt")
    number, code = citizen.receipt()
    assert number.startswith("NT20251103")
    assert len(code) == 9 and code[4] == "-" and not set(code.replace("-", "")) & set("01OIL")
    receipt = citizen.client.get("/portal/receipt")           # a reload shows it again
    assert code in text_of(receipt) and "查询码只显示这一次" in text_of(receipt)

    ticket = ticket_of(as_user, number)
    assert ticket["channel"] == "web" and ticket["status"] == "dispatching" and ticket["request_type"] == "complaint"
    assert ticket["citizen"] == {"name": "张三", "phone": "13800001111", "masked": False}
    assert ticket["address"] == "崇川区某路1号"
    photos = as_user("operator").get(f"/api/v1/tickets/{ticket['id']}/attachments").get_json()["items"]
    assert [(p["filename"], p["content_type"]) for p in photos] == [("现场1.png", "image/png"), ("现场2.jpg", "image/jpeg")]
    created = events(as_user("operator"), ticket["id"], "ticket_created")[0]
    assert created["actor"] == "citizen:portal"
    with db.unit_of_work() as s:                              # the code is kept only as its sha256
        row = s.get(CitizenReceipt, ticket["id"])
        plain = code.replace("-", "")
        assert row.code_hash == hashlib.sha256(f"{ticket['id']}:{plain}".encode()).hexdigest()
        assert plain not in row.code_hash


def test_every_city_has_its_website_channel(app, client, db, clock):
    from engine import setup
    with db.unit_of_work() as s:
        setup.load_city_into_db(s, clock, "suzhou_ah")
    citizen = Citizen(app)
    page = citizen.client.get("/portal/submit?city=suzhou_ah").get_data(as_text=True)
    assert 'value="suzhou_ah" selected' in page
    assert citizen.submit(city="suzhou_ah").status_code == 302
    with db.unit_of_work() as s:
        assert s.scalar(select(Ticket.channel).where(Ticket.city == "suzhou_ah")) == "web"


def test_errors_re_show_the_form_and_lose_nothing_typed(app, as_user):
    citizen = Citizen(app)
    response = citizen.submit(title="", phone="12345", content="楼下餐馆油烟直排", address="崇川区和平路8号", name="王五")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "楼下餐馆油烟直排" in page and 'value="崇川区和平路8号"' in page and 'value="王五"' in page
    assert 'value="12345"' in page and "缺少必填字段" in page and "格式不正确" in page
    assert 'name="title" required' in page and 'aria-invalid="true"' in page
    english = citizen.client.post("/portal/submit?lang=en", data={"csrf_token": citizen.csrf(), "city": "nantong",
                                                                    "request_type": "complaint", "title": "x"})
    assert english.status_code == 422 and "Missing data for required field" in english.get_data(as_text=True)
    assert as_user("operator").get("/api/v1/tickets").get_json()["total"] == 0


@pytest.mark.parametrize("photos, message", [
    ([("ok.png", PNG), ("photo.jpg", b"<html><script>alert(1)</script></html>")], "不是JPEG/PNG/GIF/WebP照片"),
    ([("report.pdf", b"%PDF-1.7\n%%EOF\n")], "不是JPEG/PNG/GIF/WebP照片"),
    ([("big.jpg", JPEG + b"\x00" * (2 * 1024 * 1024))], "超过1.5MB"),
    ([(f"{i}.png", PNG) for i in range(6)], "最多上传5张照片"),
    ([("empty.png", b"")], "文件为空"),
], ids=["disguised-html", "pdf", "too-large", "too-many", "empty"])
def test_bad_photos_are_refused_clearly_and_nothing_is_stored(app, as_user, db, photos, message):
    response = Citizen(app).submit(photos=photos, content="小区门口垃圾堆放多日无人清理")
    assert response.status_code == 422
    page = text_of(response)
    assert message in page and "小区门口垃圾堆放多日无人清理" in page and "请重新选择" in page
    with db.unit_of_work() as s:
        assert s.scalar(select(Ticket.id)) is None and s.scalar(select(Attachment.id)) is None
    folder = app.extensions["hotline_settings"].attachment_dir
    assert not os.path.exists(folder) or not any(files for _, _, files in os.walk(folder))


def test_the_query_code_opens_the_progress_and_a_wrong_one_answers_like_an_unknown_number(app, as_user):
    _, number, code = submitted(app)
    other = Citizen(app)                                      # another phone, without the session
    assert other.client.get(f"/portal/track/{number}").headers["Location"].endswith(f"/portal/track?number={number}")
    right = other.track(number.lower(), code.replace("-", "").lower())
    assert right.status_code == 302 and right.headers["Location"].endswith(f"/portal/track/{number}")
    page = other.client.get(f"/portal/track/{number}")        # kept in the session: a reload works
    assert page.status_code == 200 and "夜间施工噪音扰民" in text_of(page)

    stranger = Citizen(app)
    wrong, unknown = stranger.track(number, "ABCD-EFGH"), stranger.track("NT20251103999999", code)
    assert wrong.status_code == unknown.status_code == 404
    assert "工单编号或查询码不正确" in text_of(wrong)
    assert text_of(wrong).replace(number, "N") == text_of(unknown).replace("NT20251103999999", "N")
    assert stranger.client.get(f"/portal/track/{number}").status_code == 302     # nothing was proved


def test_progress_shows_the_stages_the_deadline_and_the_masked_reply_but_nothing_internal(app, as_user, db):
    citizen, number, _ = submitted(app)
    with db.unit_of_work() as s:     # the handler's real name, to be masked wherever it appears
        s.scalar(select(User).where(User.username == "nt_chongchuan.handler")).display_name = "李明"
    ticket_id = ticket_of(as_user, number)["id"]
    to_callback(as_user, ticket_id)
    page = text_of(citizen.client.get(f"/portal/track/{number}"))
    assert "已答复，待回访" in page
    for stage in ("受理", "转交崇川区人民政府办理", "崇川区人民政府签收", "崇川区人民政府答复"):
        assert stage in page, stage
    assert "办理时限 2025-11-24 09:00" in page
    assert "经办人李*已到现场核查" in page and "139****5678" in page     # staff name and a stranger's phone masked
    assert "张三（13800001111）" in page                               # the citizen's own data stays
    for hidden in ("内部备注", "多次来电", "同意", "nt_chongchuan", "李明", "13912345678"):
        assert hidden not in page, hidden


def test_submissions_and_wrong_codes_are_limited_per_address(app, as_user):
    guard = app.extensions["hotline_portal"]
    guard.submissions, guard.wrong_codes = RateLimit(2, 3600.0), FailureThrottle(3, 900.0)
    citizen = Citizen(app)
    assert [citizen.submit().status_code for _ in range(2)] == [302, 302]
    refused = citizen.submit(title="第三次提交")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "操作过于频繁" in text_of(refused)
    assert as_user("operator").get("/api/v1/tickets").get_json()["total"] == 2

    number, code = citizen.receipt()
    guesser = Citizen(app)
    assert [guesser.track(number, f"AAAA-AAA{c}").status_code for c in "234"] == [404, 404, 404]
    locked = guesser.track(number, code)                       # even the right code waits now
    assert locked.status_code == 429 and "操作过于频繁" in text_of(locked)


def closed(as_user, **overrides) -> dict:
    """A phoned-in ticket taken all the way to its archive."""
    reply = overrides.pop("reply", REPLY)
    ticket = start(as_user("operator"), **overrides)
    to_callback(as_user, ticket["id"], reply)
    return as_user("callback").complete(ticket["id"], "callback", {"satisfied": True})


def test_the_disclosure_list_masks_personal_data_and_leaves_out_what_may_not_be_published(app, as_user):
    published = closed(as_user, title="夜间施工噪音扰民",
                       reply="已核查。诉求人张三（身份证320602199001011234，电话13800001111），座机0513-85551234。")
    sensitive = closed(as_user, title="敏感诉求一", sensitivity="high")
    dispatcher, handler = as_user("dispatcher"), as_user("nt_chongchuan.handler")
    marked = start(as_user("operator"), title="敏感诉求二")
    dispatcher.complete(marked["id"], "dispatch", {"unit": "nt_chongchuan", "sensitivity": "high"})
    handler.complete(marked["id"], "sign", {"decision": "accept"})
    to_callback(as_user, marked["id"], dispatch=False)
    as_user("callback").complete(marked["id"], "callback", {"satisfied": True})
    duplicate = start(as_user("operator"), title="同一工地噪音重复反映")
    assert dispatcher.post(f"/api/v1/tickets/{duplicate['id']}/merge", json={"into": published["id"]}).status_code == 200
    merged = as_user("callback").complete(duplicate["id"], "callback_merged", {"satisfied": True})
    assert merged["status"] == "closed"
    start(as_user("operator"), title="紧急求助", scope="emergency", emergency_agency="119")
    start(as_user("operator"), title="涉密诉求", scope="secret_privacy")
    start(as_user("operator"), title="尚在办理")

    page = text_of(Citizen(app).client.get("/portal/disclosed"))
    assert "共1件" in page and "夜间施工噪音扰民" in page and "崇川区人民政府" in page
    assert "张*" in page and "138****1111" in page and "320602********1234" in page and "0513-****1234" in page
    for hidden in ("13800001111", "张三", "199001011", "85551234", "敏感诉求", "同一工地", "紧急求助", "涉密诉求",
                   "尚在办理"):
        assert hidden not in page, hidden
    assert sensitive["status"] == "closed"
    search = Citizen(app).client.get
    assert "夜间施工噪音扰民" in text_of(search("/portal/disclosed?q=噪音"))
    assert "共0件" in text_of(search("/portal/disclosed?q=路灯"))
    assert "共0件" in text_of(search("/portal/disclosed?q=13800001111"))   # no search by hidden numbers
    second = text_of(search("/portal/disclosed?page=2"))
    assert "暂无公开办件" in second and "夜间施工" not in second


def test_pages_are_bilingual_mobile_and_load_no_inline_script(app):
    citizen = Citizen(app)
    for url in ("/portal/", "/portal/submit", "/portal/track", "/portal/disclosed"):
        page = citizen.client.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and 'name="viewport"' in html and "portal.css" in html, url
        assert "<script>" not in html and " onclick" not in html
        assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "Submit a request" in citizen.client.get("/portal/?lang=en").get_data(as_text=True)
    switched = citizen.client.get("/lang/en", headers={"Referer": "/portal/track"})
    assert switched.headers["Location"].endswith("/portal/track")
    assert "Track a request" in citizen.client.get("/portal/track").get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(app, as_user):
    response = Citizen(app).client.post("/portal/submit", data={"city": "nantong", "title": "无令牌提交"})
    assert response.status_code == 400 and "页面已过期" in text_of(response)
    assert as_user("operator").get("/api/v1/tickets").get_json()["total"] == 0


def test_the_public_base_url_is_validated():
    base = {"HOTLINE_SECRET_KEY": "x"}
    assert Settings.from_env(base).public_base_url is None
    assert Settings.from_env({**base, "HOTLINE_PUBLIC_BASE_URL": "https://12345.nantong.gov.cn/"}).public_base_url \
        == "https://12345.nantong.gov.cn"
    for bad in ("12345.nantong.gov.cn", "ftp://a.cn", "https://a.cn/?x=1", "https://"):
        with pytest.raises(ValidationFailed):
            Settings.from_env({**base, "HOTLINE_PUBLIC_BASE_URL": bad})


def test_an_upload_over_the_request_limit_gets_a_clear_page(app, as_user):
    response = Citizen(app).submit(photos=[("huge.jpg", JPEG + b"\x00" * (9 * 1024 * 1024))])
    assert response.status_code == 413 and "上传的内容过大" in text_of(response)
    assert as_user("operator").get("/api/v1/tickets").get_json()["total"] == 0
