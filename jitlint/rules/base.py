"""What a rule is, and what it returns: the building blocks every rule family uses."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import libcst as cst

from jitlint.flow import FlowAnalyzer, FunctionFlow
from jitlint.imports import NameResolver
from jitlint.keys import KeyAnalyzer
from jitlint.scopes import Scope, ScopeKind
from jitlint.traced import TracedFunction
from jitlint.walk import descendants, own_nodes


@dataclass(frozen=True)
class OwnBody:
    """Where the nodes of a scope's own body are, by node id."""

    order: dict[int, int]  # node id → its number in source order
    returned: frozenset[int]  # the nodes inside `return` statements


@dataclass(frozen=True)
class ModuleAnalysis:
    """What rules may ask about the module around a function."""

    resolver: NameResolver
    flows: FlowAnalyzer
    keys: KeyAnalyzer  # PRNG key states, for every scope, traced or not
    _trace_aware: dict[int, frozenset[int]] = field(default_factory=dict)
    _own_bodies: dict[int, OwnBody] = field(default_factory=dict)

    def flow(self, fn: TracedFunction) -> FunctionFlow:
        """The value model of `fn`: the kind (TRACED, STATIC, UNKNOWN) of each expression."""
        return self.flows.flow(fn)

    def callee(self, call: cst.Call, fn: TracedFunction) -> str | None:
        """The canonical name of what `call` calls inside `fn`, or None when unknown."""
        return self.resolver.canonical(call.func, fn.scope)

    def in_trace_aware_code(self, node: cst.CSTNode, fn: TracedFunction) -> bool:
        """Whether `node` sits in code written for tracing on purpose, where rules stay silent.

        That is code guarded by a test for tracers (`if isinstance(x, jax.core.Tracer):`,
        `not_jax_tracer(x) and ...`), inside `with jax.ensure_compile_time_eval():`, or in a
        `try:` that catches `ConcretizationTypeError`: the author handles trace time explicitly.
        """
        scope: Scope | None = fn.scope
        while scope is not None and scope.kind is not ScopeKind.MODULE:
            if id(node) in self._trace_aware_nodes(scope):
                return True
            scope = scope.parent
        return False

    def own_body(self, scope: Scope) -> OwnBody:
        """The nodes of `scope`'s own body in source order (see walk.own_nodes). Made once per
        scope: every traced function that reads a global asks about the module's body."""
        key = id(scope)
        if key not in self._own_bodies:
            nodes = list(own_nodes(scope.node))
            self._own_bodies[key] = OwnBody(
                {id(node): number for number, node in enumerate(nodes)},
                frozenset(id(inner) for node in nodes if isinstance(node, cst.Return) for inner in descendants(node)),
            )
        return self._own_bodies[key]

    def _trace_aware_nodes(self, scope: Scope) -> frozenset[int]:
        key = id(scope)
        if key not in self._trace_aware:
            nodes = list(descendants(scope.node))
            found: set[int] = set()
            # The tests for tracers look below each `if` and `and`/`or`: a long flat chain would
            # make that quadratic, so they are made only where some name mentions tracers.
            may_test = any(_names_tracers(node) for node in nodes)
            for node in nodes:
                for part in _trace_aware_parts(node, scope, self.resolver, may_test):
                    found.add(id(part))
                    found.update(id(inner) for inner in descendants(part))
            self._trace_aware[key] = frozenset(found)
        return self._trace_aware[key]


def _trace_aware_parts(node: cst.CSTNode, scope: Scope, resolver: NameResolver, may_test: bool) -> list[cst.CSTNode]:
    """The parts of `node` that only run when the code has checked for tracers itself.

    `if isinstance(x, jax.core.Tracer): ...` (both branches), `not_jax_tracer(x) and ...`
    (the right operand), `a if is_concrete(x) else b`, `with jax.ensure_compile_time_eval():`.
    `may_test`: whether any name in the scope mentions tracers, which the first three need.
    """
    if may_test and isinstance(node, (cst.If, cst.IfExp)) and _mentions_tracers(node.test):
        return [node]
    if may_test and isinstance(node, cst.BooleanOperation) and _mentions_tracers(node.left):
        return [node.right]
    if (
        may_test
        and isinstance(node, cst.Try)
        and any(handler.type is not None and _mentions_tracers(handler.type) for handler in node.handlers)
    ):
        return [node.body]  # `try: ... except jax.errors.ConcretizationTypeError:`
    if isinstance(node, cst.With) and any(
        isinstance(item.item, cst.Call) and resolver.canonical(item.item.func, scope) == "jax.ensure_compile_time_eval"
        for item in node.items
    ):
        return [node.body]
    return []


def _mentions_tracers(test: cst.BaseExpression) -> bool:
    """A test that asks whether values are tracers or concrete: `isinstance(x, core.Tracer)`,
    `not_jax_tracer(x)`, `is_concrete(x)`."""
    return any(_names_tracers(part) for part in (test, *descendants(test)))


def _names_tracers(node: cst.CSTNode) -> bool:
    """`Tracer`, `core.Tracer`, `is_concrete`, `ConcretizationTypeError`, ..."""
    kind = type(node)
    if kind is cst.Name:
        name = node.value.lower()  # type: ignore[attr-defined]
    elif kind is cst.Attribute:
        name = node.attr.value.lower()  # type: ignore[attr-defined]
    else:
        return False
    return "tracer" in name or "concret" in name


@dataclass(frozen=True)
class Hit:
    """A rule's raw result: the offending node, the values its message needs, and the name the
    finding is about, kept apart from the message so that nothing has to read it back out."""

    node: cst.CSTNode
    details: Mapping[str, str] = field(default_factory=dict)
    # Placeholders filled with the line a node starts on: positions are only known after the
    # rules have run, and only computed for files with hits.
    lines: Mapping[str, cst.CSTNode] = field(default_factory=dict)
    # The variable the finding is about, when it is one plain name: the captured name (JIT001),
    # the root of what is written (`self` for `self.count`, JIT002), the iterator (JIT004), the
    # reused key (JIT007). --confirm finds the variable by it in the module it runs.
    subject: str | None = None


CheckFunction = Callable[[TracedFunction, ModuleAnalysis], Iterator[Hit]]
ScopeCheckFunction = Callable[[Scope, ModuleAnalysis], Iterator[Hit]]


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

    def format(self, hit: Hit, function: str, lines: Mapping[str, int]) -> str:
        return _format(self.message, hit, function, lines)


@dataclass(frozen=True)
class ScopeRule:
    """A rule that reads every scope, traced or not: each function, lambda, class body and the
    module body. The check gets the scope; most scopes must cost it no more than a glance."""

    code: str
    name: str
    summary: str
    message: str  # one line; the hit's details and lines fill the placeholders
    check: ScopeCheckFunction

    @property
    def docs(self) -> str:
        """The check function's docstring: What it does, Why is this bad?, Example, Use instead."""
        return inspect.getdoc(self.check) or ""

    def format(self, hit: Hit, function: str, lines: Mapping[str, int]) -> str:
        return _format(self.message, hit, function, lines)


def _format(message: str, hit: Hit, function: str, lines: Mapping[str, int]) -> str:
    return message.format(function=function, **hit.details, **{name: str(line) for name, line in lines.items()})


def transform_phrase(fn: TracedFunction) -> str:
    """`under jax.jit`, `in a lax.scan body`: what traces the function, for messages."""
    entry = fn.root_entry
    if entry is None:
        return "while JAX traces it"
    if entry.part:
        return f"in a {entry.short_name} {entry.part}"
    return f"under {entry.short_name}"
