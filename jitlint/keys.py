"""PRNG key states: where a scope consumes the same key value twice.

Facts from docs/jax-semantics.md §7: every `jax.random` sampler and `jax.random.split` consume the
key they are given; `fold_in`, `clone`, `key_data` and `wrap_key_data` do not. Python `if`/`else`
branches are exclusive; `jnp.where(p, normal(key), uniform(key))` evaluates both samplers; a
Python loop, a comprehension or a `lax` loop body that consumes a key it does not rebind consumes
the same key again on its next iteration. A sampler call that raises consumes nothing.

The analysis follows values, not names. Every binding makes a value (a parameter, `k = f()`, the
result of `split`); `k2 = k` is an alias of the same value; `k1, k2 = split(key)` and `keys[0]`
are elements of one split result. Any value handed to a sampler is a key, whatever its name: the
call fails otherwise.

Like flow.py, the walk goes statement by statement with one state per path, on the statement
walker of dataflow.py. Branches merge: a value consumed on every path stays consumed, one
consumed on some paths becomes "maybe", and a maybe-consumed value is never reported (nor is one
handed to a function we cannot see into, which may or may not consume it). Loop bodies are
walked again from the state their previous iteration ended in, until that state settles.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from jitlint.dataflow import StatementWalker, TooLarge
from jitlint.entrypoints import PARTIAL
from jitlint.imports import NameResolver
from jitlint.jax_api import (
    KEY_CONSUMERS,
    KEY_CREATORS,
    KEY_HARMLESS,
    KEY_HARMLESS_PREFIXES,
    KEY_SPLIT,
    KEY_TRANSPARENT_DECORATORS,
)
from jitlint.scopes import Scope, ScopeKind
from jitlint.traced import RouteKind, TracedFunction
from jitlint.walk import all_params, children, integer_value

# Context managers whose block is expected to raise (or may be cut short and the error
# swallowed): a sampler in it may never run, and reuse there is what the test is about.
_EXPECTS_ERROR_WORDS = ("raises", "suppress")
# Statements one scope's walk may visit (nested loops multiply their passes) before it gives up.
_STEP_BUDGET = 200_000


@dataclass(frozen=True)
class Value:
    """A value a name can hold: made at one place (a call, a binding, a parameter, a join of
    branches), or one element of a split result made at that place."""

    origin: tuple[int, str]  # (id of the node that made it, tag for joins and free names)
    index: int | None = None  # element number of a split result


@dataclass(frozen=True)
class Consumption:
    """A call that consumed a key, and the loop passes it happened in."""

    call: cst.Call
    consumer: str  # "jax.random.normal", "sample_noise()"
    passes: tuple[tuple[int, int], ...] = ()  # (id of loop, pass number), outermost first


@dataclass(frozen=True)
class Reuse:
    """A call that consumes a key value that an earlier call already consumed on every path."""

    call: cst.Call
    key: cst.BaseExpression  # the argument naming the key: `key`, `keys[0]`
    consumer: str
    first: Consumption
    earlier_iteration: bool  # the first consumption happened in an earlier pass of a loop


class Status(enum.Enum):
    FRESH = "fresh"
    MAYBE = "maybe"  # consumed on some paths, or handed to code that may consume it
    CONSUMED = "consumed"


@dataclass(frozen=True)
class Summary:
    """What calling a same-module function does to the keys passed to its parameters."""

    positional: tuple[str, ...]  # parameter names in order, bound `self`/`cls` removed
    effects: dict[str, Status]  # parameter → CONSUMED (on every path) or MAYBE
    name: str  # how messages name it: "sample_noise()"


_NOTHING = Summary((), {}, "")
# What evaluating an expression gives: a value, the values of a tuple's elements, or nothing followed.
_Result = Value | tuple[Value | None, ...] | None


@dataclass
class _State:
    """What one path knows: which value each name holds, and which values it consumed."""

    names: dict[str, Value] = field(default_factory=dict)
    consumed: dict[Value, Consumption] = field(default_factory=dict)
    maybe: set[Value] = field(default_factory=set)

    def copy(self) -> _State:
        return _State(dict(self.names), dict(self.consumed), set(self.maybe))

    def status(self, value: Value) -> Status:
        if value in self.consumed:
            return Status.CONSUMED
        if value in self.maybe or (value.index is not None and Value(value.origin) in self.maybe):
            return Status.MAYBE  # the whole split result went to unknown code
        return Status.FRESH

    def forget(self, origin: tuple[int, str]) -> None:
        """A new value is made where an old one was (the next loop pass): it starts unconsumed."""
        for value in [value for value in self.consumed if value.origin == origin]:
            del self.consumed[value]
        self.maybe = {value for value in self.maybe if value.origin != origin}

    def signature(self) -> tuple[frozenset[tuple[str, Value]], frozenset[Value], frozenset[Value]]:
        return frozenset(self.names.items()), frozenset(self.consumed), frozenset(self.maybe)


def merge(states: Sequence[_State], join: cst.CSTNode, tag: str) -> _State:
    """One state for paths that meet at `join`.

    A name bound to different values on different paths gets a new value made at the join,
    consumed if every path's value was, maybe if some were. Names missing on a path are dropped.
    """
    first = states[0]
    if len(states) == 1:
        return first.copy()
    merged = _State()
    for name in set(first.names).intersection(*(state.names for state in states[1:])):
        values = [state.names[name] for state in states]
        if all(value == values[0] for value in values):
            merged.names[name] = values[0]
            continue
        joined = Value((id(join), f"{tag}:{name}"))
        merged.names[name] = joined
        statuses = [state.status(value) for state, value in zip(states, values)]
        if all(status is Status.CONSUMED for status in statuses):
            merged.consumed[joined] = states[0].consumed[values[0]]
        elif any(status is not Status.FRESH for status in statuses):
            merged.maybe.add(joined)
    everywhere = set(first.consumed).intersection(*(state.consumed for state in states[1:]))
    for value in everywhere:
        merged.consumed.setdefault(value, first.consumed[value])
    somewhere = set().union(*(state.consumed for state in states), *(state.maybe for state in states))
    merged.maybe |= {value for value in somewhere if value not in merged.consumed}
    return merged


@dataclass
class _ScopeResult:
    reuses: list[Reuse]
    summary: Summary


class KeyAnalyzer:
    """Finds reused keys in every scope of one module; memoises each scope's walk."""

    def __init__(self, resolver: NameResolver, root: Scope, traced: Sequence[TracedFunction]) -> None:
        self.resolver = resolver
        self.root = root
        self.traced_by_scope = {id(fn.scope): fn for fn in traced}
        self._results: dict[int, _ScopeResult] = {}
        self._in_progress: set[int] = set()
        self._rebound_below: dict[tuple[int, bool], frozenset[str]] = {}

    def reuses(self, scope: Scope) -> list[Reuse]:
        """The calls in `scope`'s own body that consume an already consumed key."""
        return self._result(scope).reuses

    def summary(self, scope: Scope) -> Summary:
        """Which parameters calling the function `scope` consumes."""
        return self._result(scope).summary

    def _result(self, scope: Scope) -> _ScopeResult:
        key = id(scope)
        if key in self._results:
            return self._results[key]
        if key in self._in_progress:
            return _ScopeResult([], _NOTHING)  # recursion between functions: nothing known yet
        self._in_progress.add(key)
        try:
            # The cheap test first: a scope that calls no consumer needs no walk.
            result = _ScopeWalker(self, scope).run() if self.may_consume(scope) else _ScopeResult([], _NOTHING)
        except TooLarge:
            result = _ScopeResult([], _NOTHING)  # too large to follow: silent
        finally:
            self._in_progress.discard(key)
        self._results[key] = result
        return result

    def may_consume(self, scope: Scope) -> bool:
        """The cheap test run before any walk: does the scope call a consumer at all?"""
        return any(self.consumer_of(call, scope) is not None for call in scope.calls)

    def consumer_of(self, call: cst.Call, scope: Scope) -> str | Summary | None:
        """The jax.random consumer `call` calls, the summary of a consuming same-module
        function it calls, or None."""
        func = call.func
        last = func.attr.value if type(func) is cst.Attribute else func.value if type(func) is cst.Name else None
        if last is None:
            return None
        if last in _CONSUMER_NAMES:
            callee = self.resolver.canonical(func, scope)
            if callee in KEY_CONSUMERS:
                return callee
        helper = self.helper(call, scope)
        if helper is not None:
            summary = self.summary(helper[0])
            if summary.effects:
                return _bind_summary(summary, helper[1])
        return None

    def helper(self, call: cst.Call, scope: Scope) -> tuple[Scope, int] | None:
        """The same-module function `call` calls, with how many leading parameters it binds
        (`self.method(...)` binds one), when that is certain."""
        func = call.func
        if type(func) is cst.Name:  # exact types: a failed isinstance is slow (walk.py)
            if self.resolver.canonical(func, scope) is not None:
                return None  # imported or builtin
            found = _only_definition(func.value, scope)
            return None if found is None or not self._plain(found) else (found, 0)
        if type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value in ("self", "cls"):
            owner = scope.enclosing_class()
            if owner is None or len(owner.bindings.get(func.attr.value, ())) != 1:
                return None
            methods = owner.functions_named(func.attr.value)
            if len(methods) != 1 or not self._plain(methods[0]):
                return None
            return methods[0], 0 if self._is_static(methods[0]) else 1
        return None

    def _plain(self, scope: Scope) -> bool:
        """Decorated only by decorators that leave what the body consumes unchanged."""
        node = scope.node
        assert isinstance(node, cst.FunctionDef)
        return all(self._transparent(decorator.decorator, scope) for decorator in node.decorators)

    def _transparent(self, decorator: cst.BaseExpression, scope: Scope) -> bool:
        parent = scope.parent or scope
        if isinstance(decorator, cst.Call):
            callee = self.resolver.canonical(decorator.func, parent)
            if callee in PARTIAL and decorator.args:
                return self.resolver.canonical(decorator.args[0].value, parent) in KEY_TRANSPARENT_DECORATORS
            return callee in KEY_TRANSPARENT_DECORATORS  # `@jax.jit(...)`-style factories
        return self.resolver.canonical(decorator, parent) in KEY_TRANSPARENT_DECORATORS

    def _is_static(self, scope: Scope) -> bool:
        node = scope.node
        assert isinstance(node, cst.FunctionDef)
        return any(
            self.resolver.canonical(decorator.decorator, scope.parent or scope) == "builtins.staticmethod"
            for decorator in node.decorators
        )

    def repeats(self, scope: Scope) -> bool:
        """Whether a lax loop runs `scope` as its body, again and again."""
        fn = self.traced_by_scope.get(id(scope))
        return fn is not None and any(
            route.kind is RouteKind.TRANSFORM_CALL and route.entry is not None and route.entry.repeats
            for route in fn.routes
        )

    def is_shared(self, name: str, scope: Scope) -> bool:
        """Whether code elsewhere may rebind `name` as `scope` sees it: `scope` declares it
        `global`/`nonlocal`, or a function inside the scope that owns it does."""
        if name in scope.declared_global or name in scope.declared_nonlocal:
            return True
        owner = scope.resolve(name) or self.root
        return name in self._rebound_below_scope(owner, global_names=owner.kind is ScopeKind.MODULE)

    def _rebound_below_scope(self, owner: Scope, global_names: bool) -> frozenset[str]:
        """Names of `owner` that other scopes rebind: a module's names through `global`
        anywhere in the module, a function's through `nonlocal` in the functions inside it."""
        key = (id(owner), global_names)
        if key not in self._rebound_below:
            if global_names:
                declared = [scope.declared_global for scope in self.root.tree()]
            else:
                declared = [scope.declared_nonlocal for scope in owner.tree() if scope is not owner]
            self._rebound_below[key] = frozenset().union(*declared)
        return self._rebound_below[key]


