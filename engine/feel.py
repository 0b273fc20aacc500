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
"""
from __future__ import annotations

import contextlib
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


class _NotConstant(Exception):
    """A cell reads the context, so lint cannot evaluate it statically."""


_NOCTX = object()     # context sentinel for constant folding: any name lookup raises _NotConstant
_NOQ = object()       # "?" outside a unary test
_MAX_TEXT, _MAX_DEPTH, _MAX_CHAIN = 20000, 40, 256
_KEYWORDS = {'true': True, 'false': False, 'null': None, 'True': True, 'False': False, 'None': None}
# FEEL keywords plus Python statement words: "import os" or "lambda" must be a syntax error, never a
# harmless-looking lookup of a variable called "import".
_RESERVED = {'and', 'or', 'if', 'then', 'else', 'in', 'for', 'some', 'every', 'return', 'satisfies',
             'between', 'instance', 'function', 'import', 'from', 'lambda', 'def', 'class', 'is',
             'while', 'with', 'as', 'del', 'global', 'nonlocal', 'yield', 'raise', 'try', 'except',
             'finally', 'assert', 'async', 'await', 'pass', 'break', 'continue', 'elif', 'not'}
# Multi-word builtin names are only names when a call follows, so "a and b" stays a conjunction.
_MULTI = re.compile(r'(date\s+and\s+time|string\s+length|upper\s+case|lower\s+case|starts\s+with|'
                    r'ends\s+with)\s*(?=\()')
_TOKEN = re.compile(r'(?P<ws>\s+)|(?P<num>\d+(?:\.\d+)?)|(?P<name>[^\W\d]\w*)|'
                    r'(?P<op>\.\.|\*\*|<=|>=|!=|==|[-+*/<>=()\[\],.?])')
_ESCAPES = {'"': '"', "'": "'", '\\': '\\', 'n': '\n', 't': '\t', 'r': '\r'}


def _syntax(text: str, pos: int, zh: str, en: str) -> FeelError:
    return FeelError(f'无法解析的FEEL表达式：{text}（第{pos + 1}个字符：{zh}）',
                     f'Cannot parse FEEL expression: {text} (at character {pos + 1}: {en})', pos)


def _tokenize(text: str) -> tuple[list[tuple[str, Any, int]], bool]:
    toks, legacy, i = [], False, 0
    while i < len(text):
        if text[i] in '"\'':
            quote, j, buf = text[i], i + 1, []
            legacy |= quote == "'"
            while j < len(text) and text[j] != quote:
                if text[j] == '\\' and j + 1 < len(text):
                    nxt = text[j + 1]
                    if nxt == 'u' and re.fullmatch(r'[0-9a-fA-F]{4}', text[j + 2:j + 6]):
                        buf.append(chr(int(text[j + 2:j + 6], 16)))
                        j += 6
                        continue
                    if nxt not in _ESCAPES:
                        raise _syntax(text, j, f'无效的转义“\\{nxt}”', f'invalid escape "\\{nxt}"')
                    buf.append(_ESCAPES[nxt])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= len(text):
                raise _syntax(text, i, '字符串缺少结束引号', 'unterminated string')
            toks.append(('str', ''.join(buf), i))
            i = j + 1
            continue
        multi = _MULTI.match(text, i) if text[i].isalpha() else None
        if multi:
            toks.append(('name', ' '.join(multi.group(1).split()), i))
            i = multi.end(1)
            continue
        m = _TOKEN.match(text, i)
        if not m:
            raise _syntax(text, i, f'无效字符“{text[i]}”', f'invalid character {text[i]!r}')
        kind, value = m.lastgroup, m.group()
        if kind == 'num':
            if len(value) > 40:
                raise _syntax(text, i, '数字过长', 'number too long')
            value = _norm(Decimal(value))
        elif kind == 'name' and value in ('True', 'False', 'None'):
            legacy = True
        elif kind == 'op' and value == '==':
            legacy = True
        if kind != 'ws':
            toks.append((kind, value, i))
        i = m.end()
    toks.append(('eof', None, len(text)))
    return toks, legacy


class _Parser:
    def __init__(self, text: str, allow_q: bool):
        if len(text) > _MAX_TEXT:
            raise FeelError('FEEL表达式过长', f'FEEL expression longer than {_MAX_TEXT} characters', 0)
        self.text, self.allow_q, self.depth, self.i, self.q_seen = text, allow_q, 0, 0, 0
        self.toks, self.legacy = _tokenize(text)
        self.names: set[str] = set()

    def fail(self, zh: str, en: str, tok=None):
        tok = tok or self.toks[self.i]
        raise _syntax(self.text, tok[2], zh, en)

    def unexpected(self):
        tok = self.toks[self.i]
        if tok[0] == 'eof':
            self.fail('表达式不完整', 'unexpected end of expression')
        self.fail(f'意外的“{tok[1]}”', f'unexpected {tok[1]!r}')

    def at(self, *values, k=0) -> bool:
        kind, value, _ = self.toks[self.i + k] if self.i + k < len(self.toks) else self.toks[-1]
        return kind in ('op', 'name') and value in values

    def take(self):
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, value):
        if not self.at(value):
            self.fail(f'此处应为“{value}”', f'expected {value!r}')
        return self.take()

    def end(self):
        if self.toks[self.i][0] != 'eof':
            self.unexpected()

    # expression := if | disjunction ; precedence follows DMN 1.3 table 45 (negation above **).
    def expression(self):
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail('嵌套过深', 'expression nested too deeply')
        if self.at('if'):
            pos = self.take()[2]
            cond = self.expression()
            self.expect('then')
            then = self.expression()
            self.expect('else')
            node = ('if', pos, cond, then, self.expression())
        else:
            node = self.binary(0)
        self.depth -= 1
        return node

    _LEVELS = (('or',), ('and',), None, ('+', '-'), ('*', '/'), ('**',))

    def binary(self, level: int):
        if level == 2:
            return self.comparison()
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        chain = 0
        while self.at(*self._LEVELS[level]):
            chain += 1
            if chain > _MAX_CHAIN:      # left-nested trees are evaluated recursively
                self.fail('表达式过长', 'too many operators in a row')
            op, pos = self.take()[1:]
            kind = op if op in ('and', 'or') else 'bin'
            rhs = self.binary(level + 1)
            node = (kind, pos, node, rhs) if kind != 'bin' else ('bin', pos, op, node, rhs)
        return node

    def comparison(self):
        node = self.binary(3)
        if self.at('=', '==', '!=', '<', '<=', '>', '>='):
            op, pos = self.take()[1:]
            return ('cmp', pos, '=' if op == '==' else op, node, self.binary(3))
        if self.at('in'):
            pos = self.take()[2]
            if self.at('('):
                save = self.i, self.depth
                try:       # "x in (1, 2)" is a list of tests; "x in (1..2)" is one interval
                    self.take()
                    tests = self.positive_tests()
                    self.expect(')')
                    return ('in', pos, node, tests)
                except FeelError:
                    self.i, self.depth = save
            return ('in', pos, node, (self.positive_test(),))
        return node

    def unary(self):
        if self.at('-'):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                self.fail('嵌套过深', 'expression nested too deeply')
            pos = self.take()[2]
            node = ('neg', pos, self.unary())
            self.depth -= 1
            return node
        node = self.primary()
        while self.at('.'):
            self.take()
            kind, key, pos = self.take()
            if kind != 'name' or key in _RESERVED or key in _KEYWORDS:
                self.i -= 1
                self.fail('“.”后应为名称', 'expected a name after "."')
            self._check_name(key, pos)
            node = ('path', pos, node, key)
        return node

    def _check_name(self, name, pos):
        # Python's dunder machinery is the classic sandbox escape; no FEEL name needs "_" first.
        if name.startswith('_'):
            raise _syntax(self.text, pos, f'不允许以“_”开头的名称“{name}”', f'names may not start with "_": {name!r}')

    def primary(self):
        kind, value, pos = tok = self.toks[self.i]
        if kind in ('num', 'str'):
            self.take()
            return ('lit', pos, value)
        if kind == 'op' and value == '?':
            if not self.allow_q:
                self.fail('“?”只能用于输入条目', '"?" is only allowed in input entries')
            self.take()
            self.q_seen += 1
            return ('q', pos)
        if kind == 'op' and value in ('(', '[', ']'):
            return self.bracket()
        if kind != 'name':
            self.unexpected()
        if value in _KEYWORDS:
            self.take()
            return ('lit', pos, _KEYWORDS[value])
        if value == 'dmninputexpr' and self.allow_q:
            # SpiffWorkflow's own name for the input value ("?" is rewritten to it there).
            self.take()
            self.q_seen += 1
            self.legacy = True
            return ('q', pos)
        if value == 'if':
            return self.expression()
        if self.at('(', k=1) and (value in _BUILTINS or value == 'not'):
            self.i += 2
            args = []
            if not self.at(')'):
                args.append(self.expression())
                while self.at(','):
                    self.take()
                    args.append(self.expression())
            self.expect(')')
            lo, hi = (1, 1) if value == 'not' else _BUILTINS[value][:2]
            if not lo <= len(args) <= hi:
                self.fail(f'函数{value}的参数个数错误', f'wrong number of arguments for {value}()', tok)
            return ('call', pos, value, tuple(args))
        if self.at('(', k=1):
            self.fail(f'未知函数“{value}”', f'unknown function {value!r}')
        if value in _RESERVED:
            self.fail(f'意外的关键字“{value}”', f'unexpected keyword {value!r}')
        self._check_name(value, pos)
        self.take()
        self.names.add(value)
        return ('name', pos, value)

    def bracket(self):
        opener, pos = self.take()[1:]
        if opener == '[' and self.at(']'):
            self.take()
            return ('list', pos, ())
        first = self.expression()
        if self.at('..'):
            self.take()
            hi = self.expression()
            if not self.at(']', '[', ')'):
                self.fail('区间应以“]”、“[”或“)”结束', 'interval must end with "]", "[" or ")"')
            closer = self.take()[1]
            return ('range', pos, opener == '[', first, hi, closer == ']')
        if opener == '(':
            self.expect(')')
            return first
        if opener == ']':
            self.fail('此处应为“..”', 'expected ".."')
        items = [first]
        while self.at(','):
            self.take()
            items.append(self.expression())
        self.expect(']')
        return ('list', pos, tuple(items))

    def positive_tests(self):
        tests = [self.positive_test()]
        while self.at(','):
            self.take()
            tests.append(self.positive_test())
        return tuple(tests)

    def positive_test(self):
        pos = self.toks[self.i][2]
        if self.at('<', '<=', '>', '>=', '=', '==', '!='):
            op = self.take()[1]
            return ('ut_cmp', pos, '=' if op == '==' else op, self.binary(3))
        before = self.q_seen
        node = self.expression()
        return ('ut_expr', pos, node, self.q_seen > before)


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


def _lookup(ctx, name):
    if ctx is _NOCTX:
        raise _NotConstant(name)
    return _data(ctx.get(name)) if isinstance(ctx, Mapping) else None


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


# Conversions reused by engine.dmn for typeRef coercion (same rules as the FEEL builtins).
normalize_number, to_string, to_number, to_date, to_date_time, to_duration = (
    _norm, _string, _number, _date, _datetime, _duration)


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
