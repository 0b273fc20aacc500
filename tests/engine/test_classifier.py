"""The dispatch classifier: learning, calibrated confidence, pickle-free storage, and the bar on real data."""
from __future__ import annotations

import csv
import io
import sys

import numpy as np
import pytest

from engine.ai.classifier import DispatchClassifier, cross_validate, evaluation_report
from engine.ai.cold_start import cold_start_examples
from engine.dispatch_model import city_categories
from engine.ai.shared_data import gov_messages_dir

DATA = gov_messages_dir()


@pytest.fixture(scope="module")
def cold_model():
    examples = cold_start_examples(city_categories("nantong"), per_category=20)
    titles, contents, labels = zip(*examples)
    lexicon = {c["code"]: c["keywords"] for c in city_categories("nantong")}
    return DispatchClassifier(lexicon).fit(titles, contents, labels)


def test_cold_start_model_reads_plain_requests(cold_model):
    preds = cold_model.predict(["小区电梯坏了物业不管", "公司拖欠工资三个月", "学校招生划片不合理"],
                               ["我们小区的电梯坏了一个月，物业一直不修。", "老板拖欠我们农民工工资，要求支付。",
                                "孩子上小学的学区划分有问题。"])
    assert [p.label for p in preds] == ["urban_construction", "labour_social_security", "education_culture_sports"]
    for p in preds:
        assert 0 < p.confidence <= 1 and all(c < p.confidence for _l, c in p.alternatives)


def test_probabilities_sum_to_one_and_storage_round_trips_without_pickle(cold_model):
    probs = cold_model.probabilities(["道路积水"], ["下雨后道路积水严重"])
    assert probs.shape == (1, len(cold_model.classes)) and abs(probs.sum() - 1) < 1e-9
    blob = cold_model.to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:      # no object arrays anywhere
        assert all(data[k].dtype != object for k in data.files)
    again = DispatchClassifier.from_bytes(blob)
    assert np.allclose(again.probabilities(["道路积水"], ["下雨后道路积水严重"]), probs)
    with pytest.raises(ValueError):
        DispatchClassifier.from_bytes(_npz(meta='{"format": "something else"}'))


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.array(v) for k, v in arrays.items()})
    return buffer.getvalue()


def test_one_label_cannot_be_trained():
    with pytest.raises(ValueError):
        DispatchClassifier().fit(["a", "b"], ["c", "d"], ["x", "x"])


def test_evaluation_report_counts_per_class_and_confident_share():
    report = evaluation_report(["a", "a", "b", "b"], ["a", "b", "b", "b"], [0.9, 0.4, 0.8, 0.7], 0.6)
    assert report["accuracy"] == 0.75 and report["per_class"]["a"]["recall"] == 0.5
    assert report["coverage"] == 0.75 and report["accuracy_above_threshold"] == 1.0
    assert report["confusion"] == [[1, 1], [0, 2]]


@pytest.mark.skipif(not (DATA / "labelled_messages.csv").exists(), reason="no ../shared/data/gov_messages")
def test_real_messages_clearly_beat_a_plain_tfidf_linear_baseline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    csv.field_size_limit(sys.maxsize)
    with open(DATA / "labelled_messages.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    titles, contents, labels = ([r[k] for r in rows] for k in ("留言主题", "留言详情", "一级分类"))
    baseline = cross_val_score(make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000)),
                               [f"{t}\n{c}" for t, c in zip(titles, contents)], labels,
                               cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    report = cross_validate(titles, contents, labels, folds=5)
    assert report["accuracy"] >= baseline + 0.3, (report["accuracy"], baseline)
    assert report["accuracy"] >= 0.7
    assert report["accuracy_above_threshold"] > report["accuracy"]     # confidence means something
