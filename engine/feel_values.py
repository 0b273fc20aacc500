"""FEEL values: types, equality, ordering, arithmetic and the whitelisted builtin functions.

The value semantics behind ``engine.feel`` (see its docstring for the numeric model and the
deliberate deviations from FEEL).  Nothing here parses text; the parser (``engine.feel_parser``)
and the interpreter (``engine.feel``) build on these definitions.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import re
from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any, NamedTuple


class FeelError(Exception):
    def __init__(self, message_zh: str, message_en: str, position: int | None = None):
        super().__init__(f'{message_zh} / {message_en}')
        self.message_zh, self.message_en, self.position = message_zh, message_en, position


class _Range(NamedTuple):
    lo_closed: bool
    lo: Any
    hi: Any
    hi_closed: bool


# ------------------------------------------------------------------ values and operators
def _norm(x):
    """Numbers leave every operation as int when integral, else float."""
    if isinstance(x, bool):
        return x
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise ArithmeticError('number is not finite')
        return int(x) if x == x.to_integral_value() else float(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ArithmeticError('number is not finite')
        return int(x) if x.is_integer() and abs(x) < 2 ** 53 else x
    return x


def feel_type(v) -> str:
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'boolean'
    if isinstance(v, (int, float, Decimal)):
        return 'number'
    if isinstance(v, str):
        return 'string'
    if isinstance(v, dt.datetime):
        return 'date and time'
    if isinstance(v, dt.date):
        return 'date'
    if isinstance(v, dt.timedelta):
        return 'duration'
    if isinstance(v, _Range):
        return 'range'
    if isinstance(v, (list, tuple)):
        return 'list'
    if isinstance(v, Mapping):
        return 'context'
    return type(v).__name__


def feel_equal(a, b) -> bool:
    """FEEL '=': values of different types are never equal (true = 1 is false), null = null."""
    kind = feel_type(a)
    if kind != feel_type(b):
        return False
    if kind == 'list':
        return len(a) == len(b) and all(map(feel_equal, a, b))
    if kind == 'context':
        return a.keys() == b.keys() and all(feel_equal(a[k], b[k]) for k in a)
    return a == b


_ORDERED = {'number', 'string', 'date', 'date and time', 'duration'}
_CMP = {'<': operator.lt, '<=': operator.le, '>': operator.gt, '>=': operator.ge}


def feel_compare(a, op: str, b):
    """FEEL ordering: null when either side is null or the types are not comparable."""
    if op == '=':
        return feel_equal(a, b)
    if op == '!=':
        return not feel_equal(a, b)
    kind = feel_type(a)
    if kind != feel_type(b) or kind not in _ORDERED:
        return None
    try:
        return _CMP[op](a, b)
    except TypeError:      # e.g. naive vs aware date-times
        return None


def _arith(op, a, b, pos):
    if a is None or b is None:
        return None
    ka, kb = feel_type(a), feel_type(b)
    try:
        if ka == kb == 'number':
            return _number_op(op, a, b)
        if op == '+' and ka == kb == 'string':
            return a + b
        if op in '+-' and kb == 'duration' and ka in ('date', 'date and time', 'duration'):
            return a + b if op == '+' else a - b
        if op == '+' and ka == 'duration' and kb in ('date', 'date and time'):
            return b + a
        if op == '-' and ka == kb and ka in ('date', 'date and time'):
            return a - b
    except (ArithmeticError, TypeError, OverflowError) as exc:
        raise FeelError(f'运算“{op}”失败：{exc}', f'{op!r} failed: {exc}', pos) from None
    raise FeelError(f'无法对{ka}和{kb}进行“{op}”运算', f'cannot apply {op!r} to {ka} and {kb}', pos)


def _number_op(op, a, b):
    if op == '/' and b == 0:
        raise ArithmeticError('division by zero')
    if op == '**':
        if isinstance(a, int) and isinstance(b, int) and b >= 0:
            if abs(a) > 1 and b * math.log2(abs(a)) > 4096:
                raise ArithmeticError('result too large')
            return a ** b
        result = float(a) ** float(b)
        if isinstance(result, complex):
            raise ArithmeticError('result is not a real number')
        return _norm(result)
    if isinstance(a, int) and isinstance(b, int) and op != '/':
        return a + b if op == '+' else a - b if op == '-' else a * b
    with localcontext() as ctx:
        ctx.prec = 34
        da, db = Decimal(str(a)), Decimal(str(b))
        return _norm({'+': operator.add, '-': operator.sub, '*': operator.mul, '/': operator.truediv}[op](da, db))


def _data(v):
    # Decimals (e.g. database Numeric columns) become int/float so they compare like FEEL literals.
    return _norm(v) if isinstance(v, Decimal) else v


_PROPS = {'year', 'month', 'day', 'weekday', 'hour', 'minute', 'second'}


def _path(value, key):
    if isinstance(value, Mapping):
        return _data(value.get(key))
    if isinstance(value, dt.date) and key in _PROPS:
        if key == 'weekday':
            return value.isoweekday()
        return getattr(value, key, None)     # a fixed whitelist on date objects only
    return None


# ------------------------------------------------------------------ builtins
def _items(args):
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    if any(x is None for x in items) or not items:
        return None
    if len({feel_type(x) for x in items}) > 1 or feel_type(items[0]) not in _ORDERED:
        raise TypeError('items must be numbers, strings, dates or durations of one type')
    return items


def _date(*args):
    if len(args) == 3:
        return dt.date(*(int(x) for x in args))
    x = args[0]
    if x is None or type(x) is dt.date:
        return x
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, str) and re.fullmatch(r'\d{4}-\d{2}-\d{2}', x):
        return dt.date.fromisoformat(x)
    raise ValueError(f'not a date: {x!r}')


def _datetime(x):
    if x is None or isinstance(x, dt.datetime):
        return x
    if isinstance(x, dt.date):
        return dt.datetime.combine(x, dt.time())
    if isinstance(x, str) and re.fullmatch(r'\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?', x):
        return dt.datetime.fromisoformat(x)
    raise ValueError(f'not a date and time: {x!r}')


def _duration(x):
    m = re.fullmatch(r'(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?', x or '')
    if x is None:
        return None
    if not m or x.endswith(('P', 'T')):
        raise ValueError(f'not a days-and-time duration (year/month durations are unsupported): {x!r}')
    d = dt.timedelta(days=int(m[2] or 0), hours=int(m[3] or 0), minutes=int(m[4] or 0), seconds=float(m[5] or 0))
    return -d if m[1] else d


def _number(x):
    if x is None or feel_type(x) == 'number':
        return x
    if isinstance(x, str) and re.fullmatch(r'-?\d+(\.\d+)?', x.strip()):
        return _norm(Decimal(x.strip()))
    raise ValueError(f'not a number: {x!r}')


def _string(x):
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, bool):
        return 'true' if x else 'false'
    if isinstance(x, dt.date):
        return x.isoformat()
    if feel_type(x) == 'number':
        return str(_norm(x))
    raise TypeError(f'cannot convert {feel_type(x)} to string')


def _str_fn(fn):
    def call(*args):
        if any(a is None for a in args):
            return None
        if not all(isinstance(a, str) for a in args):
            raise TypeError('arguments must be strings')
        return fn(*args)
    return call


def _num_fn(fn):
    def call(x):
        if x is None:
            return None
        if feel_type(x) != 'number':
            raise TypeError(f'expected a number, got {feel_type(x)}')
        return _norm(fn(x))
    return call


def _pick(fn, args):
    items = _items(args)
    return None if items is None else fn(items)


def _sum(*args):
    items = _items(args)
    if items is not None and feel_type(items[0]) != 'number':
        raise TypeError('sum() needs numbers')
    return None if items is None else functools.reduce(lambda a, b: _number_op('+', a, b), items)


_BUILTINS = {   # name: (min args, max args, implementation)
    'date': (1, 3, _date), 'date and time': (1, 1, _datetime), 'duration': (1, 1, _duration),
    'number': (1, 1, _number), 'string': (1, 1, _string),
    'string length': (1, 1, _str_fn(len)), 'upper case': (1, 1, _str_fn(str.upper)),
    'lower case': (1, 1, _str_fn(str.lower)), 'contains': (2, 2, _str_fn(operator.contains)),
    'starts with': (2, 2, _str_fn(str.startswith)), 'ends with': (2, 2, _str_fn(str.endswith)),
    'min': (1, 99, lambda *a: _pick(min, a)), 'max': (1, 99, lambda *a: _pick(max, a)),
    'sum': (1, 99, _sum), 'count': (1, 1, lambda x: len(x) if isinstance(x, list) else None),
    'abs': (1, 1, _num_fn(abs)), 'floor': (1, 1, _num_fn(math.floor)), 'ceiling': (1, 1, _num_fn(math.ceil)),
}


# Conversions reused by engine.dmn for typeRef coercion (same rules as the FEEL builtins).
normalize_number, to_string, to_number, to_date, to_date_time, to_duration = (
    _norm, _string, _number, _date, _datetime, _duration)
