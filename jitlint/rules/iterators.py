"""Iterators from outside the traced function: consumed once, at trace time."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from jitlint.rules.base import Hit, ModuleAnalysis, Rule
from jitlint.scopes import Binding, How, Scope
from jitlint.traced import TracedFunction
from jitlint.walk import call_argument, descendants, own_nodes, source_text

# Calls that return a one-shot iterator rather than a container.
ITERATOR_FACTORIES = frozenset(
    {
        "builtins.iter",
        "builtins.map",
        "builtins.filter",
        "builtins.zip",
        "builtins.enumerate",
        "builtins.reversed",
    }
)


def find_external_iterators(fn: TracedFunction, module: ModuleAnalysis) -> Iterator[Hit]:
    """
    ## What it does
    Flags traced code that calls `next()` on, or loops over, an iterator or generator created
    outside the function (a global or closure bound to `iter(...)`, a generator,
    `itertools.count()`, `map(...)`, ...), and iterators passed as operands to
    `lax.fori_loop`, `lax.scan`, `lax.while_loop`, `lax.cond` or `lax.switch`.

    ## Why is this bad?
    The iterator is advanced while JAX traces the function, once. The value it produced is
    baked into the compiled program, so every later call reuses the same item and the iterator
    does not move again until a re-trace, which silently takes the next one (or finds the
    iterator exhausted). JAX cannot turn an iterator into an array, so passing one to a `lax`
    loop fails with `TypeError: ... is not a valid JAX type`.

    ## Example
        batches = iter(dataset)

        @jax.jit
        def step(params):
            batch = next(batches)      # read once, at trace time
            return update(params, batch)

    ## Use instead
        @jax.jit
        def step(params, batch):
            return update(params, batch)

        for batch in dataset:
            params = step(params, batch)

    ## Known limits
    Iterators reached through attributes (`self.loader`) or passed in as arguments are not
    followed. Loops over lists, tuples, `range(...)` and arrays are fine and not reported.
    """
    for node in own_nodes(fn.node):
        if isinstance(node, cst.Call) and module.callee(node, fn) == "builtins.next" and node.args:
            if _is_outer_iterator(node.args[0].value, fn, module):
                yield _hit(node, "next() on", node.args[0].value)
        elif isinstance(node, cst.For) and _is_outer_iterator(node.iter, fn, module):
            yield _hit(node, "a loop over", node.iter)
    for route in fn.routes:
        # `lax.scan(body, init, iter(xs))`: reported at the lax call, once per call.
        if route.entry is not None and route.entry.operands and isinstance(route.site, cst.Call):
            scope = fn.scope.parent or fn.scope
            operand = _iterator_operand(route.site, route.entry.operands, scope, module)
            if operand is not None:
                yield _hit(route.site, f"{route.entry.short_name}() with", operand)


def _hit(node: cst.CSTNode, use: str, iterator: cst.BaseExpression) -> Hit:
    """`use`: how the iterator is consumed (`next() on`); only a plain name can be watched."""
    subject = iterator.value if isinstance(iterator, cst.Name) else None
    return Hit(node, {"use": use, "source": source_text(iterator)}, subject=subject)


def _is_outer_iterator(node: cst.BaseExpression, fn: TracedFunction, module: ModuleAnalysis) -> bool:
    """A global or closure name bound only to iterators or generators, or a parameter (of the
    function or an enclosing one) that a call in the module gives an iterator."""
    if not isinstance(node, cst.Name):
        return False
    outer = fn.scope.resolve(node.value)
    if outer is None:
        return False
    bindings = [binding for binding in outer.bindings.get(node.value, []) if not binding.in_fallback]
    if not bindings:
        return False
    if outer is fn.scope or any(binding.how is How.PARAMETER for binding in bindings):
        return len(bindings) == 1 and bindings[0].how is How.PARAMETER and _receives_iterator(node.value, outer, module)
    return all(_makes_iterator(binding, outer, module) for binding in bindings)


def _receives_iterator(parameter: str, function: Scope, module: ModuleAnalysis) -> bool:
    """Whether some call of `function` in the module passes an iterator for `parameter`."""
    if not isinstance(function.node, cst.FunctionDef) or function.parent is None:
        return False
    positional = [param.name.value for param in [*function.node.params.posonly_params, *function.node.params.params]]
    index = positional.index(parameter) if parameter in positional else None
    for scope, call in function.index.calls_of_name(function.name):
        argument = call_argument(call, index, parameter)
        if argument is not None and _is_iterator_value(argument, scope, module):
            return True
    return False


def _is_iterator_value(node: cst.BaseExpression, scope: Scope, module: ModuleAnalysis) -> bool:
    """`iter(xs)` itself, or a name bound (only) to an iterator where it is used."""
    if _is_iterator_expression(node, scope, module):
        return True
    if not isinstance(node, cst.Name):
        return False
    owner = scope.resolve(node.value)
    if owner is None:
        return False
    bindings = owner.bindings.get(node.value, [])
    return bool(bindings) and all(_makes_iterator(binding, owner, module) for binding in bindings)


def _makes_iterator(binding: Binding, scope: Scope, module: ModuleAnalysis) -> bool:
    if binding.how is not How.ASSIGN or binding.value is None:
        return False
    return _is_iterator_expression(binding.value, scope, module)


def _is_iterator_expression(value: cst.BaseExpression, scope: Scope, module: ModuleAnalysis) -> bool:
    if isinstance(value, cst.GeneratorExp):
        return True
    if not isinstance(value, cst.Call):
        return False
    callee = module.resolver.canonical(value.func, scope)
    if callee in ITERATOR_FACTORIES or (callee or "").startswith("itertools."):
        return True
    return isinstance(value.func, cst.Name) and _is_generator_function(value.func.value, scope)


def _is_generator_function(name: str, scope: Scope) -> bool:
    """A `def` of the module (or an enclosing function) whose body yields."""
    outer = scope.resolve(name)
    if outer is None:
        return False
    for function in outer.functions_named(name):
        assert isinstance(function.node, cst.FunctionDef)
        if any(isinstance(node, (cst.Yield,)) for node in own_nodes(function.node)):
            return True
    return False


def _iterator_operand(
    call: cst.Call, positions: tuple[int, ...], scope: Scope, module: ModuleAnalysis
) -> cst.BaseExpression | None:
    """An iterator among a lax call's operands (JAX cannot turn it into an array)."""
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    for position in positions:
        if position < len(positional):
            operand = positional[position]
            for part in (operand, *descendants(operand)):
                if isinstance(part, cst.BaseExpression) and _is_iterator_value(part, scope, module):
                    return part
    return None


EXTERNAL_ITERATOR = Rule(
    code="JIT004",
    name="external-iterator",
    summary="an iterator from outside traced code is consumed once, at trace time",
    message="{use} iterator '{source}' in traced function '{function}' advances it only while JAX "
    "traces it, and lax cannot take iterators; pass the values in as arguments",
    check=find_external_iterators,
)
