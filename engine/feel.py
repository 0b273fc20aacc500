"""A FEEL subset (DMN 1.3 S-FEEL plus common functions) for decision table cells.

Cells come from uploaded DMN files, so they are never handed to Python eval/exec: a tokenizer and a
recursive-descent parser build a tuple AST that ``_ev`` interprets.  Only whitelisted builtins can
be called and ``a.b`` paths only read mapping keys, so a cell cannot reach Python objects.

Numbers: FEEL numbers are decimals.  Values are Python ints when integral and floats otherwise;
``+ - * /`` on non-integers are computed with ``Decimal`` (so 0.1 + 0.2 = 0.3) and normalised back.
Unknown variables are null, as in FEEL.  Deviations from FEEL, chosen so bad rules fail loudly:
arithmetic on mismatched types, division by zero and bad builtin arguments raise ``FeelError``
instead of yielding null.  SpiffWorkflow (Python) spellings ``True``/``False``/``None``, ``==``
and 'single quotes' are accepted so existing tables keep working (``.legacy`` tells lint).
Unary tests: comparisons with null are null (no match, and still no match under not()); values of
incomparable types simply do not match, so not(t) is the exact negation of t for non-null inputs.

Layout: ``engine.feel_parser`` tokenizes and parses, ``engine.feel_values`` holds the value semantics
and builtins; this module interprets the AST and is the public API (it re-exports the value helpers).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from .feel_parser import _Parser
# Value semantics and builtins live in engine.feel_values; the public names are re-exported here.
from .feel_values import (_BUILTINS, FeelError, _arith, _data, _norm, _path, _Range,  # noqa: F401
                          feel_compare, feel_equal, feel_type, normalize_number, to_date, to_date_time,
                          to_duration, to_number, to_string)


class _NotConstant(Exception):
    """A cell reads the context, so lint cannot evaluate it statically."""


_NOCTX = object()     # context sentinel for constant folding: any name lookup raises _NotConstant
_NOQ = object()       # "?" outside a unary test


def _lookup(ctx, name):
    if ctx is _NOCTX:
        raise _NotConstant(name)
    return _data(ctx.get(name)) if isinstance(ctx, Mapping) else None


def _ev(n, ctx, q):
    op = n[0]
    if op == 'lit':
        return n[2]
    if op == 'name':
        return _lookup(ctx, n[2])
    if op == 'q':
        return None if q is _NOQ else q
    if op == 'path':
        return _path(_ev(n[2], ctx, q), n[3])
    if op == 'bin':
        return _arith(n[2], _ev(n[3], ctx, q), _ev(n[4], ctx, q), n[1])
    if op == 'neg':
        v = _ev(n[2], ctx, q)
        if v is None or feel_type(v) == 'number':
            return None if v is None else _norm(-v)
        if feel_type(v) == 'duration' and v != dt.timedelta.min:
            return -v
        raise FeelError(f'无法对{feel_type(v)}取负', f'cannot negate {feel_type(v)}', n[1])
    if op == 'cmp':
        return feel_compare(_ev(n[3], ctx, q), n[2], _ev(n[4], ctx, q))
    if op in ('and', 'or'):
        a, b = _bool(_ev(n[2], ctx, q), n), _bool(_ev(n[3], ctx, q), n)
        if op == 'and':
            return False if False in (a, b) else None if None in (a, b) else True
        return True if True in (a, b) else None if None in (a, b) else False
    if op == 'if':
        return _ev(n[3] if _ev(n[2], ctx, q) is True else n[4], ctx, q)
    if op == 'list':
        return [_ev(x, ctx, q) for x in n[2]]
    if op == 'range':
        return _Range(n[2], _ev(n[3], ctx, q), _ev(n[4], ctx, q), n[5])
    if op == 'in':
        return _any_test(n[3], _ev(n[2], ctx, q), ctx)
    if op == 'call':
        args = [_ev(x, ctx, q) for x in n[3]]
        if n[2] == 'not':
            return None if args[0] is None else not _bool(args[0], n)
        try:
            return _BUILTINS[n[2]][2](*args)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise FeelError(f'函数{n[2]}调用失败：{exc}', f'{n[2]}() failed: {exc}', n[1]) from None
    raise AssertionError(op)


def _bool(v, n):
    if v is None or isinstance(v, bool):
        return v
    raise FeelError(f'应为布尔值，实际为{feel_type(v)}', f'expected a boolean, got {feel_type(v)}', n[1])


def _test(t, value, ctx):
    """One positive unary test: True, False or None (null, e.g. null < 5)."""
    if t[0] == 'ut_cmp':
        return feel_compare(value, t[2], _ev(t[3], ctx, value))
    result = _ev(t[2], ctx, value)
    if t[3]:                         # "? > 3": the expression itself is the test
        return None if result is None else result is True
    if isinstance(result, _Range):
        lo = feel_compare(result.lo, '<=' if result.lo_closed else '<', value)
        hi = feel_compare(value, '<=' if result.hi_closed else '<', result.hi)
        return None if lo is None or hi is None else lo and hi
    if isinstance(result, list) and not isinstance(value, list):
        return any(feel_equal(value, x) for x in result)
    return feel_equal(value, result)


def _any_test(tests, value, ctx):
    results = [_test(t, value, ctx) for t in tests]
    return True if True in results else None if None in results else False


# ------------------------------------------------------------------ public API
@contextlib.contextmanager
def _guard(text):
    try:
        yield
    except RecursionError:
        raise FeelError(f'FEEL表达式过于复杂：{text[:80]}', f'FEEL expression too complex: {text[:80]}', 0) from None


class Expression:
    """A parsed FEEL expression (output entries, input expressions, defaults)."""

    def __init__(self, text, node, names, legacy):
        self.text, self.node, self.names, self.legacy = text, node, frozenset(names), legacy

    def evaluate(self, context: Mapping | None = None):
        with _guard(self.text):
            return _ev(self.node, {} if context is None else context, _NOQ)

    def constant(self) -> tuple[bool, Any]:
        """(True, value) when the expression does not read the context (for lint)."""
        try:
            return True, _ev(self.node, _NOCTX, _NOQ)
        except (_NotConstant, FeelError):
            return False, None


class UnaryTests:
    """Parsed input entry: '-', a comma list of positive tests, or not(...) of such a list."""

    def __init__(self, text, tests=(), negated=False, names=(), legacy=False):
        self.text, self.tests, self.negated = text, tests, negated
        self.any, self.names, self.legacy = not tests, frozenset(names), legacy

    def matches(self, value, context: Mapping | None = None) -> bool:
        if self.any:
            return True
        value = _data(value)
        with _guard(self.text):
            hit = _any_test(self.tests, value, {} if context is None else context)
        if value is not None and hit is None:
            hit = False   # incomparable types (e.g. "a" vs [1..5]) simply do not match, so not() matches
        # A null input compared by < or a range stays null under not(): FEEL's three-valued logic.
        return hit is False if self.negated else hit is True

    def constant_atoms(self) -> list[tuple] | None:
        """For lint: ('eq', v) / ('ne', v) / ('range', lo, lo_closed, hi, hi_closed) atoms (None bound =
        unbounded) describing what the positive tests accept; None if the cell reads the context."""
        atoms = []
        try:
            for t in self.tests:
                if t[0] == 'ut_cmp':
                    v, op = _ev(t[3], _NOCTX, _NOQ), t[2]
                    atoms.append(('eq', v) if op == '=' else ('ne', v) if op == '!=' else
                                 ('range', v, op == '>=', None, False) if op[0] == '>' else
                                 ('range', None, False, v, op == '<='))
                elif t[3]:
                    return None
                else:
                    v = _ev(t[2], _NOCTX, _NOQ)
                    if isinstance(v, _Range):
                        atoms.append(('range', v.lo, v.lo_closed, v.hi, v.hi_closed))
                    elif isinstance(v, list):
                        atoms.extend(('eq', x) for x in v)
                    else:
                        atoms.append(('eq', v))
        except (_NotConstant, FeelError):
            return None
        return atoms


@functools.lru_cache(maxsize=4096)
def parse_expression(text: str) -> Expression:
    if not isinstance(text, str) or not text.strip():
        raise FeelError('FEEL表达式为空', 'FEEL expression is empty', 0)
    p = _Parser(text, allow_q=False)
    node = p.expression()
    p.end()
    return Expression(text, node, p.names, p.legacy)


@functools.lru_cache(maxsize=4096)
def parse_unary_tests(text: str) -> UnaryTests:
    if not isinstance(text, str):
        raise FeelError('输入条目必须是文本', 'input entry must be text', 0)
    if text.strip() in ('', '-'):
        return UnaryTests(text)
    p = _Parser(text, allow_q=True)
    negated = p.at('not') and p.at('(', k=1)
    if negated:
        p.i += 2
        tests = p.positive_tests()
        p.expect(')')
    else:
        tests = p.positive_tests()
    p.end()
    return UnaryTests(text, tests, negated, p.names, p.legacy)


def is_feel_unary(text: str) -> bool:
    try:
        parse_unary_tests(text)
        return True
    except FeelError:
        return False


def is_feel_expression(text: str) -> bool:
    try:
        parse_expression(text)
        return True
    except FeelError:
        return False
