"""Which function bodies JAX traces, how it reaches them, and which parameters are static.

The whole module is read before deciding: a `jax.jit(f)` at the bottom of a file makes `f`
traced. Entry points come from the data table in entrypoints.py; helpers called from traced code
(by name, or as `self.method(...)`) and functions defined inside traced code are traced too,
transitively and cycle-safe.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import libcst as cst

from jitlint.entrypoints import (
    HOST_CALLBACKS,
    PARTIAL,
    TRACE_TIME_APPLIERS,
    TRANSPARENT_WRAPPERS,
    EntryPoint,
    StaticStyle,
)
from jitlint.imports import NameResolver
from jitlint.scopes import Scope, ScopeKind
from jitlint.walk import all_params, call_argument, dotted_name, integer_value, string_value

T = TypeVar("T")


class RouteKind(enum.IntEnum):
    """How JAX reaches a function; lower values are the more direct explanations."""

    DECORATOR = 0
    TRANSFORM_CALL = 1
    CALLED_FROM = 2
    DEFINED_INSIDE = 3


@dataclass(frozen=True)
class Statics:
    """Which parameters a route makes static (plain Python values while tracing)."""

    static: frozenset[str] = frozenset()
    unknown: frozenset[str] = frozenset()  # may or may not be static: rules treat as unknown
    only_arrays_traced: bool = False  # equinox filter_*: non-array arguments stay static


@dataclass(frozen=True, eq=False)
class Route:
    """One way a function gets traced, with what that way makes static."""

    kind: RouteKind
    site: cst.CSTNode  # the decorator, the transform call, or the call from traced code
    caches: bool  # the trace is cached, so the body does not run on later calls
    executes: bool  # the traced program runs (False under eval_shape/make_jaxpr: trace only)
    entry: EntryPoint | None = None
    target_text: str = ""  # `step_impl`, `self._step`, `lambda`: how the call names the target
    caller: TracedFunction | None = None
    statics: Statics = field(default_factory=Statics)
    # Parameters with defaults that visible calls of the jitted wrapper pass; None when the module
    # shows no call of it (callers elsewhere may pass anything).
    passed_defaults: frozenset[str] | None = None
    # The names the transformed function is called by (`step`, `fast` for `fast = jax.jit(step)`).
    wrapper_names: frozenset[str] = frozenset()
    passes_arguments: bool = False  # CALLED_FROM: the site call's arguments are the parameters
    bound_self: bool = False  # CALLED_FROM `self.name(...)`: the first parameter is bound

    @property
    def traces_where_called(self) -> bool:
        """A lax loop or branch route: the function is traced at the call that passes it."""
        return self.entry is not None and self.entry.traces_where_called

    def describe(self, line_of: Callable[[cst.CSTNode], int], depth: int = 0) -> str:
        """`@jax.jit on step`, `called from loss (line 12), reached via @jax.jit on step`."""
        line = line_of(self.site)
        if self.kind is RouteKind.DECORATOR and self.entry is not None:
            return f"@{self.entry.short_name} on {self.target_text}"
        if self.kind is RouteKind.TRANSFORM_CALL and self.entry is not None:
            return f"{self.entry.short_name}({self.target_text}) at line {line}"
        assert self.caller is not None
        if self.kind is RouteKind.CALLED_FROM:
            text = f"called from {self.caller.name} (line {line})"
        else:
            text = f"defined inside {self.caller.name}"
        if depth >= 4:  # long chains are cut: the nearest links explain the most
            return text
        link = ", " if self.caller.primary.kind >= RouteKind.CALLED_FROM else ", reached via "
        return text + link + self.caller.primary.describe(line_of, depth + 1)


@dataclass(eq=False)
class TracedFunction:
    """A function or lambda whose body JAX traces, with every route that reaches it."""

    scope: Scope
    routes: list[Route] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scope.qualname

    @property
    def node(self) -> cst.FunctionDef | cst.Lambda:
        assert isinstance(self.scope.node, (cst.FunctionDef, cst.Lambda))
        return self.scope.node

    @property
    def primary(self) -> Route:
        """The most direct route, preferring a caching one: what messages explain."""
        return min(self.routes, key=lambda route: (route.kind, not route.caches))

    @property
    def root_entry(self) -> EntryPoint | None:
        """The entry point at the end of the primary route's chain: what traces it in the end."""
        fn: TracedFunction = self
        for _ in range(8):
            route = fn.primary
            if route.entry is not None or route.caller is None:
                return route.entry
            fn = route.caller
        return None

    @property
    def caches(self) -> bool:
        """Some route that executes the program caches its trace: the body runs once."""
        return any(route.caches and route.executes for route in self.routes)

    @property
    def executes(self) -> bool:
        """Some route runs the traced program, rather than only tracing it for shapes."""
        return any(route.executes for route in self.routes)


