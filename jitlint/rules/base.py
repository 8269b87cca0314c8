"""What a rule is, and what it returns: the building blocks every rule family uses."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import libcst as cst

from jitlint.imports import NameResolver
from jitlint.scopes import Scope, ScopeKind
from jitlint.traced import TracedFunction
from jitlint.walk import descendants


@dataclass(frozen=True)
class ModuleAnalysis:
    """What rules may ask about the module around a traced function."""

    resolver: NameResolver
    _trace_aware: dict[int, frozenset[int]] = field(default_factory=dict)

    def callee(self, call: cst.Call, fn: TracedFunction) -> str | None:
        """The canonical name of what `call` calls inside `fn`, or None when unknown."""
        return self.resolver.canonical(call.func, fn.scope)

    def in_trace_aware_code(self, node: cst.CSTNode, fn: TracedFunction) -> bool:
        """Whether `node` sits in code written for tracing on purpose, where rules stay silent.

        That is the body of `if isinstance(x, jax.core.Tracer): ...` (either branch) and of
        `with jax.ensure_compile_time_eval():`: the author is handling trace time explicitly.
        """
        scope: Scope | None = fn.scope
        while scope is not None and scope.kind is not ScopeKind.MODULE:
            if id(node) in self._trace_aware_nodes(scope):
                return True
            scope = scope.parent
        return False

    def _trace_aware_nodes(self, scope: Scope) -> frozenset[int]:
        key = id(scope)
        if key not in self._trace_aware:
            found: set[int] = set()
            for node in descendants(scope.node):
                if _is_trace_aware_block(node, scope, self.resolver):
                    found.update(id(inner) for inner in descendants(node))
            self._trace_aware[key] = frozenset(found)
        return self._trace_aware[key]


def _is_trace_aware_block(node: cst.CSTNode, scope: Scope, resolver: NameResolver) -> bool:
    if isinstance(node, cst.If):
        return any(
            isinstance(part, cst.Name) and part.value.endswith("Tracer")
            or isinstance(part, cst.Attribute) and part.attr.value.endswith("Tracer")
            for part in descendants(node.test)
        )
    if isinstance(node, cst.With):
        return any(
            isinstance(item.item, cst.Call)
            and resolver.canonical(item.item.func, scope) == "jax.ensure_compile_time_eval"
            for item in node.items
        )
    return False


@dataclass(frozen=True)
class Hit:
    """A rule's raw result: the offending node and the values its message needs."""

    node: cst.CSTNode
    details: Mapping[str, str] = field(default_factory=dict)


CheckFunction = Callable[[TracedFunction, ModuleAnalysis], Iterator[Hit]]


@dataclass(frozen=True)
class Rule:
    """A rule: its stable code, its name, its one-line message and the function that finds it."""

    code: str  # "JIT003"; never reused once released
    name: str  # "print-in-traced-function"
    summary: str  # one line for --list-rules
    message: str  # one line; {function} and the hit's details fill the placeholders
    check: CheckFunction

    @property
    def docs(self) -> str:
        """The check function's docstring: What it does, Why is this bad?, Example, Use instead."""
        return inspect.getdoc(self.check) or ""

    def format(self, hit: Hit, fn: TracedFunction) -> str:
        return self.message.format(function=fn.name, **hit.details)
