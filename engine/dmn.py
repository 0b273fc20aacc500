"""DMN decision tables evaluated per the DMN 1.3 standard (files in the DMN 1.1 - 1.5 namespaces).

SpiffWorkflow 3.2.0 runs DMN cells as Python, treats every hit policy as FIRST and sets nothing when
no rule matches.  We parse the XML ourselves (``engine.dmn_model``, re-exported here) and this module
evaluates cells as FEEL (``engine.feel``).
Cells that are not FEEL may fall back to SpiffWorkflow's Python semantics via ``python_eval``.

Decisions made where the standard is silent or where we are stricter:
* No rule matched: single-hit policies use each output's defaultOutputEntry; any output without
  one raises DmnError (never a silently missing variable).  COLLECT / RULE ORDER / OUTPUT ORDER
  give empty lists; COLLECT COUNT gives 0, SUM the default or 0, MIN/MAX the default or null.
* COLLECT SUM/COUNT count every matched rule, not only distinct outputs (as Camunda does).
* ``matched_rules`` lists the rules whose outputs were used: FIRST/UNIQUE/PRIORITY one rule,
  ANY and the multi-hit policies every match (OUTPUT ORDER in output order).
* ``DecisionResult.outputs`` holds only the requested decision's outputs; required decisions'
  outputs appear in the trace.
"""
from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .feel import (FeelError, feel_equal, feel_type, normalize_number, parse_expression, parse_unary_tests,
                   to_date, to_date_time, to_duration, to_number, to_string)
# The model and XML parsing live in engine.dmn_model; re-exported here for existing importers.
from .dmn_model import (NAMESPACES, Decision, DmnError, InputClause, OutputClause, Rule,  # noqa: F401
                        parse_dmn)

HIT_POLICIES = ('UNIQUE', 'FIRST', 'PRIORITY', 'ANY', 'COLLECT', 'RULE ORDER', 'OUTPUT ORDER')
AGGREGATIONS = ('SUM', 'MIN', 'MAX', 'COUNT')
LIST_POLICIES = ('COLLECT', 'RULE ORDER', 'OUTPUT ORDER')


@dataclass
class DecisionTrace:
    decision: str
    name: str | None
    inputs: dict
    matched_rules: list[int]
    outputs: dict
    hit_policy: str


@dataclass
class DecisionResult:
    outputs: dict
    matched_rules: list[int]
    trace: list[DecisionTrace]


@dataclass
class LintIssue:
    decision: str | None
    rule: int | None
    cell: str | None
    code: str
    message_zh: str
    message_en: str
    severity: str = 'error'


# ------------------------------------------------------------------ types
_TYPES = {'string': 'string', 'number': 'number', 'integer': 'integer', 'int': 'integer', 'long': 'integer',
          'double': 'double', 'boolean': 'boolean', 'date': 'date', 'datetime': 'date and time',
          'date and time': 'date and time', 'duration': 'duration', 'daytimeduration': 'duration',
          'days and time duration': 'duration', 'any': None}


def normalize_type(type_ref: str | None) -> str | None:
    """'feel:string', 'xsd:integer', 'dateTime' ... -> our canonical names; unknown -> None (no coercion)."""
    if not type_ref:
        return None
    return _TYPES.get(type_ref.split(':')[-1].strip().lower())


def known_type(type_ref: str | None) -> bool:
    return not type_ref or type_ref.split(':')[-1].strip().lower() in _TYPES


def coerce(value, type_ref: str | None):
    """Convert a value to a typeRef, leniently (form data often holds "3" or "2025-01-01").
    Raises ValueError when the value cannot represent the type; null is valid for every type."""
    kind = normalize_type(type_ref)
    if value is None or kind is None:
        return value
    vtype = feel_type(value)
    if kind == 'string' and vtype in ('string', 'number', 'boolean', 'date', 'date and time'):
        return to_string(value)
    if kind in ('number', 'integer', 'double'):
        if vtype == 'string' and re.fullmatch(r'\s*-?\d+(\.\d+)?\s*', value):
            value, vtype = to_number(value), 'number'
        if vtype == 'number':
            value = normalize_number(Decimal(str(value)) if isinstance(value, Decimal) else value)
            if kind == 'double':
                return float(value)
            if kind == 'number' or isinstance(value, int):
                return value
    elif kind == 'boolean':
        if vtype == 'boolean':
            return value
        if vtype == 'string' and value.strip().lower() in ('true', 'false'):
            return value.strip().lower() == 'true'
    elif kind == 'date' and vtype in ('date', 'date and time', 'string'):
        return to_date(value.strip() if vtype == 'string' else value)
    elif kind == 'date and time' and vtype in ('date', 'date and time', 'string'):
        return to_date_time(value.strip() if vtype == 'string' else value)
    elif kind == 'duration' and vtype in ('duration', 'string'):
        return value if vtype == 'duration' else to_duration(value.strip())
    raise ValueError(f'{value!r} is not a {kind}')


