"""The value model: is an expression in a traced function TRACED, STATIC or UNKNOWN?

Facts from docs/jax-semantics.md §3-§4: arguments are tracers unless static; `x.shape`, `x.ndim`,
`x.dtype`, `len(x)`, `isinstance`, `is None` and arithmetic on them are static; every `jnp.*`
result under `jit` is traced, even on constants; `np.*` on static inputs stays static.
Anything the code does not show (attributes of unknown objects, calls to unknown functions) is
UNKNOWN, and rules fire only on TRACED.

The analysis walks a function's statements in order with an environment of name kinds, on the
statement walker of dataflow.py. Paths merge (the same kind on every path stays, otherwise
UNKNOWN), loops are iterated to a fixed point, and the kind of every expression met is recorded
for rules to look up.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from jitlint.dataflow import StatementWalker
from jitlint.imports import NameResolver
from jitlint.jax_api import (
    ARRAY_ANNOTATIONS,
    ARRAY_ATTRIBUTES,
    ARRAY_METHODS,
    ARRAY_PACKAGES,
    CONSTANT_PACKAGES,
    CONVERTING_BUILTINS,
    NUMPY_DISPATCHING,
    SCALAR_ANNOTATIONS,
    STATIC_ANNOTATIONS,
    STATIC_ARRAY_ATTRIBUTES,
    STATIC_BUILTINS,
    STATIC_JAX_FUNCTIONS,
    TRACED_BUILTINS,
)
from jitlint.scopes import Scope, ScopeKind
from jitlint.traced import Route, RouteKind, TracedFunction
from jitlint.walk import all_params, call_argument


class Kind(enum.Enum):
    TRACED = "traced"  # a JAX tracer (or a pytree whose leaves are tracers)
    STATIC = "static"  # an ordinary Python value while tracing
    UNKNOWN = "unknown"  # the code does not say: rules stay silent


TRACED, STATIC, UNKNOWN = Kind.TRACED, Kind.STATIC, Kind.UNKNOWN


def merge(kinds: Iterable[Kind]) -> Kind:
    """One kind for values that may come from several places: agreement, else UNKNOWN."""
    found = set(kinds)
    return found.pop() if len(found) == 1 else UNKNOWN


def combine(kinds: Iterable[Kind]) -> Kind:
    """The kind of an operation on several operands: any tracer makes a tracer."""
    found = set(kinds)
    if TRACED in found:
        return TRACED
    return STATIC if found <= {STATIC} else UNKNOWN


@dataclass
class FunctionFlow:
    """The result of the analysis: the kind of every expression met in the function body."""

    kinds: dict[int, Kind] = field(default_factory=dict)
    traced_parameters: frozenset[str] = frozenset()  # parameters that are tracers on entry
    closure_envs: dict[int, dict[str, Kind]] = field(default_factory=dict)  # child scope → env

    def kind(self, node: cst.CSTNode) -> Kind:
        return self.kinds.get(id(node), UNKNOWN)

    def is_traced(self, node: cst.CSTNode) -> bool:
        return self.kind(node) is TRACED


class FlowAnalyzer:
    """Runs the value model over traced functions, memoised per function (one per module)."""

    def __init__(self, resolver: NameResolver, traced: Sequence[TracedFunction]) -> None:
        self.resolver = resolver
        self.traced_by_scope = {id(fn.scope): fn for fn in traced}
        self._flows: dict[int, FunctionFlow] = {}
        self._in_progress: set[int] = set()

    def flow(self, fn: TracedFunction) -> FunctionFlow:
        key = id(fn.scope)
        if key in self._flows:
            return self._flows[key]
        if key in self._in_progress:  # recursion between helpers: nothing is known yet
            return FunctionFlow()
        self._in_progress.add(key)
        try:
            flow = _FunctionWalker(self, fn).run()
        finally:
            self._in_progress.discard(key)
        self._flows[key] = flow
        return flow

    # -- parameters ---------------------------------------------------------------------------

    def parameter_kinds(self, fn: TracedFunction) -> dict[str, Kind]:
        """Each parameter's kind on entry, over every route that reaches the function.

        A parameter that is a tracer on any route is TRACED (that route fails); otherwise the
        routes must agree. Routes that only say "defined inside" carry no argument facts.
        """
        params = [param.name.value for param in all_params(fn.node.params)]
        routes = [route for route in fn.routes if route.kind is not RouteKind.DEFINED_INSIDE]
        if not routes:
            return {name: UNKNOWN for name in params}
        per_route = [self._route_parameter_kinds(fn, route) for route in routes]
        result = {}
        for name in params:
            kinds = [kinds_of_route.get(name, UNKNOWN) for kinds_of_route in per_route]
            result[name] = TRACED if TRACED in kinds else merge(kinds)
        return result

    def _route_parameter_kinds(self, fn: TracedFunction, route: Route) -> dict[str, Kind]:
        if route.kind is RouteKind.CALLED_FROM:
            return self._argument_kinds(fn, route)
        if route.entry is not None and route.entry.name.endswith("shard_map"):
            return {}  # eager shard_map runs Python control flow fine (docs/jax-semantics.md §2)
        kinds = {}
        for param in all_params(fn.node.params):
            kinds[param.name.value] = _entry_parameter_kind(param, route)
        return kinds

    def _argument_kinds(self, fn: TracedFunction, route: Route) -> dict[str, Kind]:
        """A helper's parameters take the kinds of the caller's arguments at the call."""
        call = route.site
        caller = route.caller
        if not isinstance(call, cst.Call) or caller is None or not route.passes_arguments:
            return {}
        caller_flow = self.flow(caller)
        params = all_params(fn.node.params)
        positional = [param for param in [*fn.node.params.posonly_params, *fn.node.params.params]]
        if route.bound_self:
            positional = positional[1:]
        kinds: dict[str, Kind] = {}
        index = 0
        for arg in call.args:
            if arg.star:
                return kinds  # *args / **kwargs at the call: the mapping is unknown from here
            if arg.keyword is not None:
                kinds[arg.keyword.value] = caller_flow.kind(arg.value)
            elif index < len(positional):
                kinds[positional[index].name.value] = caller_flow.kind(arg.value)
                index += 1
        for param in params:  # defaults not passed at this call are the default's value
            if param.name.value not in kinds and param.default is not None:
                kinds[param.name.value] = STATIC
        return kinds


def _entry_parameter_kind(param: cst.Param, route: Route) -> Kind:
    name = param.name.value
    statics = route.statics
    if name in statics.static:
        return STATIC
    if name in statics.unknown or param.star in ("*", "**"):
        return UNKNOWN
    annotation = _annotation_name(param)
    if statics.only_arrays_traced:
        # equinox filter_*: only array leaves are traced; the annotation is the only clue.
        if annotation in ARRAY_ANNOTATIONS:
            return TRACED
        return STATIC if annotation in STATIC_ANNOTATIONS else UNKNOWN
    if param.annotation is not None and annotation not in ARRAY_ANNOTATIONS | SCALAR_ANNOTATIONS:
        return UNKNOWN  # a tuple, a dataclass, an Optional...: a pytree whose bool() may be fine
    if name in ("self", "cls"):
        return UNKNOWN  # a module object as a pytree: its fields may well be static
    default = param.default
    if default is not None and route.passed_defaults is not None and name not in route.passed_defaults:
        return STATIC  # every visible call leaves the default in place: a Python value
    if default is not None and not _is_number_or_bool(default):
        # None, strings, tuples...: a caller passing a non-array value gets it concrete (None)
        # or an error at the call; only number and bool defaults are clearly traced when passed.
        return UNKNOWN
    return TRACED


def _annotation_name(param: cst.Param) -> str | None:
    if param.annotation is None:
        return None
    node = param.annotation.annotation
    if isinstance(node, cst.Subscript):
        node = node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return None


def _is_number_or_bool(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float)) or (
        isinstance(node, cst.Name) and node.value in ("True", "False")
    )


class _FunctionWalker(StatementWalker[dict[str, Kind], Kind]):
    """Walks one function's statements, keeping name kinds and recording expression kinds.

    A state is the kind of each name bound on the path. Paths join by `merge`, and each loop
    pass starts from the merge of the previous pass's start with what goes round: a kind that
    changes around the loop becomes UNKNOWN.
    """

    max_passes = 4

    def __init__(self, analyzer: FlowAnalyzer, fn: TracedFunction) -> None:
        super().__init__()
        self.analyzer = analyzer
        self.resolver = analyzer.resolver
        self.fn = fn
        self.scope = fn.scope
        self.flow = FunctionFlow()
        self.closure = self._closure_env()

    def run(self) -> FunctionFlow:
        parameters = self.analyzer.parameter_kinds(self.fn)
        self.flow.traced_parameters = frozenset(n for n, k in parameters.items() if k is TRACED)
        self.run_body(self.fn.node, dict(parameters))
        return self.flow

    def _closure_env(self) -> dict[str, Kind]:
        parent = self.scope.parent
        while parent is not None and parent.kind is ScopeKind.CLASS:
            parent = parent.parent
        if parent is None or parent.kind is ScopeKind.MODULE:
            return {}
        outer = self.analyzer.traced_by_scope.get(id(parent))
        if outer is None:
            return {}  # an untraced enclosing function: its values are concrete or unknown
        return self.analyzer.flow(outer).closure_envs.get(id(self.scope), {})

    # -- the domain ---------------------------------------------------------------------------

    def copy(self, state: dict[str, Kind]) -> dict[str, Kind]:
        return dict(state)

    def join(self, states: Sequence[dict[str, Kind]], at: cst.CSTNode, tag: str) -> dict[str, Kind]:
        return _merge_envs(states)

    def replace(self, state: dict[str, Kind], by: dict[str, Kind]) -> None:
        state.clear()
        state.update(by)

    def same(self, first: dict[str, Kind], second: dict[str, Kind]) -> bool:
        return first == second

    def next_pass(
        self, start: dict[str, Kind], going_round: Sequence[dict[str, Kind]], loop: cst.CSTNode
    ) -> dict[str, Kind]:
        return _merge_envs([start, *going_round])

    def evaluate(self, node: cst.BaseExpression, state: dict[str, Kind]) -> Kind:
        return self.expression(node, state)

    def augmented_assignment(self, node: cst.AugAssign, state: dict[str, Kind]) -> None:
        kind = combine([self.expression(node.target, state), self.expression(node.value, state)])
        self.bind(node.target, kind, state)

    def iterable(self, node: cst.BaseExpression, state: dict[str, Kind]) -> Kind:
        return self.element_kind(node, state)

    def forget(self, name: str, state: dict[str, Kind]) -> None:
        state[name] = UNKNOWN

    def unbind(self, name: str, state: dict[str, Kind]) -> None:
        state.pop(name, None)

    def restore(self, name: str, state: dict[str, Kind], saved: dict[str, Kind]) -> None:
        if name in saved:
            state[name] = saved[name]
        else:
            state.pop(name, None)

    def nested_scope(self, node: cst.FunctionDef | cst.ClassDef, state: dict[str, Kind]) -> None:
        if isinstance(node, cst.FunctionDef):
            self.record_closure(node, state)

    def record_closure(self, node: cst.FunctionDef | cst.Lambda, env: dict[str, Kind]) -> None:
        """What a nested function or lambda sees of this one: the kinds where it is made."""
        child = self.child_scope(node)
        if child is not None:
            self.flow.closure_envs[id(child)] = dict(env)

    def child_scope(self, node: cst.CSTNode) -> Scope | None:
        child = self.scope.index.scope_defined_by(node)
        return child if child is not None and child.parent is self.scope else None

    # -- bindings -----------------------------------------------------------------------------

    def bind(
        self,
        target: cst.BaseExpression,
        value: Kind | None,
        state: dict[str, Kind],
        source: cst.BaseExpression | None = None,
    ) -> None:
        kind = UNKNOWN if value is None else value
        if isinstance(target, cst.Name):
            state[target.value] = kind
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = source.elements if isinstance(source, (cst.Tuple, cst.List)) else None
            for index, element in enumerate(target.elements):
                if (
                    items is not None
                    and len(items) == len(target.elements)
                    and not isinstance(element, cst.StarredElement)
                ):
                    self.bind(element.value, self.flow.kind(items[index].value), state)
                else:
                    self.bind(element.value, kind, state)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, kind, state)
        else:
            self.expression(target, state)  # `x[i] = v`, `obj.a = v`: evaluated, nothing bound

    def bind_element(
        self, target: cst.BaseExpression, iterable: cst.BaseExpression, element: Kind, env: dict[str, Kind]
    ) -> None:
        """`for i, x in enumerate(xs)`: i is static; `for a, b in zip(xs, ys)`: each its own."""
        parts = self.zipped_kinds(iterable, env)
        if parts is not None and isinstance(target, (cst.Tuple, cst.List)) and len(parts) == len(target.elements):
            for element_node, part in zip(target.elements, parts, strict=True):
                self.bind(element_node.value, part, env)
        else:
            self.bind(target, element, env)

    def zipped_kinds(self, iterable: cst.BaseExpression, env: dict[str, Kind]) -> list[Kind] | None:
        if not isinstance(iterable, cst.Call):
            return None
        callee = self.resolver.canonical(iterable.func, self.scope)
        arguments = [arg.value for arg in iterable.args if arg.keyword is None]
        if callee == "builtins.enumerate" and arguments:
            return [STATIC, self.element_kind(arguments[0], env)]
        if callee == "builtins.zip" and not any(arg.star for arg in iterable.args):
            return [self.element_kind(argument, env) for argument in arguments]
        if (
            isinstance(iterable.func, cst.Attribute)
            and iterable.func.attr.value == "items"
            and self.expression(iterable.func.value, env) is not UNKNOWN
        ):
            # dict keys are static, even in a traced pytree: its structure is static
            return [STATIC, self.expression(iterable.func.value, env)]
        return None

    def element_kind(self, iterable: cst.BaseExpression, env: dict[str, Kind]) -> Kind:
        """The kind of what iterating over `iterable` yields."""
        kind = self.expression(iterable, env)
        if isinstance(iterable, (cst.List, cst.Tuple, cst.Set)):
            return (
                merge(self.flow.kind(element.value) for element in iterable.elements) if iterable.elements else STATIC
            )
        if isinstance(iterable, cst.Call):
            callee = self.resolver.canonical(iterable.func, self.scope)
            if callee == "builtins.range":
                return STATIC
            if callee == "builtins.reversed":
                sequence = call_argument(iterable, 0, "sequence")  # absent in `reversed()`, a TypeError
                return UNKNOWN if sequence is None else self.element_kind(sequence, env)
            if callee in ("builtins.enumerate", "builtins.zip", "builtins.sorted"):
                return UNKNOWN
        return kind

    # -- expressions --------------------------------------------------------------------------

    def expression(self, node: cst.BaseExpression, env: dict[str, Kind]) -> Kind:
        kind = self._expression(node, env)
        # Loop bodies are walked until their kinds settle. The first pass sees the values the
        # loop starts with, exactly; later passes see merged (less certain) ones. What is traced
        # on the first pass fails on the first iteration, so it stays traced.
        if self.flow.kinds.get(id(node)) is not TRACED:
            self.flow.kinds[id(node)] = kind
        return kind

    def _expression(self, node: cst.BaseExpression, env: dict[str, Kind]) -> Kind:
        if isinstance(
            node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)
        ):
            return STATIC
        if isinstance(node, cst.FormattedString):
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    self.expression(part.expression, env)
            return STATIC
        if isinstance(node, cst.Name):
            return self.name(node.value, env)
        if isinstance(node, cst.Attribute):
            return self.attribute(node, env)
        if isinstance(node, cst.Call):
            return self.call(node, env)
        if isinstance(node, cst.Subscript):
            return self.subscript(node, env)
        if isinstance(node, cst.BinaryOperation):
            return combine([self.expression(node.left, env), self.expression(node.right, env)])
        if isinstance(node, cst.UnaryOperation):
            operand = self.expression(node.expression, env)
            return STATIC if isinstance(node.operator, cst.Not) and operand is not TRACED else operand
        if isinstance(node, cst.BooleanOperation):
            return merge([self.expression(node.left, env), self.expression(node.right, env)])
        if isinstance(node, cst.Comparison):
            return self.comparison(node, env)
        if isinstance(node, cst.IfExp):
            self.expression(node.test, env)
            return merge([self.expression(node.body, env), self.expression(node.orelse, env)])
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            kinds = [self.expression(element.value, env) for element in node.elements]
            return STATIC if all(kind is STATIC for kind in kinds) else UNKNOWN
        if isinstance(node, cst.Dict):
            kinds = []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    kinds.append(self.expression(element.key, env))
                kinds.append(self.expression(element.value, env))
            return STATIC if all(kind is STATIC for kind in kinds) else UNKNOWN
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            self.comprehension(node, env)
            parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
            return STATIC if all(self.flow.kind(part) is STATIC for part in parts) else UNKNOWN
        if isinstance(node, cst.NamedExpr):
            kind = self.expression(node.value, env)
            self.bind(node.target, kind, env)
            return kind
        if isinstance(node, cst.Lambda):
            self.record_closure(node, env)
            return UNKNOWN
        if isinstance(node, (cst.StarredElement, cst.Await)):
            return self.expression(node.value if isinstance(node, cst.StarredElement) else node.expression, env)
        return UNKNOWN

    def name(self, name: str, env: dict[str, Kind]) -> Kind:
        if name in env:
            return env[name]
        if name in self.closure:
            return self.closure[name]
        if name in ("True", "False", "None"):
            return STATIC
        return self.free_name(name)

    def free_name(self, name: str) -> Kind:
        """A global or an outer-scope name: a literal constant bound once at module level is static.

        A name the function binds itself but that no path has bound yet is a local all the same
        (UnboundLocalError in Python), never the outer one: unknown.
        """
        owner = self.scope.resolve(name)
        if owner is None or owner is self.scope or owner.kind is not ScopeKind.MODULE:
            return UNKNOWN
        bindings = owner.bindings.get(name, [])
        return STATIC if len(bindings) == 1 and _is_literal(bindings[0].value) else UNKNOWN

    def attribute(self, node: cst.Attribute, env: dict[str, Kind]) -> Kind:
        canonical = self.resolver.canonical(node, self.scope)
        if canonical is not None and canonical.startswith(CONSTANT_PACKAGES):
            return STATIC  # jnp.float32, np.pi, math.inf: constants and dtypes
        base = self.expression(node.value, env)
        attribute = node.attr.value
        if attribute in STATIC_ARRAY_ATTRIBUTES and base is not UNKNOWN:
            return STATIC
        if base is TRACED and attribute in ARRAY_ATTRIBUTES:
            return TRACED
        return STATIC if base is STATIC else UNKNOWN

    def subscript(self, node: cst.Subscript, env: dict[str, Kind]) -> Kind:
        base = self.expression(node.value, env)
        indices = []
        for element in node.slice:
            index = element.slice
            if isinstance(index, cst.Index):
                indices.append(self.expression(index.value, env))
            elif isinstance(index, cst.Slice):
                for part in (index.lower, index.upper, index.step):
                    if part is not None:
                        indices.append(self.expression(part, env))
        if base is TRACED:
            return TRACED
        if base is STATIC and all(kind is STATIC for kind in indices):
            return STATIC
        return UNKNOWN

    def comparison(self, node: cst.Comparison, env: dict[str, Kind]) -> Kind:
        kinds = [self.expression(node.left, env)]
        identity = True
        for target in node.comparisons:
            kinds.append(self.expression(target.comparator, env))
            identity = identity and isinstance(target.operator, (cst.Is, cst.IsNot))
        if identity:
            return STATIC  # `x is None` is a static test, whatever x is
        if any(isinstance(target.operator, (cst.In, cst.NotIn)) for target in node.comparisons):
            return TRACED if kinds[0] is TRACED else (STATIC if set(kinds) == {STATIC} else UNKNOWN)
        return combine(kinds)

    def call(self, node: cst.Call, env: dict[str, Kind]) -> Kind:
        arguments = [self.expression(arg.value, env) for arg in node.args]
        callee = self.resolver.canonical(node.func, self.scope)
        if callee is None:
            return self.method_call(node, arguments, env)
        if callee in STATIC_JAX_FUNCTIONS or callee in STATIC_BUILTINS:
            return STATIC
        if callee.startswith(ARRAY_PACKAGES):
            return TRACED  # every jnp/lax/random result under jit is a tracer, even on constants
        if callee in TRACED_BUILTINS:
            return combine(arguments)
        if callee in CONVERTING_BUILTINS or callee.startswith(("numpy.", "math.", "operator.")):
            if all(kind is STATIC for kind in arguments):
                return STATIC
            return TRACED if callee in NUMPY_DISPATCHING and TRACED in arguments else UNKNOWN
        return UNKNOWN

    def method_call(self, node: cst.Call, arguments: list[Kind], env: dict[str, Kind]) -> Kind:
        if not isinstance(node.func, cst.Attribute):
            self.expression(node.func, env)
            return UNKNOWN
        receiver = self.expression(node.func.value, env)
        method = node.func.attr.value
        if receiver is TRACED and method in ARRAY_METHODS:
            return TRACED
        return UNKNOWN


def _merge_envs(envs: Sequence[dict[str, Kind]]) -> dict[str, Kind]:
    names: set[str] = set().union(*envs)
    return {name: merge(env[name] for env in envs if name in env) for name in names}


def _is_literal(node: cst.BaseExpression | None) -> bool:
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _is_literal(node.expression)
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, (cst.Tuple,)):
        return all(_is_literal(element.value) for element in node.elements)
    return False
