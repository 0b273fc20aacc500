"""Smart dispatch: the cold-start suggestion, the category→unit rule, retraining on closed tickets, model
versions and reports, and `flask ai evaluate`."""
from __future__ import annotations

import csv
import random

from sqlalchemy import select, update

from engine.ai.cold_start import cold_start_examples
from engine.dispatch_model import city_categories
from engine.models import AiModel, Ticket
from tests.api.escalation_support import start
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

ELEVATOR = dict(title="小区电梯坏了物业不修", content="我们小区的电梯坏了一个多月，物业公司一直不维修，老人上下楼很困难。")


def test_cold_start_suggests_category_and_the_rule_table_unit(as_user):
    dispatcher = as_user("dispatcher")
    ticket = start(dispatcher, **ELEVATOR)
    response = dispatcher.get(f"/api/v1/tickets/{ticket['id']}/dispatch-suggestion")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["category"]["code"] == "urban_construction" and body["category"]["name"] == "城乡建设"
    assert body["category"]["model"]["source"] == "cold_start" and body["threshold"] == 0.6
    if body["category"]["confident"]:
        assert body["unit"] == {**body["unit"], "code": "nt_housing", "source": "rule", "decision": "category_unit"}
        assert body["decided_by"] == "suggestion"
    else:
        assert body["unit"] is None and body["decided_by"] == "dispatcher"
    models = dispatcher.get("/api/v1/ai/models?city=nantong").get_json()["items"]
    assert [(m["target"], m["version"], m["source"], m["active"]) for m in models] == [("category", 1, "cold_start", True)]


def test_low_confidence_leaves_the_decision_to_the_dispatcher(as_user):
    dispatcher = as_user("dispatcher")
    body = dispatcher.post("/api/v1/dispatch-suggestion",
                           json={"city": "nantong", "title": "你好", "content": "请问一下"}).get_json()
    assert body["category"]["confident"] is False and body["unit"] is None and body["decided_by"] == "dispatcher"


def test_dispatch_records_the_category(as_user):
    dispatcher = as_user("dispatcher")
    ticket = start(dispatcher, **ELEVATOR)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_housing", "category": "urban_construction"})
    assert dispatcher.get(f"/api/v1/tickets/{ticket['id']}").get_json()["category"] == "urban_construction"


def _closed_tickets(db, dispatcher, count):
    """Tickets closed with a category and a final unit (the training labels), via intake + DB labels."""
    examples = cold_start_examples(city_categories("nantong")[:3], per_category=count // 3 + 1, seed=3)
    units = {"urban_construction": "nt_housing", "environment": "nt_ecology", "transport": "nt_transport"}
    ids = []
    for title, content, category in examples[:count]:
        ids.append((start(dispatcher, title=title, content=content)["id"], category))
    with db.unit_of_work() as session:
        for ticket_id, category in ids:
            session.execute(update(Ticket).where(Ticket.id == ticket_id).values(
                status="closed", outcome="archived", category=category, unit_code=units[category]))


def test_training_needs_enough_closed_tickets_and_the_right_role(as_user, db):
    analyst = as_user("analyst")
    response = analyst.post("/api/v1/ai/models", json={"city": "nantong"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["city"][0]["code"] == "not_enough_tickets"
    assert as_user("dispatcher").post("/api/v1/ai/models", json={"city": "nantong"}).status_code == 403


def test_retraining_on_closed_tickets_versions_models_with_reports(as_user, db):
    dispatcher, analyst = as_user("dispatcher"), as_user("analyst")
    dispatcher.get(f"/api/v1/tickets/{start(dispatcher, **ELEVATOR)['id']}/dispatch-suggestion")   # cold start v1
    _closed_tickets(db, dispatcher, 30)
    response = analyst.post("/api/v1/ai/models", json={"city": "nantong"})
    assert response.status_code == 201, response.get_json()
    trained = {m["target"]: m for m in response.get_json()["items"]}
    assert trained["category"]["version"] == 2 and trained["unit"]["version"] == 1
    assert trained["category"]["source"] == "closed_tickets" and trained["category"]["trained_on"] == 30
    holdout = trained["category"]["report"]["holdout"]
    assert set(holdout["per_class"]) <= {"urban_construction", "environment", "transport"}
    assert 0 <= holdout["accuracy"] <= 1 and trained["category"]["accuracy"] == holdout["accuracy"]
    models = analyst.get("/api/v1/ai/models?city=nantong").get_json()["items"]
    assert [(m["target"], m["version"], m["active"]) for m in models] == \
        [("category", 2, True), ("category", 1, False), ("unit", 1, True)]
    one = analyst.get(f"/api/v1/ai/models/{trained['unit']['id']}").get_json()
    assert one["report"]["classes"] == ["nt_ecology", "nt_housing", "nt_transport"]
    # The suggestion now comes from the new models; the unit model learnt the final units.
    body = dispatcher.post("/api/v1/dispatch-suggestion", json={"city": "nantong", **ELEVATOR}).get_json()
    assert body["category"]["model"]["version"] == 2
    assert body["category"]["code"] in {"urban_construction", "environment", "transport"}
    assert analyst.get("/api/v1/ai/models/999999").status_code == 404


def test_models_are_stored_without_pickles(as_user, db):
    dispatcher = as_user("dispatcher")
    dispatcher.get(f"/api/v1/tickets/{start(dispatcher, **ELEVATOR)['id']}/dispatch-suggestion")
    with db.unit_of_work() as session:
        blob = session.scalar(select(AiModel.blob))
    assert blob[:2] == b"PK" and b"pickle" not in blob     # a zip of .npy arrays


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["标题", "内容", "分类"])
        writer.writeheader()
        writer.writerows(rows)


def test_flask_ai_evaluate_prints_accuracy_and_per_class_figures(app, tmp_path):
    examples = cold_start_examples(city_categories("nantong")[:4], per_category=30, seed=1)
    random.Random(0).shuffle(examples)
    rows = [{"标题": t, "内容": c, "分类": label} for t, c, label in examples]
    _write(tmp_path / "train.csv", rows[:90])
    _write(tmp_path / "test.csv", rows[90:])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ai", "evaluate", "--train", str(tmp_path / "train.csv"), "--test",
                                 str(tmp_path / "test.csv"), "--text-columns", "标题,内容", "--label-column", "分类"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    accuracy = float(next(l for l in lines if l.startswith("accuracy:")).split()[1])
    assert 0.5 < accuracy <= 1.0 and "trained on 90 rows, tested on 30 rows" in result.output
    assert sum(1 for l in lines if l.split() and l.split()[0] in {"urban_construction", "environment", "transport",
                                                                   "labour_social_security"}) == 4
    bad = runner.invoke(args=["ai", "evaluate", "--train", str(tmp_path / "train.csv"), "--text-columns", "标题",
                              "--label-column", "类别"])
    assert bad.exit_code != 0 and "类别" in bad.output


def test_nightly_retraining_trains_cities_with_enough_newly_closed_tickets(as_user, db, app):
    from engine.scheduler import retrain_dispatch_models
    from engine.testclock import engine_clock
    dispatcher = as_user("dispatcher")
    _closed_tickets(db, dispatcher, 24)
    clock_for = lambda session: engine_clock(session, True)
    assert retrain_dispatch_models(db, clock_for, min_new=100) == 0
    assert retrain_dispatch_models(db, clock_for, min_new=20) == 2
    assert retrain_dispatch_models(db, clock_for, min_new=20) == 0       # nothing new closed since
