import datetime
import pytest

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.scripting import (  # noqa: E402
    RestrictedEnvironment,
    ScriptSecurityError,
    check_expression,
    check_script,
    guarded_getattr,
    make_script_engine,
)


def _add_working_days(day, n):
    return day + datetime.timedelta(days=n)


@pytest.fixture
def env():
    return RestrictedEnvironment({'add_working_days': _add_working_days, 'double': lambda v: v * 2})


# ----------------------------------------------------------------- normal use

def test_assignments_and_arithmetic(env):
    ctx = {'x': 3}
    env.execute('y = x * 2 + 1\nz = y / 2\nw = y // 2 % 3\np = 2 ** 3', ctx)
    assert ctx == {'x': 3, 'y': 7, 'z': 3.5, 'w': 0, 'p': 8}


def test_augmented_assignment(env):
    ctx = {'x': 1, 's': 'a', 'items': [1]}
    env.execute("x += 1\nx *= 5\ns += 'b'\nitems += [2]", ctx)
    assert ctx == {'x': 10, 's': 'ab', 'items': [1, 2]}


def test_if_else_and_for(env):
    ctx = {'level': 3, 'rows': [{'n': 1}, {'n': 2}]}
    env.execute(
        "if level > 2:\n    urgency = 'high'\nelse:\n    urgency = 'low'\n"
        "total = 0\nfor row in rows:\n    total += row['n']\n"
        "for i, v in [(1, 'a'), (2, 'b')]:\n    last = v\n"
        "a, b = 1, 2\nsquares = [n * n for n in range(4)]",
        ctx)
    assert ctx['urgency'] == 'high'
    assert ctx['total'] == 3
    assert ctx['last'] == 'b'
    assert (ctx['a'], ctx['b']) == (1, 2)
    assert ctx['squares'] == [0, 1, 4, 9]
    assert 'row' in ctx and 'i' in ctx  # loop variables are plain data


def test_string_methods_literals_and_subscripts(env):
    ctx = {'d': {'k': 'v'}, 'lst': [1, 2, 3]}
    env.execute(
        "u = 'a'.upper()\nparts = 'a,b'.split(',')\nfirst = lst[0]\ntail = lst[1:]\n"
        "d['new'] = d['k'] + '!'\nm = {'a': [1, {'b': 2}]}\nm['a'][1]['b'] = 3\n"
        "g = d.get('missing', 0)\nf = f'{first}-{u}'\nr = '%s=%d' % ('n', 5)",
        ctx)
    assert ctx['u'] == 'A' and ctx['parts'] == ['a', 'b']
    assert ctx['first'] == 1 and ctx['tail'] == [2, 3]
    assert ctx['d'] == {'k': 'v', 'new': 'v!'}
    assert ctx['m'] == {'a': [1, {'b': 3}]}
    assert ctx['g'] == 0 and ctx['f'] == '1-A' and ctx['r'] == 'n=5'


def test_safe_builtins(env):
    ctx = {'v': [3, 1, 2]}
    env.execute("a = sorted(v)\nb = (len(v), min(v), max(v), sum(v), abs(-1), round(2.6))\n"
                "c = (int('4'), float('1.5'), str(1), bool(0), any(v), all(v))\n"
                "e = list(range(3))\nf = dict(x=1)\ng = set([1, 1])\nh = tuple(v)", ctx)
    assert ctx['a'] == [1, 2, 3]
    assert ctx['b'] == (3, 1, 3, 6, 1, 3)
    assert ctx['c'] == (4, 1.5, '1', False, True, True)
    assert ctx['e'] == [0, 1, 2] and ctx['f'] == {'x': 1} and ctx['g'] == {1} and ctx['h'] == (3, 1, 2)


def test_range_is_bounded(env):
    with pytest.raises(ValueError):
        env.execute('r = list(range(10 ** 6))', {})


def test_provided_functions_and_cleanup(env):
    ctx = {'day': datetime.date(2024, 1, 1)}
    env.execute('due = add_working_days(day, 2)\nn = double(4)\nalias = double\ngen = (i for i in [1])', ctx)
    assert ctx['due'] == datetime.date(2024, 1, 3)
    assert ctx['n'] == 8
    # Injected callables, builtins and iterators never remain in task data.
    assert set(ctx) == {'day', 'due', 'n'}


def test_nested_callable_in_task_data_is_refused(env):
    with pytest.raises(TypeError):
        env.execute("box = {'f': double}", {})


def test_task_data_shadowing_function_is_refused(env):
    with pytest.raises(ValueError):
        env.execute('y = 1', {'double': 3})
    with pytest.raises(ValueError):
        env.execute('y = 1', {'_getattr_': 3})
    with pytest.raises(ValueError):
        env.execute('y = 1', {'ext': 1}, {'ext': 2})


def test_external_context_is_removed_after_execute(env):
    ctx = {'x': 1}
    env.execute('y = x + ext', ctx, {'ext': 2})
    assert ctx == {'x': 1, 'y': 3}


def test_evaluate_and_dmn_style(env):
    ctx = {'x': 4}
    assert env.evaluate('x > 3 and x < 10', ctx) is True
    assert env.evaluate('dmninputexpr < 5', ctx, {'dmninputexpr': 3}) is True
    assert env.evaluate('double(x)', ctx) == 8
    assert ctx == {'x': 4}  # evaluation does not pollute task data


