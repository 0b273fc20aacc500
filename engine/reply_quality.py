"""Reply quality check before the centre's review: the elements a city's rules require in a reply, the
hollow phrases they forbid (rules/<city>/city.json "reply_quality", from the seeds), and how close the
reply is to the request (cosine of character bigrams: a reply that does not speak to the request scores
low). The handler sees the problems before submitting; the centre still decides."""
from __future__ import annotations

import math
import re
from collections import Counter

from .cities import city_raw

LOW_RELEVANCE = 0.05


def _bigrams(text: str) -> Counter:
    chars = [c for c in text if c.isalnum()]
    return Counter(a + b for a, b in zip(chars, chars[1:]))


def relevance(request: str, reply: str) -> float:
    a, b = _bigrams(request), _bigrams(reply)
    dot = sum(a[k] * b[k] for k in a.keys() & b.keys())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return round(dot / norm, 3) if norm else 0.0


def check_reply(city: str, request: str, reply: str) -> dict:
    rules = city_raw(city).get("reply_quality") or {}
    problems = []
    for phrase in rules.get("forbidden", []):
        if phrase in reply:
            problems.append({"code": "hollow_phrase", "element": phrase,
                             "message_zh": f"答复含无效表述“{phrase}”，将被视为未办结退回",
                             "message_en": f"The reply contains the hollow phrase “{phrase}”, which is sent back"})
    for item in rules.get("required", []):
        if not any(re.search(pattern, reply) for pattern in item["patterns"]):
            problems.append({"code": "missing_element", "element": item["element"],
                             "message_zh": f"答复未写明{item['label']}",
                             "message_en": f"The reply does not state {item.get('label_en', item['element'])}"})
    score = relevance(request, reply)
    if score < LOW_RELEVANCE:
        problems.append({"code": "low_relevance", "element": None,
                         "message_zh": "答复与诉求内容关联度很低，请针对诉求逐一回应",
                         "message_en": "The reply has little to do with the request; answer its points"})
    return {"problems": problems, "relevance": score, "source": rules.get("source")}
