"""Latency samples and the figures the benchmark prints (ops/s and percentiles in ms)."""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); ``values`` need not be sorted."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Sample:
    """Per-operation latencies (seconds) of one operation on one backend."""

    operation: str
    backend: str
    latencies: list[float] = field(default_factory=list)

    @contextmanager
    def timed(self):
        start = time.perf_counter()
        yield
        self.latencies.append(time.perf_counter() - start)

    def extend(self, other: "Sample") -> None:
        self.latencies.extend(other.latencies)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def ops_per_s(self) -> float:
        # Operations run one after another, so the summed latencies are the timed wall time.
        total = sum(self.latencies)
        return self.count / total if total else math.nan

    def ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000.0


def combined(operation: str, backend: str, *samples: Sample) -> Sample:
    result = Sample(operation, backend)
    for sample in samples:
        result.extend(sample)
    return result
