"""Static checks of parsed DMN decisions, run when rules are uploaded or deployed.

Errors are problems that would make a ticket fail or decide wrongly at run time (unparseable cells,
overlapping UNIQUE rules, outputs of the wrong type, uncovered enumeration values without a
default...).  Warnings flag legacy SpiffWorkflow (Python) syntax that still works.  Overlap and
coverage analysis only trusts cells it can evaluate statically (literals, lists, ranges and
comparisons); cells that read other variables are assumed to possibly match, so no false errors.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from .dmn import (AGGREGATIONS, HIT_POLICIES, LIST_POLICIES, Decision, LintIssue, _where, known_type,
                  type_matches)
from .feel import FeelError, feel_compare, feel_equal, feel_type, parse_expression, parse_unary_tests


def lint_decisions(decisions: Mapping[str, Decision], python_ok: Callable[[str], bool] | None = None) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for d in decisions.values():
        _Linter(d, decisions, python_ok, issues).run()
    _cycles(decisions, issues)
    return issues


def _cycles(decisions, issues):
    state, reported = {}, set()

    def visit(did, path):
        if state.get(did) == 'done' or did not in decisions:
            return
        if state.get(did) == 'active':
            cycle = path[path.index(did):] + [did]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                text = ' → '.join(cycle)
                issues.append(LintIssue(did, None, None, 'cycle', f'决策{did}：决策之间存在循环依赖：{text}',
                                        f'decision {did}: cyclic decision requirements: {text}'))
            return
        state[did] = 'active'
        for req in decisions[did].required:
            visit(req, path + [did])
        state[did] = 'done'

    for did in decisions:
        visit(did, [])


class _Linter:
    def __init__(self, d: Decision, decisions, python_ok, issues):
        self.d, self.decisions, self.python_ok, self.issues = d, decisions, python_ok, issues

    def add(self, rule, cell, code, zh, en, severity='error'):
        wzh, wen = _where(self.d, rule, cell)
        self.issues.append(LintIssue(self.d.id, rule, cell, code, f'{wzh}：{zh}', f'{wen}: {en}', severity))

    def parse(self, text, rule, cell, unary: bool):
        """The parsed cell, or None after reporting it (legacy Python as warning, garbage as error)."""
        try:
            parsed = parse_unary_tests(text) if unary else parse_expression(text)
        except FeelError as exc:
            if self.python_ok is not None and self.python_ok(text):
                self.add(rule, cell, 'legacy_python', f'使用旧版Python语法（非FEEL）：{text}',
                         f'legacy Python syntax (not FEEL): {text}', 'warning')
            else:
                self.add(rule, cell, 'feel_syntax', exc.message_zh, exc.message_en)
            return None
        if parsed.legacy:
            self.add(rule, cell, 'python_spelling', f'使用了Python写法（True/False/None、==或单引号），FEEL写作true/false/null、=和双引号：{text}',
                     f'Python spelling (True/False/None, == or single quotes); FEEL uses true/false/null, = and "": {text}',
                     'warning')
        return parsed

    def run(self):
        d = self.d
        for req in d.required:
            if req not in self.decisions:
                self.add(None, None, 'missing_required', f'依赖的决策{req}不存在', f'required decision {req} does not exist')
        if d.literal_expression is not None:
            self.output_cell(d.outputs[0], d.literal_expression, None, 'literal expression')
            return
        self.table_checks()
        entries = [[None] * len(d.inputs) for _ in d.rules]
        for i, clause in enumerate(d.inputs, 1):
            cell = f'input {i}'
            self.type_ref(clause.type_ref, cell)
            if not clause.expression:
                self.add(None, cell, 'missing_expression', '缺少输入表达式', 'input expression is missing')
            else:
                self.parse(clause.expression, None, cell, unary=False)
            self.allowed(clause, f'input values {i}')
        for i, clause in enumerate(d.outputs, 1):
            self.type_ref(clause.type_ref, f'output {i}')
            self.allowed(clause, f'output values {i}')
            if clause.default is not None:
                self.output_cell(clause, clause.default, None, f'default output {i}')
        for rule, row in zip(d.rules, entries):
            if len(rule.inputs) != len(d.inputs) or len(rule.outputs) != len(d.outputs):
                self.add(rule.number, None, 'entry_count',
                         f'有{len(rule.inputs)}个输入条目、{len(rule.outputs)}个输出条目，应为{len(d.inputs)}个和{len(d.outputs)}个',
                         f'has {len(rule.inputs)} input and {len(rule.outputs)} output entries, '
                         f'expected {len(d.inputs)} and {len(d.outputs)}')
            for i, (clause, text) in enumerate(zip(d.inputs, rule.inputs), 1):
                row[i - 1] = tests = self.parse(text, rule.number, f'input {i}', unary=True)
                self.entry_type(clause, tests, rule.number, f'input {i}')
            for i, (clause, text) in enumerate(zip(d.outputs, rule.outputs), 1):
                self.output_cell(clause, text, rule.number, f'output {i}')
        counts_ok = [len(r.inputs) == len(d.inputs) for r in d.rules]
        if d.hit_policy in ('UNIQUE', 'ANY'):
            self.overlaps(entries, counts_ok)
        self.coverage(entries, counts_ok)

    def table_checks(self):
        d = self.d
        if d.hit_policy not in HIT_POLICIES:
            self.add(None, None, 'hit_policy', f'未知的命中策略{d.hit_policy}', f'unknown hit policy {d.hit_policy}')
        if d.aggregation and (d.aggregation not in AGGREGATIONS or d.hit_policy != 'COLLECT'):
            self.add(None, None, 'aggregation', f'无效的聚合{d.aggregation}（仅COLLECT可用SUM/MIN/MAX/COUNT）',
                     f'invalid aggregation {d.aggregation} (only COLLECT takes SUM/MIN/MAX/COUNT)')
        elif d.aggregation and len(d.outputs) != 1:
            self.add(None, None, 'aggregation', f'聚合{d.aggregation}只能用于单个输出',
                     f'aggregation {d.aggregation} needs exactly one output')
        if d.hit_policy in ('PRIORITY', 'OUTPUT ORDER') and not any(c.allowed_values for c in d.outputs):
            self.add(None, None, 'priority_values', f'命中策略{d.hit_policy}要求输出定义允许值（outputValues）',
                     f'hit policy {d.hit_policy} needs outputValues to rank outputs')
        if not d.rules:
            self.add(None, None, 'no_rules', '决策表没有规则', 'the decision table has no rules', 'warning')

    def type_ref(self, type_ref, cell):
        if not known_type(type_ref):
            self.add(None, cell, 'type_ref', f'未知类型{type_ref}，不做类型转换',
                     f'unknown typeRef {type_ref}; values are not converted', 'warning')

    def allowed(self, clause, cell):
        if clause.allowed_text is None:
            return
        if clause.allowed_values is None:
            self.parse(clause.allowed_text, None, cell, unary=True)
            return
        for value in clause.allowed_values:
            if not type_matches(value, clause.type_ref):
                self.add(None, cell, 'value_type', f'允许值{value!r}不是{clause.type_ref}类型',
                         f'allowed value {value!r} is not of type {clause.type_ref}')

    def entry_type(self, clause, tests, rule, cell):
        atoms = tests.constant_atoms() if tests is not None and not tests.any else None
        for atom in atoms or ():
            for value in ([atom[1]] if atom[0] != 'range' else [atom[1], atom[3]]):
                if value is not None and not type_matches(value, clause.type_ref):
                    self.add(rule, cell, 'entry_type', f'条目中的{value!r}不是输入类型{clause.type_ref}，永远不会匹配',
                             f'{value!r} is not of the input type {clause.type_ref} and can never match', 'warning')

    def output_cell(self, clause, text, rule, cell):
        if not text or not text.strip():
            return
        parsed = self.parse(text, rule, cell, unary=False)
        if parsed is None:
            return
        constant, value = parsed.constant()
        if not constant:
            return
        if not type_matches(value, clause.type_ref):
            self.add(rule, cell, 'output_type', f'输出“{clause.name}”的值{value!r}不是{clause.type_ref}类型',
                     f'output {clause.name!r} value {value!r} is not of type {clause.type_ref}')
        elif clause.allowed_values is not None and value is not None \
                and not any(feel_equal(value, a) for a in clause.allowed_values):
            shown = ', '.join(repr(a) for a in clause.allowed_values)
            self.add(rule, cell, 'output_value', f'输出“{clause.name}”的值{value!r}不在允许值（{shown}）内',
                     f'output {clause.name!r} value {value!r} is not one of the allowed values ({shown})')

    def overlaps(self, entries, counts_ok):
        d = self.d
        for a in range(len(d.rules)):
            for b in range(a + 1, len(d.rules)):
                if not (counts_ok[a] and counts_ok[b]):
                    continue
                if not all(_may_overlap(x, y) is True for x, y in zip(entries[a], entries[b])):
                    continue
                ra, rb = d.rules[a], d.rules[b]
                if d.hit_policy == 'UNIQUE':
                    self.add(rb.number, None, 'overlap', f'命中策略UNIQUE下规则{ra.number}与规则{rb.number}重叠',
                             f'rules {ra.number} and {rb.number} overlap under hit policy UNIQUE')
                elif self.outputs_differ(ra, rb):
                    self.add(rb.number, None, 'any_conflict', f'命中策略ANY下规则{ra.number}与规则{rb.number}重叠且输出不同',
                             f'rules {ra.number} and {rb.number} overlap with different outputs under hit policy ANY')

    @staticmethod
    def outputs_differ(ra, rb) -> bool:
        for x, y in zip(ra.outputs, rb.outputs):
            try:
                cx, vx = parse_expression(x).constant() if x.strip() else (True, None)
                cy, vy = parse_expression(y).constant() if y.strip() else (True, None)
            except FeelError:
                return False
            if cx and cy and not feel_equal(vx, vy):
                return True
        return False

    def coverage(self, entries, counts_ok):
        d = self.d
        if d.hit_policy in LIST_POLICIES or (d.outputs and all(c.default is not None for c in d.outputs)):
            return       # no match is not an error there
        for i, clause in enumerate(d.inputs):
            for value in clause.allowed_values or ():
                if not any(ok and _covers(row[i], value) for row, ok in zip(entries, counts_ok)):
                    label = clause.label or clause.expression
                    self.add(None, f'input {i + 1}', 'uncovered_value',
                             f'输入“{label}”的取值{value!r}没有任何规则覆盖，且未定义默认输出',
                             f'value {value!r} of input {label} is not covered by any rule and there is no default output')


def _covers(tests, value) -> bool:
    if tests is None or tests.any or tests.names:
        return True          # unparsed (legacy) or context-dependent: assume it may match
    try:
        return tests.matches(value, {})
    except FeelError:
        return True


def _may_overlap(a, b):
    """True if some value can satisfy both entries, False if none can, None if we cannot tell."""
    if a is None or b is None:
        return None
    if a.any or b.any:
        return True
    atoms_a, atoms_b = a.constant_atoms(), b.constant_atoms()
    if atoms_a is None or atoms_b is None:
        return None
    if a.negated and b.negated:
        return True          # two exclusions of finitely many values always share a value
    if a.negated or b.negated:
        positive, negative = (atoms_b, atoms_a) if a.negated else (atoms_a, atoms_b)
        for atom in positive:
            if atom[0] == 'eq' and not any(_contains(n, atom[1]) for n in negative):
                return True
            if atom[0] != 'eq' and not any(_within(atom, n) for n in negative):
                return True
        return False
    return any(_intersect(x, y) for x in atoms_a for y in atoms_b)


def _contains(atom, value) -> bool:
    if atom[0] == 'eq':
        return feel_equal(atom[1], value)
    if atom[0] == 'ne':
        return not feel_equal(atom[1], value)
    _, lo, lo_closed, hi, hi_closed = atom
    ok_lo = lo is None or feel_compare(lo, '<=' if lo_closed else '<', value)
    ok_hi = hi is None or feel_compare(value, '<=' if hi_closed else '<', hi)
    return bool(ok_lo and ok_hi)


def _within(rng, neg) -> bool:
    """A range atom lies entirely inside an excluded range (approximated by its bounds)."""
    if rng[0] != 'range' or neg[0] != 'range' or rng[1] is None or rng[3] is None:
        return False
    return _contains(neg, rng[1]) and _contains(neg, rng[3])


def _intersect(x, y) -> bool:
    if x[0] == 'eq':
        return _contains(y, x[1])
    if y[0] == 'eq':
        return _contains(x, y[1])
    if x[0] == 'ne' or y[0] == 'ne':
        return True
    bounds = [v for v in (x[1], x[3], y[1], y[3]) if v is not None]
    if len({feel_type(v) for v in bounds}) > 1:
        return False
    lo, lo_closed = _tighter(x[1], x[2], y[1], y[2], '>')
    hi, hi_closed = _tighter(x[3], x[4], y[3], y[4], '<')
    if lo is None or hi is None:
        return True
    if feel_compare(lo, '<', hi):
        return True
    return feel_equal(lo, hi) and lo_closed and hi_closed


def _tighter(a, a_closed, b, b_closed, op):
    """The more restrictive of two bounds (op '>' for lower bounds, '<' for upper bounds)."""
    if a is None:
        return b, b_closed
    if b is None or feel_compare(a, op, b):
        return a, a_closed
    if feel_equal(a, b):
        return a, a_closed and b_closed
    return b, b_closed
