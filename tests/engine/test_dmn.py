"""DMN parsing, evaluation per hit policy, required decisions and lint (engine/dmn.py, engine/dmn_lint.py)."""
import datetime as dt
from dataclasses import asdict
from pathlib import Path

import pytest

from engine.dmn import Decision, DmnError, LintIssue, evaluate, legacy_input_expression, lint, parse_dmn
from engine.scripting import RestrictedEnvironment, check_expression

HERE = Path(__file__).parent / 'dmn'
NANTONG = Path(__file__).parents[2] / 'rules' / 'nantong'
ENV = RestrictedEnvironment()


def python_eval(expr, ctx):
    return ENV.evaluate(expr, dict(ctx))


def python_ok(text):
    return not check_expression(text) or not check_expression(f'dmninputexpr {text}')


def load(*names, directory=HERE):
    decisions = {}
    for name in names:
        path = directory / name
        decisions.update(parse_dmn(path.read_bytes(), path.name))
    return decisions


def run(decisions, decision_id, **ctx):
    return evaluate(decisions, decision_id, ctx)


# ------------------------------------------------------------------ parsing
def test_parse_structure():
    d = load('chain.dmn')
    assert set(d) == {'customer_level', 'discount_rate', 'base_price', 'final_price'}
    level = d['customer_level']
    assert isinstance(level, Decision) and level.name == '客户等级' and level.table_id == 'dt_customer_level'
    assert level.hit_policy == 'UNIQUE' and level.aggregation is None and level.file == 'chain.dmn'
    assert level.outputs[0].allowed_values == ['gold', 'basic'] and level.outputs[0].name == 'customer_level'
    assert level.inputs[0].expression == 'points' and level.inputs[0].type_ref == 'number'
    assert [r.number for r in level.rules] == [1, 2] and level.rules[0].inputs == ['>= 1000']
    assert d['discount_rate'].required == ['customer_level']
    assert d['discount_rate'].inputs[0].allowed_values == ['gold', 'basic']
    assert d['final_price'].literal_expression == 'base_price * (1 - discount_rate)'
    assert d['final_price'].required == ['base_price', 'discount_rate']


def test_default_hit_policy_is_unique_and_defaults_parsed():
    assert load('unique.dmn')['score_band'].hit_policy == 'UNIQUE'
    out = load('defaults.dmn')['with_default'].outputs
    assert [o.default for o in out] == ['"unknown"', '0']
    assert load('collect.dmn')['fees_sum'].aggregation == 'SUM'
    assert load('first.dmn')['route'].rules[0].description == '电话或网站的紧急诉求'


@pytest.mark.parametrize('data,fragment', [
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><definitions/>', 'DOCTYPE'),
    (b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"><decision', 'XML'),
    (b'<definitions xmlns="http://example.com/other"/>', 'namespace'),
    (b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"><decision id="x">'
     b'<context/></decision></definitions>', 'not supported'),
    (b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"><decision id="x"><literalExpression>'
     b'<text>1</text></literalExpression></decision><decision id="x"><literalExpression><text>1</text>'
     b'</literalExpression></decision></definitions>', 'twice'),
])
def test_parse_errors(data, fragment):
    with pytest.raises(DmnError) as info:
        parse_dmn(data, 'upload.dmn')
    assert fragment in info.value.message_en and info.value.message_zh.startswith('upload.dmn')


def test_external_entities_are_never_loaded(tmp_path):
    secret = tmp_path / 'secret.txt'
    secret.write_text('TOP SECRET')
    data = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY s SYSTEM "file://{secret}">]>'
            '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"><decision id="d">'
            '<literalExpression><text>&s;</text></literalExpression></decision></definitions>').encode()
    with pytest.raises(DmnError):
        parse_dmn(data)
    with pytest.raises(DmnError):   # also when the declaration hides in another encoding
        parse_dmn(data.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
                  .encode('utf-16'))


