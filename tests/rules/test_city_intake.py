"""Intake in every city: the ticket kind by channel, the scope check and directly answered consultations."""
from __future__ import annotations

import pytest

from tests.rules.city_harness import CITIES, A, Run, city_settings, iso


# =========================================================================== ticket kind
DIRECTIVE_CHANNELS = {
    "nantong": {"national_platform", "provincial_platform", "leader_assigned", "cross_unit_major", "early_warning"},
    "rugao": {"national_platform", "provincial_platform", "leader_assigned", "cross_unit_major", "early_warning"},
    "suzhou_ah": {"provincial_platform", "leader_assigned"},
    "changzhou": {"national_platform", "provincial_platform", "leader_assigned"},
    "suqian": {"provincial_platform", "leader_assigned"},
}
CHANNEL_CASES = [(city, c["code"]) for city in CITIES for c in city_settings(city)["channels"]]


@pytest.mark.parametrize("city, channel", CHANNEL_CASES)
def test_channel_kind(city, channel):
    run = Run(city, A, channel=channel)
    assert run.data("dispatch")["kind"] == ("directive" if channel in DIRECTIVE_CHANNELS[city] else "event")


def test_unknown_channel_is_an_event_everywhere():
    for city in CITIES:
        assert Run(city, A, channel="unheard_of").data("dispatch")["kind"] == "event"


# =========================================================================== scope
SCOPES = [
    ("nantong", "litigation", "reject"), ("nantong", "invalid", "reject"), ("nantong", "discipline", "reject"),
    ("rugao", "litigation", "reject"), ("rugao", "disclosure", "reject"), ("rugao", "emergency", "emergency"),
    ("suzhou_ah", "litigation", "reject"), ("suzhou_ah", "arbitration", "reject"),
    ("suzhou_ah", "discipline", "reject"), ("suzhou_ah", "reconsideration", "reject"),
    ("suzhou_ah", "disclosure", "reject"), ("suzhou_ah", "petition", "reject"),
    ("suzhou_ah", "secret_privacy", "reject"), ("suzhou_ah", "public_order", "reject"),
    ("suzhou_ah", "repeat", "reject"), ("suzhou_ah", "outside_jurisdiction", "reject"),
    ("suzhou_ah", "invalid", "accept"), ("suzhou_ah", "emergency", "emergency"),
    ("changzhou", "outside_jurisdiction", "reject"), ("changzhou", "petition", "reject"),
    ("changzhou", "arbitration", "reject"), ("changzhou", "reconsideration", "reject"),
    ("changzhou", "litigation", "reject"), ("changzhou", "secret_privacy", "reject"),
    ("changzhou", "invalid", "reject"), ("changzhou", "emergency", "emergency"),
    ("changzhou", "discipline", "accept"), ("changzhou", "disclosure", "accept"),
    ("suqian", "litigation", "accept"), ("suqian", "petition", "accept"), ("suqian", "arbitration", "accept"),
    ("suqian", "reconsideration", "accept"), ("suqian", "discipline", "reject"), ("suqian", "disclosure", "reject"),
    ("suqian", "outside_jurisdiction", "reject"), ("suqian", "secret_privacy", "reject"),
    ("suqian", "invalid", "reject"), ("suqian", "emergency", "emergency"),
] + [(city, scope, "accept") for city in CITIES for scope in ("normal", "something_new")]


@pytest.mark.parametrize("city, scope, outcome", SCOPES)
def test_scope_check(city, scope, outcome):
    run = Run(city, A, scope=scope)
    if outcome == "accept":
        assert run.ready_names() == ["dispatch"]
        assert run.data("dispatch")["scope_outcome"] == "accept"
        return
    assert run.wf.is_completed()
    data = run.wf.data
    assert data["scope_outcome"] == outcome and data["scope_reason"]
    assert data["outcome"] == ("rejected" if outcome == "reject" else "emergency_transfer")


def test_emergency_reasons_name_the_local_emergency_lines():
    assert "122" in Run("suzhou_ah", A, scope="emergency").wf.data["scope_reason"]
    assert "水上救援" in Run("changzhou", A, scope="emergency").wf.data["scope_reason"]


def test_suqian_dispatches_procedural_matters_with_a_hint_to_guide_the_citizen():
    run = Run("suqian", A, scope="litigation")
    assert "引导" in run.data("dispatch")["scope_reason"]


@pytest.mark.parametrize("city", CITIES)
def test_consult_answered_directly_is_closed(city):
    run = Run(city, A, request_type="consult", direct_answer="请携带身份证到政务服务大厅办理")
    assert run.wf.is_completed() and run.wf.data["outcome"] == "answered"
    assert run.wf.data["closed_at"] == iso(A)