def find_traced_functions(root: Scope, resolver: NameResolver, entries: dict[str, EntryPoint]) -> list[TracedFunction]:
    """Every traced function of the module, in source order of definition."""
    finder = _Finder(resolver, entries)
    scopes = root.index.scopes  # in source order: pre-order, children in order
    finder.note_host_side(scopes)
    for scope in scopes:
        if isinstance(scope.node, cst.FunctionDef):
            finder.add_decorator_routes(scope)
        finder.add_transform_call_routes(scope)
    finder.note_wrapper_calls()
    finder.propagate()
    return [finder.traced[id(scope)] for scope in scopes if id(scope) in finder.traced]


class _Finder:
    def __init__(self, resolver: NameResolver, entries: dict[str, EntryPoint]) -> None:
        self.resolver = resolver
        self.entries = entries
        self.traced: dict[int, TracedFunction] = {}
        self.pending: list[tuple[TracedFunction, Route]] = []
        self.propagated: set[tuple[int, bool, bool]] = set()
        self.host_side: set[int] = set()
        self.arguments_passed: dict[tuple[str, int | None], _Arguments | None] = {}
        self.assignments: dict[int, tuple[dict[int, list[str]], dict[str, list[str]]]] = {}
        # `jax.lax.scan(...)` can only name an entry point whose name ends in `scan`: calls of
        # other attributes (`jnp.sum`, `self.layer`, most calls) are passed over unresolved.
        self.entry_ends = _last_parts(entries)
        self.host_ends = _last_parts(HOST_CALLBACKS)

    def note_host_side(self, scopes: list[Scope]) -> None:
        # Functions handed to jax.pure_callback and friends run on the host with real values;
        # being defined inside traced code does not make them traced.
        for scope in scopes:
            for call in scope.calls:
                if (
                    call.args
                    and _may_name(call.func, self.host_ends)
                    and self.resolver.canonical(call.func, scope) in HOST_CALLBACKS
                ):
                    self.host_side.update(id(target) for target, _ in self.targets(call.args[0].value, scope))

    def add_route(self, scope: Scope, route: Route) -> None:
        traced = self.traced.setdefault(id(scope), TracedFunction(scope))
        traced.routes.append(route)
        self.pending.append((traced, route))

    # -- entry points -------------------------------------------------------------------------

    def add_decorator_routes(self, scope: Scope) -> None:
        assert isinstance(scope.node, cst.FunctionDef)
        for decorator in scope.node.decorators:
            found = self._decorator_entry(decorator.decorator, scope.parent)
            if found is None:
                continue
            entry, call = found
            statics = _static_parameters(entry, call, scope.node, _Bound(), passed=None)
            self.add_route(
                scope,
                Route(
                    RouteKind.DECORATOR,
                    decorator,
                    entry.caches,
                    entry.executes,
                    entry,
                    scope.name,
                    statics=statics,
                ),
            )

    def _decorator_entry(
        self, expression: cst.BaseExpression, scope: Scope | None
    ) -> tuple[EntryPoint, cst.Call | None] | None:
        """`@jax.jit`, `@partial(jax.jit, ...)`, `@eqx.filter_jit(donate=...)`."""
        assert scope is not None
        entry = self._entry(expression, scope)
        if entry is not None and entry.is_decorator:
            return entry, None
        if not isinstance(expression, cst.Call):
            return None
        callee = self.resolver.canonical(expression.func, scope)
        positional = [arg for arg in expression.args if arg.keyword is None and not arg.star]
        if callee in PARTIAL and positional:
            entry = self._entry(positional[0].value, scope)
            if entry is not None and entry.is_decorator and len(positional) == 1:
                return entry, expression
        entry = self.entries.get(callee or "")
        if entry is not None and entry.is_decorator and not positional:
            return entry, expression  # a decorator factory called with options only
        return None

    def _entry(self, expression: cst.BaseExpression, scope: Scope) -> EntryPoint | None:
        if dotted_name(expression) is None:
            return None
        return self.entries.get(self.resolver.canonical(expression, scope) or "")

    def add_transform_call_routes(self, scope: Scope) -> None:
        for call in scope.calls:
            if not _may_name(call.func, self.entry_ends):
                continue
            entry = self.entries.get(self.resolver.canonical(call.func, scope) or "")
            if entry is None:
                continue
            for slot in entry.slots:
                argument = call_argument(call, slot.position, slot.keyword)
                if argument is None:
                    continue
                functions = (
                    [element.value for element in argument.elements]
                    if slot.is_sequence and isinstance(argument, (cst.List, cst.Tuple))
                    else [argument]
                )
                passed = (
                    None
                    if any(arg.star for arg in call.args)
                    else slot.passed_arguments(sum(1 for arg in call.args if arg.keyword is None))
                )
                for function in functions:
                    self._route_targets(call, entry, function, scope, passed)

    def _route_targets(
        self,
        call: cst.Call,
        entry: EntryPoint,
        function: cst.BaseExpression,
        scope: Scope,
        passed: int | None,
    ) -> None:
        for target, bound in self.targets(function, scope):
            assert isinstance(target.node, (cst.FunctionDef, cst.Lambda))
            statics = _static_parameters(entry, call, target.node, bound, passed)
            text = dotted_name(function) or ("lambda" if isinstance(function, cst.Lambda) else target.name)
            self.add_route(
                target,
                Route(
                    RouteKind.TRANSFORM_CALL,
                    call,
                    entry.caches,
                    entry.executes,
                    entry,
                    text,
                    statics=statics,
                ),
            )

    # -- resolving a function expression to definitions --------------------------------------

    def targets(self, expression: cst.BaseExpression, scope: Scope, depth: int = 0) -> list[tuple[Scope, _Bound]]:
        """The function definitions an expression refers to, with what partial/self binds."""
        if depth > 6:
            return []
        if isinstance(expression, cst.Lambda):
            lambda_scope = scope.index.scope_defined_by(expression)
            return [] if lambda_scope is None else [(lambda_scope, _Bound())]
        if isinstance(expression, cst.Name):
            bound = _Bound(ambiguous=self._is_rebound(expression.value, scope))
            return [(found, bound) for found in self._functions_named(expression.value, scope)]
        if isinstance(expression, cst.Attribute) and _is_self(expression.value):
            owner = scope.enclosing_class()
            methods = [] if owner is None else owner.functions_named(expression.attr.value)
            return [(method, _Bound(positional=1)) for method in methods]
        if isinstance(expression, cst.Call):
            return self._call_targets(expression, scope, depth)
        return []

    def _call_targets(self, call: cst.Call, scope: Scope, depth: int) -> list[tuple[Scope, _Bound]]:
        callee = self.resolver.canonical(call.func, scope)
        if callee is None or not call.args or call.args[0].keyword is not None:
            return []
        inner = self.targets(call.args[0].value, scope, depth + 1)
        if callee in PARTIAL:
            positional = sum(1 for arg in call.args[1:] if arg.keyword is None and not arg.star)
            keywords = frozenset(arg.keyword.value for arg in call.args if arg.keyword)
            return [(target, bound.plus(positional, keywords)) for target, bound in inner]
        if callee in TRANSPARENT_WRAPPERS or callee in self.entries:
            return inner
        return []

    # -- calls of the transformed function ---------------------------------------------------

    def note_wrapper_calls(self) -> None:
        """Record, per jit-like route, which defaulted parameters the module's calls pass.

        A default that no visible call passes stays a Python value (docs/jax-semantics.md §3: only
        passed arguments are traced), so `def f(x, flag=True)` with every call `f(x)` is safe.
        """
        for traced in self.traced.values():
            for index, route in enumerate(traced.routes):
                if route.kind in (RouteKind.DECORATOR, RouteKind.TRANSFORM_CALL):
                    home = (
                        traced.scope.parent
                        if route.kind is RouteKind.DECORATOR
                        else traced.scope.index.scope_of(route.site)
                    )
                    if home is not None:
                        names = frozenset(self._wrapper_names(traced, route, home))
                        passed = self._passed_defaults(traced, route, home, names)
                        traced.routes[index] = replace(route, passed_defaults=passed, wrapper_names=names)

    def _passed_defaults(
        self, traced: TracedFunction, route: Route, home: Scope, names: frozenset[str]
    ) -> frozenset[str] | None:
        is_method = home.kind is ScopeKind.CLASS
        found = [self._arguments_passed(name, home, is_method) for name in names]
        passes = [arguments for arguments in found if arguments is not None]
        if not passes:
            return None
        if any(arguments.unpacks for arguments in passes):
            return frozenset(param.name.value for param in all_params(traced.node.params))
        parameters = [*traced.node.params.posonly_params, *traced.node.params.params]
        if is_method or route.statics.static & {"self", "cls"}:
            parameters = parameters[1:]
        most = max(arguments.positional for arguments in passes)
        passed = {param.name.value for param in parameters[:most]}
        passed.update(*(arguments.keywords for arguments in passes))
        return frozenset(passed)

    def _arguments_passed(self, name: str, home: Scope, is_method: bool) -> _Arguments | None:
        """What the calls of `name` that can reach a function defined in `home` pass, or None
        when there are none: calls by name in `home` and the scopes nested in it, and for a
        method also `obj.name(...)` anywhere in the module. Many routes share a name (methods
        called `apply`), so it is worked out once per name and place."""
        key = (name, None if is_method else id(home))
        if key not in self.arguments_passed:
            index = home.index
            calls = [call for _, call in index.calls_of_name(name, None if is_method else home)]
            if is_method:
                calls += [call for _, call in index.calls_of_attribute(name)]
            self.arguments_passed[key] = _Arguments.of(calls) if calls else None
        return self.arguments_passed[key]

    def _wrapper_names(self, traced: TracedFunction, route: Route, home: Scope) -> set[str]:
        """The names the jitted function is called by: `step`, or `fast = jax.jit(step)`."""
        if route.kind is RouteKind.DECORATOR:
            return {traced.scope.name}
        assigned, wrapping = self._assignments(home)
        names = set(assigned.get(id(route.site), ()))
        pending = list(names)
        while pending:  # `fast = jax.jit(fast)` keeps the wrapper under the same or a new name
            for name in wrapping.get(pending.pop(), ()):
                if name not in names:
                    names.add(name)
                    pending.append(name)
        return names

    def _assignments(self, scope: Scope) -> tuple[dict[int, list[str]], dict[str, list[str]]]:
        """The names `scope` binds, by the id of the value bound (`fast = <value>`), and by the
        name they wrap (`fast = jax.jit(step)`: "step" → ["fast"]); made once per scope."""
        if id(scope) not in self.assignments:
            assigned: dict[int, list[str]] = {}
            wrapping: dict[str, list[str]] = {}
            for name, bindings in scope.bindings.items():
                for binding in bindings:
                    value = binding.value
                    if value is None:
                        continue
                    assigned.setdefault(id(value), []).append(name)
                    wrapped = self._wrapped_name(value, scope)
                    if wrapped is not None:
                        wrapping.setdefault(wrapped, []).append(name)
            self.assignments[id(scope)] = (assigned, wrapping)
        return self.assignments[id(scope)]

    def _is_rebound(self, name: str, scope: Scope) -> bool:
        """Whether `name` may hold something other than its `def` where it is used.

        `step = jax.jit(step)` keeps the def's parameters as they are; `step = partial(step,
        flag=True)` or any other rebinding leaves it unknown which parameters remain.
        """
        owner = scope.resolve(name)
        if owner is None:
            return False
        bindings = owner.bindings.get(name, [])
        extra = len(bindings) - len(owner.functions_named(name))
        wrappers = sum(1 for binding in bindings if self._wraps_itself(binding.value, name, owner))
        return extra > wrappers

    def _wraps_itself(self, value: cst.BaseExpression | None, name: str, scope: Scope) -> bool:
        return value is not None and self._wrapped_name(value, scope) == name

    def _wrapped_name(self, value: cst.BaseExpression, scope: Scope) -> str | None:
        """`step` for `jax.jit(step, ...)` or `jax.grad(step)`: the function a binding wraps."""
        if not isinstance(value, cst.Call) or not value.args:
            return None
        first = value.args[0].value
        if not isinstance(first, cst.Name):
            return None
        callee = self.resolver.canonical(value.func, scope)
        return first.value if callee in self.entries or callee in TRANSPARENT_WRAPPERS else None

    def _functions_named(self, name: str, scope: Scope) -> list[Scope]:
        owner = scope.resolve(name)
        return [] if owner is None else owner.functions_named(name)

    # -- from traced code to what it reaches --------------------------------------------------

    def propagate(self) -> None:
        """Follow calls and nested definitions out of traced code until nothing new is reached.

        Each function is followed once per (caches, executes) pair, so cycles terminate.
        """
        while self.pending:
            traced, route = self.pending.pop()
            key = (id(traced.scope), route.caches, route.executes)
            if key not in self.propagated:
                self.propagated.add(key)
                self._follow_calls(traced, route)
                self._follow_nested(traced, route)

    def _follow_calls(self, traced: TracedFunction, via: Route) -> None:
        scope = traced.scope
        for call in scope.calls:
            callee = self.resolver.canonical(call.func, scope)
            direct = True
            if (callee in TRACE_TIME_APPLIERS or callee in TRANSPARENT_WRAPPERS) and call.args:
                # tree_map(fn, ...) and jax.grad(fn) inside traced code run fn on tracers.
                reached = self.targets(call.args[0].value, scope)
                direct = False
            elif isinstance(call.func, cst.Name) and callee is None:
                reached = [(found, _Bound()) for found in self._functions_named(call.func.value, scope)]
            elif isinstance(call.func, cst.Attribute) and _is_self(call.func.value):
                reached = self.targets(call.func, scope)
            else:
                continue
            for target, bound in reached:
                if target is not scope:
                    route = Route(
                        RouteKind.CALLED_FROM,
                        call,
                        via.caches,
                        via.executes,
                        caller=traced,
                        passes_arguments=direct,
                        bound_self=direct and bound.positional == 1,
                    )
                    self.add_route(target, route)

    def _follow_nested(self, traced: TracedFunction, via: Route) -> None:
        for child in traced.scope.children:
            if child.kind is not ScopeKind.CLASS and id(child) not in self.host_side:
                self.add_route(
                    child,
                    Route(RouteKind.DEFINED_INSIDE, child.node, via.caches, via.executes, caller=traced),
                )


