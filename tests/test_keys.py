"""The key-state analysis on its own: summaries, the cheap prefilter, and what it does not follow."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from jitlint.config import Config
from jitlint.engine import check_text
from jitlint.entrypoints import entry_points
from jitlint.imports import NameResolver
from jitlint.keys import KeyAnalyzer, Status
from jitlint.scopes import Scope, build_scopes
from jitlint.traced import find_traced_functions

HEADER = """\
import jax
from functools import partial
"""


def parsed(body: str) -> tuple[cst.Module, KeyAnalyzer, dict[str, Scope]]:
    module = cst.parse_module(HEADER + body)
    root = build_scopes(module)
    resolver = NameResolver(None)
    traced = find_traced_functions(root, resolver, entry_points())
    return module, KeyAnalyzer(resolver, root, traced), {scope.qualname: scope for scope in root.tree()}


def analyzer(body: str) -> tuple[KeyAnalyzer, dict[str, Scope]]:
    _, keys, scopes = parsed(body)
    return keys, scopes


def reused_lines(body: str, name: str) -> list[int]:
    """Lines (counted in `body`) of the reusing calls in function `name`."""
    module, keys, scopes = parsed(body)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    offset = HEADER.count("\n")
    return [positions[reuse.call].start.line - offset for reuse in keys.reuses(scopes[name])]


def test_summary_names_the_parameters_a_helper_consumes() -> None:
    keys, scopes = analyzer(
        """
def helper(x, key, other, *, rng=None):
    if x:
        jax.random.normal(other)
    jax.random.uniform(key)
    store(rng)
    return x
"""
    )
    summary = keys.summary(scopes["helper"])
    assert summary.positional == ("x", "key", "other")
    assert summary.effects == {"key": Status.CONSUMED, "other": Status.MAYBE, "rng": Status.MAYBE}


def test_a_generator_consumes_only_when_iterated() -> None:
    keys, scopes = analyzer(
        """
def batches(key):
    for k in jax.random.split(key, 3):
        yield jax.random.normal(k)
"""
    )
    assert keys.summary(scopes["batches"]).effects == {"key": Status.MAYBE}


def test_helpers_with_unknown_decorators_are_not_summarised() -> None:
    keys, scopes = analyzer(
        """
@jax.jit
def jitted(key):
    return jax.random.normal(key)

@some_cache
def cached(key):
    return jax.random.normal(key)

def caller(key):
    jitted(key)
    cached(key)
"""
    )
    calls = scopes["caller"].calls
    assert keys.helper(calls[0], scopes["caller"]) == (scopes["jitted"], 0)
    assert keys.helper(calls[1], scopes["caller"]) is None


def test_scopes_without_a_consumer_are_not_walked() -> None:
    keys, scopes = analyzer(
        """
def plain(key):
    return jax.random.fold_in(key, 1), jax.random.key_data(key)

def helper(key):
    return jax.random.bits(key)

def indirect(key):
    return helper(key), helper(key)
"""
    )
    assert not keys.may_consume(scopes["plain"])
    assert keys.may_consume(scopes["indirect"])
    assert keys.reuses(scopes["plain"]) == []


def test_reuse_is_reported_once_per_key_at_its_first_reuse() -> None:
    body = """
def f(key):
    a = jax.random.normal(key)
    b = jax.random.normal(key)
    c = jax.random.normal(key)
    return a, b, c
"""
    assert reused_lines(body, "f") == [4]


def test_mutual_recursion_terminates() -> None:
    body = """
def ping(key, n):
    return pong(key, n - 1) if n else jax.random.normal(key)

def pong(key, n):
    return ping(key, n)
"""
    keys, scopes = analyzer(body)
    assert keys.reuses(scopes["ping"]) == [] and keys.reuses(scopes["pong"]) == []


def test_names_rebound_elsewhere_are_not_followed() -> None:
    body = """
def outer(key):
    def advance():
        nonlocal key
        key = jax.random.split(key)[0]
    jax.random.normal(key)
    advance()
    return jax.random.normal(key)

def unrelated(key):
    jax.random.normal(key)
    return jax.random.normal(key)
"""
    assert reused_lines(body, "outer") == []
    assert reused_lines(body, "unrelated") == [12]


def test_code_too_deep_for_the_default_stack_is_followed() -> None:
    # The walk recurses once per level of a flat `x + x + ...`; the engine retries such a file
    # with room for it, and the reuse is found.
    terms = " + ".join(["x"] * 1500)
    body = f"""
def f(key, x):
    return jax.random.normal(key) + jax.random.normal(key) + {terms}
"""
    findings = check_text(Path("deep.py"), HEADER + body, Config())
    assert [(finding.line, finding.col, finding.code) for finding in findings] == [(5, 37, "JIT007")]
