"""The knowledge base (知识库) through the facade: entries by unit with revisions and audit, permissions,
validation, search for intake (ranking, validity, review flag, cached vectoriser), the review sweep, and
closing a consultation by answering from an entry."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine import accounts, knowledge
from engine.errors import Conflict, InvalidState, PermissionDenied, ValidationFailed
from engine.facade import Hotline
from engine.knowledge import sweep_knowledge_reviews
from engine.models import Event, Message, Ticket
from engine.rulesets import admin_events
from tests.conftest import at, complaint

TODAY = date(2025, 9, 26)          # the clock fixture's day


def principal(session, username):
    return accounts.principal_for_username(session, username)


def entry_data(**overrides) -> dict:
    data = {"unit": "nt_housing", "kind": "script", "title": "租房提取住房公积金的条件和材料",
            "body": "职工在本市无自有住房且租房的，可持身份证、租赁合同申请提取住房公积金，也可在线办理。",
            "keywords": ["公积金", "租房提取"], "category": "labour_social_security",
            "valid_from": TODAY - timedelta(days=30), "valid_until": None, "review_due": TODAY + timedelta(days=90)}
    data.update(overrides)
    return data


def create(db, clock, username="nt_housing.handler", **overrides):
    with db.unit_of_work() as s:
        return Hotline(s, clock).create_knowledge(principal(s, username), "nantong", entry_data(**overrides)).id


def test_an_entry_is_created_changed_and_retired_with_revisions_and_an_audit_trail(db, clock, city):
    with db.unit_of_work() as s:
        facade, handler = Hotline(s, clock), principal(s, "nt_housing.handler")
        data = entry_data()
        del data["unit"]                      # a unit's staff write for their own unit
        entry = facade.create_knowledge(handler, "nantong", data)
        assert (entry.unit_code, entry.revision, entry.status, entry.created_by) == \
            ("nt_housing", 1, "active", "nt_housing.handler")
        entry_id = entry.id
    clock.set(at("2025-09-29T10:00:00"))
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        entry = facade.update_knowledge(principal(s, "nt_housing.leader"), entry_id,
                                        {"body": "新的答复口径：可在线申请，也可到服务网点办理。", "keywords": ["公积金", " 提取 ", "公积金"]},
                                        revision=1)
        assert (entry.revision, entry.updated_by, entry.created_by) == (2, "nt_housing.leader", "nt_housing.handler")
        assert entry.keywords == ["公积金", "提取"]            # trimmed, duplicates dropped
        assert entry.title == "租房提取住房公积金的条件和材料"    # fields not given keep their value
        assert entry.updated_at == at("2025-09-29T10:00:00") and entry.created_at == at("2025-09-26T09:00:00")
    with db.unit_of_work() as s:
        with pytest.raises(Conflict) as stale:           # someone edits what they loaded at revision 1
            Hotline(s, clock).update_knowledge(principal(s, "nt_housing.handler"), entry_id, {"title": "旧版改动"},
                                               revision=1)
        assert stale.value.details == {"revision": 2} and "第2版" in stale.value.message_zh
    with db.unit_of_work() as s:
        entry = Hotline(s, clock).retire_knowledge(principal(s, "nt_housing.handler"), entry_id, revision=2)
        assert (entry.status, entry.revision) == ("retired", 3)
    with db.unit_of_work() as s:
        with pytest.raises(InvalidState):
            Hotline(s, clock).retire_knowledge(principal(s, "admin"), entry_id)
        log = [e for e in admin_events(s, "nantong") if e.type.startswith("knowledge_")]
        assert [(e.type, e.data["revision"], e.actor) for e in log] == [
            ("knowledge_retired", 3, "nt_housing.handler"), ("knowledge_changed", 2, "nt_housing.leader"),
            ("knowledge_created", 1, "nt_housing.handler")]
        assert log[1].data["changed"] == ["body", "keywords"]


def test_units_manage_their_own_entries_centre_roles_read_admins_do_everything(db, clock, city):
    entry_id = create(db, clock)
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        other_unit = principal(s, "nt_chongchuan.handler")
        with pytest.raises(PermissionDenied):
            facade.update_knowledge(other_unit, entry_id, {"title": "改"}, revision=1)
        with pytest.raises(PermissionDenied):
            facade.retire_knowledge(other_unit, entry_id)
        with pytest.raises(PermissionDenied):                    # not for another unit
            facade.create_knowledge(principal(s, "nt_housing.handler"), "nantong", entry_data(unit="nt_chongchuan"))
        with pytest.raises(PermissionDenied):                    # nor hand their entry to another unit
            facade.update_knowledge(principal(s, "nt_housing.handler"), entry_id, {"unit": "nt_chongchuan"}, revision=1)
        for reader in ("operator", "dispatcher"):
            with pytest.raises(PermissionDenied):
                facade.create_knowledge(principal(s, reader), "nantong", entry_data())
            assert facade.get_knowledge(principal(s, reader), entry_id).id == entry_id
            assert [e.id for e in facade.list_knowledge(principal(s, reader), city="nantong")] == [entry_id]
        for outsider in ("analyst", "callback"):
            with pytest.raises(PermissionDenied):
                facade.list_knowledge(principal(s, outsider))
        admin = principal(s, "admin")
        moved = facade.update_knowledge(admin, entry_id, {"unit": "nt_chongchuan"}, revision=1)
        assert moved.unit_code == "nt_chongchuan" and moved.revision == 2
        assert facade.create_knowledge(admin, "nantong", entry_data(unit="nt_ecology")).unit_code == "nt_ecology"


def test_invalid_entries_are_refused_with_a_field_error_per_problem(db, clock, city):
    with db.unit_of_work() as s:
        facade, admin = Hotline(s, clock), principal(s, "admin")
        with pytest.raises(ValidationFailed) as refused:
            facade.create_knowledge(admin, "nantong", entry_data(
                kind="rumour", title="  ", body="", valid_from=date(2025, 10, 1), valid_until=date(2025, 9, 1),
                review_due=None, category="astrology", unit="sz_yongqiao"))
        details = refused.value.details
        assert {f: details[f][0]["code"] for f in details} == {
            "kind": "not_an_option", "title": "required", "body": "required", "valid_until": "before_valid_from",
            "review_due": "required", "category": "not_an_option", "unit": "unknown_unit"}
        assert details["review_due"][0]["message_zh"] == "请填写复核更新期限"
        assert refused.value.message_zh == "知识库条目信息不完整或有误"
        with pytest.raises(ValidationFailed) as too_many:
            facade.create_knowledge(admin, "nantong", entry_data(keywords=[f"词{i}" for i in range(31)]))
        assert too_many.value.details["keywords"][0]["code"] == "too_many"
        assert facade.list_knowledge(admin) == []


def test_lists_filter_by_unit_kind_status_overdue_review_and_text(db, clock, city):
    fund = create(db, clock)
    lift = create(db, clock, kind="policy", title="既有住宅加装电梯补贴", body="加装电梯可申请补贴。", keywords=["加装电梯"],
                  review_due=TODAY - timedelta(days=1))
    school = create(db, clock, "admin", unit="nt_education", kind="policy", title="新生入学报名", body="就近入学。",
                    keywords=["学区"], category=None)
    with db.unit_of_work() as s:
        facade, reader = Hotline(s, clock), principal(s, "operator")
        facade.retire_knowledge(principal(s, "admin"), school)

        def ids(**filters):
            return sorted(e.id for e in facade.list_knowledge(reader, **filters))
        assert ids(city="nantong") == sorted([fund, lift, school])
        assert ids(unit="nt_housing") == sorted([fund, lift])
        assert ids(kind="policy") == sorted([lift, school])
        assert ids(status="active") == sorted([fund, lift])
        assert ids(status="retired") == [school]
        assert ids(review_overdue=True) == [lift]
        assert ids(review_overdue=False) == sorted([fund, school])
        assert ids(q="租房提取") == [fund]            # a keyword
        assert ids(q="补贴") == [lift]                # the body
        assert ids(q="学区") == [school]


def test_search_ranks_the_matching_entry_first_and_skips_unusable_ones(db, clock, city):
    fund = create(db, clock)
    lift = create(db, clock, kind="policy", title="既有多层住宅加装电梯的申请条件和补贴",
                  body="经本单元三分之二以上业主同意，可向区住建部门申请加装电梯并申请补贴。", keywords=["加装电梯", "补贴"],
                  category="urban_construction", review_due=TODAY - timedelta(days=3))
    expired = create(db, clock, title="租房提取公积金（旧口径）", valid_from=date(2024, 1, 1), valid_until=date(2025, 6, 30))
    future = create(db, clock, title="租房提取公积金（新口径）", valid_from=date(2025, 11, 1))
    retired = create(db, clock, title="租房提取公积金（作废）")
    create(db, clock, "admin", unit="nt_education", kind="policy", title="义务教育新生入学报名",
           body="实行免试就近入学，按学区报名。", keywords=["入学", "学区"], category=None)
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        facade.retire_knowledge(principal(s, "admin"), retired)
        operator = principal(s, "operator")
        hits = facade.search_knowledge(operator, "nantong", "请问租房提取住房公积金需要准备哪些材料？")
        ids = [h.entry.id for h in hits]
        assert ids[0] == fund
        assert not {expired, future, retired} & set(ids)
        assert hits[0].matched_keywords == ["公积金", "租房提取"] and hits[0].review_overdue is False
        assert hits[0].score > (hits[1].score if len(hits) > 1 else 0)
        lift_hits = facade.search_knowledge(operator, "nantong", "我家老小区想加装电梯，有没有补贴")
        assert lift_hits[0].entry.id == lift and lift_hits[0].review_overdue is True   # still offered, but flagged
        # On another day other entries are valid: the expired one in its time, the next one from November.
        assert expired in [h.entry.id for h in facade.search_knowledge(operator, "nantong", "租房提取公积金",
                                                                       on=date(2025, 3, 1))]
        november = [h.entry.id for h in facade.search_knowledge(operator, "nantong", "租房提取公积金", on=date(2025, 11, 2))]
        assert future in november and expired not in november
        assert facade.search_knowledge(operator, "nantong", "   ") == []
        assert facade.search_knowledge(operator, "nantong", "租房提取公积金", limit=1)[0].entry.id in (fund, future)
        with pytest.raises(PermissionDenied):
            facade.search_knowledge(principal(s, "analyst"), "nantong", "公积金")


def test_repeated_searches_reuse_the_fitted_vectoriser_until_an_entry_changes(db, clock, city):
    fund = create(db, clock)
    fits = knowledge.FITS["nantong"]
    with db.unit_of_work() as s:
        facade, operator = Hotline(s, clock), principal(s, "operator")
        facade.search_knowledge(operator, "nantong", "公积金提取")
        facade.search_knowledge(operator, "nantong", "租房提取公积金要带什么")
        assert knowledge.FITS["nantong"] == fits + 1
    with db.unit_of_work() as s:
        Hotline(s, clock).update_knowledge(principal(s, "admin"), fund, {"title": "租房提取住房公积金（更新）"}, revision=1)
    with db.unit_of_work() as s:
        facade, operator = Hotline(s, clock), principal(s, "operator")
        hits = facade.search_knowledge(operator, "nantong", "公积金提取")
        assert hits[0].entry.title == "租房提取住房公积金（更新）"
        assert knowledge.FITS["nantong"] == fits + 2


def test_the_review_sweep_tells_the_unit_once_per_deadline(db, clock, city):
    overdue = create(db, clock, review_due=TODAY - timedelta(days=1))
    create(db, clock, title="未到复核期限的条目", review_due=TODAY)        # due today: not yet past
    with db.unit_of_work() as s:
        assert sweep_knowledge_reviews(s, clock) == 1
    with db.unit_of_work() as s:
        messages = list(s.scalars(select(Message).where(Message.kind == "knowledge_review")))
        assert sorted(m.username for m in messages) == ["nt_housing.deputy", "nt_housing.handler", "nt_housing.leader"]
        assert all(m.ticket_id is None and "租房提取住房公积金" in m.title and "2025-09-25" in m.body for m in messages)
        notice = s.scalar(select(Event).where(Event.type == "knowledge_review_due"))
        assert (notice.data["entry_id"], notice.data["review_due"]) == (overdue, "2025-09-25")
    for _ in range(2):
        with db.unit_of_work() as s:
            assert sweep_knowledge_reviews(s, clock) == 0
    # The unit reviews the entry and sets the next deadline; once that passes, it is told again.
    with db.unit_of_work() as s:
        Hotline(s, clock).update_knowledge(principal(s, "nt_housing.handler"), overdue,
                                           {"review_due": TODAY + timedelta(days=10)}, revision=1)
    clock.set(at("2025-10-10T09:00:00"))
    with db.unit_of_work() as s:
        assert sweep_knowledge_reviews(s, clock) == 2         # the reviewed one and the one due on the 26th
    with db.unit_of_work() as s:
        assert len(list(s.scalars(select(Message).where(Message.kind == "knowledge_review")))) == 9


def test_a_consultation_answered_from_an_entry_is_closed_and_records_the_entry(db, clock, city):
    entry_id = create(db, clock)
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        facade.update_knowledge(principal(s, "nt_housing.handler"), entry_id, {"title": "租房提取公积金（答复口径）"},
                                revision=1)
        ticket = facade.start_ticket(principal(s, "operator"), {
            **complaint(request_type="consult", title="租房提取公积金要什么材料", content="想问租房提取公积金需要哪些材料。"),
            "received_at": clock.now(), "knowledge_entry_id": entry_id})
        ticket_id, body = ticket.id, facade.get_knowledge(principal(s, "operator"), entry_id).body
    with db.unit_of_work() as s:
        ticket = s.get(Ticket, ticket_id)
        assert (ticket.status, ticket.outcome, ticket.knowledge_entry_id) == ("closed", "answered", entry_id)
        created = s.scalar(select(Event).where(Event.ticket_id == ticket_id, Event.type == "ticket_created"))
        assert created.data["knowledge_entry"] == {"id": entry_id, "revision": 2, "title": "租房提取公积金（答复口径）"}
        assert created.data["start_data"]["direct_answer"] == body          # the entry's text is the answer
        # The operator's own wording wins over the entry's text, and the entry is still recorded.
        own = Hotline(s, clock).start_ticket(principal(s, "operator"), {
            **complaint(request_type="consult"), "received_at": clock.now(), "knowledge_entry_id": entry_id,
            "direct_answer": "您好，租房提取需身份证和租赁合同。"})
        assert own.outcome == "answered" and own.knowledge_entry_id == entry_id
        own_created = s.scalar(select(Event).where(Event.ticket_id == own.id, Event.type == "ticket_created"))
        assert own_created.data["start_data"]["direct_answer"] == "您好，租房提取需身份证和租赁合同。"


@pytest.mark.parametrize("case, code", [("complaint", "not_a_consultation"), ("retired", "entry_retired"),
                                        ("expired", "entry_not_valid"), ("missing", "unknown_entry")])
def test_an_entry_that_cannot_answer_the_request_is_refused(db, clock, city, case, code):
    entry_id = create(db, clock, valid_until=TODAY - timedelta(days=1) if case == "expired" else None)
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        if case == "retired":
            facade.retire_knowledge(principal(s, "admin"), entry_id)
        payload = {**complaint(request_type="complaint" if case == "complaint" else "consult"),
                   "received_at": clock.now(), "knowledge_entry_id": entry_id + (999 if case == "missing" else 0)}
        with pytest.raises(ValidationFailed) as refused:
            facade.start_ticket(principal(s, "operator"), payload)
        assert refused.value.details["knowledge_entry_id"][0]["code"] == code
        assert s.scalar(select(Ticket.id)) is None