@dataclass(frozen=True)
class _Arguments:
    """What some calls of a function pass, as far as which parameters they reach."""

    unpacks: bool  # some call passes `*args` or `**kwargs`: any parameter may be reached
    positional: int  # the most positional arguments a call passes
    keywords: frozenset[str]  # every keyword some call passes

    @staticmethod
    def of(calls: Iterable[cst.Call]) -> _Arguments:
        unpacks, positional, keywords = False, 0, set[str]()
        for call in calls:
            unpacks = unpacks or any(arg.star for arg in call.args)
            positional = max(positional, sum(1 for arg in call.args if arg.keyword is None))
            keywords.update(arg.keyword.value for arg in call.args if arg.keyword is not None)
        return _Arguments(unpacks, positional, frozenset(keywords))


@dataclass(frozen=True)
class _Bound:
    """Parameters bound before tracing (by `partial` or a bound `self`): closed over, static."""

    positional: int = 0
    names: frozenset[str] = frozenset()
    ambiguous: bool = False  # the name was rebound: which parameters are bound is unknown

    def plus(self, positional: int, names: frozenset[str]) -> _Bound:
        return _Bound(self.positional + positional, self.names | names, self.ambiguous)


def _last_parts(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.rsplit(".", 1)[-1] for name in names)


def _may_name(func: cst.BaseExpression, last_parts: frozenset[str]) -> bool:
    """Whether a callee may resolve to one of the names ending in `last_parts`: names and
    other expressions may be aliases, but an attribute ends as the name it resolves to."""
    return type(func) is not cst.Attribute or func.attr.value in last_parts