def type_matches(value, type_ref: str | None) -> bool:
    """Strict check for lint: the literal already has the declared type."""
    kind = normalize_type(type_ref)
    vtype = feel_type(value)
    if value is None or kind is None:
        return True
    if kind in ('number', 'double'):
        return vtype == 'number'
    if kind == 'integer':
        return vtype == 'number' and float(value).is_integer()
    return vtype == kind


# ------------------------------------------------------------------ dependencies
def dependency_order(decisions: Mapping[str, Decision], decision_id: str) -> list[Decision]:
    """Required decisions first (depth-first post-order); missing ones and cycles raise DmnError."""
    order, state = [], {}

    def visit(did, path):
        if did not in decisions:
            parent = path[-1] if path else None
            if parent is None:
                raise DmnError(f'决策{did}不存在', f'unknown decision {did}', decision=did)
            raise DmnError(f'决策{parent}依赖的决策{did}不存在', f'decision {parent} requires unknown decision {did}',
                           decision=parent)
        if state.get(did) == 'done':
            return
        if state.get(did) == 'active':
            cycle = ' → '.join(path[path.index(did):] + [did])
            raise DmnError(f'决策之间存在循环依赖：{cycle}', f'cyclic decision requirements: {cycle}', decision=did)
        state[did] = 'active'
        for req in decisions[did].required:
            visit(req, path + [did])
        state[did] = 'done'
        order.append(decisions[did])

    visit(decision_id, [])
    return order


# ------------------------------------------------------------------ evaluation
@functools.lru_cache(maxsize=4096)
def _unary(text: str):
    try:
        return parse_unary_tests(text)
    except FeelError as exc:      # cached too, so a legacy Python cell is not re-parsed per ticket
        return exc


@functools.lru_cache(maxsize=4096)
def _expression(text: str):
    try:
        return parse_expression(text)
    except FeelError as exc:
        return exc


def legacy_input_expression(entry: str) -> str:
    """The Python expression SpiffWorkflow's DMNEngine builds for an input entry (see needs_eq)."""
    entry = entry.strip()
    expr = re.sub(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)', 'dmninputexpr', entry)
    if 'dmninputexpr' in expr:
        return expr
    try:
        ast.parse(entry)          # syntax check only, never executed
        return f'dmninputexpr == ({entry})'
    except SyntaxError:
        return f'dmninputexpr {entry}'


def _where(d: Decision, rule: int | None, cell: str | None) -> tuple[str, str]:
    zh = f'决策{d.id}' + (f'规则{rule}' if rule else '') + (f'（{cell}）' if cell else '')
    en = f'decision {d.id}' + (f', rule {rule}' if rule else '') + (f', {cell}' if cell else '')
    return zh, en


def _fail(d, rule, cell, zh, en):
    wzh, wen = _where(d, rule, cell)
    return DmnError(f'{wzh}：{zh}', f'{wen}: {en}', decision=d.id, rule=rule, cell=cell)


