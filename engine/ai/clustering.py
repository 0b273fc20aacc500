"""Hot issues: which tickets are about the same matter (多人一投) and who wrote more than once (一人多投).

Pure computation over small records; the command that reads the tickets and buckets them by day, week or
month is ``engine/insights.py``.

How two tickets are compared
  Each ticket becomes two TF-IDF vectors fitted on the batch itself, one of its title and one of the start
  of its content (the matter is stated early; the rest is mostly narrative). Each holds jieba words (plus
  the dictionary words inside long ones: 油烟味 → 油烟) and character 2-3-grams (they survive segmentation
  mistakes such as 魅力/之/城), without stop words, with sublinear term frequency. The similarity is
  ``TITLE_WEIGHT`` × title cosine + (1 − ``TITLE_WEIGHT``) × content cosine: one inner product of the two
  unit vectors stacked with square-root weights.

  Places are evidence of their own: the specific places (compound, road, street, village; not a
  district) named in titles and addresses are taken out of the text, and a pair naming the same one has
  its similarity multiplied by ``PLACE_FACTOR`` (万科魅力之城小区 matches 魅力之城小区), a pair naming only
  different ones divided by 2 (``OTHER_PLACE_FACTOR``). So "the same complaint at the same compound" needs
  far less wording in common than two tickets with no place, while two different matters at one compound
  (电梯 and 垃圾 at 紫琅花园) do not look alike for its name.

How tickets are grouped
  Average-link agglomeration cut at ``THRESHOLD``: two groups merge only if the mean similarity over all
  their pairs reaches it, so a chain A~B~C does not pull C in when A and C have nothing in common (single
  link, i.e. plain connected components, would). It runs without an n×n matrix: the pairs at or above the
  threshold come from a sparse self-product of the vectors in row chunks, plus the pairs sharing a place;
  every pair across two connected components of that graph is below the threshold, so their average is
  too and no merge can cross; each component then gets its own dense matrix and scipy's average linkage.
  Up to ``EXACT_UP_TO`` tickets this is exact. For more, the features found in more than
  max(``EXACT_UP_TO``, ``COMMON_SHARE`` × n) tickets (low IDF, but most of the product's cost) are left
  out of the candidate search, which keeps the pairs reaching ``CANDIDATE_SHARE`` (half) of the
  threshold on the rest and then checks their full similarity: a matter's pairs share rare words (the
  place, the object), so this finds them at a fraction of the cost. A component larger
  than ``MAX_COMPONENT`` is split by raising its edge threshold first; one that stays that large up to
  ``MAX_COMPONENT_THRESHOLD`` is a mass of near-copies and is one matter.

  Cost, measured on synthetic batches (one core): 5,000 tickets about 6 s for the text features (jieba)
  and 3 s for the grouping; 20,000 about 17 s + 16 s; 50,000 (a month of a big city) about 45 s + 65 s
  and 2.8 GB. Day and week buckets are small; a month bucket is a report to wait for.

Thresholds, calibrated on the real messages of ``../shared/data/gov_messages/hot_messages.csv`` (the 10
messages about 魅力之城小区's restaurants, the 5 about 经济学院's compulsory internships, 15 unrelated):
unrelated pairs reach at most about 0.06 there, so grouping needs an average of 0.12 (``THRESHOLD``;
the right answer holds from 0.07 to 0.16 with ``PLACE_FACTOR`` 3, and only up to 0.13 with 2.5; without
the place evidence no threshold keeps both groups whole: 360104 shares little text beyond the compound).
On a larger batch the IDF of a matter's words rises and the margin widens.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import jieba
import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from . import text

THRESHOLD = 0.12           # average similarity at which two groups are the same matter
PLACE_FACTOR = 3.0         # multiplies the similarity of two tickets naming the same specific place
OTHER_PLACE_FACTOR = 0.5   # ... and divides that of two naming different ones (文峰路 vs 工农路 施工噪音)
TITLE_WEIGHT = 0.6         # the title names the matter; the content's start supports it
CONTENT_CHARS = 300        # how much of the content is compared
EXACT_UP_TO = 1000         # tickets (and feature frequency) up to which the neighbour search is exact
COMMON_SHARE = 0.02        # beyond, features in more than this share of the tickets are left out of it
CANDIDATE_SHARE = 0.5      # ... and pairs reaching half the threshold on the rest are verified in full
CHUNK = 512                # rows per chunk of the sparse self-product
MAX_COMPONENT = 2000       # largest group given a dense matrix (2000² floats = 32 MB)
MAX_COMPONENT_THRESHOLD = 0.9
TOP_TERMS = 5
CHAR_FEATURES = 2 ** 20    # hashed character n-grams: no vocabulary to hold for a month of tickets

MANY_PEOPLE = "many_people_one_issue"
ONE_PERSON = "one_person_many_tickets"

# Phrasing that says nothing about the matter, beyond text.STOP_WORDS (questions, salutations, titles).
EXTRA_STOP_WORDS = frozenset("""
什么时候 时候 为什么 能否 合理 合理吗 咨询 投诉 举报 建议 影响 严重影响 群众 老百姓 百姓 尊敬 尊敬的 局长 书记 市长
主任 领导干部 有关 有关部门 相关部门 各位 大家 问题 诉求 一名 我们 希望 还请 真的 根本 无法 实在 特别
""".split())
STOP = text.STOP_WORDS | EXTRA_STOP_WORDS
_RUN = re.compile(r"[\u4e00-\u9fa5a-z0-9]+")
# Places that pin a matter down; administrative areas (区 县 市 省) are too wide to be evidence.
_SPECIFIC = re.compile(r"(小区|花园|花苑|家园|新村|公寓|大厦|广场|苑|城|村|社区|路|大街|大道|巷|街道|镇|乡)$")
_GENERIC = re.compile(r"(小区|社区)$")
_REQUEST_VERB = re.compile(r"^(投诉|反映|举报|关于|咨询|请问|建议|希望)+")
_VAGUE = re.compile(r"^(本|该|此|这个|那个|整个|我们|你们|他们|还|在|我)")


@dataclass(frozen=True)
class Record:
    """One ticket as the clustering sees it; ``citizen`` is any stable key of the person (a phone number)."""
    id: int | str
    citizen: str | None
    title: str
    content: str
    received_at: datetime
    address: str | None = None
    category: str | None = None


def tokens(value: str | None) -> tuple[list[str], list[str]]:
    """(words, character 2-3-grams) of a text, both without stop words and punctuation.

    The n-grams are taken over runs of consecutive non-stop tokens, so "A市什么时候能普及5G" contributes
    "普及5g"'s n-grams but none of "什么时候"."""
    words, runs, run = [], [], []
    for token in jieba.lcut(text.normalise(value), HMM=False):
        token = token.strip()
        if not token or not _RUN.fullmatch(token) or token in STOP:
            if run:
                runs.append("".join(run))
                run = []
            continue
        run.append(token)
        if len(token) > 1 or token.isdigit():
            words.append(token)
        if len(token) > 2:
            # the dictionary words inside a long one, as jieba's search mode adds them (油烟味 -> 油烟)
            words.extend(sub for n in (2, 3) for i in range(len(token) - n + 1)
                         if (sub := token[i:i + n]) != token and jieba.dt.FREQ.get(sub) and sub not in STOP)
    if run:
        runs.append("".join(run))
    grams = [gram for r in runs for gram in text.char_ngrams(r)]
    return words, grams