def test_dmn_11_and_12_files():
    d11, d12 = load('dmn11.dmn'), load('dmn12.dmn')
    assert run(d11, 'legacy11', season='Winter').outputs == {'dish': 'Roastbeef'}
    assert run(d11, 'legacy11', season='Summer').outputs == {'dish': 'Salad'}
    assert run(d12, 'legacy12', guests=8).outputs == {'dish': 'Spareribs'}
    assert run(d12, 'legacy12', guests=9).outputs == {'dish': 'Stew'}
    assert run(d12, 'legacy12', guests=21).outputs == {'dish': 'Buffet'}


# ------------------------------------------------------------------ hit policies
def test_unique():
    d = load('unique.dmn')
    assert run(d, 'discount', customer_type='business', order_size=3).outputs == {'discount': 0.05}
    assert run(d, 'discount', customer_type='business', order_size=10).outputs == {'discount': 0.1}
    result = run(d, 'discount', customer_type='private', order_size=101)
    assert result.outputs == {'discount': 0.02} and result.matched_rules == [4]
    assert run(d, 'score_band', score=20).outputs == {'band': 'low'}


def test_unique_overlap_is_an_error():
    with pytest.raises(DmnError) as info:
        run(load('unique.dmn'), 'score_band', score=50)
    err = info.value
    assert 'overlapping rules 1 and 2' in err.message_en and '规则1、2' in err.message_zh
    assert err.decision == 'score_band' and err.rule == 2


def test_first():
    d = load('first.dmn')
    assert run(d, 'route', channel='web', urgent=True).outputs == {'queue': 'fast'}
    assert run(d, 'route', channel='app', urgent=True).outputs == {'queue': 'priority'}
    assert run(d, 'route', channel='phone', urgent=False).matched_rules == [3]
    assert run(d, 'route', channel='phone').outputs == {'queue': 'manual'}     # urgent missing: null


def test_priority():
    d = load('priority.dmn')
    result = run(d, 'severity', issues=7)
    assert result.outputs == {'level': 'high'} and result.matched_rules == [2]
    assert run(d, 'severity', issues=12).outputs == {'level': 'critical'}
    assert run(d, 'severity', issues=0).outputs == {'level': 'low'}


def test_any():
    d = load('any.dmn')
    result = run(d, 'eligible', age=20, member=True)
    assert result.outputs == {'eligible': True} and result.matched_rules == [1, 2]
    assert run(d, 'eligible', age=10, member=False).outputs == {'eligible': False}
    assert run(d, 'any_conflict', x=3).outputs == {'result': 'a'}
    with pytest.raises(DmnError) as info:
        run(d, 'any_conflict', x=10)
    assert 'rules 1 and 2 match with different outputs' in info.value.message_en


@pytest.mark.parametrize('decision,kind,expected', [
    ('fees', 'a', [10, 5, 1]), ('fees', 'c', [1]),
    ('fees_sum', 'a', 16), ('fees_min', 'a', 1), ('fees_max', 'a', 10), ('fees_count', 'a', 3),
    ('fees_sum', 'z', 101), ('fees_count', 'b', 2),
])
def test_collect(decision, kind, expected):
    result = run(load('collect.dmn'), decision, kind=kind)
    assert result.outputs == {'fee': expected}


def test_collect_multiple_outputs_gives_lists_per_output():
    d = load('collect.dmn')
    assert run(d, 'tags', amount=5000).outputs == {'tag': ['positive', 'large'], 'weight': [1, 5]}
    assert run(d, 'tags', amount=0).outputs == {'tag': [], 'weight': []}


