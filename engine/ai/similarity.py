"""An incremental index for duplicate lookup (辨重) over ticket texts.

Each document is the set of its hashed character 2- and 3-grams (2**20 buckets). The score of a
document for a query is the IDF-weighted cosine of the two gram sets::

    sim(q, d) = sum(idf(t)**2 for t in q & d) / (|q| * |d|),   |x| = sqrt(sum(idf(t)**2 for t in x))

Documents arrive one by one (a new ticket) and land in a small tail; the tail becomes a sparse
column-major segment at the next query, and small segments are compacted into bigger ones, so adding
is cheap and a lookup reads only the posting columns of the query's grams (cost grows with how many
documents share those grams, not with the index size). Document frequencies are kept incrementally;
a document's norm uses the IDF of the time it was added, and ``similarity`` recomputes a pair with the
current IDF when exact figures are needed.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from .text import normalise

N_FEATURES = 1 << 20
_NOT_TEXT = re.compile(r"[^\u4e00-\u9fa5a-z0-9]+")
COMMON_SHARE = 0.2        # grams in more than this share of documents add nothing to a lookup
MAX_TEXT = 200            # characters of title + content that are indexed (the matter is stated early)


def _prepare(text: str) -> str:
    return _NOT_TEXT.sub(" ", normalise(text))[:MAX_TEXT]


_HASHER = HashingVectorizer(analyzer="char", ngram_range=(2, 3), preprocessor=_prepare, n_features=N_FEATURES,
                            alternate_sign=False, norm=None, binary=True, dtype=np.float32)


def gram_ids(text: str) -> np.ndarray:
    """The hashed gram buckets of one text (sorted, unique)."""
    row = _HASHER.transform([text])
    return np.unique(row.indices).astype(np.int32)


@dataclass(frozen=True)
class Hit:
    doc_id: int
    score: float


class _Segment:
    def __init__(self, rows: list[np.ndarray], ids: list[int], times: list[int], norms: list[float]):
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
        data = np.ones(len(indices), dtype=np.uint8)
        self.matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), N_FEATURES)).tocsc()
        self.ids = np.asarray(ids, dtype=np.int64)
        self.times = np.asarray(times, dtype=np.int64)
        self.norms = np.asarray(norms, dtype=np.float32)

    @classmethod
    def merge(cls, segments: list["_Segment"]) -> "_Segment":
        merged = cls.__new__(cls)
        merged.matrix = sparse.vstack([s.matrix for s in segments], format="csc")
        merged.ids = np.concatenate([s.ids for s in segments])
        merged.times = np.concatenate([s.times for s in segments])
        merged.norms = np.concatenate([s.norms for s in segments])
        return merged

    def __len__(self) -> int:
        return len(self.ids)

    def nbytes(self) -> int:
        m = self.matrix
        return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes + self.ids.nbytes + self.times.nbytes \
            + self.norms.nbytes


class DuplicateIndex:
    """Thread-safe; ``add`` and ``query`` may be called from several request threads."""

    def __init__(self, *, segment_size: int = 100_000, max_segments: int = 12):
        self.segment_size = segment_size
        self.max_segments = max_segments
        self.df = np.zeros(N_FEATURES, dtype=np.int32)
        self.count = 0
        self._segments: list[_Segment] = []
        self._tail: tuple[list, list, list, list] = ([], [], [], [])
        self._ids: set[int] = set()
        self._lock = threading.RLock()

    # -- adding ------------------------------------------------------------------------------------
    def __contains__(self, doc_id: int) -> bool:
        return doc_id in self._ids

    def __len__(self) -> int:
        return self.count

    def add(self, doc_id: int, text: str, timestamp: int) -> None:
        self.add_many([(doc_id, text, timestamp)])

    def add_many(self, docs) -> None:
        """``docs``: iterable of (id, text, unix seconds). Already indexed ids are skipped."""
        docs = [d for d in docs if d[0] not in self._ids]
        if not docs:
            return
        matrix = _HASHER.transform([text for _id, text, _ts in docs]).tocsr()
        with self._lock:
            for row, (doc_id, _text, ts) in enumerate(docs):
                grams = np.unique(matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]).astype(np.int32)
                if doc_id in self._ids:
                    continue
                self.df[grams] += 1
                self.count += 1
                idf = self._idf(grams)
                rows, ids, times, norms = self._tail
                rows.append(grams)
                ids.append(doc_id)
                times.append(int(ts))
                norms.append(float(np.sqrt(np.sum(idf * idf))) or 1.0)
                self._ids.add(doc_id)
                if len(ids) >= self.segment_size:
                    self._flush()

    def _idf(self, grams: np.ndarray) -> np.ndarray:
        return np.log((self.count + 1) / (self.df[grams] + 1.0)) + 1.0

    def _flush(self) -> None:
        rows, ids, times, norms = self._tail
        if not ids:
            return
        self._segments.append(_Segment(rows, ids, times, norms))
        self._tail = ([], [], [], [])
        small = [s for s in self._segments if len(s) < self.segment_size]
        if len(self._segments) > self.max_segments and len(small) > 1:
            big = [s for s in self._segments if len(s) >= self.segment_size]
            self._segments = big + [_Segment.merge(small)]

    # -- looking up --------------------------------------------------------------------------------
    def query(self, text: str, *, k: int = 10, since: int | None = None, until: int | None = None,
              exclude: int | None = None, min_score: float = 0.04) -> list[Hit]:
        """The ``k`` documents most similar to ``text`` (received between ``since`` and ``until``)."""
        grams = gram_ids(text)
        with self._lock:
            self._flush()
            if not len(grams) or not self.count:
                return []
            idf = self._idf(grams)
            qnorm = float(np.sqrt(np.sum(idf * idf)))
            useful = self.df[grams] <= max(50, COMMON_SHARE * self.count)
            cols, weights = grams[useful], (idf * idf)[useful].astype(np.float32)
            hits: list[Hit] = []
            for segment in self._segments:
                dots = np.asarray(segment.matrix[:, cols] @ weights).ravel()
                scores = dots / (qnorm * segment.norms)
                mask = scores >= min_score
                if since is not None:
                    mask &= segment.times >= since
                if until is not None:
                    mask &= segment.times <= until
                if exclude is not None:
                    mask &= segment.ids != exclude
                candidates = np.flatnonzero(mask)
                if len(candidates) > k:
                    candidates = candidates[np.argpartition(-scores[candidates], k)[:k]]
                hits.extend(Hit(int(segment.ids[i]), float(scores[i])) for i in candidates)
        hits.sort(key=lambda h: (-h.score, -h.doc_id))
        return hits[:k]

    def similarity(self, a: str, b: str) -> float:
        """The exact IDF-weighted cosine of two texts under the index's current frequencies."""
        ga, gb = gram_ids(a), gram_ids(b)
        if not len(ga) or not len(gb):
            return 0.0
        with self._lock:
            wa, wb = self._idf(ga) ** 2, self._idf(gb) ** 2
            shared = np.isin(ga, gb)
        return float(np.sum(wa[shared]) / np.sqrt(np.sum(wa) * np.sum(wb)))

    def nbytes(self) -> int:
        """Memory held by the index arrays (postings, per-document arrays, frequencies)."""
        with self._lock:
            tail = sum(r.nbytes for r in self._tail[0]) + 24 * len(self._tail[1])
            return self.df.nbytes + sum(s.nbytes() for s in self._segments) + tail
