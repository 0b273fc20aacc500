"""Chinese text helpers shared by every intelligence feature: normalising, words (jieba), character
n-grams, and the place a request is about (district, road, residential compound).

jieba's dictionary loads once per process (about 0.6 s, cached under the temp directory)."""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)
_jieba_lock = threading.Lock()
_jieba_ready = False

# Words that say nothing about the matter: courtesy, the platform itself, pronouns, request verbs.
STOP_WORDS = frozenset("""
的 了 是 在 我 我们 你 你们 他 她 它 他们 这 那 这个 那个 有 和 与 及 或 也 都 就 还 又 而 但 但是 因为 所以 如果
一个 一些 什么 怎么 为什么 如何 能否 能不能 是否 可以 可否 希望 请 请问 请求 恳请 要求 反映 问题 情况 相关 有关 部门
领导 政府 您好 你好 谢谢 感谢 麻烦 尽快 解决 处理 一下 现在 已经 没有 不 没 很 非常 严重 目前 今天 昨天 一直 多次
市民 居民 本人 我家 自己 这里 那里 这样 那样 进行 工作 单位 给予 对于 关于 以及 其中 其他 等 等等 之 其 该 此 被 把 将 让
年 月 日 号 时 分 上 下 中 内 后 前 个 位 次 天 元 人 说 去 来 到 对 从 向 为 以 于 能 会 要 想 应 应该 需要 不能
""".split())

_SPACE = re.compile(r"\s+")
_ALNUM_RUN = re.compile(r"[0-9a-z]+")
_PLACE = re.compile(
    r"([\u4e00-\u9fa5A-Za-z0-9]{1,8}?(?:区|县|市|镇|乡|街道))"
    r"|([\u4e00-\u9fa5A-Za-z0-9]{2,10}?(?:路|大街|大道|巷))"
    r"|([\u4e00-\u9fa5A-Za-z0-9]{2,10}?(?:小区|花园|花苑|家园|新村|公寓|大厦|广场|苑|城|村|社区))")

# Words a greedy match picks up in front of a place name ("位于书院路" -> "书院路").
_LEADING = re.compile(r"^(?:位于|地处|就在|来自|住在|我在|的|于|是|到|从|和|与)+")


def normalise(text: str | None) -> str:
    """Full-width to half-width, lower case, one space for any run of whitespace."""
    if not text:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _ensure_jieba() -> None:
    global _jieba_ready
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.initialize()
                _jieba_ready = True


def words(text: str | None, *, keep_stop_words: bool = False) -> list[str]:
    """jieba words of the normalised text, without punctuation, single characters and stop words."""
    _ensure_jieba()
    result = []
    for word in jieba.lcut(normalise(text)):
        word = word.strip()
        if not word or not any(ch.isalnum() for ch in word):
            continue
        if not keep_stop_words and (word in STOP_WORDS or (len(word) == 1 and not word.isdigit())):
            continue
        result.append(word)
    return result


def char_ngrams(text: str | None, sizes: tuple[int, ...] = (2, 3)) -> list[str]:
    """Overlapping character n-grams of the CJK/alphanumeric runs (punctuation breaks a run)."""
    grams = []
    for run in re.findall(r"[\u4e00-\u9fa5a-z0-9]+", normalise(text)):
        for n in sizes:
            grams.extend(run[i:i + n] for i in range(len(run) - n + 1))
    return grams


@lru_cache(maxsize=4096)
def places(text: str | None) -> tuple[str, ...]:
    """Place names the text mentions (``A5区``, ``劳动东路``, ``魅力之城小区``), longest first."""
    found = []
    for match in _PLACE.finditer(normalise(text)):
        name = _LEADING.sub("", next(g for g in match.groups() if g).split("的")[-1])
        if name not in found and len(name) >= 2:
            found.append(name)
    return tuple(sorted(found, key=len, reverse=True))


def document(title: str | None, content: str | None, *, title_weight: int = 3) -> str:
    """The text a model sees: the title repeated (it names the matter) followed by the content."""
    title = normalise(title)
    return "\n".join([title] * title_weight + [normalise(content)])
