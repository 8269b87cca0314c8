"""Traced-function discovery: which functions, through which route, with which static params."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from jitlint.discovery import package_of
from jitlint.entrypoints import entry_points
from jitlint.imports import NameResolver
from jitlint.scopes import build_scopes
from jitlint.traced import TracedFunction, find_traced_functions


def traced(source: str) -> dict[str, TracedFunction]:
    module = cst.parse_module(source)
    found = find_traced_functions(build_scopes(module), NameResolver(None), entry_points())
    return {fn.name: fn for fn in found}


def statics(source: str, name: str) -> tuple[set[str], set[str]]:
    route = traced(source)[name].primary
    return set(route.statics.static), set(route.statics.unknown)


HEADER = "import jax\nfrom functools import partial\n"


def test_static_argnums_and_argnames() -> None:
    source = HEADER + (
        "@partial(jax.jit, static_argnums=(1,), static_argnames='mode')\ndef f(x, n, m, mode='a'):\n    return x\n"
    )
    assert statics(source, "f") == ({"n", "mode"}, set())


def test_single_int_and_tuple_of_names() -> None:
    source = HEADER + "def f(x, n, m):\n    return x\ng = jax.jit(f, static_argnums=2, static_argnames=('n',))\n"
    assert statics(source, "f") == ({"m", "n"}, set())


def test_negative_index_counts_from_the_end_and_leaves_earlier_params_unknown() -> None:
    source = HEADER + "@partial(jax.jit, static_argnums=-1)\ndef f(x, n, m):\n    return x\n"
    assert statics(source, "f") == ({"m"}, {"x", "n"})


def test_unreadable_static_spec_makes_every_param_unknown() -> None:
    source = HEADER + "STATIC = (1,)\n@partial(jax.jit, static_argnums=STATIC)\ndef f(x, n):\n    return x\n"
    assert statics(source, "f") == (set(), {"x", "n"})


def test_self_is_static_with_static_argnums_zero() -> None:
    source = HEADER + (
        "class M:\n    @partial(jax.jit, static_argnums=0)\n    def __call__(self, x):\n        return x\n"
    )
    assert statics(source, "M.__call__") == ({"self"}, set())


def test_bound_method_and_partial_arguments_are_static() -> None:
    source = HEADER + (
        "class T:\n"
        "    def __init__(self):\n"
        "        self.step = jax.jit(self._step, static_argnums=1)\n"
        "    def _step(self, x, n):\n        return x\n"
        "def g(a, b, c):\n    return a\n"
        "h = jax.jit(partial(g, 1, c=3))\n"
    )
    assert statics(source, "T._step") == ({"self", "n"}, set())
    assert statics(source, "g") == ({"a", "c"}, set())


def test_vmap_in_axes_none_is_static() -> None:
    source = HEADER + "def f(x, w):\n    return x\ng = jax.vmap(f, in_axes=(0, None))\n"
    assert statics(source, "f") == ({"w"}, set())


def test_filter_jit_marks_array_only_tracing() -> None:
    source = "import equinox as eqx\n@eqx.filter_jit\ndef f(x, n: int):\n    return x\n"
    assert traced(source)["f"].primary.statics.only_arrays_traced


def test_routes_reach_helpers_transitively_and_cycles_end() -> None:
    source = HEADER + (
        "def a(x):\n    return b(x)\n"
        "def b(x):\n    return a(x)\n"
        "@jax.jit\ndef f(x):\n    return a(x)\n"
        "def unused(x):\n    return x\n"
    )
    found = traced(source)
    assert set(found) == {"a", "b", "f"}
    assert found["b"].primary.caller is found["a"]


def test_caching_and_executing_routes() -> None:
    source = HEADER + (
        "def v(x):\n    return x\ndef s(x):\n    return x\nvv = jax.vmap(v)\nshape = jax.eval_shape(s, 1.0)\n"
    )
    found = traced(source)
    assert not found["v"].caches and found["v"].executes
    assert not found["s"].executes


def test_relative_imports_resolve_against_the_package(tmp_path: Path) -> None:
    package = tmp_path / "equinox"
    package.mkdir()
    (package / "__init__.py").write_text("")
    module = cst.parse_module("from ._jit import filter_jit\n@filter_jit\ndef f(x):\n    return x\n")
    resolver = NameResolver(package_of(package / "mod.py"))
    found = find_traced_functions(build_scopes(module), resolver, entry_points())
    assert [fn.name for fn in found] == ["f"]
