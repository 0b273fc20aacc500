"""Citizens' personal data: unmasked only for the centre and the unit handling the ticket, every unmasked
view logged, masks everywhere else, replies masked for disclosure, and attachments purged at the end of
their retention."""
from __future__ import annotations

from datetime import timedelta

from engine.attachments import AttachmentStore
from engine.clock import FixedClock, parse_iso
from engine.models import Attachment, PersonalDataView
from engine.personal_data import disclosed_text, mask_name, mask_phone
from engine.retention import purge_expired_attachments
from tests.api.escalation_support import REPLY, events, start
from tests.api.test_attachments import JPEG, upload
from tests.api.test_pages import Browser

PHONE, NAME = "13800001111", "张三"


def _citizen(api, ticket_id):
    response = api.get(f"/api/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["citizen"]


def test_the_centre_and_the_handling_unit_see_the_citizen_others_see_masks(as_user):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(dispatcher)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert _citizen(as_user("operator"), ticket["id"]) == {"name": NAME, "phone": PHONE, "masked": False}
    handler = as_user("nt_chongchuan.handler")
    assert _citizen(handler, ticket["id"])["phone"] == PHONE           # its sign task is open
    for role in ("analyst", "city_leader", "auditor", "inspector"):
        assert _citizen(as_user(role), ticket["id"]) == {"name": "张*", "phone": "138****1111", "masked": True}, role
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    as_user("nt_chongchuan.leader").complete(ticket["id"], "approve_reply", {"approved": True})
    # the unit's part is done: the reply is with the centre, so the unit sees the mask
    assert _citizen(handler, ticket["id"])["masked"] is True
    listed = handler.get("/api/v1/tickets?city=nantong").get_json()["items"]
    assert all(t["citizen"]["phone"] in (None, "138****1111") for t in listed)


def test_every_unmasked_view_is_logged_for_the_auditors(as_user, db):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(dispatcher)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    _citizen(as_user("nt_chongchuan.handler"), ticket["id"])
    _citizen(as_user("analyst"), ticket["id"])                         # masked: not logged
    views = as_user("auditor").get(f"/api/v1/tickets/{ticket['id']}/personal-data-views").get_json()["items"]
    who = {(v["username"], v["purpose"]) for v in views}
    assert ("nt_chongchuan.handler", f"GET /api/v1/tickets/{ticket['id']}") in who
    assert "analyst" not in {v["username"] for v in views} and "auditor" not in {v["username"] for v in views}
    assert as_user("nt_chongchuan.handler").get(f"/api/v1/tickets/{ticket['id']}/personal-data-views").status_code == 403
    with db.unit_of_work() as session:
        assert session.query(PersonalDataView).filter_by(ticket_id=ticket["id"], username="dispatcher").count() >= 1


def test_pages_show_the_mask_to_those_who_may_not_see(as_user, client):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(dispatcher)
    Browser(client).login("auditor")
    page = client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    assert "138****1111" in page and PHONE not in page and NAME not in page


def test_masks_and_disclosed_replies():
    assert (mask_phone("138-0000-1234"), mask_phone("12345"), mask_phone(None)) == ("138****1234", "1****", None)
    assert (mask_name("欧阳娜娜"), mask_name("王"), mask_name("")) == ("欧***", "王", None)
    reply = ("经办人李明（电话13912345678，座机0513-85551234）已联系诉求人张三，身份证320602199001011234已核实。")
    public = disclosed_text(reply, ["张三", "李明"])
    assert public == "经办人李*（电话139****5678，座机0513-****1234）已联系诉求人张*，身份证320602********1234已核实。"


def test_attachments_are_purged_at_the_end_of_their_retention(as_user, app, db):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(dispatcher)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler = as_user("nt_chongchuan.handler")
    added = upload(handler, ticket["id"], JPEG, "现场.jpg").get_json()
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    as_user("nt_chongchuan.leader").complete(ticket["id"], "approve_reply", {"approved": True})
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    as_user("callback").complete(ticket["id"], "callback", {"satisfied": True})
    settings = app.extensions["hotline_settings"]
    store = AttachmentStore(settings.attachment_dir, settings.max_attachment_bytes)
    with db.unit_of_work() as session:
        closed = parse_iso("2025-11-04T09:00:00+08:00")
        assert purge_expired_attachments(session, FixedClock(closed + timedelta(days=1094)), store) == 0
    with db.unit_of_work() as session:
        assert purge_expired_attachments(session, FixedClock(closed + timedelta(days=1096)), store) == 1
        row = session.get(Attachment, added["id"])
        assert row.purged_at is not None and not (store.directory / row.storage_key[:2] / row.storage_key).exists()
    gone = as_user("dispatcher").get(f"/api/v1/attachments/{added['id']}")
    assert gone.status_code == 404 and "按保存期限删除" in gone.get_json()["error"]["message"]
    assert [e["data"]["attachment_id"] for e in events(dispatcher, ticket["id"], "attachment_purged")] == [added["id"]]
