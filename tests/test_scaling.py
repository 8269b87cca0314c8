"""What keeps per-file analysis linear gives the answers the whole-module scans gave.

The module index (scopes.ModuleIndex) answers by table what a pass over every scope used to,
positions are worked out per top-level statement (positions.Positions) rather than for the
whole module, and each file is checked with the cyclic garbage collector paused. How fast that
is is measured by benchmarks/scaling.py, not here.
"""

from __future__ import annotations

import gc
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider
from test_cli import jitlint, write

from jitlint.config import Config
from jitlint.engine import check_text
from jitlint.positions import Positions
from jitlint.scopes import Scope, ScopeKind, build_scopes

# -- positions ---------------------------------------------------------------------------------

LAYOUTS = {
    "plain": "import jax\n\n@jax.jit\ndef f(x):\n    print(x)\n    return x\n",
    "crlf": "#!/usr/bin/env python\r\n# header\r\n\r\nimport jax\r\n@jax.jit\r\ndef f(x):\r\n    print(x)\r\n",
    "cr only": "import jax\r@jax.jit\rdef f(x):\r    print(x)\r    return x",
    "no final newline": "import jax\nx = 1\n@jax.jit\ndef f(x):\n    return x",
    "header lines": (
        "\n\n# leading comment\n\nimport jax\n\n\n# before f\n@jax.jit  # on the decorator\ndef f(x):\n    return x\n"
    ),
    "tabs and semicolons": "import jax\na = 1; b = 2\n@jax.jit\ndef f(x):\n\tif x:\n\t\treturn x\n\treturn -x\n",
    "multi-line strings": (
        'import jax\nDOC = """one\ntwo\n\nthree"""\ny = (1,\n     2)\n@jax.jit\ndef f(x):\n    return """a\nb"""\n'
    ),
    "continuations": (
        "import jax\nz = 1 + \\\n    2\nclass A:\n    @jax.jit\n    def g(self, x):\n"
        "        def h(y):\n            return y\n        return h(x)\n"
    ),
    "form feed": "\x0c\nimport jax\n\n\x0c\n@jax.jit\ndef f(x):\n    print(x)\n",
    "compound statements": (
        "import jax\nif True:\n    pass\nelse:\n    x = [\n        1,\n    ]\n"
        "for i in range(3): print(i)\nwith open('f') as h:\n    pass\n"
    ),
}


