"""Resolving names to where they come from: `jnp.sum` → `jax.numpy.sum`, `print` → `builtins.print`.

Built on the bindings of the scope tree, so it costs nothing beyond the one walk. A name bound by
anything other than an import (a parameter, an assignment, a `def jit`) resolves to None, and
rules stay silent on None. Bindings made in `except` handlers are import fallbacks and ignored
when the name has other bindings.
"""

from __future__ import annotations

import builtins

import libcst as cst

from jitlint.scopes import Binding, Scope

_BUILTIN_NAMES = frozenset(dir(builtins))

# Calls whose result is an instance we can name, so that methods on it resolve:
# `log = logging.getLogger(__name__)` then `log.info(...)` → `logging.Logger.info`.
_INSTANCE_OF = {
    "logging.getLogger": "logging.Logger",
    "logging.getLoggerClass": "logging.Logger",
}

# Where libraries define what they export: internal imports (`from .._jit import filter_jit`
# inside equinox, `from jax._src.api import jit`) are mapped to the public name.
_PUBLIC_PREFIXES = (
    ("jax._src.api.", "jax."),
    ("jax._src.pjit.", "jax."),
    ("jax._src.ad_checkpoint.", "jax."),
    ("jax.ad_checkpoint.", "jax."),
    ("jax._src.lax.control_flow.loops.", "jax.lax."),
    ("jax._src.lax.control_flow.conditionals.", "jax.lax."),
    ("jax._src.lax.control_flow.", "jax.lax."),
    ("jax._src.shard_map.", "jax."),
    ("jax._src.random.", "jax.random."),
    ("jax._src.debugging.", "jax.debug."),
    ("jax._src.callback.", "jax."),
    ("jax._src.numpy.lax_numpy.", "jax.numpy."),
    ("jax._src.tree_util.", "jax.tree_util."),
    ("equinox._jit.", "equinox."),
    ("equinox._vmap_pmap.", "equinox."),
    ("flax.nnx.transforms.compilation.", "flax.nnx."),
    ("flax.nnx.transforms.iteration.", "flax.nnx."),
    ("flax.nnx.transforms.autodiff.", "flax.nnx."),
    ("flax.nnx.transforms.transforms.", "flax.nnx."),
    ("flax.nnx.nnx.", "flax.nnx."),
)


class NameResolver:
    """Resolves names and attribute chains in one module to canonical dotted names."""

    def __init__(self, package: str | None) -> None:
        self._package = package
        # (scope, name) → origin. Aliases chain through each other (`a = b.c`, `b = ...`), so
        # without memoising, resolution is exponential in the number of rebindings.
        self._memo: dict[tuple[int, str], str | None] = {}

    def origin(self, name: str, scope: Scope) -> str | None:
        """Where the free name `name`, read in `scope`, comes from; None when unknown or local."""
        owner = scope.resolve(name)
        if owner is None:
            return f"builtins.{name}" if name in _BUILTIN_NAMES else None
        bindings = owner.bindings.get(name)  # none: `global name` of a name the module never binds
        if not bindings:
            return None
        key = (id(owner), name)
        if key not in self._memo:
            self._memo[key] = None  # a name defined through itself resolves to None
            self._memo[key] = self._origin_of(bindings, owner)
        return self._memo[key]

    def canonical(self, node: cst.BaseExpression, scope: Scope) -> str | None:
        """`jax.numpy.sum` for `jnp.sum`; None for anything whose origin is not known."""
        # Exact types: a failed isinstance on libcst's ABC classes is slow (see walk.py).
        if type(node) is cst.Name:
            return self.origin(node.value, scope)
        if type(node) is cst.Attribute:
            base = self.canonical(node.value, scope)
            return None if base is None else _public(f"{base}.{node.attr.value}")
        if type(node) is cst.Call:
            factory = self.canonical(node.func, scope)
            return _INSTANCE_OF.get(factory or "")
        return None

    def _origin_of(self, bindings: list[Binding], scope: Scope) -> str | None:
        primary = [binding for binding in bindings if not binding.in_fallback] or bindings
        origins = {self._binding_origin(binding, scope) for binding in primary}
        if len(origins) != 1:
            return None
        return origins.pop()

    def _binding_origin(self, binding: Binding, scope: Scope) -> str | None:
        if binding.origin is not None:
            return _public(self._absolute(binding.origin))
        if binding.value is not None:
            # `jit = jax.jit` or `log = logging.getLogger(...)`: an alias we can follow.
            return self.canonical(binding.value, scope)
        return None

    def _absolute(self, origin: str) -> str:
        if not origin.startswith(".") or self._package is None:
            return origin
        stripped = origin.lstrip(".")
        levels = len(origin) - len(stripped) - 1
        package = self._package.split(".")
        base = package[: len(package) - levels] if levels else package
        return ".".join([*base, stripped]) if stripped else ".".join(base)


_PRIVATE = tuple(private for private, _ in _PUBLIC_PREFIXES)


def _public(name: str) -> str:
    if not name.startswith(_PRIVATE):  # one test for the common case: a public name
        return name
    for private, public in _PUBLIC_PREFIXES:
        if name.startswith(private):
            return public + name[len(private) :]
    return name
