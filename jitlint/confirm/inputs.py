"""Example specs (see examples.py) → argument values, and the user's function found at run time.

Child process only (imports jax).
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from jitlint.confirm.examples import Spec

DTYPES: dict[str, Any] = {
    "f32": jnp.float32,
    "f64": jnp.float64,
    "i32": jnp.int32,
    "i64": jnp.int64,
    "bool": jnp.bool_,
    "u32": jnp.uint32,
}


class InputError(Exception):
    """The function or an input for it cannot be found or built; the reason is the message."""


@dataclass(frozen=True)
class Inputs:
    """Arguments for one call: positional and keyword."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


class InputBuilder:
    """Builds the arguments of `function` from its planned specs."""

    def __init__(
        self, module: ModuleType, function: Callable[..., Any], specs: tuple[tuple[str, str, Spec | None], ...]
    ) -> None:
        self.module = module
        self.function = function
        self.specs = specs
        self.instances: dict[str, object] = {}  # one object per class: checks watch the one passed
        self.made: dict[tuple[str, bool], object] = {}  # objects made by example calls
        self.values: dict[str, object] = {}  # each parameter's value in the latest build

    def build(self, *, concrete: bool, scalar: bool = False) -> Inputs:
        """Arrays become ShapeDtypeStructs (for tracing) or deterministic arrays (`concrete`);
        `scalar` turns every array into a 0-d one (for conditions on whole arrays)."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        by_keyword = False  # after a left-out positional parameter, the rest go by keyword
        for salt, (name, kind, spec) in enumerate(self.specs):
            if spec is None:
                by_keyword = by_keyword or kind in ("positional-only", "positional")
                continue
            value = self._value(spec, name, concrete, scalar, salt)
            self.values[name] = value
            if kind == "positional-only" or (kind == "positional" and not by_keyword):
                args.append(value)
            elif kind == "var-positional":
                args.extend(value)
            elif kind == "var-keyword":
                kwargs.update(value)
            else:
                kwargs[name] = value
        return Inputs(tuple(args), kwargs)

    def _value(self, spec: Spec, name: str, concrete: bool, scalar: bool, salt: int) -> Any:
        if "array" in spec:
            shape = () if scalar else tuple(spec["shape"])
            dtype = DTYPES[spec["array"]]
            if concrete:
                return _array(dtype, shape, salt)
            return jax.ShapeDtypeStruct(shape, dtype)  # type: ignore[no-untyped-call]
        if "key" in spec:
            return jax.random.key(salt)
        if "literal" in spec:
            return ast.literal_eval(spec["literal"])
        if "tuple" in spec or "list" in spec:
            elements: list[Spec] = spec["tuple"] if "tuple" in spec else spec["list"]
            items = [self._value(item, name, concrete, scalar, salt + i) for i, item in enumerate(elements)]
            return tuple(items) if "tuple" in spec else items
        if "dict" in spec:
            return {
                self._value(key, name, concrete, scalar, salt): self._value(value, name, concrete, scalar, salt + i)
                for i, (key, value) in enumerate(spec["dict"])
            }
        if "name" in spec:
            found = _resolve(self.module, spec["name"])
            if found is None:
                raise InputError(f"example: the module has no name '{spec['name']}'")
            return found
        if "call" in spec:
            key = (repr(spec), scalar)  # one object per example: static `self` must stay the same
            if key not in self.made:
                self.made[key] = self._call(spec, name, scalar, salt)
            return self.made[key]
        if "default" in spec:
            return inspect.signature(self.function).parameters[name].default
        if "instance" in spec:
            owner = spec["instance"]
            if owner not in self.instances:
                self.instances[owner] = instance_of(self.module, owner)
            return self.instances[owner]
        raise InputError(f"unknown example spec {spec!r}")

    def _call(self, spec: Spec, name: str, scalar: bool, salt: int) -> object:
        """`Model(f32[3, 2], 0.5)`: a name of the module called with real arrays."""
        function = _resolve(self.module, spec["call"])
        if not callable(function):
            raise InputError(f"example: '{spec['call']}' is not something the module can call")
        args = [self._value(arg, name, True, scalar, salt + i) for i, arg in enumerate(spec["args"])]
        kwargs = {key: self._value(value, name, True, scalar, salt) for key, value in spec["kwargs"]}
        try:
            return function(*args, **kwargs)
        except Exception as error:  # user code: the reason goes into the verdict
            raise InputError(f"example: {spec['call']}(...) failed ({type(error).__name__}: {error})") from None


def _array(dtype: Any, shape: tuple[int, ...], salt: int) -> jax.Array:
    """Distinct, non-trivial values: zeros would hide staleness (`x * SCALE` is 0 either way)."""
    size = math.prod(shape)
    if dtype == jnp.bool_:
        values = np.arange(size) % 2 == 0
    elif jnp.issubdtype(dtype, jnp.integer):
        values = np.arange(size) % 5 + 1 + salt
    else:
        values = np.linspace(0.5, 1.5, size) + 0.25 * salt if size > 1 else np.full(size, 0.75 + 0.25 * salt)
    return jnp.asarray(values.reshape(shape), dtype=dtype)


def instance_of(module: ModuleType, qualname: str) -> object:
    """An object of the class for `self`: one the module made at import, else `Class()`."""
    cls = _resolve(module, qualname)
    if not isinstance(cls, type):
        raise InputError(f"no example input for 'self': '{qualname}' is not a class")
    for value in vars(module).values():
        if type(value) is cls:
            return value
    try:
        return cls()
    except Exception as error:  # the class needs arguments: there is nothing to guess
        raise InputError(
            f"no example input for 'self': the module makes no {qualname} at import and "
            f"{qualname}() failed ({type(error).__name__}: {error})"
        ) from None


def _resolve(module: ModuleType, qualname: str) -> Any:
    target: Any = module
    for part in qualname.split("."):
        target = _attribute(target, part)
    return target


def _attribute(obj: object, name: str) -> Any:
    """getattr that tolerates user objects whose __getattr__ raises anything."""
    try:
        return getattr(obj, name, None)
    except Exception:  # user code decides what attribute access does
        return None


def find_function(module: ModuleType, qualname: str, first_line: int) -> Callable[..., Any]:
    """The Python function defined at `first_line` of the module's file, behind any jit, vmap,
    partial or functools.wraps wrapper: by its qualified name, else among every module global
    and class attribute (closures made by factories are found through what the module keeps)."""
    filename = module.__file__
    candidates = [_resolve(module, qualname), *_module_objects(module)]
    for candidate in candidates:
        for function in _unwrapped(candidate):
            code = getattr(function, "__code__", None)
            if code is not None and code.co_filename == filename and code.co_firstlineno == first_line:
                return cast(Callable[..., Any], function)
    raise InputError(f"'{qualname}' (line {first_line}) is not reachable from the module's names after import")


def _module_objects(module: ModuleType) -> list[object]:
    """Module globals, the attributes of its classes, the items of its tuples and lists, and
    what the closures of its functions hold (a decorator's wrapper keeps the function there)."""
    found: list[object] = []
    for value in list(vars(module).values()):
        found.append(value)
        if isinstance(value, type) and value.__module__ == module.__name__:
            found.extend(vars(value).values())
        elif isinstance(value, (tuple, list)):
            found.extend(value)
        elif inspect.isfunction(value) and value.__closure__:
            found.extend(_cell_contents(cell) for cell in value.__closure__)
    return found


def _cell_contents(cell: Any) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _unwrapped(obj: object) -> list[object]:
    """`obj` and what it wraps: jit/vmap/grad wrappers, partials, bound and static methods."""
    chain: list[object] = []
    for _ in range(12):
        if obj is None or any(obj is seen for seen in chain):
            break
        chain.append(obj)
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, (staticmethod, classmethod)) or inspect.ismethod(obj):
            obj = obj.__func__
        else:
            obj = _attribute(obj, "__wrapped__")
    return chain