def test_collect_no_match():
    d = load('collect.dmn')
    assert run(d, 'fees_rare', kind='a').outputs == {'fee': -1}          # MAX: the default
    assert run(d, 'fees_rare', kind='q').outputs == {'fee': 7}
    assert run(d, 'fees_min', kind='a').outputs == {'fee': 1}
    rare = d['fees_rare']
    for agg, expected in (('SUM', -1), ('COUNT', 0), ('MIN', -1)):
        rare.aggregation = agg
        assert run(d, 'fees_rare', kind='a').outputs == {'fee': expected}
    rare.outputs[0].default = None
    for agg, expected in (('SUM', 0), ('COUNT', 0), ('MIN', None), ('MAX', None)):
        rare.aggregation = agg
        assert run(d, 'fees_rare', kind='a').outputs == {'fee': expected}
    rare.aggregation = None
    assert run(d, 'fees_rare', kind='a').outputs == {'fee': []}


def test_rule_order():
    d = load('rule_order.dmn')
    assert run(d, 'labels', amount=5).outputs == {'label': ['positive', 'small']}
    result = run(d, 'labels', amount=500)
    assert result.outputs == {'label': ['positive', 'large']} and result.matched_rules == [1, 2]
    assert run(d, 'labels', amount=-1).outputs == {'label': []}


def test_output_order():
    result = run(load('output_order.dmn'), 'medals', points=95)
    assert result.outputs == {'medal': ['gold', 'silver', 'bronze']} and result.matched_rules == [2, 3, 1]
    assert run(load('output_order.dmn'), 'medals', points=60).outputs == {'medal': ['silver', 'bronze']}


# ------------------------------------------------------------------ defaults and no match
def test_no_match_uses_defaults():
    d = load('defaults.dmn')
    assert run(d, 'with_default', color='red').outputs == {'action': 'stop', 'code': 1}
    result = run(d, 'with_default', color='blue')
    assert result.outputs == {'action': 'unknown', 'code': 0} and result.matched_rules == []


def test_no_match_without_default_is_an_error():
    with pytest.raises(DmnError) as info:
        run(load('defaults.dmn'), 'without_default', color='blue')
    err = info.value
    assert '决策表without_default没有匹配的规则且未定义默认输出' in err.message_zh
    assert 'decision without_default: no rule matched and no default output' in err.message_en
    assert "'blue'" in err.message_en and err.decision == 'without_default'


# ------------------------------------------------------------------ required decisions
def test_required_decision_chain_and_trace():
    d = load('chain.dmn')
    result = run(d, 'final_price', points=1500, product='book')
    assert result.outputs == {'final_price': 18}
    assert [t.decision for t in result.trace] == ['base_price', 'customer_level', 'discount_rate', 'final_price']
    level = result.trace[1]
    assert level.inputs == {'积分': 1500} and level.matched_rules == [1] and level.outputs == {'customer_level': 'gold'}
    assert level.hit_policy == 'UNIQUE'
    assert run(d, 'final_price', points=10, product='pen').outputs == {'final_price': 2.5}
    assert run(d, 'discount_rate', points=10).outputs == {'discount_rate': 0}
    assert asdict(result)['trace'][0]['name'] == '基础价格'


def test_required_decisions_across_files():
    d = load('chain.dmn')
    d2 = {k: v for k, v in d.items() if k != 'customer_level'}
    with pytest.raises(DmnError) as info:
        run(d2, 'discount_rate', points=1)
    assert 'requires unknown decision customer_level' in info.value.message_en
    d2.update(parse_dmn((HERE / 'chain.dmn').read_bytes(), 'other.dmn'))   # merged by the caller
    assert run(d2, 'discount_rate', points=2000).outputs == {'discount_rate': 0.1}


def test_cycle_is_an_error():
    with pytest.raises(DmnError) as info:
        run(load('cycle.dmn'), 'cycle_a')
    assert 'cyclic decision requirements: cycle_a → cycle_b → cycle_a' in info.value.message_en
    issues = lint(load('cycle.dmn'))
    assert [i.code for i in issues] == ['cycle']


def test_unknown_decision():
    with pytest.raises(DmnError, match='unknown decision nope'):
        run(load('chain.dmn'), 'nope')


