"""What the child watches while JAX traces: lines run, output, leaked tracers, items consumed.

Child process only (imports jax).
"""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import sys
from collections.abc import Callable, Iterator
from types import FrameType, ModuleType, TracebackType
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

TraceFunction = Callable[[FrameType, str, Any], Any]


class LineRecorder:
    """Records the lines of one file that run inside the `with` block (sys.settrace line events)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: set[int] = set()
        self._previous: Any = None

    def __enter__(self) -> LineRecorder:
        self._previous = sys.gettrace()
        sys.settrace(self._on_call)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self._previous)

    def _on_call(self, frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        # Only frames of the module's own code get a local tracer: JAX's frames cost one call.
        return self._on_line if frame.f_code.co_filename == self.filename else None

    def _on_line(self, frame: FrameType, event: str, arg: Any) -> TraceFunction:
        if event == "line":
            self.lines.add(frame.f_lineno)
        return self._on_line


@contextlib.contextmanager
def captured_output() -> Iterator[io.StringIO]:
    """stdout, stderr and log records of the block, kept out of the child's own streams."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        root.removeHandler(handler)


def error_line(error: BaseException, filename: str) -> int | None:
    """The line of the innermost traceback frame in `filename` (JAX hides its own frames)."""
    line = None
    frame: TracebackType | None = error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == filename:
            line = frame.tb_lineno
        frame = frame.tb_next
    return line


def reachable(root: object, depth: int = 4) -> Iterator[object]:
    """`root` and what it holds: container items, dict keys and values, instance attributes."""
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        value, level = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        yield value
        if level == depth or isinstance(value, (str, bytes, jax.Array, np.ndarray, jax.core.Tracer)):
            continue
        stack.extend((child, level + 1) for child in _held_by(value))


def _held_by(value: object) -> list[object]:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset, collections.deque)):
        return list(value)
    if hasattr(value, "__dict__") and not callable(value) and not isinstance(value, ModuleType):
        return list(vars(value).values())  # instances; classes and functions are callable
    return []


def clear_caches() -> None:
    """Forget every trace, so that the next call runs the Python body again."""
    jax.clear_caches()  # type: ignore[no-untyped-call]


def tracers_in(root: object) -> list[object]:
    return [value for value in reachable(root) if isinstance(value, jax.core.Tracer)]


def fingerprint(root: object) -> list[int]:
    """Identities of everything `root` holds: changes when anything in it is rebound or added."""
    return [id(value) for value in reachable(root)]


class CountingIterator:
    """Stands in for an iterator and counts the items taken from it."""

    def __init__(self, inner: Iterator[object]) -> None:
        self.inner = inner
        self.taken = 0

    def __iter__(self) -> CountingIterator:
        return self

    def __next__(self) -> object:
        item = next(self.inner)
        self.taken += 1
        return item


def same(a: object, b: object) -> bool:
    """Equal results: the same pytree structure and equal leaves (shapes and values)."""
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    return bool(cast(Any, tree_a) == tree_b) and all(_same_leaf(x, y) for x, y in zip(leaves_a, leaves_b))


def _same_leaf(x: object, y: object) -> bool:
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        x = jax.random.key_data(x)
    if isinstance(y, jax.Array) and jnp.issubdtype(y.dtype, jax.dtypes.prng_key):
        y = jax.random.key_data(y)
    a, b = np.asarray(x), np.asarray(y)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def short(value: object, limit: int = 80) -> str:
    """A one-line repr (text as it is) for details."""
    text = " ".join((value if isinstance(value, str) else repr(value)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
