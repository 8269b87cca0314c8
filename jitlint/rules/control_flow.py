"""Python control flow on a traced value: `if`, `while`, `assert`, `and`/`or`, `bool()`, ..."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from jitlint.entrypoints import StaticStyle
from jitlint.flow import FunctionFlow
from jitlint.rules.base import Hit, ModuleAnalysis, Rule, transform_phrase
from jitlint.traced import TracedFunction
from jitlint.walk import own_nodes


@dataclass(frozen=True)
class _Condition:
    """An expression Python turns into a bool, and what to use instead."""

    test: cst.BaseExpression  # the whole expression converted to bool
    construct: str  # "if", "while", "assert", ...
    fix: str
    report_at: cst.CSTNode


_FIXES = {
    "if": "jnp.where(...) or lax.cond(...)",
    "while": "lax.while_loop(...)",
    "assert": "checkify.check(...) or eqx.error_if(...), or assert on shapes only",
    "conditional expression": "jnp.where(...) or lax.cond(...)",
    "comprehension if": "a mask with jnp.where(...)",
    "not": "jnp.logical_not(...)",
    "and/or": "jnp.logical_and/jnp.logical_or(...) or jnp.where(...)",
    "bool()": "jnp.where(...) or lax.cond(...) on the array",
    "min()": "jnp.minimum(...) or jnp.min(...)",
    "max()": "jnp.maximum(...) or jnp.max(...)",
    "sorted()": "jnp.sort(...)",
    "any()": "jnp.any(...)",
    "all()": "jnp.all(...)",
    "in": "jnp.isin(...)",
    "chained comparison": "jnp.logical_and(a < x, x < b)",
}

_BUILTIN_CONVERTERS = {
    "builtins.bool": "bool()",
    "builtins.min": "min()",
    "builtins.max": "max()",
    "builtins.sorted": "sorted()",
    "builtins.any": "any()",
    "builtins.all": "all()",
}


def find_python_control_flow(fn: TracedFunction, module: ModuleAnalysis) -> Iterator[Hit]:
    """
    ## What it does
    Flags Python control flow that needs a concrete `bool` of a traced value: `if`, `elif`,
    `while`, `assert`, `a if cond else b`, `not x`, `and`/`or` operands (`x or default`),
    `bool(x)`, comprehension `if` clauses, chained comparisons (`0 < x < 1`), `x in [...]`,
    and the builtins `min`, `max`, `sorted`, `any`, `all` on traced values.

    ## Why is this bad?
    Under `jax.jit` (and `vmap`, `pmap`, `lax.scan`/`cond`/`while_loop` bodies, ...) the
    arguments are abstract tracers without values, so Python cannot decide which branch to run:
    JAX raises `TracerBoolConversionError` ("Attempted boolean conversion of traced array"; for
    an array with more than one element, Python's `ValueError` "The truth value of an array
    with more than one element is ambiguous" comes first).
    Only static values (shapes, dtypes, `is None` tests, `static_argnames` parameters) can steer
    Python control flow in traced code.

    ## Example
        @jax.jit
        def relu_or_zero(x, training):
            if training:              # training is traced: TracerBoolConversionError
                x = jnp.maximum(x, 0)
            if x.sum() > 0:           # a traced comparison
                x = x / x.sum()
            return x

    ## Use instead
        @partial(jax.jit, static_argnames=("training",))
        def relu_or_zero(x, training):
            if training:              # static: one compiled program per value
                x = jnp.maximum(x, 0)
            total = x.sum()
            return jnp.where(total > 0, x / total, x)

    Use `lax.cond` to choose between two computations, `lax.while_loop` for a loop whose end
    depends on values, and `jnp.where` to select elementwise.

    ## Known limits
    Only values the code shows to be traced are reported: parameters (unless static), results of
    `jnp`/`lax`/`jax.random` calls and arithmetic on them. Attributes of parameters
    (`config.flag`), results of unknown functions and parameters with `None` or string defaults
    are not assumed traced. Functions reached only through `jax.grad` are not checked: Python
    control flow works there.
    """
    flow = module.flow(fn)
    # Parts already looked at, by any condition: the operands of `a and b and c` are parts of
    # each nested BooleanOperation's condition too, and a long chain must cost linear time.
    examined: set[int] = set()
    for node in own_nodes(fn.node):
        for condition in _conditions(node, fn, module):
            culprit = _traced_culprit(condition.test, flow, examined)
            if culprit is None or module.in_trace_aware_code(culprit, fn):
                continue
            yield Hit(condition.report_at, _details(condition, culprit, fn, flow))


# The node types _conditions acts on (libcst's classes are ABCs: see walk.py).
_CONVERTING_NODES = frozenset(
    {
        cst.If,
        cst.While,
        cst.Assert,
        cst.IfExp,
        cst.CompIf,
        cst.UnaryOperation,
        cst.BooleanOperation,
        cst.Comparison,
        cst.Call,
    }
)


def _conditions(node: cst.CSTNode, fn: TracedFunction, module: ModuleAnalysis) -> Iterator[_Condition]:
    """The expressions `node` converts to a Python bool."""
    if type(node) not in _CONVERTING_NODES:
        return  # most nodes: one exact-type test, where each failed isinstance below is slow
    if isinstance(node, (cst.If, cst.While)):
        construct = "if" if isinstance(node, cst.If) else "while"
        yield _Condition(node.test, construct, _FIXES[construct], node.test)
    elif isinstance(node, cst.Assert):
        yield _Condition(node.test, "assert", _FIXES["assert"], node.test)
    elif isinstance(node, cst.IfExp):
        yield _Condition(node.test, "conditional expression", _FIXES["conditional expression"], node.test)
    elif isinstance(node, cst.CompIf):
        yield _Condition(node.test, "comprehension if", _FIXES["comprehension if"], node.test)
    elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        yield _Condition(node.expression, "not", _FIXES["not"], node)
    elif isinstance(node, cst.BooleanOperation):
        # `x or default`: every operand but the last is converted to bool to pick the result.
        yield _Condition(node.left, "and/or", _FIXES["and/or"], node)
    elif isinstance(node, cst.Comparison):
        yield from _comparison_conditions(node)
    elif isinstance(node, cst.Call) and node.args:
        converter = _BUILTIN_CONVERTERS.get(module.callee(node, fn) or "")
        if converter is not None:
            for arg in node.args:
                yield _Condition(arg.value, converter, _FIXES[converter], node)


def _comparison_conditions(node: cst.Comparison) -> Iterator[_Condition]:
    if len(node.comparisons) > 1:
        # `0 < x < 1` is `(0 < x) and (x < 1)`: the first result is converted to bool.
        yield _Condition(node, "chained comparison", _FIXES["chained comparison"], node)
    elif isinstance(node.comparisons[0].operator, (cst.In, cst.NotIn)) and isinstance(
        node.comparisons[0].comparator, (cst.List, cst.Tuple, cst.Set)
    ):
        # `x in [1.0, 2.0]` compares x with each item and converts each result to bool.
        yield _Condition(node.left, "in", _FIXES["in"], node)


def _bool_converted_parts(test: cst.BaseExpression, examined: set[int]) -> Iterator[cst.BaseExpression]:
    """The test itself and, through `not`/`and`/`or`, each operand Python converts to bool, in
    source order; parts in `examined` are skipped with what is below them, and the rest added."""
    stack = [test]
    while stack:
        part = stack.pop()
        if id(part) in examined:
            continue
        examined.add(id(part))
        yield part
        if isinstance(part, cst.BooleanOperation):
            stack += (part.right, part.left)
        elif isinstance(part, cst.UnaryOperation) and isinstance(part.operator, cst.Not):
            stack.append(part.expression)


def _traced_culprit(test: cst.BaseExpression, flow: FunctionFlow, examined: set[int]) -> cst.BaseExpression | None:
    """The first part of `test` not examined before that is converted to bool while traced.

    Once a culprit is found, the parts of `test` after it are marked examined as well: one
    finding per condition, at its first traced part.
    """
    culprit: cst.BaseExpression | None = None
    for part in _bool_converted_parts(test, examined):
        if culprit is not None or isinstance(part, cst.BooleanOperation):
            continue
        if isinstance(part, cst.UnaryOperation) and isinstance(part.operator, cst.Not):
            continue
        if isinstance(part, cst.Comparison) and len(part.comparisons) > 1:
            first = part.comparisons[0]
            if flow.is_traced(part.left) or flow.is_traced(first.comparator):
                culprit = part
            continue
        if flow.is_traced(part):
            culprit = part
    return culprit


def _details(
    condition: _Condition, culprit: cst.BaseExpression, fn: TracedFunction, flow: FunctionFlow
) -> dict[str, str]:
    parameter = _plain_parameter(culprit, flow)
    where = transform_phrase(fn)
    entry = fn.primary.entry  # static_argnames only helps on the jitted function's own parameters
    if parameter is not None and entry is not None and entry.static_style is StaticStyle.ARGNUMS:
        fix = f'mark it static: static_argnames=("{parameter}",), or use {condition.fix}'
        tested = f"traced parameter '{parameter}'"
    else:
        fix = f"use {condition.fix}"
        tested = f"traced parameter '{parameter}'" if parameter else "a traced value"
    return {"construct": condition.construct, "tested": tested, "where": where, "fix": fix}


def _plain_parameter(culprit: cst.BaseExpression, flow: FunctionFlow) -> str | None:
    if isinstance(culprit, cst.Name) and culprit.value in flow.traced_parameters:
        return culprit.value
    return None


PYTHON_CONTROL_FLOW_ON_TRACED_VALUE = Rule(
    code="JIT005",
    name="python-control-flow-on-traced-value",
    summary="Python if/while/assert/and/or/bool() on a traced value raises TracerBoolConversionError",
    message="Python `{construct}` on {tested} raises TracerBoolConversionError {where}; {fix}",
    check=find_python_control_flow,
)