def _is_self(expression: cst.BaseExpression) -> bool:
    return isinstance(expression, cst.Name) and expression.value in ("self", "cls")


def _static_parameters(
    entry: EntryPoint,
    options: cst.Call | None,
    function: cst.FunctionDef | cst.Lambda,
    bound_arguments: _Bound,
    passed: int | None,
) -> Statics:
    """What the entry point's options make static among the function's parameters.

    `passed` is how many positional arguments the entry point gives the function (scan gives
    two): parameters after those keep their defaults, which are static.
    """
    parameters = [*function.params.posonly_params, *function.params.params]
    bound = frozenset(param.name.value for param in parameters[: bound_arguments.positional])
    parameters = parameters[bound_arguments.positional :]
    positional = [param.name.value for param in parameters]
    everything = frozenset(param.name.value for param in all_params(function.params)) - bound
    static: set[str] = set(bound | bound_arguments.names)
    unknown: set[str] = set(everything) if bound_arguments.ambiguous else set()
    if passed is not None:
        static.update(param.name.value for param in parameters[passed:] if param.default is not None)
    if entry.static_style is StaticStyle.ARGNUMS and options is not None:
        numbers = call_argument(options, None, entry.static_argnums_keyword)
        names = call_argument(options, None, "static_argnames")
        parsed_numbers = _literal_ints(numbers)
        parsed_names = _literal_strings(names)
        if parsed_numbers is None or parsed_names is None:
            unknown |= everything  # static options we cannot read: any parameter may be static
        else:
            static |= parsed_names
            for number in parsed_numbers:
                if 0 <= number < len(positional):
                    static.add(positional[number])
                elif -len(positional) <= number < 0:
                    # A negative index counts from the end of each call's positional arguments
                    # (docs/jax-semantics.md §3): the usual call makes this one static, keyword calls
                    # can make any earlier one static.
                    index = len(positional) + number
                    static.add(positional[index])
                    unknown |= set(positional[:index])
    elif entry.static_style is StaticStyle.IN_AXES and options is not None:
        axes = call_argument(options, 1, "in_axes")
        if isinstance(axes, (cst.Tuple, cst.List)):
            for index, element in enumerate(axes.elements):
                if index < len(positional) and _is_none(element.value):
                    static.add(positional[index])
        elif axes is not None and not isinstance(axes, cst.Integer):
            unknown |= everything
    return Statics(
        frozenset(static),
        frozenset(unknown - static),
        entry.static_style is StaticStyle.ARRAYS_ONLY,
    )


def _literal_ints(node: cst.BaseExpression | None) -> set[int] | None:
    """`1`, `-1`, `(0, 2)`; None when the value is not a literal."""
    return _literals(node, _int_value)


def _literal_strings(node: cst.BaseExpression | None) -> set[str] | None:
    """`"n"`, `("n", "m")`; None when the value is not a literal."""
    return _literals(node, _string_value)


def _literals(node: cst.BaseExpression | None, value_of: Callable[[cst.BaseExpression], T | None]) -> set[T] | None:
    """The values of a literal or a tuple/list of literals; an empty set for no argument."""
    if node is None:
        return set()
    elements = [element.value for element in node.elements] if isinstance(node, (cst.Tuple, cst.List)) else [node]
    values = [value_of(element) for element in elements]
    return None if any(value is None for value in values) else {value for value in values if value is not None}


def _int_value(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        return integer_value(node)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _int_value(node.expression)
        return None if inner is None else -inner
    return None


def _string_value(node: cst.BaseExpression) -> str | None:
    return string_value(node) if isinstance(node, cst.SimpleString) else None


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"