class _Evaluator:
    def __init__(self, decision: Decision, context: dict, python_eval):
        self.d, self.ctx, self.python_eval = decision, context, python_eval

    def python(self, expr, scope, rule, cell, feel_error):
        if self.python_eval is None:
            raise _fail(self.d, rule, cell, feel_error.message_zh, feel_error.message_en)
        try:
            return self.python_eval(expr, scope)
        except Exception as exc:   # any failure of the legacy cell is reported with its location
            raise _fail(self.d, rule, cell, f'旧版Python单元格执行失败：{exc}', f'legacy Python cell failed: {exc}')

    def expression(self, text, rule, cell):
        if not text or not text.strip():
            return None
        parsed = _expression(text)
        if isinstance(parsed, FeelError):
            return self.python(text.strip(), dict(self.ctx), rule, cell, parsed)
        try:
            return parsed.evaluate(self.ctx)
        except FeelError as exc:
            raise _fail(self.d, rule, cell, exc.message_zh, exc.message_en) from None

    def matches(self, text, value, rule, cell) -> bool:
        tests = _unary(text)
        if isinstance(tests, FeelError):
            scope = {**self.ctx, 'dmninputexpr': value}
            return bool(self.python(legacy_input_expression(text), scope, rule, cell, tests))
        try:
            return tests.matches(value, self.ctx)
        except FeelError as exc:
            raise _fail(self.d, rule, cell, exc.message_zh, exc.message_en) from None

    def output(self, clause: OutputClause, text, rule, cell):
        value = self.expression(text, rule, cell)
        try:
            value = coerce(value, clause.type_ref)
        except (ValueError, FeelError) as exc:
            raise _fail(self.d, rule, cell, f'输出“{clause.name}”的值无法转换为{clause.type_ref}：{exc}',
                        f'output {clause.name!r} cannot be converted to {clause.type_ref}: {exc}') from None
        if clause.allowed_values is not None and value is not None \
                and not any(feel_equal(value, a) for a in clause.allowed_values):
            raise _fail(self.d, rule, cell, f'输出“{clause.name}”的值{value!r}不在允许值内',
                        f'output {clause.name!r} value {value!r} is not one of its allowed values')
        return value

    def rule_outputs(self, rule: Rule) -> dict:
        if len(rule.outputs) != len(self.d.outputs):
            raise _fail(self.d, rule.number, None, f'输出条目数为{len(rule.outputs)}，应为{len(self.d.outputs)}',
                        f'has {len(rule.outputs)} output entries, expected {len(self.d.outputs)}')
        return {c.name: self.output(c, t, rule.number, f'output {i}')
                for i, (c, t) in enumerate(zip(self.d.outputs, rule.outputs), 1)}

    def priority(self, outputs: dict) -> tuple:
        return tuple(next((i for i, a in enumerate(c.allowed_values) if feel_equal(outputs[c.name], a)),
                          len(c.allowed_values)) for c in self.d.outputs if c.allowed_values)

    def run(self) -> DecisionTrace:
        d = self.d
        if d.literal_expression is not None:
            value = self.output(d.outputs[0], d.literal_expression, None, 'literal expression')
            return DecisionTrace(d.id, d.name, {}, [], {d.outputs[0].name: value}, 'LITERAL')
        if d.hit_policy not in HIT_POLICIES or (d.aggregation and (d.aggregation not in AGGREGATIONS
                                                                  or d.hit_policy != 'COLLECT')):
            raise _fail(d, None, None, f'不支持的命中策略{d.hit_policy} {d.aggregation or ""}',
                        f'unsupported hit policy {d.hit_policy} {d.aggregation or ""}'.strip())
        values = []
        for i, clause in enumerate(d.inputs, 1):
            if not clause.expression:
                raise _fail(d, None, f'input {i}', '缺少输入表达式', 'input expression is missing')
            value = self.expression(clause.expression, None, f'input {i}')
            try:
                values.append(coerce(value, clause.type_ref))
            except (ValueError, FeelError) as exc:
                label = clause.label or clause.expression
                raise _fail(d, None, f'input {i}', f'输入“{label}”的值无法转换为{clause.type_ref}：{exc}',
                            f'input {label!r} cannot be converted to {clause.type_ref}: {exc}') from None
        trace_inputs = {(c.label or c.expression): v for c, v in zip(d.inputs, values)}
        matched = []
        for rule in d.rules:
            if len(rule.inputs) != len(d.inputs):
                raise _fail(d, rule.number, None, f'输入条目数为{len(rule.inputs)}，应为{len(d.inputs)}',
                            f'has {len(rule.inputs)} input entries, expected {len(d.inputs)}')
            if all(self.matches(t, v, rule.number, f'input {i}')
                   for i, (t, v) in enumerate(zip(rule.inputs, values), 1)):
                matched.append(rule)
                if d.hit_policy == 'FIRST':
                    break
        numbers, outputs = self.combine(matched, trace_inputs)
        return DecisionTrace(d.id, d.name, trace_inputs, numbers, outputs, d.hit_policy)

    def combine(self, matched: list[Rule], inputs: dict) -> tuple[list[int], dict]:
        d, hp = self.d, self.d.hit_policy
        if hp == 'UNIQUE' and len(matched) > 1:
            nums = [str(r.number) for r in matched]
            listed = ', '.join(nums[:-1]) + ' and ' + nums[-1]
            raise _fail(d, matched[1].number, None, f'命中策略UNIQUE下规则{"、".join(nums)}同时匹配（规则重叠）',
                        f'overlapping rules {listed} match under hit policy UNIQUE')
        if not matched:
            return [], self.no_match(inputs)
        if hp in ('UNIQUE', 'FIRST'):
            return [matched[0].number], self.rule_outputs(matched[0])
        rows = [(r.number, self.rule_outputs(r)) for r in matched]
        if hp in ('PRIORITY', 'OUTPUT ORDER'):
            if not any(c.allowed_values for c in d.outputs):
                raise _fail(d, None, None, f'命中策略{hp}要求输出定义允许值（outputValues）',
                            f'hit policy {hp} needs outputValues on the outputs to rank them')
            rows.sort(key=lambda row: self.priority(row[1]))     # stable: ties keep rule order
        if hp == 'PRIORITY':
            return [rows[0][0]], rows[0][1]
        if hp == 'ANY':
            different = [n for n, out in rows if not feel_equal(out, rows[0][1])]
            if different:
                raise _fail(d, different[0], None, f'命中策略ANY下规则{rows[0][0]}与规则{different[0]}的输出不同',
                            f'rules {rows[0][0]} and {different[0]} match with different outputs under hit policy ANY')
            return [n for n, _ in rows], rows[0][1]
        numbers = [n for n, _ in rows]
        if d.aggregation:
            return numbers, {d.outputs[0].name: self.aggregate([out[d.outputs[0].name] for _, out in rows], len(rows))}
        return numbers, {c.name: [out[c.name] for _, out in rows] for c in d.outputs}

    def aggregate(self, values: list, count: int):
        d, agg = self.d, self.d.aggregation
        if len(d.outputs) != 1:
            raise _fail(d, None, None, f'聚合{agg}只能用于单个输出', f'aggregation {agg} needs exactly one output')
        if agg == 'COUNT':
            return count
        values = [v for v in values if v is not None]
        kinds = {feel_type(v) for v in values}
        orderable = {'number', 'string', 'date', 'date and time', 'duration'}
        if (agg == 'SUM' and kinds - {'number'}) or len(kinds) > 1 or kinds - orderable:
            raise _fail(d, None, None, f'无法对输出{sorted(kinds)}进行{agg}聚合',
                        f'cannot aggregate {sorted(kinds)} outputs with {agg}')
        if not values:
            return 0 if agg == 'SUM' else None
        if agg == 'SUM':
            return parse_expression('sum(v)').evaluate({'v': values})   # Decimal-exact like FEEL
        return min(values) if agg == 'MIN' else max(values)

    def no_match(self, inputs: dict) -> dict:
        d = self.d
        if d.hit_policy in LIST_POLICIES and not d.aggregation:
            return {c.name: [] for c in d.outputs}
        if d.aggregation:
            c = d.outputs[0]
            if d.aggregation == 'COUNT' or c.default is None:
                return {c.name: 0 if d.aggregation in ('COUNT', 'SUM') else None}
            return {c.name: self.output(c, c.default, None, 'default output 1')}
        missing = [c.name for c in d.outputs if c.default is None]
        if missing:
            shown = ', '.join(f'{k}={v!r}' for k, v in inputs.items())
            raise DmnError(f'决策表{d.id}没有匹配的规则且未定义默认输出（输入：{shown}）',
                           f'decision {d.id}: no rule matched and no default output (inputs: {shown})',
                           decision=d.id)
        return {c.name: self.output(c, c.default, None, f'default output {i}') for i, c in enumerate(d.outputs, 1)}


def evaluate(decisions: Mapping[str, Decision], decision_id: str, context: Mapping,
             python_eval: Callable[[str, dict], Any] | None = None) -> DecisionResult:
    ctx = dict(context or {})
    trace = []
    for decision in dependency_order(decisions, decision_id):
        step = _Evaluator(decision, ctx, python_eval).run()
        trace.append(step)
        # Downstream decisions see required outputs by name, and by decision id when single-valued.
        ctx.update(step.outputs)
        if len(decision.outputs) == 1:
            ctx[decision.id] = step.outputs[decision.outputs[0].name]
    last = trace[-1]
    return DecisionResult(dict(last.outputs), list(last.matched_rules), trace)


def lint(decisions: Mapping[str, Decision], python_ok: Callable[[str], bool] | None = None) -> list[LintIssue]:
    """Static checks of parsed decisions; see ``engine.dmn_lint``."""
    from .dmn_lint import lint_decisions   # imported here: dmn_lint builds on this module
    return lint_decisions(decisions, python_ok)