# ------------------------------------------------------------------ typeRef coercion
def test_type_coercion_of_inputs():
    d = load('types.dmn')
    ctx = dict(count='5', price='2.5', flag='true', day='2025-03-01', name='x')
    result = evaluate(d, 'typed', ctx)
    assert result.outputs == {'result': 'all'}
    assert result.trace[0].inputs == {'数量': 5, '价格': 2.5, '标志': True, '日期': dt.date(2025, 3, 1), '名称': 'x'}
    ctx = dict(count=1, price=1, flag=False, day=dt.datetime(2024, 5, 1, 9, 30), name=5)
    assert evaluate(d, 'typed', ctx).outputs == {'result': 'old-five'}     # datetime -> date, 5 -> "5"
    assert evaluate(d, 'typed', {}).outputs == {'result': 'other'}          # nulls pass every type


@pytest.mark.parametrize('field,value,label', [
    ('count', 'abc', '数量'), ('count', 2.5, '数量'), ('flag', 'yes', '标志'), ('day', '01/02/2025', '日期'),
    ('price', True, '价格'), ('name', [1], '名称'),
])
def test_type_coercion_failure_names_the_input(field, value, label):
    with pytest.raises(DmnError) as info:
        evaluate(load('types.dmn'), 'typed', {field: value})
    assert label in info.value.message_en and label in info.value.message_zh
    assert info.value.cell.startswith('input ')


def test_output_coercion_and_allowed_values_at_run_time():
    d = load('lint_cases.dmn')
    with pytest.raises(DmnError) as info:
        run(d, 'lint_output_type', x=1)
    assert info.value.rule == 1 and info.value.cell == 'output 1' and 'days' in info.value.message_en
    with pytest.raises(DmnError) as info:
        run(d, 'lint_output_type', x=-1)
    assert info.value.rule == 2 and 'allowed values' in info.value.message_en


def test_bad_cell_at_run_time_names_rule_and_cell():
    with pytest.raises(DmnError) as info:
        run(load('lint_cases.dmn'), 'lint_bad_feel', x=-1)
    err = info.value
    assert (err.decision, err.rule, err.cell) == ('lint_bad_feel', 2, 'input 1')
    assert 'Cannot parse FEEL expression: [1..' in err.message_en


