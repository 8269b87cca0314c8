"""What --confirm needs to know, statically, to trace the function a finding concerns.

The child process that confirms findings never parses source. For each finding it gets the
function JAX traces in the end (the root of the finding's route chain), the transform and the
static parameters the source uses, the parameters with their annotations and defaults, and the
`# jitlint: example` comments above the `def`. This module builds that record from the
TracedFunction and Route objects, once positions are known.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import libcst as cst

from jitlint.findings import Parameter, TraceTarget
from jitlint.rules.base import Hit
from jitlint.scopes import Scope, ScopeKind
from jitlint.traced import Route, RouteKind, TracedFunction
from jitlint.walk import dotted_name

EXAMPLE_COMMENT = re.compile(r"#\s*jitlint:\s*example\b\s*(?P<body>.*)")

_NOT_BOUND = frozenset({"staticmethod", "classmethod"})


class TargetFinder:
    """Builds the TraceTarget of each finding in one module."""

    def __init__(self, traced: list[TracedFunction], line_of: Callable[[cst.CSTNode], int]) -> None:
        self._line_of = line_of
        self._traced = {id(fn.scope): fn for fn in traced}

    def target(self, fn: TracedFunction, hit: Hit) -> TraceTarget | None:
        """The target for a hit in `fn`; None when there is no function to trace."""
        start = fn
        if self._is_lax_site(fn, hit.node):
            # `lax.scan(body, init, iter(xs))`: lax rejects the iterator where it is called, so
            # what has to run is the function around the call, traced or not.
            owner = fn.scope.index.scope_of(hit.node)  # the scope whose own body makes the call
            traced_owner = None if owner is None else self._traced.get(id(owner))
            if traced_owner is None:
                if owner is None or not isinstance(owner.node, cst.FunctionDef):
                    return None
                return self._build(owner, None, hit.subject)
            start = traced_owner
        root, route = self._root(start)
        return self._build(root.scope, route, hit.subject)

    def untraced(self, scope: Scope, hit: Hit) -> TraceTarget | None:
        """The target for a hit in a function JAX does not trace (JIT007 reads every function):
        the function itself, run as it is."""
        if not isinstance(scope.node, cst.FunctionDef):
            return None
        return self._build(scope, None, hit.subject)

    def _root(self, fn: TracedFunction) -> tuple[TracedFunction, Route]:
        """Follow callers, and lax bodies to the traced function that runs the lax call."""
        seen: set[int] = set()
        while id(fn) not in seen:
            seen.add(id(fn))
            route = fn.primary
            if route.caller is not None:
                fn = route.caller
                continue
            if route.kind is RouteKind.TRANSFORM_CALL and route.traces_where_called:
                owner = fn.scope.index.scope_of(route.site)
                enclosing = None if owner is None else self._traced.get(id(owner))
                if enclosing is not None:
                    fn = enclosing
                    continue
            break
        return fn, fn.primary

    def _is_lax_site(self, fn: TracedFunction, node: cst.CSTNode) -> bool:
        return any(route.site is node and route.traces_where_called for route in fn.routes)

    def _build(self, scope: Scope, route: Route | None, subject: str | None) -> TraceTarget:
        node = scope.node
        assert isinstance(node, (cst.FunctionDef, cst.Lambda))
        first = node.decorators[0] if isinstance(node, cst.FunctionDef) and node.decorators else node
        entry = None if route is None else route.entry
        parameters = _parameters(node.params, route)
        return TraceTarget(
            function=scope.qualname,
            first_line=self._line_of(first),
            transform="" if entry is None else entry.name,
            caches=route is not None and route.caches,
            static=() if route is None else tuple(sorted(route.statics.static)),
            arrays_only=route is not None and route.statics.only_arrays_traced,
            parameters=parameters,
            examples=_example_comments(node),
            owner=_owner_class(scope),
            index_parameter=_index_parameter(route, parameters),
            subject=subject,
        )


def _parameters(params: cst.Parameters, route: Route | None) -> tuple[Parameter, ...]:
    passed = None if route is None else route.passed_defaults
    found: list[Parameter] = []

    def add(param: cst.Param, kind: str) -> None:
        name = param.name.value
        found.append(
            Parameter(
                name=name,
                kind=kind,
                annotation=None if param.annotation is None else _text(param.annotation.annotation),
                default=None if param.default is None else _text(param.default),
                default_passed=passed is None or name in passed,
            )
        )

    for param in params.posonly_params:
        add(param, "positional-only")
    for param in params.params:
        add(param, "positional")
    if isinstance(params.star_arg, cst.Param):
        add(params.star_arg, "var-positional")
    for param in params.kwonly_params:
        add(param, "keyword-only")
    if params.star_kwarg is not None:
        add(params.star_kwarg, "var-keyword")
    return tuple(found)


def _example_comments(node: cst.FunctionDef | cst.Lambda) -> tuple[str, ...]:
    """`# jitlint: example ...` comments in the lines above the def and between its decorators."""
    if not isinstance(node, cst.FunctionDef):
        return ()
    lines = [
        *node.leading_lines,
        *(line for decorator in node.decorators for line in decorator.leading_lines),
        *node.lines_after_decorators,
    ]
    bodies = []
    for line in lines:
        match = None if line.comment is None else EXAMPLE_COMMENT.match(line.comment.value)
        if match is not None:
            bodies.append(match.group("body").strip())
    return tuple(bodies)


def _owner_class(scope: Scope) -> str | None:
    """The class of a method whose first parameter is bound to an instance."""
    parent = scope.parent
    if parent is None or parent.kind is not ScopeKind.CLASS or not isinstance(scope.node, cst.FunctionDef):
        return None
    for decorator in scope.node.decorators:
        if (dotted_name(decorator.decorator) or "") in _NOT_BOUND:
            return None
    return parent.qualname


def _index_parameter(route: Route | None, parameters: tuple[Parameter, ...]) -> str | None:
    """`lax.fori_loop(lo, hi, body, init)` calls `body(i, carry)` with an int32 index."""
    if route is None or route.entry is None or not route.entry.name.endswith(".fori_loop"):
        return None
    positional = [p for p in parameters if p.kind in ("positional-only", "positional")]
    return positional[0].name if positional else None


def _text(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