_CONSUMER_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in KEY_CONSUMERS)


def _only_definition(name: str, scope: Scope) -> Scope | None:
    """The function `name` refers to, when its scope binds the name once, by that `def`."""
    owner = scope.resolve(name)
    if owner is None:
        return None
    functions = owner.functions_named(name)
    return functions[0] if len(owner.bindings.get(name, ())) == 1 and len(functions) == 1 else None


def _bind_summary(summary: Summary, bound: int) -> Summary:
    return Summary(summary.positional[bound:], summary.effects, summary.name)


class _ScopeWalker(StatementWalker[_State, _Result]):
    """Walks one scope's statements in order, keeping key states and collecting reuses."""

    max_passes = 3  # a key consumed in a loop body is consumed again by the second pass
    step_budget = _STEP_BUDGET

    def __init__(self, analyzer: KeyAnalyzer, scope: Scope) -> None:
        super().__init__()
        self.analyzer = analyzer
        self.resolver = analyzer.resolver
        self.scope = scope
        self.shared: dict[str, bool] = {}
        self.reuses: list[Reuse] = []
        self.reported: set[Value] = set()
        self.reported_calls: set[int] = set()
        self.is_generator = False
        self.split_results: set[tuple[int, str]] = set()
        self.split_lengths: dict[tuple[int, str], int] = {}

    # -- the scope as a whole -----------------------------------------------------------------

    def run(self) -> _ScopeResult:
        state = _State()
        if self.analyzer.repeats(self.scope):
            self.iterate(self.scope.node, state, self.run_once)
            return _ScopeResult(self.reuses, _NOTHING)
        end = self.run_once(state)
        return _ScopeResult(self.reuses, self.summarise(end))

    def run_once(self, state: _State) -> _State | None:
        """One call of the scope: the parameters get new values, then the body runs. Returns
        the state at its normal exits (the end and every `return`), None if it always raises."""
        node = self.scope.node
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            for param in all_params(node.params):
                self.bind_name(param.name, None, state)
        return self.run_body(node, state)

    def summarise(self, end: _State | None) -> Summary:
        node = self.scope.node
        if end is None or not isinstance(node, cst.FunctionDef):
            return _NOTHING
        effects: dict[str, Status] = {}
        for param in all_params(node.params):
            status = end.status(Value((id(param.name), "")))
            if param.star not in ("*", "**") and status is not Status.FRESH:
                # A generator's body runs only as it is iterated, maybe never: calling it
                # consumes nothing yet.
                effects[param.name.value] = Status.MAYBE if self.is_generator else status
        positional = tuple(param.name.value for param in (*node.params.posonly_params, *node.params.params))
        return Summary(positional, effects, f"{node.name.value}()")

    # -- the domain ---------------------------------------------------------------------------

    def copy(self, state: _State) -> _State:
        return state.copy()

    def join(self, states: Sequence[_State], at: cst.CSTNode, tag: str) -> _State:
        return merge(states, at, tag)

    def replace(self, state: _State, by: _State) -> None:
        state.names, state.consumed, state.maybe = by.names, by.consumed, by.maybe

    def same(self, first: _State, second: _State) -> bool:
        return first.signature() == second.signature()

    def evaluate(self, node: cst.BaseExpression, state: _State) -> _Result:
        return self.expression(node, state)

    def augmented_assignment(self, node: cst.AugAssign, state: _State) -> None:
        self.expression(node.value, state)
        self.bind(node.target, None, state)

    def iterable(self, node: cst.BaseExpression, state: _State) -> _Result:
        self.touch(self.expression(node, state), state)  # its elements go to the body
        return None

    def bind_element(
        self, target: cst.BaseExpression, iterable: cst.BaseExpression, element: _Result, state: _State
    ) -> None:
        self.bind(target, element, state)

    def forget(self, name: str, state: _State) -> None:
        state.names.pop(name, None)  # not followed: looking it up gives nothing

    def unbind(self, name: str, state: _State) -> None:
        state.names.pop(name, None)

    def restore(self, name: str, state: _State, saved: _State) -> None:
        if name in saved.names:
            state.names[name] = saved.names[name]
        else:
            state.names.pop(name, None)

    def expects_error(self, node: cst.With) -> bool:
        # `with pytest.raises(...)`: the block stops at the error it expects, so what it consumes
        # is uncertain afterwards, and a reuse inside it is what the test checks.
        return any(_expects_error(item.item) for item in node.items)

    # -- expressions --------------------------------------------------------------------------

    def expression(self, node: cst.BaseExpression, state: _State) -> _Result:
        """Evaluate `node` in order, consuming keys; returns the value it gives, if tracked."""
        if isinstance(node, cst.Name):
            return self.name(node.value, state)
        if isinstance(node, cst.Call):
            return self.call(node, state)
        if isinstance(node, cst.Attribute):
            self.expression(node.value, state)  # `key.shape`, `self.rng`: reading is harmless
            return None
        if isinstance(node, cst.Subscript):
            return self.subscript(node, state)
        if isinstance(node, (cst.Tuple, cst.List)):
            items = [self.expression(element.value, state) for element in node.elements]
            if any(isinstance(element, cst.StarredElement) for element in node.elements):
                return None
            return tuple(item if isinstance(item, Value) else None for item in items)
        if isinstance(node, cst.IfExp):
            self.expression(node.test, state)
            self.alternatives(node, [node.body, node.orelse], state, skippable=False)
            return None
        if isinstance(node, cst.BooleanOperation):
            self.expression(node.left, state)
            self.alternatives(node, [node.right], state, skippable=True)
            return None
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            self.comprehension(node, state)
            return None
        if isinstance(node, cst.NamedExpr):
            value = self.expression(node.value, state)
            self.bind(node.target, value, state)
            return value
        if isinstance(node, cst.Lambda):
            for param in all_params(node.params):
                if param.default is not None:
                    self.expression(param.default, state)
            return None  # the body runs later, in its own scope
        if isinstance(node, cst.Yield):
            self.is_generator = True
            if isinstance(node.value, cst.BaseExpression):
                self.touch(self.expression(node.value, state), state)  # the receiver may consume it
            elif isinstance(node.value, cst.From):
                self.expression(node.value.item, state)
            return None
        for child in _subexpressions(node):
            self.expression(child, state)
        return None

    def alternatives(
        self, node: cst.CSTNode, branches: Sequence[cst.BaseExpression], state: _State, skippable: bool
    ) -> None:
        """Evaluate exactly one of `branches` (or none, when `skippable`), then merge."""
        outcomes = [state.copy()] if skippable else []
        for branch in branches:
            branch_state = state.copy()
            self.expression(branch, branch_state)
            outcomes.append(branch_state)
        self.go_on(state, outcomes, node)

    def is_shared(self, name: str) -> bool:
        if name not in self.shared:
            self.shared[name] = self.analyzer.is_shared(name, self.scope)
        return self.shared[name]

    def name(self, name: str, state: _State) -> Value | None:
        if name in state.names:
            return state.names[name]
        if self.is_shared(name) or self.scope.bindings.get(name):
            return None  # a name other code may rebind, or a local whose value is not known here
        if self.scope.kind is ScopeKind.MODULE:
            return None
        return Value((0, f"free:{name}"))  # a closure variable or a global, the same all along

    def subscript(self, node: cst.Subscript, state: _State) -> Value | None:
        base = self.expression(node.value, state)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self.expression(element.slice.value, state)
            elif isinstance(element.slice, cst.Slice):
                for part in (element.slice.lower, element.slice.upper, element.slice.step):
                    if part is not None:
                        self.expression(part, state)
        if not isinstance(base, Value) or base.index is not None or base.origin not in self.split_results:
            return None
        index = _literal_index(node)
        if index is not None and index < 0:
            length = self.split_lengths.get(base.origin)
            index = None if length is None else length + index
        return None if index is None or index < 0 else Value(base.origin, index)

    def call(self, node: cst.Call, state: _State) -> _Result:
        if not isinstance(node.func, (cst.Name, cst.Attribute)):
            self.expression(node.func, state)
        elif isinstance(node.func, cst.Attribute):
            self.expression(node.func.value, state)  # `self.f`, `model.apply`: evaluated, harmless
        arguments = [(arg, self.expression(arg.value, state)) for arg in node.args]
        consumer = self.analyzer.consumer_of(node, self.scope)
        if isinstance(consumer, str):
            key = _key_argument(node)
            if key is not None:
                self.consume(self.expression_value(key, arguments), key, node, consumer, state)
            return self.split_result(node, state) if consumer == KEY_SPLIT else None
        if isinstance(consumer, Summary):
            self.apply_summary(node, consumer, arguments, state)
            return None
        callee = self.resolver.canonical(node.func, self.scope)
        if callee in KEY_CREATORS:
            state.forget((id(node), ""))
            return Value((id(node), ""))
        if callee is not None and (callee in KEY_HARMLESS or callee.startswith(KEY_HARMLESS_PREFIXES)):
            return None
        for _, value in arguments:
            self.touch(value, state)  # unknown code may or may not consume what it is given
        return None

    def expression_value(self, key: cst.BaseExpression, arguments: Sequence[tuple[cst.Arg, _Result]]) -> Value | None:
        for arg, value in arguments:
            if arg.value is key:
                return value if isinstance(value, Value) else None
        return None

    def split_result(self, node: cst.Call, state: _State) -> Value:
        origin = (id(node), "")
        state.forget(origin)
        self.split_results.add(origin)
        length = _split_length(node)
        if length is not None:
            self.split_lengths[origin] = length
        return Value(origin)

    def apply_summary(
        self, node: cst.Call, summary: Summary, arguments: Sequence[tuple[cst.Arg, _Result]], state: _State
    ) -> None:
        """A same-module function consumes (or may consume) what its parameters receive."""
        if any(arg.star for arg, _ in arguments):
            for _, value in arguments:
                self.touch(value, state)
            return
        position = 0
        for arg, value in arguments:
            if arg.keyword is not None:
                parameter: str | None = arg.keyword.value
            else:
                parameter = summary.positional[position] if position < len(summary.positional) else None
                position += 1
            effect = summary.effects.get(parameter or "")
            if effect is Status.CONSUMED and isinstance(value, Value):
                self.consume(value, arg.value, node, summary.name, state)
            elif effect is Status.MAYBE:
                self.touch(value, state)

    # -- key states ---------------------------------------------------------------------------

    def consume(
        self, value: Value | None, key: cst.BaseExpression, node: cst.Call, consumer: str, state: _State
    ) -> None:
        if value is None or (value.index is None and value.origin in self.split_results):
            return  # not a value we follow, or a whole split result (a batch of keys)
        passes = tuple((id(loop.node), loop.number) for loop in self.loops)
        status = state.status(value)
        if status is Status.CONSUMED:
            self.report(value, key, node, consumer, state.consumed[value], passes)
            return
        state.maybe.discard(value)
        state.consumed[value] = Consumption(node, consumer, passes)

    def report(
        self,
        value: Value,
        key: cst.BaseExpression,
        node: cst.Call,
        consumer: str,
        first: Consumption,
        passes: tuple[tuple[int, int], ...],
    ) -> None:
        if self.expecting_error or value in self.reported or id(node) in self.reported_calls:
            return
        self.reported.add(value)
        self.reported_calls.add(id(node))
        earlier = dict(first.passes)
        earlier_iteration = any(earlier.get(loop, number) != number for loop, number in passes)
        self.reuses.append(Reuse(node, key, consumer, first, earlier_iteration))

    def touch(self, value: _Result, state: _State) -> None:
        """`value` went to code that may consume it: unless consumed already, it is maybe."""
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if item is not None and state.status(item) is Status.FRESH:
                state.maybe.add(item)

    # -- bindings -----------------------------------------------------------------------------

    def bind(
        self, target: cst.BaseExpression, value: _Result, state: _State, source: cst.BaseExpression | None = None
    ) -> None:
        if isinstance(target, cst.Name):
            self.bind_name(target, value if isinstance(value, Value) else None, state)
        elif isinstance(target, (cst.Tuple, cst.List)):
            self.bind_elements(target, value, state)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, None, state)
        else:
            self.expression(target, state)  # `x[i] = v`, `obj.a = v`: evaluated, nothing bound

    def bind_name(self, target: cst.Name, value: Value | None, state: _State) -> None:
        """`name = value`; a value we do not follow becomes a new one, made at this binding."""
        name = target.value
        if self.is_shared(name):
            state.names.pop(name, None)
            return
        if value is None:
            value = Value((id(target), ""))
            state.forget(value.origin)
        state.names[name] = value

    def bind_elements(self, target: cst.Tuple | cst.List, value: _Result, state: _State) -> None:
        elements = target.elements
        starred = any(isinstance(element, cst.StarredElement) for element in elements)
        parts: list[Value | None]
        if isinstance(value, tuple) and len(value) == len(elements) and not starred:
            parts = list(value)
        elif isinstance(value, Value) and value.index is None and value.origin in self.split_results:
            # `k1, k2 = split(key)`: the elements of one split; after a `*rest`, positions are lost
            first_star = next((i for i, e in enumerate(elements) if isinstance(e, cst.StarredElement)), len(elements))
            parts = [Value(value.origin, i) if i < first_star else None for i in range(len(elements))]
        else:
            parts = [None] * len(elements)
        for element, part in zip(elements, parts):
            self.bind(element.value if not isinstance(element, cst.StarredElement) else element, part, state)


