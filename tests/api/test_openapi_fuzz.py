"""API fuzzing: schemathesis generates requests from the whole OpenAPI document (/api/v1/openapi.json) and
sends them to the app, signed in as an administrator (the widest reach), against a world with tickets, tasks,
cases, attachments, reports and knowledge entries (tests/api/authz_support.py).

Every answer must be below 500, documented for its operation, of the documented content type, and match the
documented response schema. Bounded in time: a fixed number of examples per operation, derandomized so CI
runs the same requests every time (HOTLINE_FUZZ_EXAMPLES raises it for a deeper local run).
"""
from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from api.openapi import document
from tests.api import authz_support as Z
from tests.conftest import ApiClient

EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, sqlite_template, demo_hash):
    app = Z.make_app(tmp_path_factory.mktemp("fuzz"), sqlite_template, demo_hash)
    Z.build_world(app)
    yield app
    app.extensions["hotline_db"].dispose()


@pytest.fixture(scope="module")
def client_keys(fuzz_app, admin_headers):
    """Keys of a generic channel client and an upstream platform, for the operations machines call."""
    keys = {}
    for name, channel, kind in (("fuzz-web", "web", "generic"), ("fuzz-province", "provincial_platform", "upstream")):
        response = fuzz_app.test_client().post("/api/v1/admin/channel-clients", headers=admin_headers, json={
            "city": "nantong", "name": name, "channel": channel, "kind": kind})
        assert response.status_code == 201, response.get_json()
        keys[kind] = response.get_json()["key"]
    return keys


# Built eagerly from the same document the app serves (api/openapi.py); the app to call is attached in the
# test (schemathesis' lazy from_fixture loader does not work with pytest 9).
schema = schemathesis.openapi.from_dict(document())


@pytest.fixture(scope="module")
def admin_headers(fuzz_app):
    return ApiClient(fuzz_app.test_client(), "admin").headers


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_documented_contract(case, fuzz_app, admin_headers, client_keys):
    case.operation.schema.app = fuzz_app          # the WSGI app (attached here: the schema was loaded from a dict)
    headers = admin_headers
    if case.path == "/api/v1/auth/revoke":        # revoke a token of its own, not the one the walk goes on with
        headers = ApiClient(fuzz_app.test_client(), "admin").headers
    elif case.path.startswith("/api/v1/channel/"):
        headers = {"X-Api-Key": client_keys["generic"], "Idempotency-Key": uuid.uuid4().hex}
    elif case.path.startswith("/api/v1/upstream/"):
        headers = {"X-Api-Key": client_keys["upstream"]}
    case.call_and_validate(headers=headers, checks=CHECKS, app=fuzz_app)
