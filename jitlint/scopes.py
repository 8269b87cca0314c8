"""One walk of a module: its scopes, the calls each scope makes, and the names each scope binds.

Everything later stages need about a module that is not inside a traced body comes from here, so
the whole file is walked once and only traced bodies are looked at again.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import libcst as cst

from jitlint.walk import (
    IN_HANDLER,
    IN_LOOP,
    ScopeNode,
    all_params,
    dotted_name,
    scope_nodes,
)


class ScopeKind(enum.Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    LAMBDA = "lambda"


class How(enum.Enum):
    """The statement that binds a name."""

    IMPORT = "import"
    ASSIGN = "assignment"
    AUGMENT = "augmented assignment"
    DEFINE = "definition"  # def or class
    PARAMETER = "parameter"
    LOOP = "loop target"
    WITH = "with target"
    EXCEPT = "except target"
    DECLARE = "global/nonlocal declaration"


@dataclass(frozen=True)
class Binding:
    """One way a scope binds a name: an import (with its dotted origin) or anything else."""

    origin: str | None  # "jax.numpy" for `import jax.numpy as jnp`; None for other bindings
    value: cst.BaseExpression | None = None  # the right-hand side of `name = value`
    in_fallback: bool = False  # inside an `except` handler: the import fallback idiom
    how: How = How.ASSIGN
    node: cst.CSTNode | None = None  # the statement (or target) that binds it
    in_loop: bool = False  # inside a loop: bound again on every iteration


@dataclass(eq=False)
class Scope:
    """A module, class, function or lambda, with what its own body (not nested bodies) holds."""

    node: ScopeNode
    kind: ScopeKind
    name: str
    parent: Scope | None
    calls: list[cst.Call] = field(default_factory=list)
    children: list[Scope] = field(default_factory=list)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    # Names whose object this scope changes in place: `name[k] = v`, `name.attr = v`, `del name[k]`
    mutations: list[tuple[str, cst.CSTNode]] = field(default_factory=list)
    # Calls and in-place changes that sit inside a loop body (by node id): they run repeatedly.
    in_loops: set[int] = field(default_factory=set)
    # Calls whose result is thrown away (`history.append(x)` as a statement), by node id.
    discarded_calls: set[int] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)  # `global name` in this scope
    declared_nonlocal: set[str] = field(default_factory=set)  # `nonlocal name` in this scope
    # The functions among `children`, by name: looking one up must not cost a pass over every
    # definition of a module with thousands of them.
    functions: dict[str, list[Scope]] = field(default_factory=dict)
    _index: ModuleIndex | None = field(default=None, repr=False)  # the module's, built on demand

    @property
    def qualname(self) -> str:
        """`Model.__call__`, `make_step.step`, `<lambda>`: the name users know it by."""
        parts = []
        scope: Scope | None = self
        while scope is not None and scope.kind is not ScopeKind.MODULE:
            parts.append(scope.name)
            scope = scope.parent
        return ".".join(reversed(parts))

    def functions_named(self, name: str) -> list[Scope]:
        """Functions defined directly in this scope under `name`, in source order."""
        return list(self.functions.get(name, ()))

    def enclosing_class(self) -> Scope | None:
        """The class a method (or a function nested in a method) belongs to."""
        scope: Scope | None = self.parent
        while scope is not None and scope.kind is not ScopeKind.CLASS:
            scope = scope.parent
        return scope

    def lookup_chain(self) -> list[Scope]:
        """Scopes searched for a free name, innermost first; class bodies are skipped (Python rules)."""
        chain = [self]
        scope = self.parent
        while scope is not None:
            if scope.kind is not ScopeKind.CLASS:
                chain.append(scope)
            scope = scope.parent
        return chain

    def resolve(self, name: str) -> Scope | None:
        """The scope whose binding of `name` a read in this scope sees (None: builtin or unknown).

        `global name` sends the read to the module; `nonlocal name` to the enclosing functions.
        """
        for candidate in self.lookup_chain():
            bindings = candidate.bindings.get(name)
            if not bindings:
                continue
            declared = [b for b in bindings if b.how is How.DECLARE]
            if declared and isinstance(declared[0].node, cst.Global):
                return candidate.module
            if not declared:  # with `nonlocal`, the binding lives further out
                return candidate
        return None

    def tree(self) -> Iterator[Scope]:
        """This scope and every scope nested in it."""
        stack = [self]
        while stack:
            scope = stack.pop()
            yield scope
            stack.extend(reversed(scope.children))

    @property
    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    @property
    def index(self) -> ModuleIndex:
        """The module-wide look-ups of the module this scope is in (built on first use)."""
        root = self.module
        if root._index is None:
            root._index = ModuleIndex(root)
        return root._index

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def release(self) -> None:
        """Unlink the scope tree once a file is done with it.

        A parent and its children refer to each other: a cycle that reference counting cannot
        free, so the tree and the whole libcst module it holds would wait for Python's cyclic
        garbage collector, whose passes over them cost a second on the real corpus.
        """
        for scope in list(self.tree()):
            scope.children = []
            scope.functions = {}
            scope.parent = None
            scope._index = None


# Entries of the index tables, numbered by their scope's place in pre-order.
_Numbered = TypeVar("_Numbered", tuple[int, Scope], tuple[int, Scope, cst.Call])


class ModuleIndex:
    """Module-wide questions, answered from tables built in one pass over the scope tree.

    "Which calls name `step`?" or "where is `cache` changed?" then costs the calls and scopes
    that answer it. Scanning the whole module for each traced function instead made a file's
    analysis quadratic in its size: 50k lines of jitted code took two minutes.
    """

    def __init__(self, root: Scope) -> None:
        # Pre-order, children in source order: the scopes nested in one form a contiguous run.
        self.scopes = list(root.tree())
        # Scope id → (its number, the number past the last scope nested in it).
        self._span: dict[int, tuple[int, int]] = {}
        for number in range(len(self.scopes) - 1, -1, -1):
            scope = self.scopes[number]
            past = self._span[id(scope.children[-1])][1] if scope.children else number + 1
            self._span[id(scope)] = (number, past)
        self._scope_of_node = {id(scope.node): scope for scope in self.scopes}
        self._scope_of_call: dict[int, Scope] = {}
        self._by_name: dict[str, list[tuple[int, Scope, cst.Call]]] = {}
        self._by_attribute: dict[str, list[tuple[Scope, cst.Call]]] = {}
        self._changing: dict[str, list[tuple[int, Scope]]] = {}
        # (scope number, name) → `name(...)` calls / `name.method(...)` calls / `name[k] = v`
        # statements in that scope's own body.
        self._own_calls_of: dict[tuple[int, str], list[cst.Call]] = {}
        self._calls_on: dict[tuple[int, str], list[cst.Call]] = {}
        self._mutations: dict[tuple[int, str], list[cst.CSTNode]] = {}
        for number, scope in enumerate(self.scopes):
            changed = set(scope.bindings)
            for call in scope.calls:
                self._scope_of_call[id(call)] = scope
                func = call.func
                if type(func) is cst.Name:  # exact types: a failed isinstance is slow (walk.py)
                    self._by_name.setdefault(func.value, []).append((number, scope, call))
                    self._own_calls_of.setdefault((number, func.value), []).append(call)
                elif type(func) is cst.Attribute:
                    self._by_attribute.setdefault(func.attr.value, []).append((scope, call))
                    if type(func.value) is cst.Name:
                        self._calls_on.setdefault((number, func.value.value), []).append(call)
                        changed.add(func.value.value)
            for name, statement in scope.mutations:
                self._mutations.setdefault((number, name), []).append(statement)
                changed.add(name)
            for name in changed:
                if not _is_own_local(scope, name):
                    self._changing.setdefault(name, []).append((number, scope))

    def scope_defined_by(self, node: cst.CSTNode) -> Scope | None:
        """The scope of a `def`, `class` or `lambda` node."""
        return self._scope_of_node.get(id(node))

    def scope_of(self, call: cst.CSTNode) -> Scope | None:
        """The scope whose own body makes `call`."""
        return self._scope_of_call.get(id(call))

    def number(self, scope: Scope) -> int:
        """The scope's place in the pre-order of the module's scopes."""
        return self._span[id(scope)][0]

    def calls_of_name(self, name: str, within: Scope | None = None) -> list[tuple[Scope, cst.Call]]:
        """The calls `name(...)` in the module, or in `within` and the scopes nested in it."""
        return [(scope, call) for _, scope, call in self._within(self._by_name.get(name, []), within)]

    def calls_of_attribute(self, attribute: str) -> list[tuple[Scope, cst.Call]]:
        """The calls `anything.attribute(...)` in the module."""
        return self._by_attribute.get(attribute, [])

    def own_calls_of_name(self, scope: Scope, name: str) -> list[cst.Call]:
        """The calls `name(...)` that `scope`'s own body makes, in source order."""
        return self._own_calls_of.get((self.number(scope), name), [])

    def calls_on(self, scope: Scope, name: str) -> list[cst.Call]:
        """The calls `name.method(...)` that `scope`'s own body makes, in source order."""
        return self._calls_on.get((self.number(scope), name), [])

    def mutations_of(self, scope: Scope, name: str) -> list[cst.CSTNode]:
        """The statements of `scope` that change `name[k]` or `name.attr` (Scope.mutations)."""
        return self._mutations.get((self.number(scope), name), [])

    def scopes_changing_outer(self, name: str, within: Scope | None = None) -> list[Scope]:
        """The scopes, in pre-order, that may change an outer scope's `name`: they rebind it
        after `global`/`nonlocal`, change `name[k]` or `name.attr`, or call a method on it.
        Scopes where `name` is a plain local of their own are left out (what they change is
        theirs), so a common parameter name does not bring in every function of the module."""
        return [scope for _, scope in self._within(self._changing.get(name, []), within)]

    def _within(self, entries: list[_Numbered], within: Scope | None) -> list[_Numbered]:
        """The entries (numbered by scope, in pre-order) of `within` and the scopes in it."""
        if within is None:
            return entries
        first, past = self._span[id(within)]
        return entries[bisect.bisect_left(entries, first, key=_number) : bisect.bisect_left(entries, past, key=_number)]