def _key_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The key a jax.random function is given: its first argument or `key=`."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "key":
            return arg.value
    if call.args and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0].value
    return None


def _split_length(call: cst.Call) -> int | None:
    """How many keys `split(key, num)` makes: 2 by default, or a literal `num`."""
    num = None
    for index, arg in enumerate(call.args):
        if (arg.keyword is not None and arg.keyword.value == "num") or (arg.keyword is None and index == 1):
            num = arg.value
    if num is None:
        return 2
    return integer_value(num) if isinstance(num, cst.Integer) else None


def _literal_index(node: cst.Subscript) -> int | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    index = node.slice[0].slice.value
    if isinstance(index, cst.Integer):
        return integer_value(index)
    if (
        isinstance(index, cst.UnaryOperation)
        and isinstance(index.operator, cst.Minus)
        and isinstance(index.expression, cst.Integer)
    ):
        value = integer_value(index.expression)
        return None if value is None else -value
    return None


def _expects_error(manager: cst.BaseExpression) -> bool:
    """`pytest.raises(...)`, `self.assertRaises(...)`, `contextlib.suppress(...)`."""
    func = manager.func if isinstance(manager, cst.Call) else manager
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return any(word in name.lower() for word in _EXPECTS_ERROR_WORDS)


def _subexpressions(node: cst.BaseExpression) -> Iterable[cst.BaseExpression]:
    """The operands of an expression the walker has no special rule for, in evaluation order."""
    for child in children(node):
        if isinstance(child, cst.BaseExpression):
            yield child
        else:
            yield from (part for part in children(child) if isinstance(part, cst.BaseExpression))
