"""The Open311 GeoReport v2 façade over HTTP: each resource as JSON and as XML, a POST becoming a ticket of
the client's city and channel (location, attributes, photo, resend under an Idempotency-Key), refused posts
in Open311's error shape that store nothing, the search filters and the 90-day window, the public view that
never shows the citizen, and the read limit."""
from __future__ import annotations

import io
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, select

from api.security import RateLimit
from engine import setup
from engine.accounts import Principal
from engine.channel_models import IntakeRequest, TicketLocation
from engine.facade import Hotline
from engine.models import Attachment, Event, Ticket
from tests.conftest import complaint

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

ADMIN = Principal("admin", frozenset({"admin"}))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NOW = "2025-11-03T09:00:00+08:00"          # a Monday
POTHOLE = {"service_code": "urban_construction", "lat": "32.0123", "long": "120.8642",
           "address_string": "崇川区青年中路88号3栋502室", "first_name": "三", "last_name": "张",
           "phone": "13800001111", "email": "zhang@example.cn",
           "description": "青年中路88号门口路面塌陷，有一个大坑，电话13800001111，张三反映。",
           "media_url": "https://photos.example.cn/pothole.jpg"}


def make_client(db, clock, *, name="open311-app", kind="open311", city="nantong", channel="app") -> str:
    with db.unit_of_work() as session:
        _client, key = Hotline(session, clock).create_channel_client(ADMIN, city=city, name=name, channel=channel,
                                                                      kind=kind)
    return key


@pytest.fixture
def key(db, clock, city):
    return make_client(db, clock)


@pytest.fixture
def operator(as_user):
    api = as_user("operator")
    api.set_clock(NOW)
    return api


def post(client, key, fmt="json", headers=None, **fields):
    data = {"api_key": key, **POTHOLE, **fields} if key else {**POTHOLE, **fields}
    # a file is (bytes, name): a fresh stream for every request
    data = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in data.items() if v is not None}
    multipart = any(isinstance(v, tuple) for v in data.values())
    return client.post(f"/open311/v2/requests.{fmt}", data=data, headers=headers or {},
                       content_type="multipart/form-data" if multipart else None)


def body(response, fmt):
    """The response as plain data: the JSON, or the XML as (tag, text or children) trees."""
    if fmt == "json":
        assert response.content_type == "application/json; charset=utf-8"
        return response.get_json()
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.data)


def rows(db) -> dict:
    with db.unit_of_work() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (Ticket, Event, TicketLocation, IntakeRequest, Attachment)}


def ticket_of(db, number) -> dict:
    with db.unit_of_work() as session:
        t = session.scalar(select(Ticket).where(Ticket.number == number))
        location = session.get(TicketLocation, t.id)
        received = session.scalar(select(Event).where(Event.ticket_id == t.id, Event.type == "open311_request_received"))
        return {"id": t.id, "channel": t.channel, "category": t.category, "request_type": t.request_type,
                "title": t.title, "content": t.content, "name": t.citizen_name, "phone": t.citizen_phone,
                "address": t.address, "location": location and (location.latitude, location.longitude),
                "received": received and received.data, "status": t.status}


# -- services ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_are_the_citys_categories(client, city, fmt):
    response = client.get(f"/open311/v2/services.{fmt}?jurisdiction_id=nantong")
    assert response.status_code == 200
    data = body(response, fmt)
    if fmt == "json":
        services = data
    else:
        assert data.tag == "services"
        services = [{child.tag: child.text for child in service} for service in data.findall("service")]
    assert len(services) == 15
    first = next(s for s in services if s["service_code"] == "urban_construction")
    assert first["service_name"] == "城乡建设"
    assert first["type"] == "realtime" and first["group"] == "城市建设与环境"
    assert first["metadata"] in (True, "true")
    assert "物业" in first["keywords"] and first["description"].startswith("城乡建设方面的诉求")
    assert list(first) == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]


