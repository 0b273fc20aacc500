"""FEEL tokenizer and recursive-descent parser: cell text -> tuple AST (interpreted by ``engine.feel``).

Only whitelisted builtins (``engine.feel_values._BUILTINS``) may be called, Python statement words
are reserved and names may not start with "_", so no cell can name a Python object.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .feel_values import _BUILTINS, FeelError, _norm

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
