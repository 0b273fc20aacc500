"""The schema base every request schema builds on: unknown fields refused, datetimes in +08:00 within the
years a hotline's dates can be in, and integers that fit a database column (found by the API fuzzer)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load

from engine.clock import SHANGHAI, iso


class Time(fields.AwareDateTime):
    """Loads ISO 8601 (a missing offset means Beijing time); dumps +08:00."""

    # The years a hotline's dates can be in. Far-off years are refused rather than stored: before 1901 the
    # Shanghai zone is local mean time (+08:05:43), which no client parses as an ISO offset.
    YEARS = (1990, 2199)

    def __init__(self, **kwargs):
        super().__init__(default_timezone=SHANGHAI, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        loaded = super()._deserialize(value, attr, data, **kwargs)
        if not self.YEARS[0] <= loaded.year <= self.YEARS[1]:
            raise ValidationError(f"Must be greater than or equal to {self.YEARS[0]} and less than or equal to "
                                  f"{self.YEARS[1]} (the year).")
        return loaded

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _oversized_ints(value, path="") -> list[str]:
    """Where a JSON body holds an integer no database column can hold."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [path or "_schema"] if not INT64[0] <= value <= INT64[1] else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _oversized_ints(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _oversized_ints(v, f"{path}.{i}" if path else str(i))]
    return []


class Strict(Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def _integers_fit_in_64_bits(self, data, **kwargs):
        where = _oversized_ints(data)
        if where:
            raise ValidationError({p.split(".")[0]: ["Must be less than or equal to 9223372036854775807."]
                                   for p in where})
        return data
