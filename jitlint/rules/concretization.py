"""Pulling a concrete Python or NumPy value out of a tracer: float(x), x.item(), np.asarray(x)..."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from jitlint.flow import FunctionFlow
from jitlint.jax_api import (
    NUMPY_CONVERTING,
    SHAPE_ARGUMENTS,
)
from jitlint.rules.base import Hit, ModuleAnalysis, Rule, transform_phrase
from jitlint.traced import TracedFunction
from jitlint.walk import call_argument, own_nodes


@dataclass(frozen=True)
class _Pitfall:
    what: str  # "float()", "np.asarray()", "a shape"
    error: str  # the exception JAX raises
    fix: str


CONCRETIZATION = "ConcretizationTypeError"
INTEGER = "TracerIntegerConversionError"
ARRAY = "TracerArrayConversionError"

_PYTHON_CONVERSIONS = {
    "builtins.float": _Pitfall(
        "float() of a traced value", CONCRETIZATION, "keep it an array (x.astype(jnp.float32)) or make the value static"
    ),
    "builtins.int": _Pitfall(
        "int() of a traced value", CONCRETIZATION, "keep it an array (x.astype(jnp.int32)) or make the value static"
    ),
    "builtins.complex": _Pitfall(
        "complex() of a traced value", CONCRETIZATION, "keep it an array (x.astype(jnp.complex64))"
    ),
    "operator.index": _Pitfall(
        "operator.index() of a traced value", INTEGER, "make the index static or use lax.dynamic_index_in_dim"
    ),
    "builtins.range": _Pitfall(
        "range() with a traced bound", INTEGER, "use lax.fori_loop(...) or make the bound static"
    ),
}
_METHODS = {
    "item": _Pitfall(".item() on a traced array", CONCRETIZATION, "keep it an array, or read it outside jit"),
    "tolist": _Pitfall(".tolist() on a traced array", CONCRETIZATION, "keep it an array, or convert outside jit"),
}
_MATH_FUNCTIONS_SKIPPED = frozenset({"math.prod", "math.isclose"})  # work on static shapes only

# Functions whose output size depends on values: they need a static `size=` under jit.
_DATA_DEPENDENT_SIZE = frozenset(
    {
        "jax.numpy.nonzero",
        "jax.numpy.argwhere",
        "jax.numpy.flatnonzero",
        "jax.numpy.unique",
        "jax.numpy.unique_values",
        "jax.numpy.unique_counts",
        "jax.numpy.union1d",
        "jax.numpy.setdiff1d",
        "jax.numpy.intersect1d",
    }
)
_ARRAY_SHAPE_METHODS = frozenset({"reshape", "broadcast_to"})


def find_concretization(fn: TracedFunction, module: ModuleAnalysis) -> Iterator[Hit]:
    """
    ## What it does
    Flags code that needs the concrete value of a traced array: `float(x)`, `int(x)`,
    `complex(x)`, `x.item()`, `x.tolist()`, `math.sqrt(x)`, `operator.index(x)`, `range(x)`,
    `np.asarray(x)` and NumPy functions that convert their input (`np.sin`, `np.where`,
    `np.dot`, `np.concatenate`, ...), indexing a Python list or tuple with a traced index,
    slicing with traced bounds (`x[i:i + 2]`), boolean-mask indexing (`x[x > 0]`), shapes built
    from traced values (`jnp.zeros(n)`, `jnp.arange(n)`, `x.reshape(n, -1)`), and functions
    with a data-dependent output size (`jnp.nonzero`, `jnp.unique`, ...) without `size=`.

    ## Why is this bad?
    Inside `jax.jit` (and `vmap`, `pmap`, lax loop and branch bodies) an array is an abstract
    tracer: it has a shape and a dtype but no value. Converting it to a Python number, a NumPy
    array or a shape fails while tracing with `ConcretizationTypeError`,
    `TracerIntegerConversionError` or `TracerArrayConversionError` (or, for shapes, a
    `TypeError` that shapes must be concrete), and the whole function cannot be compiled.

    ## Example
        @jax.jit
        def normalize(x, n):
            scale = float(jnp.linalg.norm(x))   # ConcretizationTypeError
            pad = jnp.zeros(n)                  # n is traced: shapes must be static
            return np.sqrt(x) / scale           # TracerArrayConversionError

    ## Use instead
        @partial(jax.jit, static_argnames=("n",))
        def normalize(x, n):
            scale = jnp.linalg.norm(x)          # stay in jnp: a traced scalar is fine
            pad = jnp.zeros(n)                  # n is static now
            return jnp.sqrt(x) / scale

    For loops with a traced bound use `lax.fori_loop`; for a traced slice use
    `lax.dynamic_slice`; for masks use `jnp.where`; give `jnp.nonzero`/`jnp.unique` a static
    `size=`.

    ## Known limits
    Only values the code shows to be traced are reported (parameters, `jnp`/`lax` results and
    arithmetic on them). NumPy functions that forward to the array's own method (`np.sum`,
    `np.mean`, `np.max`, ...) work on tracers and are not reported.
    """
    flow = module.flow(fn)
    for node in own_nodes(fn.node):
        found = None
        if isinstance(node, cst.Call):
            found = _call_pitfall(node, fn, module, flow)
        elif isinstance(node, cst.Subscript):
            found = _subscript_pitfall(node, fn, flow)
        if found is not None and not module.in_trace_aware_code(node, fn):
            yield Hit(
                node,
                {"what": found.what, "error": found.error, "where": transform_phrase(fn), "fix": found.fix},
            )


def _call_pitfall(node: cst.Call, fn: TracedFunction, module: ModuleAnalysis, flow: FunctionFlow) -> _Pitfall | None:
    callee = module.callee(node, fn)
    values = [arg.value for arg in node.args if not arg.keyword]
    traced_argument = any(_has_traced_part(arg.value, flow) for arg in node.args)
    if callee is None:
        return _method_pitfall(node, flow)
    if callee in _PYTHON_CONVERSIONS and values and flow.is_traced(values[0]):
        return _PYTHON_CONVERSIONS[callee]
    if callee == "builtins.range" and any(flow.is_traced(value) for value in values):
        return _PYTHON_CONVERSIONS[callee]
    if callee.startswith("numpy.") and callee[len("numpy.") :] in NUMPY_CONVERTING and traced_argument:
        name = callee[len("numpy.") :]
        return _Pitfall(f"np.{name}() of a traced value", ARRAY, f"use jnp.{name.split('.')[-1]}(...)")
    if callee.startswith("math.") and callee not in _MATH_FUNCTIONS_SKIPPED and traced_argument:
        name = callee[len("math.") :]
        return _Pitfall(f"math.{name}() of a traced value", CONCRETIZATION, f"use jnp.{name}(...)")
    if callee in SHAPE_ARGUMENTS:
        position, keyword = SHAPE_ARGUMENTS[callee]
        shapes = values if callee == "jax.numpy.arange" else [call_argument(node, position, keyword)]
        if any(shape is not None and _has_traced_part(shape, flow) for shape in shapes):
            short = callee.replace("jax.numpy.", "jnp.").replace("jax.", "")
            error = CONCRETIZATION if callee.endswith(("arange", "linspace")) else "TypeError (shapes must be concrete)"
            return _Pitfall(
                f"a traced shape or size in {short}()",
                error,
                "make it static (static_argnames) or derive it from x.shape",
            )
    if callee in _DATA_DEPENDENT_SIZE and traced_argument and call_argument(node, None, "size") is None:
        short = callee.replace("jax.numpy.", "jnp.")
        return _Pitfall(
            f"{short}() of a traced value without size=",
            CONCRETIZATION,
            f"pass a static size=, e.g. {short}(x, size=n)",
        )
    if callee == "jax.numpy.where" and len(node.args) == 1 and traced_argument:
        return _Pitfall(
            "one-argument jnp.where() of a traced value",
            CONCRETIZATION,
            "pass size=, or use the three-argument jnp.where",
        )
    return None


def _method_pitfall(node: cst.Call, flow: FunctionFlow) -> _Pitfall | None:
    if not isinstance(node.func, cst.Attribute) or not flow.is_traced(node.func.value):
        return None
    method = node.func.attr.value
    if method in _METHODS:
        return _METHODS[method]
    if method in _ARRAY_SHAPE_METHODS and any(
        _has_traced_part(arg.value, flow) for arg in node.args if not arg.keyword
    ):
        return _Pitfall(
            f"a traced shape in .{method}()",
            "TypeError (shapes must be concrete)",
            "make it static (static_argnames) or derive it from x.shape",
        )
    return None


def _subscript_pitfall(node: cst.Subscript, fn: TracedFunction, flow: FunctionFlow) -> _Pitfall | None:
    base_traced = flow.is_traced(node.value)
    for element in node.slice:
        index = element.slice
        if isinstance(index, cst.Slice) and base_traced:
            if any(part is not None and flow.is_traced(part) for part in (index.lower, index.upper, index.step)):
                return _Pitfall(
                    "a slice with traced bounds",
                    "IndexError (slice entries must be static)",
                    "use lax.dynamic_slice(x, (i,), (size,))",
                )
        elif isinstance(index, cst.Index) and flow.is_traced(index.value):
            if _is_python_sequence(node.value, fn):
                return _Pitfall(
                    "indexing a Python list or tuple with a traced index",
                    INTEGER,
                    "use jnp.asarray(seq)[i] or lax.switch(i, ...)",
                )
            if base_traced and isinstance(index.value, cst.Comparison):
                return _Pitfall(
                    "boolean-mask indexing",
                    "NonConcreteBooleanIndexError",
                    "use jnp.where(mask, x, 0) or pass size= to jnp.nonzero",
                )
    return None


def _is_python_sequence(node: cst.BaseExpression, fn: TracedFunction) -> bool:
    """A list or tuple literal, or a name bound only to one (in the function or the module).

    A concrete array indexed with a tracer is fine; only Python sequences need an int.
    """
    if isinstance(node, (cst.List, cst.Tuple, cst.ListComp)):
        return True
    if not isinstance(node, cst.Name):
        return False
    owner = fn.scope.resolve(node.value)
    bindings = [] if owner is None else owner.bindings.get(node.value, [])
    return bool(bindings) and all(
        isinstance(binding.value, (cst.List, cst.Tuple, cst.ListComp)) for binding in bindings
    )


def _has_traced_part(shape: cst.BaseExpression, flow: FunctionFlow) -> bool:
    if isinstance(shape, (cst.Tuple, cst.List)):
        return any(flow.is_traced(element.value) for element in shape.elements)
    return flow.is_traced(shape)


CONCRETIZATION_OF_TRACED_VALUE = Rule(
    code="JIT006",
    name="concretization-of-traced-value",
    summary="float()/int()/.item()/np.asarray()/shapes on a traced value fail while tracing",
    message="{what} raises {error} {where}; {fix}",
    check=find_concretization,
)
