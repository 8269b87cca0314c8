"""State that outlives a trace: captured values that change later (JIT001) and writes to state
outside the traced function (JIT002)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from jitlint.flow import Kind
from jitlint.rules.base import Hit, ModuleAnalysis, Rule
from jitlint.scopes import Binding, How, Scope, ScopeKind
from jitlint.traced import Route, RouteKind, TracedFunction
from jitlint.walk import own_nodes, source_text

# Methods that change a list, dict, set or deque in place.
CONTAINER_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "popitem",
        "appendleft",
        "extendleft",
        "popleft",
        "sort",
        "reverse",
    }
)
# The subset whose name alone says "container": safe to flag on objects of unknown type
# (`optimizer.update(...)` or `bar.update(1)` are not container writes).
UNAMBIGUOUS_MUTATORS = frozenset({"append", "extend", "insert", "appendleft", "extendleft", "setdefault"})
CONTAINER_FACTORIES = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "collections.deque",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
    }
)


@dataclass(frozen=True)
class _Change:
    """A place where a captured name changes."""

    node: cst.CSTNode
    how: str
    scope: Scope  # where the change happens
    explicit: bool = False  # made by another function, which may run after any trace


# -- JIT001 ---------------------------------------------------------------------------------------


def find_stale_captured_values(fn: TracedFunction, module: ModuleAnalysis) -> Iterator[Hit]:
    """
    ## What it does
    Flags a read, in traced code whose trace is cached (`jax.jit`, `pmap`, `checkpoint`,
    `lax.scan`/`fori_loop`/`while_loop`/`cond` bodies, `eqx.filter_jit`), of a global or closure
    variable that changes after it is read: it is reassigned in a loop, updated with `+=`,
    rebound through `global`/`nonlocal` from another function, or a list/dict/set or array that
    is changed in place (`.append`, `x[k] = v`) somewhere in the module.

    ## Why is this bad?
    JAX runs the Python body once, while tracing, and bakes every captured value into the compiled
    program as a constant. Later calls with the same shapes reuse that program, so they keep
    seeing the value from the first call: the change is silently ignored until something forces a
    re-trace (a new shape, `jax.clear_caches()`).

    ## Example
        scale = 1.0

        @jax.jit
        def apply(x):
            return x * scale          # frozen at its value on the first call

        for epoch in range(10):
            y = apply(x)
            scale = scale * 0.9       # ignored by apply

    ## Use instead
        @jax.jit
        def apply(x, scale):
            return x * scale          # an argument: each call sees the current value

        for epoch in range(10):
            y = apply(x, scale)
            scale = scale * 0.9

    ## Known limits
    Names bound once (module constants, configuration objects, arrays) are not reported. A change
    in the scope that holds the name counts only when it can follow a trace: after the traced
    function is defined and either in a loop or after a call of it (setup code that fills a
    list before the first call is fine). Reads under `vmap` or `grad` alone, which re-run the
    body on every call, are not reported. Changes made through another module or `setattr`
    are not seen.
    """
    if not fn.caches:
        return
    checked: set[str] = set()  # each read of a name gets the same answer as its first
    for name, read in _free_reads(fn):
        if name in checked:
            continue
        checked.add(name)
        outer = fn.scope.resolve(name)
        if outer is None or outer is fn.scope:
            continue
        change = _first_change(name, outer, fn, module)
        if change is None:
            continue
        where = "the module" if outer.kind is ScopeKind.MODULE else f"'{outer.qualname}'"
        yield Hit(read, {"name": name, "where": where, "how": change.how}, {"line": change.node}, subject=name)


def _free_reads(fn: TracedFunction) -> Iterator[tuple[str, cst.Name]]:
    """Names the function reads without binding them itself, in source order."""
    skipped: set[int] = set()
    for node in own_nodes(fn.node):
        # Exact types first: most nodes are names, and a failed isinstance is slow (walk.py).
        if type(node) is cst.Name:
            if id(node) not in skipped and node.value not in fn.scope.bindings:
                yield node.value, node
        elif type(node) is cst.Attribute:
            skipped.add(id(node.attr))
        elif type(node) is cst.Arg and node.keyword is not None:
            skipped.add(id(node.keyword))
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            skipped.update(id(item.name) for item in node.names)


def _first_change(name: str, outer: Scope, fn: TracedFunction, module: ModuleAnalysis) -> _Change | None:
    bindings = [binding for binding in outer.bindings.get(name, []) if not binding.in_fallback]
    if not bindings or any(binding.how in (How.IMPORT, How.DEFINE) for binding in bindings):
        return None  # modules, functions and classes are not data that changes
    if outer.kind is not ScopeKind.MODULE and _recreated_with_closure(fn, outer):
        return None
    if _keeps_its_own_state(fn, name):
        return None
    starts = _TraceStarts.of(fn)
    for change in [*_rebindings(name, outer, bindings), *_outside_writes(name, outer, fn, module)]:
        if change.explicit or _after_a_trace(change, starts, module):
            return change
    return None


def _keeps_its_own_state(fn: TracedFunction, name: str) -> bool:
    """A traced function that itself updates the captured name uses it as trace-time state on
    purpose (recording shapes while tracing); its writes of traced values are JIT002's."""
    scope = fn.scope
    return (
        any(binding.how is How.DECLARE for binding in scope.bindings.get(name, []))
        or bool(scope.index.mutations_of(scope, name))
        or any(_mutates(call, name, container=True) for call in scope.index.calls_on(scope, name))
    )


