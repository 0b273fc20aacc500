"""Smart dispatch (智能分拨): per-city category and unit models, their versions and evaluations, and the
suggestion shown to the operator and the dispatcher.

The category model suggests the subject category; the city's ``category_unit`` decision table (in the
active deployment, so analysts edit it like any rule) maps the category to a unit. Once the city has
closed tickets, a unit model trained on the finally responsible unit (so a return teaches it) may
suggest the unit directly. Below the city's confidence threshold nothing is suggested as a decision:
the dispatcher decides. Models only suggest; the dispatcher's choice is what the ticket records.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from functools import lru_cache

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import deployments
from .accounts import Principal
from .ai.classifier import DispatchClassifier, evaluation_report
from .ai.cold_start import cold_start_examples
from .cities import LIFECYCLE_PROCESS, RULES_DIR, city_raw, load_city
from .dmn import evaluate
from .errors import NotFound, PermissionDenied, ValidationFailed, field_error
from .models import AiModel, Ticket
from .spiff import codec_for

TARGETS = ("category", "unit")
TRAIN_ROLES = ("analyst", "admin")
VIEW_ROLES = ("operator", "dispatcher", "supervisor", "analyst", "admin", "auditor")
DEFAULT_THRESHOLD = 0.6
MIN_EXAMPLES = 20
CLOSED_OUTCOMES = ("archived", "final_reply", "answered")
_MODELS: dict[int, DispatchClassifier] = {}
_MODELS_LOCK = threading.Lock()


def city_categories(city: str) -> list[dict]:
    """The city's first-level categories: its city.json ``categories``, else rules/categories.json."""
    raw = city_raw(city)
    if raw.get("categories"):
        return raw["categories"]
    return _default_categories()


@lru_cache(maxsize=1)
def _default_categories() -> list[dict]:
    return json.loads((RULES_DIR / "categories.json").read_text(encoding="utf-8"))["categories"]


def threshold_of(city: str) -> float:
    return float((city_raw(city).get("dispatch_model") or {}).get("threshold", DEFAULT_THRESHOLD))


def lexicon_of(city: str) -> dict[str, list[str]]:
    return {c["code"]: c.get("keywords") or [] for c in city_categories(city)}


@lru_cache(maxsize=8)
def _cold_start_blob(categories_json: str) -> tuple[bytes, dict, int]:
    """Cold-start models are the same for the same categories: train once per process."""
    categories = json.loads(categories_json)
    examples = cold_start_examples(categories)
    titles, contents, labels = zip(*examples)
    model = DispatchClassifier({c["code"]: c.get("keywords") or [] for c in categories}).fit(titles, contents, labels)
    report = {"source": "cold_start", "note": "trained on sentences the project generates from the category keywords",
              "classes": model.classes, "examples": len(examples)}
    return model.to_bytes(), report, len(examples)