def specific_places(*values: str | None) -> set[str]:
    """Compounds, roads, streets and villages named in the texts (not districts, not "本小区"), with a
    generic trailing 小区/社区 dropped so "魅力之城小区" and "魅力之城" are one name."""
    found = set()
    for value in values:
        for name in text.places(value):
            name = _REQUEST_VERB.sub("", name)
            suffix = _SPECIFIC.search(name)
            if suffix and len(name) - len(suffix.group(1)) >= 2 and not _VAGUE.match(name):
                found.add(_GENERIC.sub("", name) if len(_GENERIC.sub("", name)) >= 3 else name)
    return found


class Vectors:
    """Unit-length (at most) sparse rows and their 0/1 place columns; the similarity the grouping uses."""

    def __init__(self, matrix: sp.csr_matrix, place_matrix: sp.csr_matrix | None = None):
        self.matrix = sp.csr_matrix(matrix)
        self.place_matrix = (sp.csr_matrix(place_matrix) if place_matrix is not None
                             else sp.csr_matrix((self.matrix.shape[0], 1)))

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def subset(self, rows: np.ndarray) -> "Vectors":
        return Vectors(self.matrix[rows], self.place_matrix[rows])

    def similarity(self, rows: np.ndarray) -> np.ndarray:
        """Dense similarities (with the place evidence) among the given rows."""
        block = self.matrix[rows]
        places = self.place_matrix[rows]
        shared = (places @ places.T).toarray() > 0
        named = np.asarray(places.sum(axis=1)).ravel() > 0
        adjusted = _weigh((block @ block.T).toarray(), shared, np.logical_and.outer(named, named))
        np.fill_diagonal(adjusted, 1.0)
        return adjusted