@dataclass(frozen=True)
class _TraceStarts:
    """Where a trace of a function can begin: `lax.scan(body, ...)` traces at the call;
    `@jax.jit def step` and `fast = jax.jit(step)` trace when `step(...)` / `fast(...)` is
    called. Helpers are traced when their callers are."""

    names: frozenset[str]  # the names the function is called by (at the roots of its routes)
    sites: tuple[cst.CSTNode, ...]  # lax calls that trace it where they are

    @staticmethod
    def of(fn: TracedFunction) -> _TraceStarts:
        names: set[str] = set()
        sites: list[cst.CSTNode] = []
        for route in _entry_routes(fn):
            if route.kind is RouteKind.DECORATOR:
                names.add(route.target_text)
            elif route.traces_where_called:
                sites.append(route.site)  # lax loops and branches trace where they are called
            else:
                names |= route.wrapper_names  # found once, by discovery
        return _TraceStarts(frozenset(names), tuple(sites))

    def in_scope(self, scope: Scope) -> set[int]:
        """The ids of the calls in `scope`'s own body that can begin a trace."""
        index = scope.index
        found = {id(call) for name in self.names for call in index.own_calls_of_name(scope, name)}
        found.update(id(site) for site in self.sites if index.scope_of(site) is scope)
        return found


def _entry_routes(fn: TracedFunction) -> list[Route]:
    """The decorator and transform routes at the roots of `fn`'s routes."""
    found: list[Route] = []
    pending, seen = [fn], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for route in current.routes:
            if route.caller is None:
                found.append(route)
            else:
                pending.append(route.caller)
    return found


def _after_a_trace(change: _Change, starts: _TraceStarts, module: ModuleAnalysis) -> bool:
    """Whether the traced program can run after this change, still holding the old value.

    That takes a trace before the change and a call after it in the same scope
    (`f(x); SCALE = 3.0; f(x)`), or a change and a trace that both repeat in loops. A trace in a
    `return` statement is followed by nothing.
    """
    scope = change.scope
    begun = starts.in_scope(scope)
    if not begun:
        return False
    body = module.own_body(scope)
    order, returned = body.order, body.returned
    where = order.get(id(change.node), -1)
    before = [start for start in begun if order.get(start, -1) < where and start not in returned]
    after = [start for start in begun if order.get(start, -1) > where]
    if before and after:
        return True
    return id(change.node) in scope.in_loops and any(start in scope.in_loops for start in begun)


def _recreated_with_closure(fn: TracedFunction, outer: Scope) -> bool:
    """A function defined in a loop (or a lambda) gets a new function object, so a fresh trace,
    each time its closure changes: no staleness."""
    scope: Scope = fn.scope
    while scope.parent is not None and scope.parent is not outer:
        scope = scope.parent
    if scope.kind is ScopeKind.LAMBDA:
        return True
    return any(b.in_loop for b in outer.bindings.get(scope.name, []) if b.how is How.DEFINE)


def _rebindings(name: str, outer: Scope, bindings: list[Binding]) -> Iterator[_Change]:
    """Rebindings in the defining scope, after its first binding."""
    for index, binding in enumerate(bindings):
        assert binding.node is not None
        if binding.how is How.DECLARE or (index == 0 and not binding.in_loop):
            continue
        if binding.how is How.AUGMENT:
            yield _Change(binding.node, "updated with an augmented assignment", outer)
        else:
            yield _Change(binding.node, "reassigned", outer)


