"""FEEL unary tests and expressions (engine/feel.py)."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.feel import (FeelError, feel_equal, is_feel_expression, is_feel_unary, parse_expression,
                         parse_unary_tests)


def ev(text, **ctx):
    return parse_expression(text).evaluate(ctx)


def match(text, value, **ctx):
    return parse_unary_tests(text).matches(value, ctx)


# ------------------------------------------------------------------ unary tests
@pytest.mark.parametrize('text', ['-', '', '  -  ', '   '])
@pytest.mark.parametrize('value', [None, 0, 'x', True, dt.date(2025, 1, 1), [1]])
def test_dash_and_empty_match_anything(text, value):
    assert match(text, value)


@pytest.mark.parametrize('text,value,expected', [
    ('"a"', 'a', True), ('"a"', 'b', False), ('"a"', None, False),
    ('5', 5, True), ('5', 5.0, True), ('5', '5', False), ('-3', -3, True), ('2.50', 2.5, True),
    ('0.1', 0.1, True), ('true', True, True), ('true', 1, False), ('false', False, True), ('false', 0, False),
    ('null', None, True), ('null', 0, False), ('null', '', False),
    ('date("2025-01-01")', dt.date(2025, 1, 1), True), ('date("2025-01-01")', '2025-01-01', False),
    ('date and time("2025-01-01T10:00:00+08:00")',
     dt.datetime(2025, 1, 1, 2, 0, tzinfo=dt.timezone.utc), True),
    ('duration("P1D")', dt.timedelta(days=1), True), ('duration("PT36H")', dt.timedelta(hours=36), True),
    ('"多个 字"', '多个 字', True), ('"say \\"hi\\""', 'say "hi"', True), ('"\\u4e2d"', '中', True),
])
def test_literal_equality(text, value, expected):
    assert match(text, value) is expected


@pytest.mark.parametrize('text,value,expected', [
    ('< 5', 4, True), ('< 5', 5, False), ('<= 5', 5, True), ('> 5', 5, False), ('>= 2', 2, True),
    ('>= 2', 1.99, False), ('= 5', 5, True), ('= 5', 6, False), ('!= "a"', 'b', True), ('!= "a"', 'a', False),
    ('< -1.5', -2, True), ('> date("2025-01-01")', dt.date(2025, 1, 2), True),
    ('> date("2025-01-01")', dt.date(2025, 1, 1), False), ('< "b"', 'a', True),
    ('>= duration("P1D")', dt.timedelta(hours=30), True),
])
def test_comparisons(text, value, expected):
    assert match(text, value) is expected


@pytest.mark.parametrize('text', ['< 5', '<= 5', '> 5', '>= 5', '[1..5]', '> date("2025-01-01")'])
def test_comparisons_with_null_are_false(text):
    assert not match(text, None)


@pytest.mark.parametrize('text', ['< 5', '[1..5]', '"a"'])
def test_comparisons_across_types_are_false(text):
    assert not match(text, 'abc' if text != '"a"' else 3)
    assert not match(text, True)


@pytest.mark.parametrize('text,inside,outside', [
    ('[1..5]', [1, 3, 5, 4.99], [0, 5.01, 6]),
    (']1..5[', [1.01, 3, 4.99], [1, 5]),
    ('(1..5)', [2, 4.5], [1, 5]),
    ('[1..5)', [1, 4], [5]),
    ('(1..5]', [5, 2], [1]),
    (']1..5]', [5], [1]),
    ('[1..5[', [1], [5]),
    ('[-5..-1]', [-5, -3, -1], [0, -6]),
    ('[date("2025-01-01")..date("2025-01-31")]', [dt.date(2025, 1, 1), dt.date(2025, 1, 31)], [dt.date(2025, 2, 1)]),
    ('["a".."c"]', ['a', 'b', 'c'], ['d']),
])
def test_ranges(text, inside, outside):
    for v in inside:
        assert match(text, v), v
    for v in outside:
        assert not match(text, v), v


def test_lists_of_tests():
    assert match('"a","b"', 'b') and not match('"a","b"', 'c')
    assert match('1, [3..5]', 4) and match('1, [3..5]', 1) and not match('1, [3..5]', 2)
    assert match('< 0, > 10', -1) and match('< 0, > 10', 11) and not match('< 0, > 10', 5)
    assert match('"a", null', None)


def test_not():
    assert match('not("a","b")', 'c') and not match('not("a","b")', 'a')
    assert match('not([1..5])', 6) and not match('not([1..5])', 3)
    assert match('not(< 0, > 10)', 5)
    # FEEL: null = "a" is false, so not("a") holds for null; null < 5 is null and stays null.
    assert match('not("a")', None)
    assert not match('not(< 5)', None)
    assert match('not(null)', 1) and not match('not(null)', None)


def test_question_mark_tests():
    assert match('? > 3', 4) and not match('? > 3', 2) and not match('? > 3', None)
    assert match('? > 3 and ? < 10', 5) and not match('? > 3 and ? < 10', 10)
    assert match('string length(?) > 2', 'abc')
    assert match('"x", ? > 100', 101) and match('"x", ? > 100', 'x')


def test_plain_expression_compares_equal():
    assert match('other_var', 3, other_var=3)
    assert not match('other_var', 4, other_var=3)
    assert match('limit + 1', 6, limit=5)
    assert match('< limit', 4, limit=5) and not match('< limit', 5, limit=5)
    assert match('[low..high]', 7, low=5, high=10)
    assert match('allowed', 'b', allowed=['a', 'b'])      # a list result: value is a member
    assert match('a.b', 1, a={'b': 1})


def test_python_spellings_are_accepted():
    assert match('True', True) and match('False', False) and match('None', None)
    assert match("'single'", 'single') and match('== 5', 5)
    assert parse_unary_tests('True').legacy and not parse_unary_tests('true').legacy
    assert ev('x == 1', x=1) is True and ev("'a' + 'b'") == 'ab'


# ------------------------------------------------------------------ expressions
@pytest.mark.parametrize('text,expected', [
    ('1 + 2 * 3', 7), ('(1 + 2) * 3', 9), ('10 - 4 - 3', 3), ('7 / 2', 3.5), ('6 / 3', 2), ('2 ** 10', 1024),
    ('-2 ** 2', 4), ('-(2 + 3)', -5), ('0.1 + 0.2', 0.3), ('1.5 * 2', 3), ('3 - 0.5', 2.5), ('2 ** -1', 0.5),
    ('"ab" + "cd"', 'abcd'), ('1 = 1', True), ('1 != 2', True), ('"a" < "b"', True), ('2 >= 3', False),
    ('true and false', False), ('true or false', True), ('not(true)', False), ('null', None),
    ('true and null', None), ('false and null', False), ('true or null', True), ('not(null)', None),
    ('if 1 > 2 then "a" else "b"', 'b'), ('if null then 1 else 2', 2), ('1 + if true then 1 else 0', 2),
    ('null + 1', None), ('null = null', True), ('1 = null', False), ('null < 1', None), ('"1" = 1', False),
    ('[1, 2, 3]', [1, 2, 3]), ('[]', []), ('2 in [1..5]', True), ('6 in [1..5]', False),
    ('"a" in ("a", "b")', True), ('"c" in ("a", "b")', False), ('5 in (1..5)', False), ('3 in > 2', True),
])
def test_expressions(text, expected):
    result = ev(text)
    assert feel_equal(result, expected) or result == expected, (text, result)
    if isinstance(expected, int) and not isinstance(expected, bool):
        assert type(result) is int, (text, type(result))


def test_number_types():
    assert type(ev('2.0')) is int and type(ev('2.5')) is float and type(ev('4 / 2')) is int
    assert type(ev('x * 2', x=1.5)) is int


@pytest.mark.parametrize('text,expected', [
    ('date("2025-01-31")', dt.date(2025, 1, 31)), ('date(2025, 2, 3)', dt.date(2025, 2, 3)),
    ('date and time("2025-01-01T10:00:00+08:00")',
     dt.datetime(2025, 1, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))),
    ('date and time("2025-01-01T10:00:00Z").hour', 10),
    ('date("2025-01-01") + duration("P1D")', dt.date(2025, 1, 2)),
    ('date("2025-01-10") - date("2025-01-01")', dt.timedelta(days=9)),
    ('duration("-PT1H")', dt.timedelta(hours=-1)), ('date("2025-03-04").month', 3),
    ('date("2025-03-04").weekday', 2), ('date(d)', dt.date(2025, 5, 6)),
    ('number("12.50")', 12.5), ('number("7")', 7), ('string(12)', '12'), ('string(true)', 'true'),
    ('string(date("2025-01-01"))', '2025-01-01'), ('string length("南通市")', 3),
    ('upper case("abc")', 'ABC'), ('lower case("ABC")', 'abc'), ('contains("hotline", "line")', True),
    ('starts with("12345", "123")', True), ('ends with("12345", "6")', False),
    ('min(3, 1, 2)', 1), ('max([3, 1, 2])', 3), ('sum(1, 2, 3.5)', 6.5), ('sum([0.1, 0.2])', 0.3),
    ('min([])', None), ('abs(-4)', 4), ('floor(2.7)', 2), ('ceiling(2.1)', 3), ('floor(-2.5)', -3),
    ('count([1, 2])', 2), ('string length(null)', None),
])
def test_builtins(text, expected):
    assert ev(text, d=dt.datetime(2025, 5, 6, 12)) == expected


def test_names_and_paths():
    ctx = {'a': {'b': {'c': 3}}, 'x': 2, '请求类型': 'consult'}
    assert parse_expression('a.b.c + x').evaluate(ctx) == 5
    assert parse_expression('请求类型').evaluate(ctx) == 'consult'
    assert parse_expression('missing').evaluate(ctx) is None          # unknown names are null
    assert parse_expression('a.missing.c').evaluate(ctx) is None
    assert parse_expression('x.b').evaluate(ctx) is None             # no attributes of Python objects
    assert parse_expression('a.b.c + x').names == {'a', 'x'}


def test_multi_word_names_only_before_a_call():
    # "date and time" is a function name only when "(" follows; otherwise "and" is a conjunction.
    assert ev('date and time', date=True, time=False) is False
    assert parse_expression('date and time("2025-01-01T00:00:00")').names == set()


@pytest.mark.parametrize('text', [
    'import os', '__class__', 'x.__class__', '_private', '[1..', '"unterminated', "'unterminated", '1 +',
    '(1', '[1, 2', ']1..5', 'open("/etc/passwd")', 'eval("1")', '__import__("os")', 'x.__dict__', 'lambda: 1',
    '1 2', 'a = = b', '1 < 2 < 3', 'string length("a", "b")', 'date()', 'not 1', '"a" "b"', '?', '@', '1;2',
    'x in', 'if 1 then 2', '((' * 40 + '1' + '))' * 40, '9' * 50, '"\\q"', 'a..b', 'x.1',
])
def test_garbage_is_rejected_with_position(text):
    with pytest.raises(FeelError) as info:
        parse_expression(text)
    err = info.value
    assert err.message_zh.startswith(('无法解析的FEEL表达式', 'FEEL')) and err.message_en
    assert err.position is not None and 0 <= err.position <= len(text)
    assert not is_feel_expression(text)


@pytest.mark.parametrize('text', ['import os', '__class__', '[1..', '"unterminated', 'not("a"', '- 1 -', '"a",,',
                                  '>', '< ', 'not("a") or 1', ', "a"'])
def test_garbage_unary_tests(text):
    with pytest.raises(FeelError):
        parse_unary_tests(text)
    assert not is_feel_unary(text)


def test_error_messages_are_bilingual():
    with pytest.raises(FeelError) as info:
        parse_expression('1 + @')
    assert '无法解析的FEEL表达式：1 + @' in info.value.message_zh
    assert 'Cannot parse FEEL expression: 1 + @' in info.value.message_en
    assert info.value.position == 4 and str(info.value) == f'{info.value.message_zh} / {info.value.message_en}'


@pytest.mark.parametrize('text,ctx', [
    ('"a" - 1', {}), ('1 / 0', {}), ('x * 2', {'x': 'abc'}), ('date("not a date")', {}), ('number("x")', {}),
    ('duration("P1Y")', {}), ('-"a"', {}), ('1 and true', {}), ('10 ** 100000', {}), ('upper case(1)', {}),
    ('min(1, "a")', {}),
])
def test_runtime_errors(text, ctx):
    with pytest.raises(FeelError) as info:
        parse_expression(text).evaluate(ctx)
    assert info.value.message_en and info.value.message_zh


def test_parse_is_cached_and_helpers():
    assert parse_expression('1 + 1') is parse_expression('1 + 1')
    assert parse_unary_tests('"a","b"') is parse_unary_tests('"a","b"')
    assert is_feel_unary('"a","b"') and is_feel_unary('not([1..2])') and is_feel_expression('a + 1')
    assert not is_feel_expression('< 5') and not is_feel_unary('dmninputexpr.startswith("a")')


def test_no_python_execution():
    # Values in the context are data, never code: a callable in the context cannot be invoked.
    calls = []
    assert parse_expression('f').evaluate({'f': lambda: calls.append(1)}) is not None
    assert not is_feel_expression('f()')
    assert calls == []


def test_constant_atoms_for_lint():
    assert parse_unary_tests('"a","b"').constant_atoms() == [('eq', 'a'), ('eq', 'b')]
    assert parse_unary_tests('[1..5), > 7').constant_atoms() == [('range', 1, True, 5, False),
                                                                 ('range', 7, False, None, False)]
    assert parse_unary_tests('< x').constant_atoms() is None
    assert parse_unary_tests('? > 1').constant_atoms() is None


# ------------------------------------------------------------------ properties
ints = st.integers(min_value=-10**6, max_value=10**6)


@given(ints, ints, ints)
def test_closed_range_property(a, b, x):
    assert match(f'[{a}..{b}]', x) == (a <= x <= b)
    assert match(f']{a}..{b}[', x) == (a < x < b)
    assert match(f'[{a}..{b})', x) == (a <= x < b)


@given(ints, ints)
def test_comparison_property(a, x):
    assert match(f'< {a}', x) == (x < a)
    assert match(f'>= {a}', x) == (x >= a)
    assert match(f'!= {a}', x) == (x != a)


tests_st = st.sampled_from(['"a","b"', '[1..5]', '< 0, > 10', '"x"', '1, 2, 3', ']0..1]', '>= 2.5', 'true',
                            'date("2025-01-01")', '!= 4'])
values_st = st.one_of(st.integers(-20, 20), st.floats(-20, 20, allow_nan=False), st.sampled_from('abxyz'),
                      st.booleans(), st.just(dt.date(2025, 1, 1)))


@given(tests_st, values_st)
def test_not_is_negation_for_non_null(test, value):
    assert match(f'not({test})', value) == (not match(test, value))


@given(st.integers(-10**9, 10**9), st.integers(-10**9, 10**9))
def test_integer_arithmetic_stays_exact(a, b):
    assert ev('a + b', a=a, b=b) == a + b and type(ev('a * b', a=a, b=b)) is int
    assert ev('a - b', a=a, b=b) == a - b


@given(st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=30))
def test_string_literals_round_trip(s):
    literal = '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'
    assert ev(literal) == s
    assert match(literal, s)


@given(st.text(max_size=40))
def test_arbitrary_text_never_crashes(text):
    # Uploaded cells: any text either parses or raises FeelError, nothing else.
    for parse in (parse_expression, parse_unary_tests):
        try:
            parse(text)
        except FeelError:
            pass


def test_spiffworkflow_input_name_and_decimal_data():
    # SpiffWorkflow tables may name the input value dmninputexpr; it means "?" there.
    assert match('dmninputexpr > 3', 4) and not match('dmninputexpr > 3', 3)
    assert parse_unary_tests('dmninputexpr > 3').legacy
    # Decimal task data (database Numeric columns) compares and computes like FEEL numbers.
    from decimal import Decimal
    assert match('0.1', Decimal('0.1')) and match('[0.1..0.2]', Decimal('0.1'))
    assert ev('x + 0.2', x=Decimal('0.1')) == 0.3 and ev('x.y', x={'y': Decimal('2.0')}) == 2


_VOCAB = ['1', '2.5', '0', '-', '+', '*', '/', '**', '(', ')', '[', ']', '..', ',', '"a"', 'x', 'y.z', 'null', 'true',
          'and', 'or', 'not(', 'if', 'then', 'else', 'in', '<', '>=', '=', '!=', 'date("2025-01-01")',
          'duration("P1D")', 'string length(', 'min(', 'sum(', 'floor(', '?', 'd', 'date and time(']


@given(st.lists(st.sampled_from(_VOCAB), max_size=14),
       st.sampled_from([None, 0, 3, -1.5, 'a', True, dt.date(2025, 1, 2), [1, 2], {'z': 1}]))
def test_random_token_soup_only_raises_feel_errors(tokens, value):
    text = ' '.join(tokens)
    ctx = {'x': value, 'y': {'z': value}, 'd': dt.date(2025, 1, 1)}
    for parse, run in ((parse_expression, lambda p: p.evaluate(ctx)),
                       (parse_unary_tests, lambda p: p.matches(value, ctx))):
        try:
            run(parse(text))
        except FeelError:
            pass


def test_pathological_sizes_fail_cleanly():
    for text in ['+'.join(['1'] * 300), '(' * 45 + '1' + ')' * 45, 'x' * 30000, '-' * 100 + '1']:
        with pytest.raises(FeelError):
            parse_expression(text).evaluate({})
    assert ev('+'.join(['(' + '+'.join(['1'] * 200) + ')'] * 40)) == 8000