def test_engine_validate_keeps_dmn_needs_eq_working():
    engine = make_script_engine()
    engine.validate("'a'")
    engine.validate('v < 5')
    with pytest.raises(SyntaxError):
        engine.validate('< 5')
    with pytest.raises(ScriptSecurityError):
        engine.validate("__import__('os')")


def test_runtime_errors_propagate(env):
    with pytest.raises(NameError):
        env.execute('y = undefined_name', {})
    with pytest.raises(TypeError):
        env.evaluate("1 + 'a'", {})


# ------------------------------------------------------------ refused at check

REFUSED = [
    'import os',
    'from os import path',
    "__import__('os')",
    '().__class__.__bases__[0].__subclasses__()',
    'x.__class__',
    "open('/etc/passwd').read()",
    "eval('1')",
    "exec('x=1')",
    "getattr(x, '__class__')",
    'lambda: 1',
    'def f(): pass',
    'globals()',
    '_x = 1',
    '"{0.__class__}".format(1)',
    'class A: pass',
    'while True: pass',
    'try:\n    x = 1\nexcept Exception:\n    pass',
    'double(*x)',
    'double(**x)',
    'print(1)',
]


@pytest.mark.parametrize('src', REFUSED)
def test_refused_scripts(env, src):
    assert check_script(src)
    with pytest.raises(ScriptSecurityError) as info:
        env.execute(src, {'x': 1})
    assert info.value.errors


@pytest.mark.parametrize('src', [s for s in REFUSED if '\n' not in s and not s.startswith(
    ('import', 'from', 'def', 'class', 'while', '_x'))])
def test_refused_expressions(env, src):
    assert check_expression(src)
    with pytest.raises(ScriptSecurityError):
        env.evaluate(src, {'x': 1})


def test_check_accepts_good_code():
    assert check_script("y = x * 2\nif y > 5:\n    z = 'a'.upper()") == []
    assert check_expression('dmninputexpr < 5') == []
    assert check_script('y = ') and check_expression('y = 1')  # syntax errors reported


# ------------------------------------------------------------- run-time guards

def test_function_in_task_data_cannot_reach_globals(env):
    def leaky():
        return 1

    with pytest.raises(AttributeError):
        env.execute('g = leaky.func_globals', {'leaky': leaky})
    with pytest.raises(AttributeError):
        guarded_getattr(leaky, '__globals__')
    with pytest.raises(AttributeError):
        guarded_getattr(leaky, 'anything')
    with pytest.raises(AttributeError):
        env.execute("m = str.upper('a')", {})
    with pytest.raises(AttributeError):
        env.execute("m = 'a'.upper.anything", {})


def test_str_format_refused_at_runtime():
    with pytest.raises(NotImplementedError):
        guarded_getattr('{0.__class__}', 'format')
    with pytest.raises(NotImplementedError):
        guarded_getattr('{0.__class__}', 'format_map')
    assert guarded_getattr('a', 'upper')() == 'A'


def test_write_guard_refuses_non_container_objects(env):
    with pytest.raises(TypeError):
        env.execute('day.year = 3', {'day': datetime.date(2024, 1, 1)})
    with pytest.raises(TypeError):
        env.execute("s = 'abc'\ns[0] = 'x'", {})


def test_nothing_executes_for_escape_attempts(env, tmp_path):
    sentinel = tmp_path / 'pwned'
    attempts = [
        f"import os\nos.system('touch {sentinel}')",
        f"__import__('os').system('touch {sentinel}')",
        f"open('{sentinel}', 'w').write('x')",
        f"().__class__.__base__.__subclasses__()[0]('{sentinel}')",
        f"exec(\"open('{sentinel}', 'w')\")",
        f"getattr(__builtins__, 'open')('{sentinel}', 'w')",
    ]
    for src in attempts:
        with pytest.raises(Exception):
            env.execute(src, {})
    assert not sentinel.exists()


# --------------------------------------------------------- SpiffWorkflow trip

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="low">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>high</bpmn:outgoing><bpmn:outgoing>low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_high"><bpmn:incoming>high</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_low"><bpmn:incoming>low</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script"/>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="gw"/>
    <bpmn:sequenceFlow id="high" sourceRef="gw" targetRef="end_high">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">y &gt; 5</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="low" sourceRef="gw" targetRef="end_low"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _workflow(script, pid='proc_id', **data):
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.format(pid=pid, script=script).encode())
    workflow = BpmnWorkflow(parser.get_spec(pid), script_engine=make_script_engine())
    # The root task's data is copied to its children as the workflow advances.
    workflow.task_tree.data.update(data)
    return workflow


def _completed_ends(workflow):
    return {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.bpmn_id in ('end_high', 'end_low')}


@pytest.mark.parametrize('x, expected', [(3, 'end_high'), (2, 'end_low')])
def test_spiff_round_trip(x, expected):
    workflow = _workflow('y = x * 2', x=x)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert _completed_ends(workflow) == {expected}
    assert workflow.data['y'] == x * 2


def test_spiff_refuses_import(tmp_path):
    sentinel = tmp_path / 'pwned'
    workflow = _workflow(f"import os\nos.system('touch {sentinel}')", pid='bad_proc', x=1)
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert 'import' in str(info.value)
    assert not sentinel.exists()
    assert not workflow.is_completed()