def _outside_writes(name: str, outer: Scope, fn: TracedFunction, module: ModuleAnalysis) -> Iterator[_Change]:
    """Writes from other functions (`global`/`nonlocal`) and in-place changes anywhere."""
    container = _is_container(outer, name, module)
    index = outer.index
    # Only `outer` and scopes nested in it can reach its `name`, or any scope through `global`.
    scopes = index.scopes_changing_outer(name, None if outer.kind is ScopeKind.MODULE else outer)
    if outer not in scopes:  # its own local, which the index leaves out
        scopes = sorted([outer, *scopes], key=index.number)
    for scope in scopes:
        if scope is fn.scope or scope.resolve(name) is not outer:
            continue  # the traced function's own writes are JIT002's
        if scope is not outer:
            for binding in scope.bindings.get(name, []):
                if binding.how not in (How.DECLARE, How.PARAMETER) and binding.node is not None:
                    yield _Change(binding.node, f"rebound in '{scope.qualname}'", scope, explicit=True)
        # In another function a change can run at any time, after any trace.
        elsewhere = scope is not outer
        for statement in index.mutations_of(scope, name):
            if _subscripted(statement):
                yield _Change(statement, "changed in place", scope, explicit=elsewhere)
        for call in index.calls_on(scope, name):
            if _mutates(call, name, container) and id(call) in scope.discarded_calls:
                yield _Change(call, f"changed in place by .{_method(call)}()", scope, explicit=elsewhere)


def _subscripted(statement: cst.CSTNode) -> bool:
    """`x[k] = v` changes a container; `obj.attr = v` on configuration objects is left alone."""
    targets: list[cst.BaseExpression]
    if isinstance(statement, cst.Assign):
        targets = [target.target for target in statement.targets]
    elif isinstance(statement, (cst.AugAssign, cst.AnnAssign)):
        targets = [statement.target]
    elif isinstance(statement, cst.Del):
        targets = [statement.target]
    else:
        return False
    return any(isinstance(target, cst.Subscript) for target in targets)


def _mutates(call: cst.Call, name: str, container: bool) -> bool:
    func = call.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name):
        return False
    mutators = CONTAINER_MUTATORS if container else UNAMBIGUOUS_MUTATORS
    return func.attr.value in mutators


def _method(call: cst.Call) -> str:
    assert isinstance(call.func, cst.Attribute)
    return call.func.attr.value


def _is_container(outer: Scope, name: str, module: ModuleAnalysis) -> bool:
    for binding in outer.bindings.get(name, []):
        value = binding.value
        if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
            return True
        if isinstance(value, cst.Call) and module.resolver.canonical(value.func, outer) in CONTAINER_FACTORIES:
            return True
    return False


# -- JIT002 ---------------------------------------------------------------------------------------


def find_external_writes(fn: TracedFunction, module: ModuleAnalysis) -> Iterator[Hit]:
    """
    ## What it does
    Flags traced code that writes state living outside the function: assigning a variable
    declared `global` or `nonlocal`, changing a list, dict or set it did not create
    (`history.append(x)`, `cache[key] = x`), or setting an attribute of `self` or of another
    outer object (`self.count = self.count + 1`).

    ## Why is this bad?
    While JAX traces, values are tracers. A tracer stored outside the function outlives the trace
    and "leaks": using it later raises `UnexpectedTracerError`. And because a cached trace does
    not run the Python body again, the write happens once, while tracing, not on every call, so
    counters stop counting and histories stop growing.

    ## Example
        losses = []

        @jax.jit
        def step(params, batch):
            loss = loss_fn(params, batch)
            losses.append(loss)       # appends a tracer, once
            return params

    ## Use instead
        @jax.jit
        def step(params, batch):
            loss = loss_fn(params, batch)
            return params, loss       # return it, and record it outside

        params, loss = step(params, batch)
        losses.append(loss)

    ## Known limits
    Writes to `self` are not reported in methods of Flax (`nnx.Module`, linen) and Equinox
    classes, or under `nnx.jit`, whose transforms propagate such state on purpose, nor in
    `__init__` and `setup`. Writes through aliases (`h = history; h.append(x)`) and to parameters
    (JAX hands the function fresh copies of pytree arguments) are not reported.
    """
    if not fn.executes:
        return  # only traced for shapes (eval_shape): recording what tracing sees is the point
    declared = {
        name for name, bindings in fn.scope.bindings.items() if any(binding.how is How.DECLARE for binding in bindings)
    }
    writer = _Writes(fn, module, declared)
    for node in own_nodes(fn.node):
        written = writer.outer_state_written(node)
        if written is not None and not module.in_trace_aware_code(node, fn):
            yield Hit(node, {"target": written.shown}, subject=written.root)


@dataclass(frozen=True)
class _Written:
    """State a statement writes: as the message shows it, and the name it hangs from."""

    shown: str  # `global 'g'`, `'cache'`, `'self.count'`
    root: str  # `g`, `cache`, `self`


