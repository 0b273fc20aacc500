"""Hot words: the keywords of a period's new tickets, overall or by area (district) and by category, and
the terms rising against the previous period of equal length.

Pure computation over ``clustering.Record`` rows; ``engine/insights.py`` reads the two periods.

Weighting
  Each ticket's jieba words (title and content, stop words out) get sublinear TF × IDF, where the IDF is
  over all of the period's tickets (the whole city), and each ticket's vector is scaled to unit length. A
  group's term weight is the sum over its tickets, so a word many tickets use strongly comes first, and a
  word every ticket of the city uses (地址, 电话) weighs little. ``count`` is the number of the group's
  tickets using the term; ``previous`` the same in the previous period.

Rising terms
  growth = (count + s) / (previous + s) with ``SMOOTHING`` s = 1, so a term going from 0 to 1 is not
  "infinitely" rising; a term rises when count ≥ ``MIN_COUNT`` and growth ≥ ``MIN_GROWTH``. Both periods
  have the same length, so counts compare without scaling.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from typing import Iterable

from . import text
from .clustering import CONTENT_CHARS, EXTRA_STOP_WORDS, Record

TOP = 20
MIN_COUNT = 3
MIN_GROWTH = 2.0
SMOOTHING = 1.0
UNKNOWN = None               # the group of tickets with no area / no category

# Names that end like a district but are not one.
_NOT_AREA = re.compile(r"(小区|社区|园区|景区|校区|城区|市区|片区|辖区|街区|厂区|营区|矿区|服务区|全区|全市|全县|本区|本市|我区|我市)$")
_AREA = re.compile(r"(区|县|市)$")
# Words frequent in every period that name no matter (time, discourse), beyond the clustering's stop words.
HOT_STOP_WORDS = EXTRA_STOP_WORDS | frozenset("""
今年 去年 明年 明天 后天 上次 这次 每次 还是 一起 哪些 哪里 哪个 多少 怎么办 怎么 一下 之前 之后 以后 以前 时间 已 经常 每天
然后 而且 并且 不是 就是 还有 只有 所有 一直 其他 什么 可能 应该 需要 知道 觉得 发现 出现 导致 造成
""".split())


def area_names(unit_names: Iterable[str]) -> list[str]:
    """District names from the units of type district ("崇川区人民政府" -> "崇川区")."""
    names = []
    for name in unit_names:
        short = re.sub(r"(人民政府|政府)$", "", name or "")
        if _AREA.search(short) and short not in names:
            names.append(short)
    return names


def area_of(record: Record, known: Iterable[str] = (), exclude: Iterable[str] = (),
            unit_area: str | None = None) -> str | None:
    """The district a ticket is about: a known district named in its address, title or content (also
    without its 区/县/市: "崇川"), else the district of the unit it went to, else a district-like name from
    ``text.places`` (address and title first), else None. ``exclude`` holds the city's own name."""
    known = list(known)
    excluded = set(exclude)
    sources = (record.address, record.title, (record.content or "")[:CONTENT_CHARS])
    for source in sources:
        value = text.normalise(source)
        if not value:
            continue
        for name in known:
            stem = name[:-1] if len(name) > 2 else name
            if name in value or (len(stem) >= 2 and stem in value):
                return name
    if unit_area:
        return unit_area
    for source in sources:
        for name in text.places(source):
            if _AREA.search(name) and not _NOT_AREA.search(name) and name not in excluded and len(name) <= 6:
                return name
    return UNKNOWN


def terms_of(record: Record) -> Counter:
    """The ticket's words with their counts (title and the start of the content)."""
    words = text.words(record.title) + text.words((record.content or "")[:CONTENT_CHARS])
    return Counter(w for w in words if w not in HOT_STOP_WORDS and not w.isdigit())


def hot_words(current: list[Record], previous: list[Record], *, group_of=None, top: int = TOP,
              min_count: int = MIN_COUNT, min_growth: float = MIN_GROWTH, smoothing: float = SMOOTHING) -> dict:
    """Top terms and rising terms per group.

    ``group_of(record)`` names a record's group (an area, a category); None puts every ticket in one group.
    Returns ``{"tickets", "previous_tickets", "groups": [{"group", "tickets", "previous_tickets", "terms",
    "rising"}]}``, groups by size; each term is ``{"term", "count", "previous", "growth", "weight"}``."""
    group_of = group_of or (lambda _record: UNKNOWN)
    bags = [terms_of(r) for r in current]
    frequency = Counter(term for bag in bags for term in bag)
    n = len(current)
    idf = {term: math.log((1 + n) / (1 + df)) + 1 for term, df in frequency.items()}

    weights: dict = defaultdict(Counter)
    counts: dict = defaultdict(Counter)
    sizes: Counter = Counter()
    for record, bag in zip(current, bags):
        group = group_of(record)
        sizes[group] += 1
        vector = {term: (1 + math.log(tf)) * idf[term] for term, tf in bag.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        for term, value in vector.items():
            weights[group][term] += value / norm
            counts[group][term] += 1

    before: dict = defaultdict(Counter)
    previous_sizes: Counter = Counter()
    for record in previous:
        group = group_of(record)
        previous_sizes[group] += 1
        before[group].update(terms_of(record).keys())

    groups = []
    for group in sizes:
        def entry(term):
            count, prior = counts[group][term], before[group][term]
            return {"term": term, "count": count, "previous": prior,
                    "growth": round((count + smoothing) / (prior + smoothing), 3),
                    "weight": round(weights[group][term], 4)}
        ranked = sorted(weights[group], key=lambda t: (-weights[group][t], t))
        rising = [entry(t) for t in counts[group]
                  if counts[group][t] >= min_count
                  and (counts[group][t] + smoothing) / (before[group][t] + smoothing) >= min_growth]
        rising.sort(key=lambda e: (-e["growth"], -e["count"], e["term"]))
        groups.append({"group": group, "tickets": sizes[group], "previous_tickets": previous_sizes[group],
                       "terms": [entry(t) for t in ranked[:top]], "rising": rising[:top]})
    groups.sort(key=lambda g: (-g["tickets"], g["group"] is None, str(g["group"])))
    return {"tickets": n, "previous_tickets": len(previous), "groups": groups}
