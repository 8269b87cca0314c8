"""Example inputs for tracing: the `# jitlint: example` syntax and what a parameter implies.

An example is a Python expression in which `f32[3, 4]` (dtypes f32, f64, i32, i64, bool, u32;
`f32[]` for a scalar) is an array of that shape and `key` is a PRNG key; anything else must be a
Python literal or a name the module defines or imports (`jnp.tanh`). Dicts, lists and tuples of
these make pytrees, and a call of such a name with such arguments makes an object
(`self=Model(f32[3, 2], 0.5)`):

    # jitlint: example params={"w": f32[3, 2], "b": f32[2]}, x=f32[4, 3], n=5, key=key

Specs travel to the child process as JSON: `{"array": "f32", "shape": [3, 4]}`, `{"key": true}`,
`{"literal": "5"}` (Python source), `{"tuple"|"list": [...]}`, `{"dict": [[key, value], ...]}`,
`{"name": "jnp.tanh"}`, `{"call": "name", "args": [...], "kwargs": [[name, spec], ...]}`,
`{"default": true}` (pass the parameter's default value), `{"instance": "Class"}` (an object of
the method's class). A parameter left out of the arguments keeps its default.

This module runs in the parent process: it never imports jax.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jitlint.findings import Parameter, TraceTarget

Spec = dict[str, Any]

DTYPES = frozenset({"f32", "f64", "i32", "i64", "bool", "u32"})
ARRAY_DEFAULT: Spec = {"array": "f32", "shape": [4]}

_EMPTY_SHAPE = re.compile(r"\b(" + "|".join(sorted(DTYPES)) + r")\[\s*\]")
_ARRAY_ANNOTATIONS = frozenset({"Array", "ndarray", "ArrayLike"})
_KEY_ANNOTATIONS = frozenset({"PRNGKeyArray", "KeyArray", "PRNGKey"})
_PYTHON_ANNOTATIONS: Mapping[str, Spec] = {
    "int": {"literal": "3"},
    "float": {"literal": "0.5"},
    "bool": {"literal": "True"},
}
# jaxtyping: `Float[Array, "batch dim"]`
_JAXTYPING_DTYPES = {
    "Float": "f32",
    "Float32": "f32",
    "Float64": "f64",
    "Shaped": "f32",
    "Num": "f32",
    "Real": "f32",
    "Inexact": "f32",
    "Int": "i32",
    "Int32": "i32",
    "Int64": "i64",
    "Integer": "i32",
    "UInt": "u32",
    "UInt32": "u32",
    "Bool": "bool",
}
_KEY_NAMES = frozenset({"key", "rng", "prng", "rng_key", "prng_key", "subkey", "rngkey"})
_SMALL_DIMS = (2, 3, 4, 5, 6, 7)


class ExampleError(ValueError):
    """An example comment or pyproject entry that does not follow the syntax."""


def parse_examples(text: str) -> dict[str, Spec]:
    """`x=f32[3,4], n=5, key=key` → {"x": {...}, "n": {...}, "key": {...}}."""
    source = _EMPTY_SHAPE.sub(r"\1[()]", text)
    try:
        tree = ast.parse(f"_({source})", mode="eval")
    except SyntaxError:
        raise ExampleError(f"cannot read example '{text}': write name=value pairs") from None
    call = tree.body
    assert isinstance(call, ast.Call)
    if call.args or any(keyword.arg is None for keyword in call.keywords):
        raise ExampleError(f"cannot read example '{text}': write name=value pairs")
    return {keyword.arg: _spec(keyword.value) for keyword in call.keywords if keyword.arg}


def _spec(node: ast.expr) -> Spec:
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in DTYPES:
        return {"array": node.value.id, "shape": _shape(node.slice)}
    if isinstance(node, ast.Name) and node.id == "key":
        return {"key": True}
    if isinstance(node, (ast.Name, ast.Attribute)) and _dotted(node) is not None:
        return {"name": _dotted(node)}  # a function or object the module defines or imports
    if isinstance(node, (ast.Tuple, ast.List)):
        return {"tuple" if isinstance(node, ast.Tuple) else "list": [_spec(item) for item in node.elts]}
    if isinstance(node, ast.Call) and _dotted(node.func) is not None:
        if any(keyword.arg is None for keyword in node.keywords) or any(
            isinstance(arg, ast.Starred) for arg in node.args
        ):
            raise ExampleError("`*` and `**` are not allowed in an example call")
        return {
            "call": _dotted(node.func),
            "args": [_spec(arg) for arg in node.args],
            "kwargs": [[keyword.arg, _spec(keyword.value)] for keyword in node.keywords],
        }
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise ExampleError("`**` is not allowed in an example dict")
        return {"dict": [[_spec(key), _spec(value)] for key, value in zip(node.keys, node.values) if key]}
    try:
        ast.literal_eval(node)
    except ValueError:
        raise ExampleError(
            f"cannot use '{ast.unparse(node)}' as an example: use a shape such as f32[3], key, or a Python literal"
        ) from None
    return {"literal": ast.unparse(node)}


def _dotted(node: ast.expr) -> str | None:
    """`Model`, `models.Model`, `jnp.ones`: a name the module defines or imports."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _shape(node: ast.expr) -> list[int]:
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    dims = []
    for item in items:
        if not (isinstance(item, ast.Constant) and type(item.value) is int and item.value >= 0):
            raise ExampleError(f"array dimensions must be non-negative integers, not '{ast.unparse(item)}'")
        dims.append(item.value)
    return dims


