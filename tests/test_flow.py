"""The value model on its own: what kind (TRACED, STATIC, UNKNOWN) each expression gets."""

from __future__ import annotations

import libcst as cst
import pytest

from jitlint.entrypoints import entry_points
from jitlint.flow import STATIC, TRACED, UNKNOWN, FlowAnalyzer, Kind, combine, merge
from jitlint.imports import NameResolver
from jitlint.scopes import build_scopes
from jitlint.traced import find_traced_functions
from jitlint.walk import descendants

HEADER = """\
import math
from functools import partial
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
"""


def returned_kinds(body: str, name: str = "f") -> list[Kind]:
    """The kinds of the elements of the last `return a, b, ...` in function `name`."""
    module = cst.parse_module(HEADER + body)
    resolver = NameResolver(None)
    traced = find_traced_functions(build_scopes(module), resolver, entry_points())
    fn = next(fn for fn in traced if fn.name == name)
    flow = FlowAnalyzer(resolver, traced).flow(fn)
    returns = [node for node in descendants(fn.node) if isinstance(node, cst.Return)]
    value = returns[-1].value
    assert value is not None
    elements = value.elements if isinstance(value, cst.Tuple) else [cst.Element(value)]
    return [flow.kind(element.value) for element in elements]


def test_merge_and_combine() -> None:
    assert merge([TRACED, TRACED]) is TRACED
    assert merge([TRACED, STATIC]) is UNKNOWN
    assert combine([TRACED, UNKNOWN]) is TRACED
    assert combine([STATIC, STATIC]) is STATIC
    assert combine([STATIC, UNKNOWN]) is UNKNOWN


def test_parameters_and_array_attributes() -> None:
    body = """
@jax.jit
def f(x, y):
    return x, x.shape, x.ndim, x.dtype, len(x), x.T, x.sum(), x[0], y + 1, x.shape[0] * 2
"""
    assert returned_kinds(body) == [TRACED, STATIC, STATIC, STATIC, STATIC, TRACED, TRACED, TRACED, TRACED, STATIC]


def test_static_arguments_and_static_tests() -> None:
    body = """
@partial(jax.jit, static_argnames=("n",))
def f(x, n, mask=None):
    return n, n + 1, mask, mask is None, isinstance(x, jax.Array), type(x), jnp.issubdtype(x.dtype, jnp.floating)
"""
    assert returned_kinds(body) == [STATIC, STATIC, UNKNOWN, STATIC, STATIC, STATIC, STATIC]


def test_jnp_results_are_traced_even_on_constants_and_numpy_on_static_is_static() -> None:
    body = """
@jax.jit
def f(x):
    return jnp.array(3), jnp.arange(3).sum(), np.arange(3), np.float32(2.0), math.pi, jnp.shape(x), np.sum(x)
"""
    assert returned_kinds(body) == [TRACED, TRACED, STATIC, STATIC, STATIC, STATIC, TRACED]


def test_unknown_things_stay_unknown() -> None:
    body = """
@jax.jit
def f(x, config, state: "TrainState"):
    return config.use_bias, helper(x), state, x.custom_attribute
def helper(v):
    return v
"""
    assert returned_kinds(body) == [UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN]


def test_branches_merge_and_loops_reach_a_fixed_point() -> None:
    body = """
@jax.jit
def f(x, flag: bool):
    a = 1
    if x.ndim == 2:
        b = x
    else:
        b = 2
    c = 0
    for _ in range(3):
        c = c + x
    d = x
    if x.ndim == 1:
        return d
    return a, b, c, d
"""
    assert returned_kinds(body) == [STATIC, UNKNOWN, UNKNOWN, TRACED]


def test_loop_targets() -> None:
    body = """
@jax.jit
def f(xs, params):
    for i, x in enumerate(xs):
        pass
    for k, v in params.items():
        pass
    for n in range(4):
        pass
    return i, x, k, v, n
"""
    assert returned_kinds(body) == [STATIC, TRACED, STATIC, TRACED, STATIC]


def test_nested_bodies_see_the_enclosing_kinds() -> None:
    body = """
@jax.jit
def outer(x):
    scale = x.sum()
    size = x.shape[0]
    def body(i, carry):
        return carry, i, scale, size
    return lax.fori_loop(0, 3, body, x)
"""
    assert returned_kinds(body, "outer.body") == [TRACED, TRACED, TRACED, STATIC]


def test_helpers_take_their_callers_argument_kinds() -> None:
    body = """
def helper(v, n, flag=False):
    return v, n, flag
@jax.jit
def f(x):
    return helper(x, x.shape[0])
"""
    assert returned_kinds(body, "helper") == [TRACED, STATIC, STATIC]


def test_lax_bodies_keep_defaults_the_loop_does_not_pass() -> None:
    body = """
def step(carry, x, init_mode=False):
    return carry, x, init_mode
out = lax.scan(step, 0.0, None, length=3)
"""
    assert returned_kinds(body, "step") == [TRACED, TRACED, STATIC]


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        ("x: jax.Array, n: int", [TRACED, TRACED]),
        ("x: tuple, n: 'Config'", [UNKNOWN, UNKNOWN]),
        ("x, flag=True", [TRACED, TRACED]),
        ("x, mode='train'", [TRACED, UNKNOWN]),
    ],
)
def test_parameter_annotations_and_defaults(signature: str, expected: list[Kind]) -> None:
    names = [part.split(":")[0].split("=")[0].strip() for part in signature.split(",")]
    body = f"\n@jax.jit\ndef f({signature}):\n    return {', '.join(names)}\n"
    assert returned_kinds(body) == expected


def test_defaults_left_alone_by_every_visible_call_are_static() -> None:
    body = """
@jax.jit
def f(x, flag=True):
    return x, flag
y = f(1.0)
"""
    assert returned_kinds(body) == [TRACED, STATIC]


def test_kinds_leave_loops_through_break_and_continue_and_leave_finally() -> None:
    body = """
@jax.jit
def f(xs):
    for row in xs:
        first = row
        break
    for row in xs:
        if row.shape[0] > 1:
            last = row.sum()
            continue
        return xs
    try:
        pass
    finally:
        size = xs.shape[0]
    return first, last, size
"""
    assert returned_kinds(body) == [TRACED, TRACED, STATIC]


def test_match_captures_rebind_names() -> None:
    body = """
@jax.jit
def f(x, pair):
    value = x
    match pair:
        case [value, *_]:
            return value, x
"""
    assert returned_kinds(body) == [UNKNOWN, TRACED]