def _is_own_local(scope: Scope, name: str) -> bool:
    """Whether `scope` binds `name` as its own local (reads of it there never leave the scope)."""
    bindings = scope.bindings.get(name, [])
    return bool(bindings) and all(binding.how is not How.DECLARE for binding in bindings)


def _number(entry: tuple[int, Scope] | tuple[int, Scope, cst.Call]) -> int:
    return entry[0]


def build_scopes(module: cst.Module) -> Scope:
    """Walk the module once and return its scope tree."""
    root = Scope(module, ScopeKind.MODULE, "<module>", None)
    pending = [root]
    while pending:
        scope = pending.pop()
        _bind_parameters(scope)
        for node, place in scope_nodes(scope.node, _WANTED):
            # Exact types, not isinstance: see walk.py (most nodes match none of these).
            node_type = type(node)
            if type(node) is cst.Call:
                scope.calls.append(node)
                if place & IN_LOOP:
                    scope.in_loops.add(id(node))
            elif type(node) is cst.Expr and type(node.value) is cst.Call:
                scope.discarded_calls.add(id(node.value))
            elif node_type in _KIND_OF:
                assert isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
                child = Scope(node, _KIND_OF[node_type], _name_of(node), scope)
                scope.children.append(child)
                if child.kind is ScopeKind.FUNCTION:
                    scope.functions.setdefault(child.name, []).append(child)
                pending.append(child)
                if not isinstance(node, cst.Lambda):
                    scope.bind(node.name.value, _Binder(node, place).make(How.DEFINE))
            elif node_type in _BINDING_TYPES:
                _record_bindings(node, scope, _Binder(node, place))
    return root