@pytest.mark.parametrize("source", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_positions_per_statement_are_the_whole_module_ones(source: str) -> None:
    module = cst.parse_module(source)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    positions = Positions(module)
    assert len(whole) > 20
    for node, expected in whole.items():  # every node, the module and whitespace included
        assert positions.range(node) == expected, (type(node).__name__, expected)


def test_only_the_statements_with_asked_for_nodes_get_positions() -> None:
    module = cst.parse_module("import jax\n" + "x = 1\n" * 50 + "@jax.jit\ndef f(x):\n    print(x)\n")
    positions = Positions(module)
    function = module.body[-1]
    assert isinstance(function, cst.FunctionDef)
    assert positions.line(function.body.body[0]) == 54
    assert list(positions._ranges) == [len(module.body) - 1]  # the other statements: none made


# -- the module index --------------------------------------------------------------------------

INDEXED = """\
import jax
history = []
cache = {}
scale = 1.0

def make_a(scale):
    def step(x, flag=False):
        history.append(x)
        return x
    step = jax.jit(step)
    step(1.0, flag=True)
    cache[0] = step
    return step

def make_b():
    global scale
    scale = 2.0
    def step(x):
        nonlocal_user = lambda: step(x)
        return nonlocal_user
    step(2.0)
    history.append(3)
    return step

class Model:
    def apply(self, x):
        return self.apply(x) + step(x)

    def step(self, history):
        history.append(1)
        return history

step(0)
Model().apply(1)
"""


def _all_scopes(root: Scope) -> list[Scope]:
    return list(root.tree())


def _named_calls(scope: Scope, name: str) -> list[cst.Call]:
    return [call for call in scope.calls if isinstance(call.func, cst.Name) and call.func.value == name]


def test_the_index_finds_the_calls_a_scan_of_the_scopes_finds() -> None:
    root = build_scopes(cst.parse_module(INDEXED))
    index = root.index
    names = {"step", "make_a", "Model", "nonlocal_user", "missing"}
    for scope in _all_scopes(root):
        for name in names:
            scanned = [call for inner in scope.tree() for call in _named_calls(inner, name)]
            assert [call for _, call in index.calls_of_name(name, scope)] == scanned
            assert index.own_calls_of_name(scope, name) == _named_calls(scope, name)
            receivers = [
                c
                for c in scope.calls
                if isinstance(c.func, cst.Attribute)
                and isinstance(c.func.value, cst.Name)
                and c.func.value.value == name
            ]
            assert index.calls_on(scope, name) == receivers
            assert index.mutations_of(scope, name) == [node for mutated, node in scope.mutations if mutated == name]
        for call in scope.calls:
            assert index.scope_of(call) is scope
        for child in scope.children:
            assert index.scope_defined_by(child.node) is child
            if child.kind is ScopeKind.FUNCTION:
                assert child in scope.functions_named(child.name)
    every_call = [call for scope in _all_scopes(root) for call in scope.calls]
    for attribute in ("append", "apply", "step"):
        scanned = [c for c in every_call if isinstance(c.func, cst.Attribute) and c.func.attr.value == attribute]
        assert [call for _, call in index.calls_of_attribute(attribute)] == scanned


def test_the_index_keeps_every_scope_that_can_change_an_outer_name() -> None:
    root = build_scopes(cst.parse_module(INDEXED))
    index = root.index
    for scope in _all_scopes(root):
        changed = {*scope.bindings, *(name for name, _ in scope.mutations)}
        changed |= {
            c.func.value.value
            for c in scope.calls
            if isinstance(c.func, cst.Attribute) and isinstance(c.func.value, cst.Name)
        }
        for name in changed:
            outer = scope.resolve(name)
            if outer is None or outer is scope:
                continue  # its own local, or nobody's: nothing outside can be changed
            within = None if outer.parent is None else outer
            assert scope in index.scopes_changing_outer(name, within), (scope.qualname, name)
    module_changers = index.scopes_changing_outer("scale")
    assert [scope.qualname for scope in module_changers] == ["make_b"]  # make_a's is a parameter


# -- the cyclic collector ----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["import jax\n@jax.jit\ndef f(x):\n    print(x)\n", "import jax\nx = = 1\n"])
def test_the_collector_is_left_as_it_was(source: str) -> None:
    enabled = gc.isenabled()
    try:
        gc.enable()
        check_text(Path("m.py"), source, Config.default())
        assert gc.isenabled()
        gc.disable()
        check_text(Path("m.py"), source, Config.default())
        assert not gc.isenabled()
    finally:
        if enabled:
            gc.enable()


# -- a large file of look-alike functions ------------------------------------------------------

# Factories that each jit a nested `step`: only the calls inside a factory say which defaults its
# `step` gets, so `flag` is traced in make_a_N (JIT005) and a Python value in make_b_N.
FACTORIES = """\
def make_a_{n}(scale):
    def step(x, flag=False):
        if flag:
            return x * scale
        return x

    step = jax.jit(step)
    step(1.0, flag=True)
    return step


def make_b_{n}(scale):
    def step(x, flag=False):
        if flag:
            return x * scale
        return x

    step = jax.jit(step)
    step(1.0)
    return step


"""


def test_each_of_many_look_alike_factories_is_judged_by_its_own_calls(tmp_path: Path) -> None:
    copies = 300
    header = "import jax\n\n\n"
    write(tmp_path, {"factories.py": header + "".join(FACTORIES.format(n=n) for n in range(copies))})
    result = jitlint(tmp_path, "--no-cache", "factories.py")
    block = FACTORIES.count("\n")
    first_if = header.count("\n") + 3  # `if flag:` of make_a_0
    assert result.located == [("factories.py", first_if + n * block, 12, "JIT005") for n in range(copies)]