@dataclass(frozen=True)
class Arguments:
    """What to pass for each parameter, and the parameters that have no example."""

    specs: tuple[tuple[str, str, Spec | None], ...]  # (name, kind, spec); None: leave it out
    missing: tuple[str, ...] = ()  # parameters without an example (then nothing can run)


def plan_arguments(target: TraceTarget, configured: Mapping[str, str], qualified: str) -> Arguments:
    """The example input of each parameter of `target`, in the documented order: the
    `# jitlint: example` comment, `[tool.jitlint.examples]`, the annotation, the default, a
    key-like name. Static parameters, and defaults no call passes, keep their default.

    Raises ExampleError for an example that does not follow the syntax.
    """
    explicit: dict[str, Spec] = {}
    for text in target.examples:
        explicit.update(parse_examples(text))
    from_config = configured.get(qualified) or configured.get(target.function)
    configured_specs = parse_examples(from_config) if from_config else {}
    dims: dict[str, int] = {}
    specs: list[tuple[str, str, Spec | None]] = []
    missing: list[str] = []
    for index, parameter in enumerate(target.parameters):
        name = parameter.name
        spec: Spec | None
        if name in explicit:
            spec = explicit[name]
        elif name in configured_specs:
            spec = configured_specs[name]
        elif parameter.kind in ("var-positional", "var-keyword"):
            spec = None  # *args and **kwargs get nothing unless an example names them
        elif index == 0 and target.owner is not None:
            spec = {"instance": target.owner}
        else:
            spec = _implied(parameter, target, dims)
            if spec is None and parameter.default is None:
                missing.append(name)
        specs.append((name, parameter.kind, spec))
    return Arguments(tuple(specs), tuple(missing))


def _implied(parameter: Parameter, target: TraceTarget, dims: dict[str, int]) -> Spec | None:
    """An input the parameter's declaration implies; None: keep the default (or none exists)."""
    has_default = parameter.default is not None
    if has_default and (parameter.name in target.static or not parameter.default_passed):
        return None  # a Python value in the source too: the default it always has
    if parameter.annotation is not None:
        spec = from_annotation(parameter.annotation, dims)
        if spec is not None:
            return spec
    if has_default:
        return {"default": True}  # passed by some call, so traced: pass the default value
    if parameter.name == target.index_parameter:
        return {"array": "i32", "shape": []}
    if is_key_name(parameter.name):
        return {"key": True}
    return None


def is_key_name(name: str) -> bool:
    return name.lower() in _KEY_NAMES or name.lower().endswith(("_key", "_rng"))


def from_annotation(text: str, dims: dict[str, int]) -> Spec | None:
    """`jax.Array` → f32[4]; `Float[Array, "n d"]` → f32 with small dims; `int` → 3; key types
    → a key. `dims` keeps jaxtyping's named dimensions consistent across parameters."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        return from_annotation(node.value, dims)
    if isinstance(node, ast.Subscript):
        return _jaxtyping(node, dims)
    name = _last_name(node)
    if name in _ARRAY_ANNOTATIONS:
        return dict(ARRAY_DEFAULT)
    if name in _KEY_ANNOTATIONS:
        return {"key": True}
    if name is not None and name in _PYTHON_ANNOTATIONS:
        return dict(_PYTHON_ANNOTATIONS[name])
    return None


def _jaxtyping(node: ast.Subscript, dims: dict[str, int]) -> Spec | None:
    head = _last_name(node.value)
    if head == "Key":
        return {"key": True}
    dtype = _JAXTYPING_DTYPES.get(head or "")
    if dtype is None or not isinstance(node.slice, ast.Tuple) or len(node.slice.elts) != 2:
        return None
    described = node.slice.elts[1]
    if not (isinstance(described, ast.Constant) and isinstance(described.value, str)):
        return None
    shape = []
    for dim in described.value.split():
        if dim.isdigit():
            shape.append(int(dim))
        elif dim == "..." or dim.startswith("*"):
            continue  # any number of axes: none
        elif re.fullmatch(r"[#_]?[A-Za-z_]\w*|_", dim):
            symbol = dim.lstrip("#")
            if symbol not in dims:
                dims[symbol] = _SMALL_DIMS[len(dims) % len(_SMALL_DIMS)]
            shape.append(dims[symbol])
        else:
            return None  # `n+1` and other expressions
    return {"array": dtype, "shape": shape}


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def example_hint(target: TraceTarget, missing: tuple[str, ...]) -> str:
    """Why nothing can run, and the comment that would give the missing inputs."""
    names = ", ".join(f"'{name}'" for name in missing)
    what = f"no example input for {names}"
    if target.function.endswith("<lambda>"):
        return f"{what}: a lambda cannot carry an example; make it a def with a `# jitlint: example` comment"
    pairs = ", ".join(f"{name}={'key' if is_key_name(name) else 'f32[3]'}" for name in missing)
    name = target.function.rsplit(".", 1)[-1]
    return f"{what}; write `# jitlint: example {pairs}` (your shapes) above `def {name}`"