class DispatchModelCommands:
    # -- models ------------------------------------------------------------------------------------
    def dispatch_models(self, actor: Principal, city: str) -> list[AiModel]:
        self._require(actor, *VIEW_ROLES)
        return list(self.session.scalars(select(AiModel).where(AiModel.city == city)
                                         .order_by(AiModel.target, AiModel.version.desc())))

    def dispatch_model(self, actor: Principal, model_id: int) -> AiModel:
        self._require(actor, *VIEW_ROLES)
        model = self.session.get(AiModel, model_id)
        if model is None:
            raise NotFound("模型不存在", "No such model")
        return model

    def ensure_cold_start_model(self, city: str) -> AiModel:
        """The city's active category model, training the cold-start one if it has none."""
        active = self._active_model(city, "category")
        if active is not None:
            return active
        load_city(city)
        blob, report, count = _cold_start_blob(json.dumps(city_categories(city), ensure_ascii=False, sort_keys=True))
        return self._store(city, "category", "cold_start", blob, report, count, None, "system")

    def train_dispatch_models(self, actor: Principal, city: str) -> list[AiModel]:
        """Retrain the category and unit models on the city's closed tickets (on demand or on schedule)."""
        if not actor.has(*TRAIN_ROLES, "system"):
            raise PermissionDenied("只有分析员或管理员可以训练分拨模型", "Only an analyst or administrator may train models")
        load_city(city)
        trained = []
        for target in TARGETS:
            rows = self._training_rows(city, target)
            labels = [r[2] for r in rows]
            if len(rows) < MIN_EXAMPLES or len(set(labels)) < 2:
                if target == "category":
                    raise field_error("city", "not_enough_tickets",
                                      f"已办结且有分类的工单不足{MIN_EXAMPLES}件或少于两个分类，暂不能训练",
                                      f"fewer than {MIN_EXAMPLES} closed, categorised tickets or fewer than two categories")
                continue
            trained.append(self._train(city, target, rows, actor.username))
        return trained

    def _training_rows(self, city: str, target: str) -> list[tuple[str, str, str]]:
        column = Ticket.category if target == "category" else Ticket.unit_code
        query = (select(Ticket.title, Ticket.content, column)
                 .where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS, Ticket.status == "closed",
                        Ticket.outcome.in_(CLOSED_OUTCOMES), column.is_not(None), Ticket.merged_into_id.is_(None))
                 .order_by(Ticket.id.desc()).limit(200_000))
        return [tuple(r) for r in self.session.execute(query)]

    def _train(self, city: str, target: str, rows: list, actor: str) -> AiModel:
        titles, contents, labels = map(list, zip(*rows))
        lexicon = lexicon_of(city) if target == "category" else None
        threshold = threshold_of(city)
        report: dict = {"source": "closed_tickets", "classes": sorted(set(labels)), "examples": len(rows)}
        counts = Counter(labels)
        # Held-out check when every class has at least two tickets: 80 % train, 20 % test, stratified.
        if min(counts.values()) >= 2 and len(rows) >= 2 * len(counts):
            from sklearn.model_selection import train_test_split
            idx = list(range(len(rows)))
            tr, te = train_test_split(idx, test_size=max(0.2, len(counts) / len(rows)), stratify=labels, random_state=0)
            probe = DispatchClassifier(lexicon).fit([titles[i] for i in tr], [contents[i] for i in tr],
                                                    [labels[i] for i in tr])
            preds = probe.predict([titles[i] for i in te], [contents[i] for i in te])
            report["holdout"] = evaluation_report([labels[i] for i in te], [p.label for p in preds],
                                                  [p.confidence for p in preds], threshold)
        model = DispatchClassifier(lexicon).fit(titles, contents, labels)
        accuracy = report.get("holdout", {}).get("accuracy")
        return self._store(city, target, "closed_tickets", model.to_bytes(), report, len(rows), accuracy, actor)

    def _store(self, city, target, source, blob, report, count, accuracy, actor) -> AiModel:
        version = (self.session.scalar(select(func.max(AiModel.version)).where(AiModel.city == city,
                                                                                AiModel.target == target)) or 0) + 1
        self.session.execute(update(AiModel).where(AiModel.city == city, AiModel.target == target)
                             .values(active=False))
        model = AiModel(city=city, target=target, version=version, source=source, trained_on=count,
                        accuracy=accuracy, report={**report, "sha256": hashlib.sha256(blob).hexdigest()},
                        active=True, blob=blob, created_by=actor, created_at=self.clock.now())
        self.session.add(model)
        self.session.flush()
        return model

    def _active_model(self, city: str, target: str) -> AiModel | None:
        return self.session.scalar(select(AiModel).where(AiModel.city == city, AiModel.target == target,
                                                         AiModel.active.is_(True)))

    def _classifier(self, row: AiModel) -> DispatchClassifier:
        with _MODELS_LOCK:
            model = _MODELS.get(row.id)
        if model is None or row.report.get("sha256") != getattr(model, "sha256", None):
            model = DispatchClassifier.from_bytes(row.blob)
            model.sha256 = row.report.get("sha256")
            with _MODELS_LOCK:
                _MODELS[row.id] = model
        return model

    # -- suggestions -------------------------------------------------------------------------------
    def dispatch_suggestion(self, actor: Principal, ticket_id: int) -> dict:
        ticket = self.get_ticket(actor, ticket_id)
        self._require(actor, *VIEW_ROLES)
        return self._suggest(ticket.city, ticket.title, ticket.content)

    def suggest_for_text(self, actor: Principal, city: str, title: str, content: str) -> dict:
        self._require(actor, *VIEW_ROLES)
        load_city(city)
        return self._suggest(city, title, content)

    def _suggest(self, city: str, title: str, content: str) -> dict:
        threshold = threshold_of(city)
        names = {c["code"]: c["name_zh"] for c in city_categories(city)}
        category_row = self.ensure_cold_start_model(city)
        prediction = self._classifier(category_row).predict([title], [content])[0]
        category = {"code": prediction.label, "name": names.get(prediction.label, prediction.label),
                    "confidence": round(prediction.confidence, 3), "confident": prediction.confidence >= threshold,
                    "alternatives": [{"code": c, "name": names.get(c, c), "confidence": round(p, 3)}
                                     for c, p in prediction.alternatives],
                    "model": {"id": category_row.id, "version": category_row.version, "source": category_row.source}}
        unit = None
        unit_row = self._active_model(city, "unit")
        if unit_row is not None:
            up = self._classifier(unit_row).predict([title], [content])[0]
            if up.confidence >= threshold:
                unit = {"code": up.label, "confidence": round(up.confidence, 3), "source": "model",
                        "model": {"id": unit_row.id, "version": unit_row.version}}
        if unit is None and category["confident"]:
            rule_unit = self._rule_unit(city, prediction.label)
            if rule_unit:
                unit = {"code": rule_unit, "confidence": category["confidence"], "source": "rule",
                        "decision": "category_unit"}
        if unit is not None:
            unit["name"] = self._unit_name(city, unit["code"])
        return {"city": city, "threshold": threshold, "category": category, "unit": unit,
                "decided_by": "suggestion" if unit is not None else "dispatcher"}

    def _rule_unit(self, city: str, category: str) -> str | None:
        codec = codec_for(deployments.active_deployment(self.session, city))
        if "category_unit" not in codec.decisions:
            return None
        result = evaluate(codec.decisions, "category_unit", {"category": category})
        return result.outputs.get("recommended_unit") or None

    def _unit_name(self, city: str, code: str) -> str:
        unit = load_city(city).unit(code)
        return unit["name"] if unit else code


def retrain_all(session: Session, clock, *, min_new: int = 50) -> list[AiModel]:
    """The scheduled retraining: each city with at least ``min_new`` tickets closed since its last model."""
    from .accounts import SYSTEM
    from .facade import Hotline
    hotline = Hotline(session, clock)
    trained = []
    for city in session.scalars(select(Ticket.city).distinct()):
        last = session.scalar(select(func.max(AiModel.created_at)).where(AiModel.city == city,
                                                                         AiModel.source == "closed_tickets"))
        query = select(func.count()).select_from(Ticket).where(Ticket.city == city, Ticket.status == "closed",
                                                                Ticket.category.is_not(None))
        if last is not None:
            query = query.where(Ticket.closed_at > last)
        if session.scalar(query) >= min_new:
            try:
                trained.extend(hotline.train_dispatch_models(SYSTEM, city))
            except ValidationFailed:
                continue
    return trained
