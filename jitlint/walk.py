"""A cheap walk over libcst trees.

libcst's visitor dispatch costs about as much as parsing; walking the dataclass fields directly,
skipping the whitespace and punctuation fields, is more than ten times cheaper. The walk is
iterative so that deeply nested code cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator

import libcst as cst

# Fields that hold only whitespace, comments or punctuation tokens: never a name or an expression.
_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "colon",
        "dot",
        "equal",
        "star",
        "operator",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "newline",
        "trailing_whitespace",
        "asynchronous",
        "first_colon",
        "second_colon",
        "relative",
        "comment",
        "whitespace",
        "indent",
        "encoding",
        "default_indent",
        "default_newline",
        "empty_lines",
        "posonly_ind",
        "trailing_comma",
        "separator",
        "conversion",
    }
)

ScopeNode = cst.Module | cst.FunctionDef | cst.ClassDef | cst.Lambda


# libcst's node classes are ABCs, so every failed `isinstance` goes through ABCMeta and costs
# about as much as visiting the node. The walk tests exact types instead: parsed trees hold only
# the concrete classes, and both tables below fill in once per type.
class _ChildFields(dict[type, tuple[str, ...]]):
    """Node type → the names of its fields that can hold code; filled in once per type."""

    def __missing__(self, node_type: type) -> tuple[str, ...]:
        fields = tuple(
            field.name
            for field in dataclasses.fields(node_type)
            if field.name not in _SKIPPED_FIELDS
            and not field.name.startswith("whitespace")
            and field.type is not str  # the text of a name or literal: a leaf
        )
        self[node_type] = fields
        return fields


class _IsNodeType(dict[type, bool]):
    """Value type → whether it is a libcst node; filled in once per type."""

    def __missing__(self, value_type: type) -> bool:
        is_node = self[value_type] = issubclass(value_type, cst.CSTNode)
        return is_node


_CHILD_FIELDS = _ChildFields()
_IS_NODE_TYPE = _IsNodeType()
_DEFINITIONS = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})
_LOOPS = frozenset({cst.For, cst.While})


def _add_children(node: cst.CSTNode, found: list[cst.CSTNode]) -> None:
    """Append the direct child nodes that can hold code to `found`, in source order."""
    is_node = _IS_NODE_TYPE
    for name in _CHILD_FIELDS[type(node)]:
        value = getattr(node, name)
        value_type = type(value)
        if value_type is tuple or value_type is list:
            found.extend(item for item in value if is_node[type(item)])
        elif is_node[value_type]:
            found.append(value)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The direct child nodes that can hold code, in source order."""
    found: list[cst.CSTNode] = []
    _add_children(node, found)
    return found


def descendants(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below `root` in source order (pre-order), iteratively."""
    stack = _reversed_children(root)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_reversed_children(node))


# Where a node sits in its scope, as bit flags (cheap to carry on the walk's stack).
IN_HANDLER = 1  # inside an `except` handler, where bindings are import fallbacks
IN_LOOP = 2  # inside a `for` or `while` body, where bindings happen again and again


def scope_nodes(scope: ScopeNode, wanted: frozenset[type] | None = None) -> list[tuple[cst.CSTNode, int]]:
    """Each node a scope itself evaluates, in source order, with its place flags; with `wanted`,
    only the nodes of those types (build_scopes needs few, and leaves then cost nothing).

    Nested functions, lambdas and classes are included but their bodies are not entered: only
    their decorators, defaults, annotations and bases, which the enclosing scope evaluates.
    """
    top = scope.body if isinstance(scope, cst.Module) else [scope.body]
    stack: list[tuple[cst.CSTNode, int]] = [(node, 0) for node in reversed(top)]
    found: list[tuple[cst.CSTNode, int]] = []
    fields_of = _CHILD_FIELDS
    while stack:
        node, place = stack.pop()
        node_type = type(node)
        if wanted is None or node_type in wanted:
            found.append((node, place))
        if node_type in _DEFINITIONS:
            assert isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
            parts = list(outer_parts(node))
        else:
            parts = children(node)
        if not parts:
            continue
        if node_type is cst.ExceptHandler:
            place |= IN_HANDLER
        elif node_type in _LOOPS:
            place |= IN_LOOP
        parts.reverse()
        if wanted is None:
            stack.extend([(part, place) for part in parts])
        else:  # a leaf (a name, a number) of a type not wanted has nothing to give
            stack.extend([(part, place) for part in parts if fields_of[type(part)] or type(part) in wanted])
    return found


def own_nodes(scope: ScopeNode) -> Iterator[cst.CSTNode]:
    """The nodes of a scope's own body (see scope_nodes), without the place flags."""
    for node, _ in scope_nodes(scope):
        yield node


def _reversed_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    found = children(node)
    found.reverse()
    return found


def outer_parts(node: cst.FunctionDef | cst.ClassDef | cst.Lambda) -> Iterator[cst.CSTNode]:
    """The parts of a definition that the enclosing scope evaluates: decorators, defaults, bases."""
    if isinstance(node, cst.ClassDef):
        yield from node.decorators
        for arg in (*node.bases, *node.keywords):
            yield arg.value
        return
    if isinstance(node, cst.FunctionDef):
        yield from node.decorators
        if node.returns is not None:
            yield node.returns.annotation
    for param in all_params(node.params):
        if param.default is not None:
            yield param.default
        if isinstance(node, cst.FunctionDef) and param.annotation is not None:
            yield param.annotation.annotation


def all_params(params: cst.Parameters) -> list[cst.Param]:
    """Every parameter of a signature, in declaration order."""
    result = [*params.posonly_params, *params.params]
    if isinstance(params.star_arg, cst.Param):
        result.append(params.star_arg)
    result.extend(params.kwonly_params)
    if params.star_kwarg is not None:
        result.append(params.star_kwarg)
    return result


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`jax.numpy.sum` for an attribute chain over a name; None for anything else."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def call_argument(call: cst.Call, position: int | None, keyword: str) -> cst.BaseExpression | None:
    """The argument a call passes for a parameter, by keyword or by position (None: absent, or
    hidden behind a `*args` before it)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position is None:
        return None
    positional = [arg for arg in call.args if arg.keyword is None]
    if any(arg.star for arg in positional[: position + 1]):
        return None
    return positional[position].value if position < len(positional) else None


def integer_value(node: cst.Integer) -> int | None:
    """The value of an integer literal; None when Python refuses to convert it: int() raises on
    decimal literals of more than 4300 digits (as compile() does, from Python 3.11)."""
    try:
        return int(node.value, 0)
    except ValueError:
        return None


def string_value(node: cst.SimpleString) -> str | None:
    """The text of a string literal; None for bytes, or for a literal that compile() would refuse
    (an unknown `\\N{...}` name), which libcst parses all the same."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `"\\d"` warns on Python 3.12+: not for our stderr
            value = node.evaluated_value
    except (SyntaxError, ValueError):
        return None
    return value if isinstance(value, str) else None


def source_text(node: cst.CSTNode) -> str:
    """The code of a node, for messages (`self.history`, `iter(xs)`)."""
    return cst.Module(body=[]).code_for_node(node)