_KIND_OF: dict[type, ScopeKind] = {
    cst.FunctionDef: ScopeKind.FUNCTION,
    cst.ClassDef: ScopeKind.CLASS,
    cst.Lambda: ScopeKind.LAMBDA,
}

# The node types _record_bindings acts on.
_BINDING_TYPES = frozenset(
    {
        cst.Import,
        cst.ImportFrom,
        cst.Assign,
        cst.AnnAssign,
        cst.AugAssign,
        cst.For,
        cst.CompFor,
        cst.WithItem,
        cst.ExceptHandler,
        cst.NamedExpr,
        cst.Global,
        cst.Nonlocal,
        cst.Del,
    }
)
_WANTED = frozenset({cst.Call, cst.Expr, *_KIND_OF, *_BINDING_TYPES})


def _name_of(node: cst.FunctionDef | cst.ClassDef | cst.Lambda) -> str:
    return "<lambda>" if isinstance(node, cst.Lambda) else node.name.value


def _bind_parameters(scope: Scope) -> None:
    if isinstance(scope.node, (cst.FunctionDef, cst.Lambda)):
        for param in all_params(scope.node.params):
            scope.bind(param.name.value, Binding(None, how=How.PARAMETER, node=param))


@dataclass(frozen=True)
class _Binder:
    """Makes the bindings of one statement, which share its node and place."""

    node: cst.CSTNode
    place: int

    def make(self, how: How, origin: str | None = None, value: cst.BaseExpression | None = None) -> Binding:
        return Binding(
            origin,
            value,
            in_fallback=bool(self.place & IN_HANDLER) or how is How.EXCEPT,
            how=how,
            node=self.node,
            in_loop=bool(self.place & IN_LOOP) or how is How.LOOP,
        )


