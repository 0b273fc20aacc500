"""The DMN decision model and its XML parsing (files in the DMN 1.1 - 1.5 namespaces).

``parse_dmn`` reads an uploaded file into ``Decision`` dataclasses without evaluating anything;
``engine.dmn`` evaluates them and ``engine.dmn_lint`` checks them.  Uploaded XML is parsed without
DTDs, entities or network access.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from .feel import FeelError, parse_unary_tests

NAMESPACES = {
    'http://www.omg.org/spec/DMN/20151101/dmn.xsd': '1.1',
    'http://www.omg.org/spec/DMN/20180521/MODEL/': '1.2',
    'https://www.omg.org/spec/DMN/20191111/MODEL/': '1.3',
    'https://www.omg.org/spec/DMN/20211108/MODEL/': '1.4',
    'https://www.omg.org/spec/DMN/20230324/MODEL/': '1.5',
}


class DmnError(Exception):
    def __init__(self, message_zh: str, message_en: str, decision: str | None = None,
                 rule: int | None = None, cell: str | None = None):
        super().__init__(f'{message_zh} / {message_en}')
        self.message_zh, self.message_en = message_zh, message_en
        self.decision, self.rule, self.cell = decision, rule, cell


@dataclass
class InputClause:
    id: str | None
    label: str | None
    expression: str
    type_ref: str | None = None
    allowed_values: list | None = None
    allowed_text: str | None = None       # raw <inputValues> text, for lint


@dataclass
class OutputClause:
    id: str | None
    label: str | None
    name: str
    type_ref: str | None = None
    allowed_values: list | None = None
    default: str | None = None
    allowed_text: str | None = None


@dataclass
class Rule:
    number: int
    id: str | None
    inputs: list[str]
    outputs: list[str]
    description: str | None = None


@dataclass
class Decision:
    id: str
    name: str | None
    table_id: str | None
    hit_policy: str
    aggregation: str | None
    inputs: list[InputClause]
    outputs: list[OutputClause]
    rules: list[Rule]
    required: list[str] = field(default_factory=list)
    file: str | None = None
    literal_expression: str | None = None   # set for a <literalExpression> decision (no table)


# ------------------------------------------------------------------ parsing
def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ''


def _child(el, name):
    if el is None:
        return None
    return next((c for c in el if _local(c) == name), None)


def _children(el, name):
    return [c for c in el if _local(c) == name]


def _text(el) -> str | None:
    t = _child(el, 'text')
    return None if t is None else (t.text or '')


def _values(el) -> tuple[list | None, str | None]:
    text = _text(el)
    if text is None or not text.strip():
        return None, None
    try:
        atoms = parse_unary_tests(text).constant_atoms()
    except FeelError:
        return None, text
    if not atoms or any(a[0] != 'eq' for a in atoms):
        return None, text    # ranges etc. are not an enumeration; lint reports what it cannot use
    return [a[1] for a in atoms], text


def _file_error(filename, zh, en, decision=None):
    where = filename or 'DMN'
    return DmnError(f'{where}：{zh}', f'{where}: {en}', decision=decision)


def parse_dmn(data: bytes | str, filename: str | None = None) -> dict[str, Decision]:
    if isinstance(data, str):
        data = data.encode('utf-8')
    # Uploaded files: no DTDs at all, hence no entity expansion or external fetches.
    if re.search(rb'<!DOCTYPE|<!ENTITY', data, re.IGNORECASE):
        raise _file_error(filename, '不允许DOCTYPE声明', 'DOCTYPE declarations are not allowed')
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _file_error(filename, f'不是有效的XML：{exc}', f'not well-formed XML: {exc}') from None
    if root.getroottree().docinfo.doctype:
        raise _file_error(filename, '不允许DOCTYPE声明', 'DOCTYPE declarations are not allowed')
    ns = etree.QName(root).namespace
    if _local(root) != 'definitions' or ns not in NAMESPACES:
        raise _file_error(filename, f'不是受支持的DMN文件（命名空间{ns}）',
                          f'not a supported DMN file (namespace {ns}); DMN 1.1-1.5 are supported')
    decisions: dict[str, Decision] = {}
    for el in _children(root, 'decision'):
        decision = _parse_decision(el, filename)
        if decision.id in decisions:
            raise _file_error(filename, f'决策{decision.id}重复定义', f'decision {decision.id} is defined twice',
                              decision.id)
        decisions[decision.id] = decision
    return decisions


def _parse_decision(el, filename) -> Decision:
    did = el.get('id')
    if not did:
        raise _file_error(filename, '决策缺少id属性', 'a decision has no id attribute')
    required = []
    for req in _children(el, 'informationRequirement'):
        ref = _child(req, 'requiredDecision')
        if ref is not None and ref.get('href'):
            required.append(ref.get('href').split('#')[-1])
    name = el.get('name')
    table, literal = _child(el, 'decisionTable'), _child(el, 'literalExpression')
    if table is None and literal is not None:
        var = _child(el, 'variable')
        var_name = (var.get('name') if var is not None else None) or name or did
        out = OutputClause(None, name, var_name, (var.get('typeRef') if var is not None else None)
                           or literal.get('typeRef'))
        return Decision(did, name, None, 'UNIQUE', None, [], [out], [], required, filename,
                        literal_expression=_text(literal) or '')
    if table is None:
        raise _file_error(filename, f'决策{did}既不是决策表也不是简单文字表达式，暂不支持',
                          f'decision {did} is neither a decision table nor a literal expression; not supported', did)
    inputs = []
    for inp in _children(table, 'input'):
        expr = _child(inp, 'inputExpression')
        allowed, allowed_text = _values(_child(inp, 'inputValues'))
        inputs.append(InputClause(inp.get('id'), inp.get('label'), (_text(expr) or '').strip(),
                                  expr.get('typeRef') if expr is not None else None, allowed, allowed_text))
    outs = _children(table, 'output')
    outputs = []
    for i, out in enumerate(outs, 1):
        out_name = out.get('name') or (did if len(outs) == 1 else None)
        if not out_name:
            raise _file_error(filename, f'决策{did}的输出{i}缺少name属性', f'decision {did}: output {i} has no name', did)
        allowed, allowed_text = _values(_child(out, 'outputValues'))
        default = _text(_child(out, 'defaultOutputEntry'))
        outputs.append(OutputClause(out.get('id'), out.get('label'), out_name, out.get('typeRef'), allowed,
                                    default if default and default.strip() else None, allowed_text))
    rules = []
    for n, rule in enumerate(_children(table, 'rule'), 1):
        desc = _child(rule, 'description')
        rules.append(Rule(n, rule.get('id'), [(_text(e) or '').strip() for e in _children(rule, 'inputEntry')],
                          [(_text(e) or '').strip() for e in _children(rule, 'outputEntry')],
                          desc.text if desc is not None else None))
    hit = (table.get('hitPolicy') or 'UNIQUE').strip().upper().replace('_', ' ')
    agg = table.get('aggregation')
    return Decision(did, name, table.get('id'), hit, agg.strip().upper() if agg else None,
                    inputs, outputs, rules, required, filename)