def test_services_in_english_and_the_default_jurisdiction(client, city):
    english = client.get("/open311/v2/services.json?lang=en").get_json()      # no jurisdiction_id: nantong
    assert {s["service_code"]: s["service_name"] for s in english}["environment"] == "Environmental protection"
    assert client.get("/open311/v2/services.json", headers={"Accept-Language": "en-US"}).get_json() == english


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition_asks_for_request_type_and_title(client, city, fmt):
    data = body(client.get(f"/open311/v2/services/environment.{fmt}"), fmt)
    if fmt == "xml":
        assert data.tag == "service_definition" and data.findtext("service_code") == "environment"
        attributes = data.find("attributes").findall("attribute")
        kinds = attributes[1].find("values").findall("value")
        assert [(v.findtext("key"), v.findtext("name")) for v in kinds][:2] == [("consult", "咨询"), ("help", "求助")]
        assert [(a.findtext("code"), a.findtext("datatype"), a.findtext("variable")) for a in attributes] == \
            [("privacy_notice", "string", "false"), ("request_type", "singlevaluelist", "true"),
             ("title", "string", "true")]
        assert attributes[0].find("datatype_description").text is None      # an absent value: empty element
        return
    assert data["service_code"] == "environment"
    by_code = {a["code"]: a for a in data["attributes"]}
    assert [v["key"] for v in by_code["request_type"]["values"]] == ["consult", "help", "suggestion", "complaint",
                                                                     "report"]
    assert by_code["request_type"]["required"] is False and by_code["title"]["order"] == 3
    assert "values" not in by_code["title"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_and_jurisdiction_are_404_in_open311_format(client, city, fmt):
    response = client.get(f"/open311/v2/services/potholes.{fmt}")
    assert response.status_code == 404 and response.headers["X-Error-Code"] == "not_found"
    data = body(response, fmt)
    if fmt == "json":
        assert data == [{"code": 404, "description": "未找到service_code：potholes"}]
    else:
        assert data.tag == "errors"
        assert [(e.findtext("code"), e.findtext("description")) for e in data] == [("404", "未找到service_code：potholes")]
    english = client.get(f"/open311/v2/services.{fmt}?jurisdiction_id=gotham&lang=en")
    assert english.status_code == 404
    text = english.get_json()[0]["description"] if fmt == "json" else body(english, fmt).findtext("error/description")
    assert text == "jurisdiction_id gotham not found"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(client, city, fmt):
    data = body(client.get(f"/open311/v2/discovery.{fmt}"), fmt)
    if fmt == "json":
        endpoint = data["endpoints"][0]
        assert endpoint["url"] == "http://localhost/open311/v2"
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["formats"] == ["text/xml", "application/json"]
    else:
        assert data.findtext("endpoints/endpoint/url") == "http://localhost/open311/v2"
        assert [f.text for f in data.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


# -- POST ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_post_becomes_a_ticket_of_the_clients_city_and_channel(client, db, key, operator, fmt):
    response = post(client, key, fmt)
    assert response.status_code == 201, response.data
    data = body(response, fmt)
    if fmt == "json":
        [created] = data
        number = created["service_request_id"]
        assert created["account_id"] is None and number in created["service_notice"]
    else:
        number = data.findtext("request/service_request_id")
        assert data.find("request/account_id").text is None and number in data.findtext("request/service_notice")
    assert number.startswith("NT20251103")
    ticket = ticket_of(db, number)
    assert (ticket["channel"], ticket["category"], ticket["request_type"]) == ("app", "urban_construction", "help")
    assert (ticket["name"], ticket["phone"], ticket["address"]) == ("张三", "13800001111", "崇川区青年中路88号3栋502室")
    assert ticket["title"] == POTHOLE["description"][:60] and ticket["content"] == POTHOLE["description"]
    assert ticket["location"] == (32.0123, 120.8642)
    assert ticket["status"] == "dispatching"
    received = ticket["received"]
    assert received["media_url"] == "https://photos.example.cn/pothole.jpg" and received["client"] == "open311-app"
    assert "zhang@example.cn" not in str(received) and "13800001111" not in str(received)
    # the dispatcher sees it as any other ticket, from the app channel
    listed = operator.get(f"/api/v1/tickets?q={number}").get_json()["items"]
    assert [(t["number"], t["channel"]) for t in listed] == [(number, "app")]


def test_attributes_set_the_request_type_and_title_and_a_photo_is_attached(client, db, key, operator):
    response = post(client, key, **{"attribute[request_type]": "complaint", "attribute[title]": "路面塌陷",
                                    "media": (PNG, "坑.png"), "lat": None, "long": None})
    assert response.status_code == 201, response.get_json()
    ticket = ticket_of(db, response.get_json()[0]["service_request_id"])
    assert (ticket["request_type"], ticket["title"], ticket["location"]) == ("complaint", "路面塌陷", None)
    files = operator.get(f"/api/v1/tickets/{ticket['id']}/attachments").get_json()["items"]
    assert [(f["filename"], f["content_type"], f["uploaded_by"]) for f in files] == \
        [("坑.png", "image/png", "channel:open311-app")]
    assert ticket["received"]["media_uploaded"] is True
    assert ticket["received"]["attributes"] == {"request_type": "complaint", "title": "路面塌陷"}


def test_the_key_may_come_in_the_header_and_a_lat_long_alone_is_a_location(client, db, key, operator):
    response = post(client, None, headers={"X-Api-Key": key}, address_string=None, description="路灯不亮")
    assert response.status_code == 201
    ticket = ticket_of(db, response.get_json()[0]["service_request_id"])
    assert (ticket["address"], ticket["location"], ticket["title"]) == (None, (32.0123, 120.8642), "路灯不亮")


@pytest.mark.parametrize("fields, status, code, description", [
    ({"service_code": None}, 400, "validation_failed", "service_code: 缺少必填字段"),
    ({"service_code": "potholes"}, 404, "not_found", "未找到service_code：potholes"),
    ({"lat": None, "long": None, "address_string": None}, 400, "validation_failed",
     "location: 须提供位置：lat和long、address_string或address_id之一"),
    ({"long": None, "address_string": None}, 400, "validation_failed", "long: lat和long须同时提供"),
    ({"lat": "91"}, 400, "validation_failed", "lat: "),
    ({"attribute[colour]": "red"}, 400, "validation_failed", "attribute: 服务定义中没有属性：colour"),
    ({"attribute[request_type]": "praise"}, 400, "validation_failed", "attribute[request_type]: 诉求类型必须是"),
    ({"media_url": "javascript:alert(1)"}, 400, "validation_failed", "media_url: Not a valid URL."),
    ({"nickname": "x"}, 400, "validation_failed", "nickname: 未知字段"),
    ({"media": (b"<html><script>alert(1)</script>", "photo.png")}, 400, "validation_failed",
     "media: 只接受照片（JPEG/PNG/GIF/WebP）和PDF文件"),
    ({"jurisdiction_id": "gotham"}, 404, "not_found", "未找到jurisdiction_id：gotham"),
])
def test_a_refused_post_answers_in_open311_format_and_stores_nothing(client, db, key, operator, fields, status,
                                                                     code, description):
    before = rows(db)
    response = post(client, key, **fields)
    assert response.status_code == status, response.get_json()
    assert response.headers["X-Error-Code"] == code
    [error] = response.get_json()
    assert error["code"] == status and error["description"].startswith(description)
    assert rows(db) == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_or_wrong_key_is_403(client, db, clock, key, operator, fmt):
    generic = make_client(db, clock, name="web-form", kind="generic", channel="web")
    before = rows(db)
    for presented in (None, "hk_not-a-key", generic):
        response = post(client, presented, fmt)
        assert response.status_code == 403
        errors = body(response, fmt)
        text = errors[0]["description"] if fmt == "json" else errors.findtext("error/description")
        assert text == "缺少或无效的接入密钥"
    english = post(client, "wrong", fmt, headers={"Accept-Language": "en"})
    assert english.status_code == 403 and b"Missing or invalid client key" in english.data
    assert rows(db) == before


def test_a_key_is_good_for_its_own_city_only(client, db, clock, key, operator):
    with db.unit_of_work() as session:
        setup.load_city_into_db(session, clock, "suqian")
    before = rows(db)
    response = post(client, key, jurisdiction_id="suqian")
    assert response.status_code == 403 and response.get_json()[0]["description"] == "此api_key不能向suqian提交诉求"
    assert rows(db) == before
    # reads: suqian by name; without a name the city of the Open311 clients, nantong
    suqian = client.get("/open311/v2/services.json?jurisdiction_id=suqian")
    assert suqian.status_code == 200
    created = post(client, key).get_json()[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{created}.json").status_code == 200
    assert client.get(f"/open311/v2/requests/{created}.json?jurisdiction_id=suqian").status_code == 404


def test_a_resend_under_the_same_idempotency_key_answers_with_the_same_request(client, db, key, operator):
    first = post(client, key, headers={"Idempotency-Key": "app-0001"})
    assert first.status_code == 201
    after_first = rows(db)
    again = post(client, key, headers={"Idempotency-Key": "app-0001"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert rows(db) == after_first
    other = post(client, key, headers={"Idempotency-Key": "app-0001"}, description="另一件事")
    assert other.status_code == 409 and other.headers["X-Error-Code"] == "idempotency_key_reused"
    assert rows(db) == after_first
    assert post(client, key, headers={"Idempotency-Key": "x" * 121}).status_code == 400
    # without a key a resend is a new request, as Open311 has it
    assert post(client, key).get_json()[0]["service_request_id"] != first.get_json()[0]["service_request_id"]


# -- reading requests --------------------------------------------------------------------------------
def created(client, key, **fields) -> str:
    response = post(client, key, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()[0]["service_request_id"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_is_public_without_the_citizen(client, key, operator, fmt):
    number = created(client, key)
    response = client.get(f"/open311/v2/requests/{number}.{fmt}")
    assert response.status_code == 200
    assert "张三".encode() not in response.data and b"13800001111" not in response.data
    assert b"zhang@example.cn" not in response.data
    data = body(response, fmt)
    item = data[0] if fmt == "json" else {c.tag: c.text for c in data.find("request")}
    assert item["service_request_id"] == number and item["status"] == "open"
    assert item["status_notes"] == "已受理，待派发"
    assert item["service_code"] == "urban_construction" and item["service_name"] == "城乡建设"
    assert item["description"] == "青年中路88号门口路面塌陷，有一个大坑，电话138****1111，张*反映。"
    assert item["address"] == "崇川区青年中路88号"
    assert item["requested_datetime"] == "2025-11-03T09:00:00+08:00"
    assert item["media_url"] == "https://photos.example.cn/pothole.jpg"
    assert item["agency_responsible"] is None and item["expected_datetime"] is None
    assert str(item["lat"]) == "32.0123" and str(item["long"]) == "120.8642"
    if fmt == "json":
        assert list(item)[:4] == ["service_request_id", "status", "status_notes", "service_name"]
    assert client.get(f"/open311/v2/requests/NT0000.{fmt}").status_code == 404


def test_status_notes_follow_the_ticket(client, key, operator, as_user):
    number = created(client, key)
    ticket_id = operator.get(f"/api/v1/tickets?q={number}").get_json()["items"][0]["id"]
    as_user("dispatcher").complete(ticket_id, "dispatch", {"unit": "nt_chongchuan"})
    item = client.get(f"/open311/v2/requests/{number}.json").get_json()[0]
    assert item["status_notes"] == "已派发至崇川区人民政府" and item["agency_responsible"] == "崇川区人民政府"
    due = operator.get(f"/api/v1/tickets/{ticket_id}").get_json()["handle_due_at"]
    assert item["expected_datetime"] == due.split(".")[0].replace("+08:00", "") + "+08:00"
    assert item["service_notice"].startswith("承办单位应于2025-11-")
    english = client.get(f"/open311/v2/requests/{number}.json?lang=en").get_json()[0]
    assert english["status_notes"] == "Dispatched to 崇川区人民政府"
    as_user("nt_chongchuan.handler").complete(ticket_id, "sign", {"decision": "accept"})
    assert client.get(f"/open311/v2/requests/{number}.json").get_json()[0]["status_notes"] == "崇川区人民政府办理中"


def test_a_report_shows_its_status_only(client, key, operator):
    number = created(client, key, **{"attribute[request_type]": "report"})
    item = client.get(f"/open311/v2/requests/{number}.json").get_json()[0]
    assert (item["description"], item["address"], item["lat"], item["media_url"]) == (None, None, None, None)
    assert item["status"] == "open" and item["service_notice"] == "举报类诉求的内容不予公开"


def test_search_filters_window_and_paging(client, key, operator, as_user):
    operator.set_clock("2025-07-01T09:00:00+08:00")
    old = created(client, key)                                    # 125 days before "now"
    operator.set_clock("2025-10-20T09:00:00+08:00")
    environment = created(client, key, service_code="environment")
    answered = operator.post("/api/v1/tickets", json=complaint(
        request_type="consult", direct_answer="可在线办理。", category="health")).get_json()
    operator.set_clock(NOW)
    recent = created(client, key)
    phone_ticket = operator.post("/api/v1/tickets", json=complaint()).get_json()["number"]

    def search(query="", fmt="json"):
        response = client.get(f"/open311/v2/requests.{fmt}?{query}")
        assert response.status_code == 200, response.data
        if fmt == "xml":
            return [r.findtext("service_request_id") for r in body(response, fmt).findall("request")]
        return [r["service_request_id"] for r in response.get_json()]

    everything = [phone_ticket, recent, answered["number"], environment]
    assert search() == everything == search(fmt="xml")         # the last 90 days, newest first
    assert search("status=closed") == [answered["number"]]
    assert search("status=open") == [phone_ticket, recent, environment]
    assert search("status=open,closed") == everything == search("status=open&status=closed")
    assert search("service_code=environment,health") == [answered["number"], environment]
    assert search("start_date=2025-06-15T00:00:00Z&end_date=2025-09-01T00:00:00Z") == [old]
    assert search("start_date=2025-10-25T00:00:00%2B08:00") == [phone_ticket, recent]
    assert search("end_date=2025-10-21T00:00:00Z") == [answered["number"], environment]
    assert search(f"service_request_id={old},{recent}&status=closed&service_code=health") == [recent, old]
    assert search("page_size=2") == everything[:2] and search("page_size=2&page=2") == everything[2:]
    assert search("jurisdiction_id=nantong&api_key=&service_code=") == everything   # empty means not sent
    closed = client.get(f"/open311/v2/requests/{answered['number']}.json").get_json()[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "已答复办结"
    assert closed["updated_datetime"] == "2025-10-20T09:00:00+08:00"


@pytest.mark.parametrize("query, field", [
    ("start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z", "end_date"),
    ("start_date=2025-06-01T00:00:00Z&end_date=2025-05-01T00:00:00Z", "start_date"),
    ("status=pending", "status.0"), ("page_size=1001", "page_size"), ("start_date=yesterday", "start_date"),
    ("sort=asc", "sort"), ("service_code=potholes", None),
])
def test_a_bad_search_is_refused(client, city, query, field):
    response = client.get(f"/open311/v2/requests.json?{query}")
    [error] = response.get_json()
    if field is None:
        assert response.status_code == 404 and error["description"] == "未找到service_code：potholes"
    else:
        assert response.status_code == 400 and error["description"].startswith(f"{field}: "), error


def test_xml_is_escaped_and_keeps_only_characters_xml_can_carry(client, key, operator):
    number = created(client, key, description="<b>路灯</b> & \"坏了\"\x07\n第二行")
    root = ET.fromstring(client.get(f"/open311/v2/requests/{number}.xml").data)
    assert root.findtext("request/description") == "<b>路灯</b> & \"坏了\"\n第二行"


def test_reads_are_limited_per_client_address_and_posts_are_not(app, client, key, operator):
    app.extensions["hotline_open311_reads"] = RateLimit(2, 60.0)
    assert [client.get("/open311/v2/services.json").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/open311/v2/services.xml")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert ET.fromstring(refused.data).findtext("error/code") == "429"
    assert post(client, key).status_code == 201


def test_unknown_resources_methods_and_oversized_bodies_answer_in_open311_format(app, client, db, key, operator):
    missing = client.get("/open311/v2/tokens/123.xml")
    assert missing.status_code == 404 and ET.fromstring(missing.data).findtext("error/code") == "404"
    wrong = client.delete("/open311/v2/requests.json")
    assert wrong.status_code == 405 and wrong.get_json() == [{"code": 405, "description": "不支持该请求方法"}]
    app.config["MAX_CONTENT_LENGTH"] = 2048
    before = rows(db)
    response = post(client, key, "xml", media=(PNG * 64, "big.png"))
    assert response.status_code == 413 and ET.fromstring(response.data).findtext("error/description") == "上传内容过大"
    assert rows(db) == before


def test_the_openapi_document_lists_the_facade(client, operator):
    paths = operator.get("/api/v1/openapi.json").get_json()["paths"]
    post_op = paths["/open311/v2/requests.json"]["post"]
    assert "application/x-www-form-urlencoded" in post_op["requestBody"]["content"]
    assert [p["name"] for p in paths["/open311/v2/services/{service_code}.json"]["get"]["parameters"]][0] == \
        "service_code"