def _record_bindings(node: cst.CSTNode, scope: Scope, binder: _Binder) -> None:
    """Record the names that one statement or expression binds (or changes) in `scope`."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            origin = dotted_name(alias.name)
            if origin is not None:
                # `import jax.numpy` binds `jax`, which refers to the package `jax`.
                first = origin.split(".", 1)[0]
                _bind_import(scope, alias, first, first if alias.asname is None else origin, binder)
    elif isinstance(node, cst.ImportFrom):
        if isinstance(node.names, cst.ImportStar):
            return
        base = _import_from_base(node)
        separator = "" if base.endswith(".") else "."
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is not None:
                _bind_import(scope, alias, name, f"{base}{separator}{name}", binder)
    elif isinstance(node, cst.Assign):
        for target in node.targets:
            _bind_target(scope, target.target, node.value, binder, How.ASSIGN)
    elif isinstance(node, cst.AnnAssign):
        _bind_target(scope, node.target, node.value, binder, How.ASSIGN)
    elif isinstance(node, cst.AugAssign):
        _bind_target(scope, node.target, None, binder, How.AUGMENT)
    elif isinstance(node, (cst.For, cst.CompFor)):
        _bind_target(scope, node.target, None, binder, How.LOOP)
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        _bind_target(scope, node.asname.name, None, binder, How.WITH)
    elif isinstance(node, cst.ExceptHandler) and node.name is not None:
        _bind_target(scope, node.name.name, None, binder, How.EXCEPT)
    elif isinstance(node, cst.NamedExpr):
        _bind_target(scope, node.target, node.value, binder, How.ASSIGN)
    elif isinstance(node, (cst.Global, cst.Nonlocal)):
        for item in node.names:
            scope.bind(item.name.value, binder.make(How.DECLARE))
            declared = scope.declared_global if isinstance(node, cst.Global) else scope.declared_nonlocal
            declared.add(item.name.value)
    elif isinstance(node, cst.Del):
        _record_mutation(scope, node.target, binder)


def _bind_import(scope: Scope, alias: cst.ImportAlias, local: str, origin: str, binder: _Binder) -> None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        local = alias.asname.name.value
    scope.bind(local, binder.make(How.IMPORT, origin))


def _import_from_base(node: cst.ImportFrom) -> str:
    """`jax.numpy` for `from jax.numpy import ...`; `..sub` for `from ..sub import ...`.

    Relative bases keep their dots; imports.py resolves them against the file's package.
    """
    module = dotted_name(node.module) or "" if node.module is not None else ""
    dots = "." * len(node.relative)
    return f"{dots}{module}"


def _bind_target(
    scope: Scope,
    target: cst.BaseExpression,
    value: cst.BaseExpression | None,
    binder: _Binder,
    how: How,
) -> None:
    if isinstance(target, cst.Name):
        scope.bind(target.value, binder.make(how, value=value))
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _bind_target(scope, element.value, None, binder, how)
    elif isinstance(target, cst.StarredElement):
        _bind_target(scope, target.value, None, binder, how)
    else:
        _record_mutation(scope, target, binder)


def _record_mutation(scope: Scope, target: cst.BaseExpression, binder: _Binder) -> None:
    """`cache[k] = v`, `obj.a = v`, `del d[k]`: the object named at the root changes in place."""
    root = target
    while isinstance(root, (cst.Subscript, cst.Attribute)):
        root = root.value
    if isinstance(root, cst.Name) and root is not target:
        scope.mutations.append((root.value, binder.node))
        if binder.place & IN_LOOP:
            scope.in_loops.add(id(binder.node))
