"""Every UI string key used by a template has both a Chinese and an English text (no key leaks to a page)."""
from __future__ import annotations

import re
from pathlib import Path

from api.i18n import EVENT_NAMES, OUTCOME_NAMES, STATUS_NAMES, STRINGS, TRIGGER_NAMES
from engine.cases import SUPERVISION_TRIGGERS
from engine.runtime import TASK_STATUS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [*(ROOT / "api" / "templates").glob("*.html"), *(ROOT / "forms" / "templates").glob("*.html")]
LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z0-9_]+)['"]\s*\)""")


def test_every_literal_key_in_the_templates_is_translated():
    used = {key for path in TEMPLATES for key in LITERAL_KEY.findall(path.read_text(encoding="utf-8"))}
    assert used, "no t('...') calls found: the pattern is wrong"
    missing = sorted(used - set(STRINGS))
    assert missing == []
    assert all(zh and en for zh, en in STRINGS.values())


def test_every_status_event_and_trigger_has_a_name():
    assert set(TASK_STATUS.values()) | {"new", "closed"} <= set(STATUS_NAMES)
    assert set(SUPERVISION_TRIGGERS) <= set(TRIGGER_NAMES)
    for event in ("ticket_upgraded", "supervision_opened", "supervision_decided", "supervision_order_issued",
                  "supervision_closed", "discipline_referral", "consultation_opened", "minutes_filed",
                  "case_task_created", "consultation_concluded", "signal_received"):
        assert event in EVENT_NAMES
    assert {"final_reply", "resolved", "referred", "concluded"} <= set(OUTCOME_NAMES)