class _Features:
    """A batch's vectors: rows of [√w·title | √(1−w)·content] (each part unit length), its place names,
    and word weights for the top terms."""

    def __init__(self, records: list[Record]):
        # The places are evidence of their own (PLACE_FACTOR), so they are taken out of the text: two
        # tickets about different matters at one compound must not look alike for its name alone.
        self.places = _evidence_places(records)
        title_tokens = [tokens(_without(r.title, names)) for r, names in zip(records, self.places)]
        body_tokens = [tokens(_without((r.content or "")[:CONTENT_CHARS], names))
                       for r, names in zip(records, self.places)]
        all_words = [t[0] + b[0] for t, b in zip(title_tokens, body_tokens)]
        # One vocabulary of words (it names the top terms); n-grams are hashed: no vocabulary to hold.
        self.vocabulary = CountVectorizer(analyzer=_identity).fit(all_words)
        hashing = HashingVectorizer(analyzer=_identity, n_features=CHAR_FEATURES, alternate_sign=False, norm=None)
        blocks = []
        for part, weight in ((title_tokens, TITLE_WEIGHT), (body_tokens, 1 - TITLE_WEIGHT)):
            words = _tfidf(self.vocabulary.transform([t[0] for t in part]))
            grams = _tfidf(hashing.transform([t[1] for t in part]))
            blocks.append(normalize(sp.hstack([words, grams]).tocsr()) * np.sqrt(weight))
        self.vectors = Vectors(sp.hstack(blocks).tocsr().astype(np.float32), _place_matrix(self.places))
        self.word_weights = _tfidf(self.vocabulary.transform(all_words))
        self.names = self.vocabulary.get_feature_names_out()


def _weigh(sims: np.ndarray, shared: np.ndarray, both_named: np.ndarray) -> np.ndarray:
    """The place evidence: the same place multiplies a similarity, two different places divide it."""
    factor = np.where(shared, PLACE_FACTOR, np.where(both_named, OTHER_PLACE_FACTOR, 1.0))
    return np.minimum(1.0, sims * factor)


def _identity(tokens_: list[str]) -> list[str]:
    return tokens_


