"""The cold-start training set: short requests the project writes itself from each category's keywords
(rules/categories.json), so a new city gets category suggestions before it has closed tickets.

The sentences are deliberately plain; they teach the model the vocabulary of each category. The first
retraining on the city's own closed tickets replaces the model.
"""
from __future__ import annotations

import random

PLACES = ("幸福路", "人民路", "青年东路", "工农路", "世纪大道", "滨江花园小区", "锦绣家园", "阳光新村", "学府苑",
          "城东街道", "开发区", "老城区", "高新区", "和平桥附近", "火车站附近", "市中心")
TITLES = ("关于{place}{k1}的问题", "{place}{k1}{k2}问题反映", "咨询{k1}相关事宜", "{place}{k1}问题何时解决",
          "反映{k1}和{k2}的情况", "投诉{place}{k1}")
BODIES = ("我是{place}的居民，最近发现{k1}问题比较突出，{k2}也一直没有人管，希望相关部门尽快调查处理。",
          "您好，想咨询一下{k1}方面的政策，{k2}需要办理什么手续，去哪里办理？",
          "{place}的{k1}问题已经持续很长时间了，涉及{k2}，多次反映没有结果，请求协调解决。",
          "近期{place}出现{k1}情况，影响群众正常生活，另外{k2}也存在隐患，恳请有关单位核实处理。",
          "建议政府重视{k1}问题，完善{k2}相关措施，方便群众办事。")


def cold_start_examples(categories: list[dict], per_category: int = 40, seed: int = 12345) -> list[tuple[str, str, str]]:
    """(title, content, category code) examples, the same for the same input."""
    rng = random.Random(seed)
    examples = []
    for category in categories:
        keywords = list(category.get("keywords") or [category["name_zh"]])
        for _ in range(per_category):
            k1, k2 = rng.sample(keywords, 2) if len(keywords) > 1 else (keywords[0], keywords[0])
            fill = {"place": rng.choice(PLACES), "k1": k1, "k2": k2}
            examples.append((rng.choice(TITLES).format(**fill), rng.choice(BODIES).format(**fill), category["code"]))
    return examples
