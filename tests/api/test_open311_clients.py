"""Open311 client libraries from PyPI, written by others for real 311 servers, against the running app: the
app served by werkzeug on 127.0.0.1 with the test database, and the clients talking HTTP to it.

* ``georeport`` 0.3.1 (reads only): service list, definition, requests and one request, as JSON and as XML.
* ``three`` 0.8.0, the only client on PyPI that can POST: services, a request with a photo, reading it back,
  searching. It is Python 2 code: it does ``from itertools import ifilter`` at import, so the alias below is
  installed first (the only shim). Its XML reader is Python 2 only too (``dict.keys()[0]``), so it is used
  with JSON, as its default is.
"""
from __future__ import annotations

import itertools
import threading

import pytest
import requests
from werkzeug.serving import make_server

from engine.testclock import set_test_clock
from tests.api.test_open311 import make_client
from tests.conftest import at

itertools.ifilter = filter          # three 0.8.0 imports the Python 2 name; the builtin filter is the same
from three import Three  # noqa: E402
from georeport import GeoReport  # noqa: E402

pytestmark = pytest.mark.replay_all
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture
def served(app, db, clock, city, monkeypatch):
    """The app on a free local port; the engine clock at a fixed Monday; an Open311 client's key."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")      # never send local calls through a proxy
    with db.unit_of_work() as session:
        set_test_clock(session, at("2025-11-03T09:00:00"))
    key = make_client(db, clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/open311/v2", key
    server.shutdown()
    thread.join(timeout=10)


def test_georeport_reads_services_and_definitions_as_json_and_xml(served):
    root, _key = served
    as_json = GeoReport(root_address=root, jurisdiction="nantong")
    as_xml = GeoReport(root_address=root, jurisdiction="nantong", output_format="xml")
    services = as_json.get_service_list()
    assert [s["service_code"] for s in services] == [s["service_code"] for s in as_xml.get_service_list()]
    environment = next(s for s in as_xml.get_service_list() if s["service_code"] == "environment")
    assert (environment["service_name"], environment["type"], environment["metadata"]) == \
        ("环境保护", "realtime", "true")
    definition = as_json.get_service_definition("environment")
    xml_definition = as_xml.get_service_definition("environment")
    assert definition["service_code"] == xml_definition["service_code"] == "environment"
    json_keys = [v["key"] for v in definition["attributes"][1]["values"]]
    xml_keys = [v["key"] for v in xml_definition["attributes"]["attribute"][1]["values"]["value"]]
    assert json_keys == xml_keys == ["consult", "help", "suggestion", "complaint", "report"]
    with pytest.raises(requests.HTTPError) as missing:
        as_json.get_service_definition("potholes")
    assert missing.value.response.status_code == 404
    assert missing.value.response.json() == [{"code": 404, "description": "未找到service_code：potholes"}]


def test_three_posts_a_request_with_a_photo_and_both_libraries_read_it_back(served, tmp_path, as_user):
    root, key = served
    three = Three(root, api_key=key, jurisdiction="nantong")
    assert "environment" in [s["service_code"] for s in three.services()]
    assert three.discovery()["endpoints"][0]["url"] == root
    photo = tmp_path / "smoke.png"
    photo.write_bytes(PNG)
    with photo.open("rb") as media:
        answer = three.post("environment", address="崇川区濠河路1号2幢301室", first_name="四", last_name="李",
                            phone="13900002222", lat="32.0101", long="120.8801", media=media,
                            description="工厂夜间排放黑烟，气味刺鼻。联系电话13900002222。",
                            **{"attribute[request_type]": "complaint"})
    assert three.post_response.status_code == 201
    number = answer[0]["service_request_id"]
    assert number.startswith("NT20251103") and number in answer[0]["service_notice"]

    by_three = three.request(number)[0]
    geo_json = GeoReport(root_address=root, jurisdiction="nantong")
    geo_xml = GeoReport(root_address=root, jurisdiction="nantong", output_format="xml")
    by_json, by_xml = geo_json.get_service_request(number), geo_xml.get_service_request(number)
    assert by_three == by_json
    assert (by_json["status"], by_json["service_code"], by_json["status_notes"]) == ("open", "environment", "已受理，待派发")
    assert by_json["description"] == by_xml["description"] == "工厂夜间排放黑烟，气味刺鼻。联系电话139****2222。"
    assert by_json["address"] == by_xml["address"] == "崇川区濠河路1号"
    assert (by_xml["lat"], by_xml["long"]) == ("32.0101", "120.8801") and by_json["lat"] == 32.0101
    assert "李四" not in str(by_json) + str(by_xml)

    # search it: by id, by service and status, and by a date window (three's own date arguments)
    assert [r["service_request_id"] for r in geo_json.get_service_requests(service_request_id=number)] == [number]
    assert geo_xml.get_service_requests(service_code="environment", status="open")["service_request_id"] == number
    assert [r["service_request_id"] for r in three.requests("environment")] == [number]
    assert [r["service_request_id"] for r in three.requests(start="10-01-2025", end="11-04-2025")] == [number]
    assert three.requests("environment", start="01-01-2025", end="02-01-2025") == []
    assert geo_json.get_service_requests(service_code="environment", status="closed") == []

    # the photo is an attachment the centre reads
    operator = as_user("operator")
    ticket = operator.get(f"/api/v1/tickets?q={number}").get_json()["items"][0]
    assert ticket["citizen"] == {"name": "李四", "phone": "13900002222", "masked": False}
    files = operator.get(f"/api/v1/tickets/{ticket['id']}/attachments").get_json()["items"]
    assert [(f["filename"], f["size"]) for f in files] == [("smoke.png", len(PNG))]


def test_three_sees_refusals_in_open311_format(served):
    root, key = served
    answer = Three(root, api_key="hk_wrong", jurisdiction="nantong").post("environment", address_string="濠河路1号",
                                                                          description="黑烟")
    assert answer == [{"code": 403, "description": "缺少或无效的接入密钥"}]
    three = Three(root, api_key=key, jurisdiction="nantong")
    assert three.post("environment", description="没有位置") == \
        [{"code": 400, "description": "location: 须提供位置：lat和long、address_string或address_id之一"}]
    assert three.post_response.status_code == 400
    assert three.requests() == []