def _tfidf(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Sublinear TF × smoothed IDF of the batch, each row scaled to unit length."""
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts)


def _evidence_places(records: list[Record]) -> list[set[str]]:
    """Per ticket, the batch's place names it mentions. The names come from titles and addresses
    (short, clean texts); the content counts only where it names one of them (its place names are noisy:
    "严重时楼道里甚至整个小区"). A longer name counts as every known name it ends with (万科魅力之城 →
    魅力之城)."""
    own = [specific_places(r.title, r.address) for r in records]
    known = {name for names in own for name in names}

    def known_suffixes(name: str) -> set[str]:
        return {name[i:] for i in range(len(name) - 2) if name[i:] in known}

    result = []
    for record, names in zip(records, own):
        mentioned = names | specific_places((record.content or "")[:CONTENT_CHARS])
        result.append({key for name in mentioned for key in known_suffixes(name)})
    return result


def _without(value: str | None, names: set[str]) -> str:
    value = text.normalise(value)
    if names:
        value = re.sub("|".join(f"{re.escape(n)}(?:小区|社区)?" for n in sorted(names, key=len, reverse=True)),
                       " ", value)
    return value


def _place_matrix(places: list[set[str]]) -> sp.csr_matrix:
    """Ticket × place name, 0/1."""
    index: dict[str, int] = {}
    rows, cols = [], []
    for row, names in enumerate(places):
        for name in names:
            rows.append(row)
            cols.append(index.setdefault(name, len(index)))
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(places), max(len(index), 1)))


def _edges(vectors: Vectors, threshold: float) -> sp.csr_matrix:
    """Pairs whose similarity (with the place evidence) reaches the threshold, as a sparse 0/1 graph.

    Candidates come from a sparse self-product in row chunks (never an n×n matrix) plus the pairs that
    share a place (only they can reach the threshold with less text in common). Up to ``EXACT_UP_TO``
    tickets the product is over every feature and exact. Beyond, the features in more than
    ``max(EXACT_UP_TO, COMMON_SHARE × n)`` tickets are left out of the product (they cost the most
    and weigh the least: their IDF is low), pairs reaching ``CANDIDATE_SHARE`` of the threshold on the
    rest are candidates, and their full inner product decides."""
    n = len(vectors)
    matrix, places = vectors.matrix, vectors.place_matrix
    frequency = np.diff(matrix.tocsc().indptr)
    common = frequency > max(EXACT_UP_TO, COMMON_SHARE * n)
    search = matrix @ sp.diags((~common).astype(float)) if common.any() else matrix
    search.eliminate_zeros()
    floor = threshold * CANDIDATE_SHARE if common.any() else threshold
    rows, cols, inner = [], [], []
    transposed = search.T.tocsr()
    for start in range(0, n, CHUNK):
        block = (search[start:start + CHUNK] @ transposed).tocoo()
        row, col = block.row + start, block.col
        keep = (col > row) & (block.data >= floor)
        row, col, value = row[keep], col[keep], block.data[keep]
        if common.any() and len(row):
            value = _inner(matrix, row, col)
        rows.append(row)
        cols.append(col)
        inner.append(value)
    row, col, inner = np.concatenate(rows), np.concatenate(cols), np.concatenate(inner)
    # Pairs naming one place that the product did not bring: their inner products computed directly.
    same = sp.triu(places @ places.T, k=1).tocsr()
    same = (same - same.multiply(sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(n, n)))).tocoo()
    same_row, same_col = same.row[same.data > 0], same.col[same.data > 0]
    row, col = np.concatenate([row, same_row]), np.concatenate([col, same_col])
    inner = np.concatenate([inner, _inner(matrix, same_row, same_col)])
    shared = np.asarray(places[row].multiply(places[col]).sum(axis=1)).ravel() > 0
    named = np.asarray(places.sum(axis=1)).ravel() > 0
    keep = _weigh(inner, shared, named[row] & named[col]) >= threshold
    return sp.csr_matrix((np.ones(int(keep.sum())), (row[keep], col[keep])), shape=(n, n))


def _inner(matrix: sp.csr_matrix, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Inner products of the given row pairs, a slice at a time."""
    out = np.empty(len(row))
    for start in range(0, len(row), 50_000):
        r, c = row[start:start + 50_000], col[start:start + 50_000]
        out[start:start + len(r)] = np.asarray(matrix[r].multiply(matrix[c]).sum(axis=1)).ravel()
    return out


def _components(graph: sp.csr_matrix) -> list[np.ndarray]:
    count, labels = connected_components(graph, directed=False)
    return [np.flatnonzero(labels == label) for label in range(count)]


def agglomerate(vectors: Vectors, threshold: float = THRESHOLD) -> list[list[int]]:
    """Average-link groups (row indexes) at the threshold, component by component (see the module
    docstring); singletons included."""
    if len(vectors) <= 1:
        return [[i] for i in range(len(vectors))]
    pending = [(rows, threshold) for rows in _components(_edges(vectors, threshold))]
    groups = []
    while pending:
        rows, edge_threshold = pending.pop()
        if len(rows) == 1:
            groups.append(rows)
        elif len(rows) <= MAX_COMPONENT:
            sims = vectors.similarity(rows)
            distances = np.clip(1 - sims[np.triu_indices(len(rows), 1)], 0, None)
            labels = fcluster(linkage(distances, method="average"), t=1 - threshold, criterion="distance")
            groups.extend(rows[labels == label] for label in np.unique(labels))
        elif edge_threshold < MAX_COMPONENT_THRESHOLD:
            stricter = min(edge_threshold + 0.1, MAX_COMPONENT_THRESHOLD)
            graph = _edges(vectors.subset(rows), stricter)
            pending.extend((rows[part], stricter) for part in _components(graph))
        else:
            groups.append(rows)          # near-copies all the way down: one matter
    return sorted(sorted(g.tolist()) for g in groups)


def cluster(records: list[Record], threshold: float = THRESHOLD) -> list[list[int]]:
    """Groups of record indexes about the same matter, singletons included, each in time order,
    largest first."""
    if not records:
        return []
    return _ordered(records, agglomerate(_Features(records).vectors, threshold))


def _ordered(records: list[Record], groups: list[list[int]]) -> list[list[int]]:
    def when(i):
        return records[i].received_at, str(records[i].id)
    ordered = [sorted(g, key=when) for g in groups]
    return sorted(ordered, key=lambda g: (-len(g), when(g[0])))


def hot_issues(records: list[Record], threshold: float = THRESHOLD) -> dict:
    """Clusters about one matter written by two or more people (多人一投), and people with two or more
    tickets (一人多投), their tickets grouped by matter.

    A ticket without a citizen key counts as one more person (a caller who left no number is, more
    likely than not, someone else)."""
    if not records:
        return {"tickets": 0, MANY_PEOPLE: [], ONE_PERSON: []}
    features = _Features(records)
    groups = _ordered(records, agglomerate(features.vectors, threshold))
    group_of = {i: gi for gi, members in enumerate(groups) for i in members}
    described: dict[int, dict] = {}

    def describe(gi: int) -> dict:
        if gi not in described:
            described[gi] = _describe(records, features, groups[gi])
        return described[gi]

    many = [describe(gi) for gi, members in enumerate(groups)
            if len(members) > 1 and _citizens(records, members) >= 2]
    many.sort(key=lambda c: (-c["citizens"], -c["size"], c["first_at"]))

    by_citizen: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        if record.citizen:
            by_citizen[record.citizen].append(i)
    people = []
    for citizen, indexes in by_citizen.items():
        if len(indexes) < 2:
            continue
        indexes.sort(key=lambda i: (records[i].received_at, str(records[i].id)))
        matters: dict[int, list[int]] = defaultdict(list)
        for i in indexes:
            matters[group_of[i]].append(i)
        people.append({
            "citizen": citizen,
            "count": len(indexes),
            "ticket_ids": [records[i].id for i in indexes],
            "same_matter": len(matters) == 1,
            "matters": [_matter(records, groups[gi], members, describe(gi) if len(groups[gi]) > 1 else None)
                        for gi, members in matters.items()],
            "first_at": records[indexes[0]].received_at,
            "last_at": records[indexes[-1]].received_at,
        })
    people.sort(key=lambda p: (-p["count"], p["first_at"]))
    return {"tickets": len(records), MANY_PEOPLE: many, ONE_PERSON: people}


def _matter(records: list[Record], group: list[int], own: list[int], description: dict | None) -> dict:
    """One matter of a person's: their tickets in it, its title, and the 多人一投 cluster it is part of."""
    shared = description is not None and _citizens(records, group) >= 2
    return {"ticket_ids": [records[i].id for i in own],
            "title": description["title"] if description else records[own[0]].title,
            "cluster": description["key"] if shared else None}


def _citizens(records: list[Record], members: list[int]) -> int:
    known = {records[i].citizen for i in members if records[i].citizen}
    return len(known) + sum(1 for i in members if not records[i].citizen)


def _describe(records: list[Record], features: _Features, members: list[int]) -> dict:
    rows = np.array(members)
    block = features.vectors.matrix[rows]
    mean = sp.csr_matrix(np.full((1, len(rows)), 1.0 / len(rows)))
    centroid = mean @ block                                   # sparse 1 × features
    closeness = np.asarray((block @ centroid.T).todense()).ravel()
    norm = float(np.sqrt((centroid @ centroid.T).toarray()[0, 0])) or 1.0
    representative = members[int(np.argmax(closeness))]
    weights = (mean @ features.word_weights[rows]).tocoo()
    names = features.names
    top = np.argsort(-weights.data, kind="stable")[:TOP_TERMS]
    place_counts = Counter(p for i in members for p in sorted(features.places[i]))
    places: list[str] = []
    for name, _ in place_counts.most_common():
        if len(places) < 5 and not any(name.endswith(k) or k.endswith(name) for k in places):
            places.append(name)
    return {
        "key": records[members[0]].id,
        "size": len(members),
        "citizens": _citizens(records, members),
        "ticket_ids": [records[i].id for i in members],
        "representative_id": records[representative].id,
        "title": records[representative].title,
        "terms": [str(names[weights.col[j]]) for j in top],
        "places": places,
        "categories": sorted({records[i].category for i in members if records[i].category}),
        "cohesion": round(float(closeness.mean()) / norm, 3),   # mean cosine to the centroid; 1.0 for copies
        "first_at": records[members[0]].received_at,
        "last_at": records[members[-1]].received_at,
    }