class _Writes:
    """Decides whether a statement of a traced function writes state that outlives the trace."""

    def __init__(self, fn: TracedFunction, module: ModuleAnalysis, declared: set[str]) -> None:
        self.fn = fn
        self.module = module
        self.declared = declared
        self.flow = module.flow(fn)
        self.self_is_managed = _state_is_managed(fn, module)

    def outer_state_written(self, node: cst.CSTNode) -> _Written | None:
        """What `node` writes outside the trace, or None."""
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            if node.value is None or self.flow.kind(node.value) is Kind.STATIC:
                return None  # a Python constant leaks nothing (trace-time bookkeeping)
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            for target in targets:
                written = self._assigned(target)
                if written is not None:
                    return written
        elif isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            return self._mutated_by_call(node.value)
        return None

    def _assigned(self, target: cst.BaseExpression) -> _Written | None:
        if isinstance(target, cst.Name) and target.value in self.declared:
            kind = "global" if self.fn.scope.resolve(target.value) is self.fn.scope.module else "nonlocal"
            return _Written(f"{kind} '{target.value}'", target.value)
        root = _root_name(target)
        if root is not None and root is not target and self._is_outer(root):
            shown = source_text(target) if root.value == "self" else root.value
            return _Written(f"'{shown}'", root.value)
        return None

    def _mutated_by_call(self, call: cst.Call) -> _Written | None:
        if not isinstance(call.func, cst.Attribute):
            return None
        if not call.args or all(self.flow.kind(arg.value) is Kind.STATIC for arg in call.args):
            return None  # nothing traced goes in: no leak
        owner, method = call.func.value, call.func.attr.value
        root = _root_name(owner)
        if root is None or _through_at(owner) or not self._is_outer(root):
            return None
        # The method name says "container" on its own, or the outer name is bound to one.
        container = isinstance(owner, cst.Name) and self._is_container_name(owner.value)
        if method in (CONTAINER_MUTATORS if container else UNAMBIGUOUS_MUTATORS):
            return _Written(f"'{source_text(owner)}'", root.value)
        return None

    def _is_container_name(self, name: str) -> bool:
        outer = self.fn.scope.resolve(name)
        return outer is not None and _is_container(outer, name, self.module)

    def _is_outer(self, root: cst.Name) -> bool:
        """Whether `root` names an object that exists outside the trace (not created in it)."""
        if root.value == "self":
            return not self.self_is_managed and "self" in self.fn.scope.bindings
        if root.value in self.fn.scope.bindings:
            return False  # a local, or a parameter: JAX passes fresh copies of pytree arguments
        outer = self.fn.scope.resolve(root.value)
        if outer is None or id(outer) in self.module.flows.traced_by_scope:
            return False  # created by an enclosing function of the same trace: it dies with it
        bindings = outer.bindings.get(root.value, [])
        return not any(binding.how in (How.IMPORT, How.DEFINE) for binding in bindings)


def _root_name(node: cst.BaseExpression) -> cst.Name | None:
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node if isinstance(node, cst.Name) else None


def _through_at(node: cst.BaseExpression) -> bool:
    """`x.at[i]`: JAX's functional update syntax, which changes nothing in place."""
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        if isinstance(node, cst.Attribute) and node.attr.value == "at":
            return True
        node = node.value
    return False


def _state_is_managed(fn: TracedFunction, module: ModuleAnalysis) -> bool:
    """Methods whose writes to `self` are by design: constructors, and Flax/Equinox classes or
    `nnx.jit`, which carry object state through their transforms."""
    if fn.scope.name in ("__init__", "setup", "__post_init__"):
        return True
    if any(route.entry is not None and route.entry.name.startswith("flax.") for route in fn.routes):
        return True
    owner = fn.scope.enclosing_class()
    if owner is None or not isinstance(owner.node, cst.ClassDef):
        return False
    for base in owner.node.bases:
        origin = module.resolver.canonical(base.value, owner.parent or owner) or ""
        if origin.startswith(("flax.", "equinox.")):
            return True
    return False


EXTERNAL_STATE_WRITTEN = Rule(
    code="JIT002",
    name="external-state-written",
    summary="traced code writes a global, nonlocal, outer container or self attribute: a tracer leaks",
    message="traced function '{function}' writes {target}, which outlives the trace: the value is a "
    "tracer that leaks (UnexpectedTracerError when used later) and the write runs only while "
    "tracing; return the value instead",
    check=find_external_writes,
)


STALE_CAPTURED_VALUE = Rule(
    code="JIT001",
    name="stale-captured-value",
    summary="a global or closure value read in cached traced code changes later, unseen",
    message="'{name}' is read from {where} when JAX traces '{function}' and frozen into the compiled "
    "program, but it is {how} at line {line}; pass it as an argument",
    check=find_stale_captured_values,
)
