"""Sandboxed script engine for BPMN/DMN code coming from uploaded diagrams.

SpiffWorkflow's default engine runs scripts with plain eval/exec and full
builtins.  Diagrams are uploaded by users, so every script task, gateway
condition, timer expression and DMN cell is compiled with RestrictedPython
plus an extra AST whitelist, and run against a tiny builtins table.
"""
from __future__ import annotations

import ast
import functools
import operator
import types
from collections.abc import Callable, Mapping
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.Limits import limited_range
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

class ScriptSecurityError(Exception):
    """Code was refused before running (policy violation or syntax error)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__('; '.join(self.errors) or 'script refused')


# Whitelist rather than blacklist: new Python syntax is refused by default.
# Only straight-line data manipulation is needed by hotline processes, so
# def/lambda/class, while, try/raise, with, import, walrus and *-unpacking are
# absent; without them no new code objects or exception objects can be made.
_ALLOWED_NODES = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If,
    ast.For, ast.Break, ast.Continue, ast.Pass, ast.Delete,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Compare, ast.Call,
    ast.keyword, ast.Attribute, ast.Subscript, ast.Slice, ast.Name,
    ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue,
    ast.Load, ast.Store, ast.Del, ast.And, ast.Or,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.Not, ast.UAdd, ast.USub, ast.Invert,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.Is, ast.IsNot, ast.In, ast.NotIn,
)

_NODE_MESSAGES = {
    ast.Import: 'import statements are not allowed',
    ast.ImportFrom: 'import statements are not allowed',
    ast.Lambda: 'lambda is not allowed',
    ast.FunctionDef: 'function definitions are not allowed',
    ast.AsyncFunctionDef: 'function definitions are not allowed',
    ast.ClassDef: 'class definitions are not allowed',
    ast.While: 'while loops are not allowed (use for over a list)',
    ast.Global: 'global/nonlocal are not allowed',
    ast.Nonlocal: 'global/nonlocal are not allowed',
}

# Names that are never provided at run time anyway; refusing them at check
# time gives the diagram author a clear message at upload instead of a
# NameError deep inside a running ticket.
_FORBIDDEN_NAMES = frozenset({
    'eval', 'exec', 'compile', 'open', 'getattr', 'setattr', 'delattr',
    'hasattr', 'globals', 'locals', 'vars', 'dir', 'input', 'breakpoint',
    'help', 'type', 'object', 'super', 'memoryview', 'bytearray', 'print',
    'exit', 'quit', 'format', 'iter', 'next', 'id', 'classmethod',
    'staticmethod', 'property', 'callable', 'isinstance', 'issubclass',
})

# str.format/format_map walk attributes inside the format string
# ("{0.__class__}"), bypassing _getattr_, so they are refused by name.
_FORBIDDEN_ATTRS = frozenset({'format', 'format_map'})


def _policy_errors(tree: ast.AST) -> list[str]:
    errors: list[str] = []

    def err(node, msg):
        errors.append(f'Line {getattr(node, "lineno", 1)}: {msg}')

    def visit(node):
        if not isinstance(node, _ALLOWED_NODES):
            # Do not descend: children of a refused node only add noise.
            return err(node, _NODE_MESSAGES.get(type(node), f'{type(node).__name__} is not allowed'))
        if isinstance(node, ast.Name):
            if node.id.startswith('_'):
                err(node, f'name "{node.id}" starting with "_" is not allowed')
            elif node.id in _FORBIDDEN_NAMES:
                err(node, f'"{node.id}" is not allowed')
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith('_') or node.attr in _FORBIDDEN_ATTRS:
                err(node, f'attribute "{node.attr}" is not allowed')
        elif isinstance(node, ast.keyword):
            # arg is None for **kwargs, which would need RestrictedPython's _apply_.
            if node.arg is None or node.arg.startswith('_'):
                err(node, 'this keyword argument is not allowed')
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return errors


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> tuple[types.CodeType | None, tuple[str, ...]]:
    """Check and compile once per distinct source: gateway conditions and DMN
    cells are evaluated for every ticket, parsing each time would dominate."""
    if not isinstance(source, str):
        raise TypeError(f'script must be str, not {type(source).__name__}')
    try:
        tree = ast.parse(source, '<string>', mode)
    except SyntaxError as exc:
        return None, (f'Line {exc.lineno}: SyntaxError: {exc.msg}',)
    errors = _policy_errors(tree)
    if errors:
        # Our messages are clearer; RestrictedPython would mostly repeat them.
        return None, tuple(errors)
    compiler = compile_restricted_exec if mode == 'exec' else compile_restricted_eval
    # '<string>' lets PythonScriptEngine map runtime errors to script lines.
    result = compiler(source, filename='<string>')
    return (None if result.errors else result.code), tuple(result.errors)


def check_script(source: str) -> list[str]:
    """Error messages for a script (exec mode); [] means it may run."""
    return list(_compile(source, 'exec')[1])


def check_expression(source: str) -> list[str]:
    """Error messages for an expression (eval mode); [] means it may run."""
    return list(_compile(source, 'eval')[1])


def _compiled(source: str, mode: str) -> types.CodeType:
    code, errors = _compile(source, mode)
    if errors:
        raise ScriptSecurityError(errors)
    return code


# ---------------------------------------------------------------- run-time guards
# Attribute access on these is refused outright: they are the stepping stones of
# every known sandbox escape (function.__globals__, type.mro(), frames, ...).
_OPAQUE_TYPES = (types.ModuleType, types.CodeType, types.FrameType,
                 types.TracebackType, types.GeneratorType, types.CoroutineType,
                 types.AsyncGeneratorType)


def _is_opaque(obj: Any) -> bool:
    # Every callable (functions, methods, classes, partials) is opaque: scripts
    # may call them but never inspect them.
    return callable(obj) or isinstance(obj, _OPAQUE_TYPES)


def guarded_getattr(obj: Any, name: str) -> Any:
    """`_getattr_` guard: data attributes/methods only, never private ones."""
    if not isinstance(name, str) or name.startswith('_'):
        raise AttributeError(f'attribute {name!r} is not allowed')
    if _is_opaque(obj):
        raise AttributeError(f'attributes of {type(obj).__name__} objects are not accessible')
    # safer_getattr_raise adds RestrictedPython's str.format and inspect checks
    # and raises AttributeError instead of silently returning None.
    return safer_getattr_raise(obj, name)


def _guarded_getitem(obj: Any, key: Any) -> Any:
    if _is_opaque(obj):  # e.g. list[int] or module-level tables
        raise TypeError(f'{type(obj).__name__} objects are not subscriptable here')
    return obj[key]


def _guarded_write(obj: Any) -> Any:
    # Exact types only: a dict subclass could run host code in __setitem__.
    if type(obj) in (dict, list):
        return obj
    raise TypeError(f'cannot modify {type(obj).__name__} objects')


_INPLACE_OPS = {
    '+=': operator.iadd, '-=': operator.isub, '*=': operator.imul,
    '/=': operator.itruediv, '//=': operator.ifloordiv, '%=': operator.imod,
    '**=': operator.ipow, '&=': operator.iand, '|=': operator.ior, '^=': operator.ixor,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    try:
        return _INPLACE_OPS[op](target, value)
    except KeyError:
        raise TypeError(f'operator {op} is not allowed') from None


_GUARDS = {
    '_getattr_': guarded_getattr,
    '_getitem_': _guarded_getitem,
    '_getiter_': iter,
    '_write_': _guarded_write,
    '_inplacevar_': _inplacevar,
    '_iter_unpack_sequence_': guarded_iter_unpack_sequence,
    '_unpack_sequence_': guarded_unpack_sequence,
}

_SAFE_BUILTINS = {
    'None': None, 'True': True, 'False': False,
    'len': len, 'min': min, 'max': max, 'abs': abs, 'round': round,
    'int': int, 'float': float, 'str': str, 'bool': bool, 'sorted': sorted,
    'sum': sum, 'any': any, 'all': all, 'list': list, 'dict': dict,
    'set': set, 'tuple': tuple,
    'range': limited_range,  # capped at 1000 items
}


def _is_runtime_only(value: Any) -> bool:
    return _is_opaque(value) or hasattr(value, '__next__')


def _has_nested_runtime_value(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return any(_is_runtime_only(v) or _has_nested_runtime_value(v) for v in items)
    return False


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Drop-in replacement for TaskDataEnvironment with a sandbox."""

    def __init__(self, functions: Mapping[str, Callable] | None = None):
        functions = dict(functions or {})
        for name, func in functions.items():
            if not name.isidentifier() or name.startswith('_') or not callable(func):
                raise ValueError(f'invalid script function {name!r}')
        # self.globals keeps the base-class meaning (the extra functions).
        super().__init__(functions)
        # Guards and functions live in __builtins__ rather than in the task
        # data dict, so they never leak into data and cannot be enumerated.
        self._builtins = {**_SAFE_BUILTINS, **functions, **_GUARDS}
        self._protected = frozenset(functions) | frozenset(_GUARDS) | {'__builtins__'}

    def check_for_overwrite(self, context, external_context=None):
        # Globals are looked up before builtins, so task data named like a
        # function or guard would silently replace it.
        clash = self._protected.intersection(context)
        clash |= set(external_context or ()).intersection(context)
        if clash:
            raise ValueError(
                'You have task data that overwrites a predefined function(s). '
                f'Please rename these variables/fields: {sorted(clash)}')

    def evaluate(self, expression, context, external_context=None):
        code = _compiled(expression, 'eval')
        # Unlike TaskDataEnvironment we refuse shadowing here too: a guard
        # replaced by data must never be possible.
        self.check_for_overwrite(context)
        # A copy, so evaluation never pollutes task data; the external
        # context (e.g. DMN's dmninputexpr) wins over stale task data.
        scope = {**context, **(external_context or {}), '__builtins__': self._builtins}
        return eval(code, scope)

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        code = _compiled(script, 'exec')
        # Run with the task data as globals so top-level assignments land in
        # it, exactly like TaskDataEnvironment.
        context.update(external_context)
        context['__builtins__'] = self._builtins
        try:
            exec(code, context)
        finally:
            for key in list(context):
                if key == '__builtins__' or key in external_context or _is_runtime_only(context[key]):
                    context.pop(key)
        # Nested functions/iterators cannot be pruned without corrupting the
        # structure, and must not be persisted: fail loudly instead.
        bad = sorted(k for k, v in context.items() if _has_nested_runtime_value(v))
        if bad:
            raise TypeError(f'task data may only hold plain values; check {bad}')
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose validate() also applies the sandbox policy."""

    def __init__(self, environment: BasePythonScriptEngineEnvironment | None = None):
        super().__init__(environment or RestrictedEnvironment())

    def validate(self, expression):
        # DMN's needs_eq() relies on a genuine SyntaxError for fragments such
        # as "< 5", so parse plainly first; ScriptSecurityError is deliberately
        # not a SyntaxError so a refused cell is never retried as "v <cell>".
        ast.parse(expression)
        errors = check_script(expression)
        if errors:
            raise ScriptSecurityError(errors)


def make_script_engine(functions: Mapping[str, Callable] | None = None) -> RestrictedScriptEngine:
    return RestrictedScriptEngine(RestrictedEnvironment(functions))