def test_feel_runtime_error_is_a_dmn_error():
    data = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
      <decision id="calc" name="calc"><variable name="total" typeRef="number" />
        <literalExpression><text>price * 2</text></literalExpression></decision></definitions>"""
    d = parse_dmn(data)
    assert evaluate(d, 'calc', {'price': 2.5}).outputs == {'total': 5}
    with pytest.raises(DmnError) as info:
        evaluate(d, 'calc', {'price': 'abc'})
    assert info.value.decision == 'calc' and info.value.cell == 'literal expression'
    assert "cannot apply '*' to string and number" in info.value.message_en


# ------------------------------------------------------------------ legacy Python cells
def test_legacy_python_fallback():
    d = load('legacy.dmn')
    assert evaluate(d, 'legacy_python', {'kind': 'a', 'n': 9}, python_eval).outputs == {'result': 'ab-big'}
    assert evaluate(d, 'legacy_python', {'kind': 'b', 'n': 1}, python_eval).outputs == {'result': 'ab-small'}
    assert evaluate(d, 'legacy_python', {'kind': 'c', 'n': 3}, python_eval).outputs == {'result': 'c3'}
    assert evaluate(d, 'legacy_python', {'kind': 'z', 'n': 3}, python_eval).outputs == {'result': None}
    with pytest.raises(DmnError) as info:        # without python_eval the cell is reported, not run
        evaluate(d, 'legacy_python', {'kind': 'a', 'n': 9})
    assert (info.value.rule, info.value.cell) == (1, 'input 1')


def test_legacy_python_errors_are_dmn_errors():
    d = load('legacy.dmn')
    with pytest.raises(DmnError) as info:
        evaluate(d, 'legacy_python', {'kind': 'a', 'n': None}, python_eval)
    assert 'legacy Python cell failed' in info.value.message_en and info.value.cell == 'output 1'


@pytest.mark.parametrize('entry,expr', [
    ('in ["a", "b"]', 'dmninputexpr in ["a", "b"]'),
    ('"a"', 'dmninputexpr == ("a")'),
    ('< 5', 'dmninputexpr < 5'),
    ('? > 3 and ? < 9', 'dmninputexpr > 3 and dmninputexpr < 9'),
    ('"what?"', 'dmninputexpr == ("what?")'),
])
def test_legacy_input_expression_mimics_spiffworkflow(entry, expr):
    assert legacy_input_expression(entry) == expr


# ------------------------------------------------------------------ lint
def lint_by_code(issues, decision):
    return [(i.code, i.rule, i.cell, i.severity) for i in issues if i.decision == decision]


@pytest.fixture(scope='module')
def lint_issues():
    return lint(load('lint_cases.dmn'), python_ok=python_ok)


def test_lint_overlap(lint_issues):
    assert lint_by_code(lint_issues, 'lint_overlap') == [('overlap', 3, None, 'error')]
    issue = next(i for i in lint_issues if i.code == 'overlap')
    assert isinstance(issue, LintIssue) and 'rules 2 and 3 overlap' in issue.message_en
    assert '规则2与规则3重叠' in issue.message_zh and 'lint_overlap' in issue.message_zh


def test_lint_unique_fixture_overlap_and_any_conflict():
    assert [(i.code, i.decision) for i in lint(load('unique.dmn'))] == [('overlap', 'score_band')]
    assert [(i.code, i.decision, i.rule) for i in lint(load('any.dmn'))] == [('any_conflict', 'any_conflict', 2)]


def test_lint_uncovered_enumeration(lint_issues):
    assert lint_by_code(lint_issues, 'lint_uncovered') == [('uncovered_value', None, 'input 1', 'error')]
    issue = next(i for i in lint_issues if i.code == 'uncovered_value')
    assert 'value \'praise\' of input 请求类型 is not covered' in issue.message_en
    assert lint_by_code(lint_issues, 'lint_covered_by_default') == []


def test_lint_output_type_and_allowed_values(lint_issues):
    assert lint_by_code(lint_issues, 'lint_output_type') == [('output_type', 1, 'output 1', 'error'),
                                                             ('output_value', 2, 'output 2', 'error')]


def test_lint_bad_feel_names_rule_and_cell(lint_issues):
    issues = [i for i in lint_issues if i.decision == 'lint_bad_feel']
    assert [(i.code, i.rule, i.cell) for i in issues] == [('feel_syntax', 2, 'input 1'), ('feel_syntax', 3, 'output 1')]
    assert issues[0].message_en.startswith('decision lint_bad_feel, rule 2, input 1: Cannot parse FEEL expression')
    assert issues[0].message_zh.startswith('决策lint_bad_feel规则2（input 1）：无法解析的FEEL表达式')


def test_lint_legacy_python_is_a_warning(lint_issues):
    assert lint_by_code(lint_issues, 'lint_legacy') == [('legacy_python', 1, 'input 1', 'warning')]
    # without a Python checker the same cell is an error
    assert ('feel_syntax', 1, 'input 1', 'error') in lint_by_code(lint(load('lint_cases.dmn')), 'lint_legacy')


def test_lint_counts_policy_and_requirements(lint_issues):
    assert lint_by_code(lint_issues, 'lint_counts') == [('entry_count', 1, None, 'error'),
                                                        ('entry_count', 2, None, 'error')]
    assert [c for c, *_ in lint_by_code(lint_issues, 'lint_policy')] == ['missing_required', 'hit_policy', 'aggregation']


def test_lint_clean_fixtures():
    clean = ['first.dmn', 'priority.dmn', 'collect.dmn', 'rule_order.dmn', 'output_order.dmn', 'chain.dmn',
             'defaults.dmn', 'types.dmn', 'dmn11.dmn', 'dmn12.dmn']
    for name in clean:
        assert lint(load(name), python_ok=python_ok) == [], name
    assert {i.severity for i in lint(load('legacy.dmn'), python_ok=python_ok)} == {'warning'}


# ------------------------------------------------------------------ Nantong production tables
NANTONG_FILES = sorted(p.name for p in NANTONG.glob('*.dmn'))


@pytest.fixture(scope='module')
def nantong():
    return load(*NANTONG_FILES, directory=NANTONG)


def test_nantong_files_parse_and_lint_without_errors(nantong):
    assert len(NANTONG_FILES) >= 7
    assert {d.file for d in nantong.values()} == set(NANTONG_FILES)
    errors = [i for i in lint(nantong, python_ok=python_ok) if i.severity == 'error']
    assert errors == []
    assert [i for i in lint(nantong) if i.severity == 'error'] == []    # pure FEEL: no Python needed


@pytest.mark.parametrize('decision,ctx,expected', [
    ('handle_limit', dict(kind='event', request_type='complaint'), {'handle_limit_days': 15}),
    ('handle_limit', dict(kind='event', request_type='consult'), {'handle_limit_days': 3}),
    ('handle_limit', dict(kind='directive', request_type='consult'), {'handle_limit_days': 5}),
    ('handle_limit', dict(kind='event', request_type='praise'), {'handle_limit_days': 5}),
    ('callback_policy', dict(satisfied=False, unit_at_fault=True, rehandle_count=0), {'callback_outcome': 'rehandle'}),
    ('callback_policy', dict(satisfied=False, unit_at_fault=True, rehandle_count=1), {'callback_outcome': 'supervise'}),
    ('callback_policy', dict(satisfied=True, unit_at_fault=True, rehandle_count=3), {'callback_outcome': 'archive'}),
    ('callback_policy', dict(satisfied=False, unit_at_fault=False, rehandle_count=0), {'callback_outcome': 'archive'}),
    ('callback_policy', dict(), {'callback_outcome': 'archive'}),
    ('ticket_kind', dict(channel='provincial_platform'), {'kind': 'directive'}),
    ('ticket_kind', dict(channel='phone_12345'), {'kind': 'event'}),
    ('ticket_kind', dict(channel='something_new'), {'kind': 'event'}),
    ('extension_policy', dict(kind='event', extension_count=0, handle_limit_days=10),
     {'extension_allowed': True, 'extension_approver': 'principal', 'extension_notice_days': 1,
      'extension_max_days': 10}),
    ('extension_policy', dict(kind='event', extension_count=2, handle_limit_days=10),
     {'extension_allowed': False, 'extension_approver': '', 'extension_notice_days': 1, 'extension_max_days': 0}),
    ('extension_policy', dict(kind='directive', extension_count=0, handle_limit_days=5),
     {'extension_allowed': False, 'extension_approver': '', 'extension_notice_days': 1, 'extension_max_days': 0}),
])
def test_nantong_decisions(nantong, decision, ctx, expected):
    for pe in (python_eval, None):
        assert evaluate(nantong, decision, ctx, python_eval=pe).outputs == expected


def test_nantong_every_table_evaluates(nantong):
    ctx = dict(kind='event', request_type='help', channel='web', scope='petition', satisfied=True,
               unit_at_fault=False, rehandle_count=0, extension_count=0, handle_limit_days=5,
               current_return_number=1)
    for decision_id in nantong:
        result = evaluate(nantong, decision_id, ctx, python_eval=python_eval)
        assert result.outputs and len(result.matched_rules) == 1, decision_id
        assert all(v is not None for v in result.outputs.values())
    assert evaluate(nantong, 'scope_check', ctx).outputs['scope_outcome'] == 'reject'
