"""Fixture labels checked against JAX itself, so that they cannot drift from its behaviour.

A fixture file takes part by defining, at module level and at its end, a function
`jax_examples()` that returns `{name: [example, ...]}`:

- `name` is a module-level function or `"Class.method"`; its source lines (decorators included)
  are the lines the examples are answerable for.
- an example is `(args_tuple, kwargs_dict)`, called as `name(*args, **kwargs)`, or a zero-argument
  callable that does the call itself (for methods, helpers reached through a jitted caller, lax
  bodies, grad-only functions).

Examples only call names the fixture defines. Wrapping something in `jax.jit`, `jax.vmap`, ...
inside `jax_examples` would change what the linter considers traced, so transformations belong in
the fixture's own code.

Each example runs after `jax.clear_caches()`. For the codes in `CHECKS`:

- every labelled line must lie inside a function listed by `jax_examples`;
- an exception is allowed only when the innermost traceback frame in the fixture is a labelled
  line of the function being run and that line's check accepts the exception;
- every labelled line must be confirmed by its check for at least one example of each listed
  function that contains it (for raising codes: some example raised an accepted exception there).

So functions without a label must run cleanly, and each label is the line where JAX fails.

Some pitfalls do not raise: they misbehave. For their codes an example can be a *probe*, a
dataclass from this module (import it inside `jax_examples`: `from test_labels import StaleProbe`)
whose `call` is an example as above. The probe runs its own protocol and reports whether JAX
showed the pitfall:

- `StaleProbe(call, change)` (JIT001): call, then `change()` (a zero-argument callable that
  rebinds or mutates what the function reads, through the fixture's own code where possible),
  call again with the same shapes, and call once more under `jax.disable_jit()`. Shown: the second
  call differs from the eager one (the cached trace froze the old value). If the first call
  already equals the eager one, the change changed nothing and the probe fails.
- `LeakProbe(call, written)` (JIT002): call, then walk `written()` (the global's value, the
  container or the object the function writes to) through lists, tuples, sets, dicts and object
  attributes. Shown: it holds a `jax.core.Tracer`.
- `IteratorProbe(call)` (JIT004): call twice under `jax.disable_jit()`, then twice traced
  (after `jax.clear_caches()`), all with the same shapes. Shown: the eager calls differ but the
  traced ones are equal (the iterator advanced only while tracing), or the eager calls agree but
  the traced call disagrees with them (the trace consumed a different number of items than the
  Python code). The iterator must hold enough items for four calls.

For such a code a label is confirmed when some probe of the function showed the pitfall, and a
function whose probe shows a pitfall must carry a label of that code somewhere in its lines. A
probe observes the whole function, not a line: keep one such label per function.
"""

from __future__ import annotations

import collections
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import jax
import numpy as np
import pytest
from expectations import FIXTURE_FILES, FIXTURES, expectations

# ---------------------------------------------------------------------------------------------
# What each code's label means at run time.


@dataclass(frozen=True)
class FunctionRun:
    """A fixture function, the lines it owns, and what each of its examples did."""

    name: str
    lines: range
    examples: tuple[object, ...]
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class Outcome:
    """One example's result: the exception it raised (if any) and the fixture line it ended on.

    For a probe example: its class, and whether it showed its pitfall.
    """

    error: Exception | None
    line: int | None
    probe: type | None = None
    shown: bool = False
    frames: tuple[int, ...] = ()  # the fixture lines of the error's traceback, outermost first


class LabelCheck(Protocol):
    """How JAX shows that a labelled line really has the pitfall."""

    def explains(self, error: Exception) -> bool:
        """Whether the label explains `error` raised on its line (False for non-raising codes)."""

    def confirms(self, run: FunctionRun, line: int) -> bool:
        """Whether running `run`'s examples shows the pitfall on `line`."""


@dataclass(frozen=True)
class RaisesAtLine:
    """The pitfall raises while JAX traces, and the traceback ends on the labelled line."""

    raises: tuple[type[Exception], ...]
    not_these: tuple[type[Exception], ...] = ()  # subclasses that belong to another code
    # (class, message pattern): errors JAX raises as plain built-in exceptions
    plain: tuple[tuple[type[Exception], re.Pattern[str]], ...] = ()

    def explains(self, error: Exception) -> bool:
        if isinstance(error, self.not_these):
            return False
        return isinstance(error, self.raises) or any(
            isinstance(error, cls) and pattern.search(str(error)) for cls, pattern in self.plain
        )

    def confirms(self, run: FunctionRun, line: int) -> bool:
        return any(
            outcome.line == line and outcome.error is not None and self.explains(outcome.error)
            for outcome in run.outcomes
        )


# ---------------------------------------------------------------------------------------------
# Pitfalls that misbehave without raising: probes (see the module docstring).


class ProbeFailed(Exception):
    """A probe example that cannot show anything (reported like any unexplained error)."""


def same(a: object, b: object) -> bool:
    """Equal results: the same pytree structure and equal leaves (shapes and values)."""
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    return bool(tree_a == tree_b) and all(  # type: ignore[operator]  # PyTreeDef has __eq__
        np.shape(x) == np.shape(y) and np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(leaves_a, leaves_b)
    )


@dataclass(frozen=True)
class StaleProbe:
    """JIT001: after `change()`, a second call with the same shapes still gives the old result."""

    call: Any  # an example: (args, kwargs) or a zero-argument callable
    change: Callable[[], object]

    def shows(self, call: Callable[[], object]) -> bool:
        before = call()
        self.change()
        after = call()
        with jax.disable_jit():
            eager = call()
        if same(before, eager):
            raise ProbeFailed("the change did not change the eager result: the probe shows nothing")
        return not same(after, eager)


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
        if level == depth or isinstance(value, (str, bytes, jax.Array, np.ndarray)):
            continue
        if isinstance(value, dict):
            children: list[object] = [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple, set, frozenset, collections.deque)):
            children = list(value)
        elif hasattr(value, "__dict__") and not callable(value) and not isinstance(value, ModuleType):
            children = list(vars(value).values())  # instances; classes and functions are callable
        else:
            children = []
        stack.extend((child, level + 1) for child in children)


@dataclass(frozen=True)
class LeakProbe:
    """JIT002: after one call, what the function writes to holds a tracer."""

    call: Any  # an example: (args, kwargs) or a zero-argument callable
    written: Callable[[], object]  # the global's value, the container or the object written to

    def shows(self, call: Callable[[], object]) -> bool:
        call()
        jax.effects_barrier()  # type: ignore[no-untyped-call]  # host callbacks have run
        return any(isinstance(value, jax.core.Tracer) for value in reachable(self.written()))


@dataclass(frozen=True)
class IteratorProbe:
    """JIT004: traced calls do not consume the iterator the way the Python code does."""

    call: Any  # an example: (args, kwargs) or a zero-argument callable

    def shows(self, call: Callable[[], object]) -> bool:
        with jax.disable_jit():
            eager = (call(), call())
        jax.clear_caches()  # type: ignore[no-untyped-call]
        traced = (call(), call())
        if same(*eager):  # each call starts afresh: the trace must agree with Python
            return not same(traced[0], eager[0])
        return same(*traced)  # each call advances the iterator: so must the traced calls


PROBES = (StaleProbe, LeakProbe, IteratorProbe)


@dataclass(frozen=True)
class Misbehaves:
    """The pitfall does not raise (or only in some forms): a probe of the function shows it."""

    probe: type
    raising: RaisesAtLine | None = None  # forms that do raise while JAX traces

    def explains(self, error: Exception) -> bool:
        return self.raising is not None and self.raising.explains(error)

    def confirms(self, run: FunctionRun, line: int) -> bool:
        if any(outcome.probe is self.probe and outcome.shown for outcome in run.outcomes):
            return True
        return self.raising is not None and self.raising.confirms(run, line)


@dataclass(frozen=True)
class ReusesKey:
    """JIT007: `jax.debug_key_reuse(True)` raises KeyReuseError when a consumed key is consumed
    again (new-style keys only). Files with JIT007 labels run their examples under
    `jax.disable_jit()`, so the traceback goes through the reusing line; when that line calls a
    helper that consumes the key, it ends inside the helper, so the line blamed is the innermost
    traceback frame inside the function being run."""

    def explains(self, error: Exception) -> bool:
        return isinstance(error, jax.errors.KeyReuseError)

    def confirms(self, run: FunctionRun, line: int) -> bool:
        return any(
            outcome.error is not None and self.explains(outcome.error) and blamed_line(outcome, run) == line
            for outcome in run.outcomes
        )


def blamed_line(outcome: Outcome, run: FunctionRun) -> int | None:
    """The innermost traceback line inside the function being run."""
    return next((line for line in reversed(outcome.frames) if line in run.lines), None)


# One entry per code with a run-time observable. A code not listed here is not checked.
CHECKS: dict[str, LabelCheck] = {
    # stale-captured-value: a cached trace keeps the value a global or closure had when traced
    "JIT001": Misbehaves(StaleProbe),
    # external-state-written: a global, container or attribute written while tracing holds a tracer
    "JIT002": Misbehaves(LeakProbe),
    # external-iterator: the iterator advances while tracing, not on every call; as a lax operand
    # it is rejected while tracing
    "JIT004": Misbehaves(
        IteratorProbe,
        raising=RaisesAtLine(raises=(), plain=((TypeError, re.compile(r"is not a valid JAX type")),)),
    ),
    # python-control-flow-on-traced-value: `if t`, `t and u`, `min(t)`, `bool(t)` ...
    "JIT005": RaisesAtLine(raises=(jax.errors.TracerBoolConversionError,)),
    # concretization-of-traced-value: `float(t)`, `np.asarray(t)`, `range(t)`, `jnp.zeros(t)` ...
    "JIT006": RaisesAtLine(
        raises=(
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError,
            jax.errors.TracerIntegerConversionError,
        ),
        not_these=(jax.errors.TracerBoolConversionError,),  # a ConcretizationTypeError subclass
        plain=(
            (TypeError, re.compile(r"Shapes must be 1D sequences of concrete values")),
            (IndexError, re.compile(r"Slice entries must be static integers")),
        ),
    ),
    # reused-prng-key: a key consumed by a sampler, `split` or a consuming helper, consumed again
    "JIT007": ReusesKey(),
}

# ---------------------------------------------------------------------------------------------
# Loading fixtures and running their examples.

EXAMPLES_FUNCTION = re.compile(r"^def jax_examples\(", re.MULTILINE)


def labelled_lines(text: str) -> dict[int, set[str]]:
    """Line number -> the checked codes labelled on it."""
    lines: dict[int, set[str]] = {}
    for label in expectations(text):
        if label.code in CHECKS:
            lines.setdefault(label.line, set()).add(label.code)
    return lines


def takes_part(path: Path) -> bool:
    return bool(EXAMPLES_FUNCTION.search(path.read_text(encoding="utf-8")))


LABEL_FILES = [path for path in FIXTURE_FILES if takes_part(path)]


@contextmanager
def loaded_fixture(path: Path) -> Iterator[ModuleType]:
    """Import a fixture by path, registered in sys.modules only while it is in use."""
    name = "jitlint_fixture_" + re.sub(r"\W", "_", path.with_suffix("").as_posix())
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pytree registration look the module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def resolve(module: ModuleType, name: str) -> Any:
    target: Any = module
    for part in name.split("."):
        target = getattr(target, part)
    return target


def source_lines(target: Any, path: Path) -> range:
    """The fixture lines of the function behind `target` (jit/vmap/grad wrappers unwrapped)."""
    function = inspect.unwrap(target)
    if Path(inspect.getsourcefile(function) or "").resolve() != path.resolve():
        raise ValueError(f"defined outside {path.name}")
    body, start = inspect.getsourcelines(function)
    return range(start, start + len(body))


def as_thunk(target: Any, example: Any) -> Callable[[], object]:
    if callable(example):
        return example  # type: ignore[no-any-return]  # a thunk written in the fixture
    args, kwargs = example  # (args_tuple, kwargs_dict)
    return lambda: target(*args, **kwargs)


def fixture_frames(error: BaseException, path: Path) -> tuple[int, ...]:
    """Lines of the traceback frames that run code from `path`, outermost first (JAX hides its
    own frames)."""
    lines = []
    frame = error.__traceback__
    while frame is not None:
        if Path(frame.tb_frame.f_code.co_filename).resolve() == path.resolve():
            lines.append(frame.tb_lineno)
        frame = frame.tb_next
    return tuple(lines)


def run_context(checks_keys: bool) -> AbstractContextManager[object]:
    """JIT007 examples run eagerly with JAX's key-reuse checker on (nothing is traced, so there
    is no cache to clear); all others after `jax.clear_caches()`, as a cached trace would skip
    the body and its pitfall."""
    stack = ExitStack()
    if checks_keys:
        stack.enter_context(jax.debug_key_reuse(True))
        stack.enter_context(jax.disable_jit())
    else:
        jax.clear_caches()  # type: ignore[no-untyped-call]
    return stack


def run_example(target: Any, example: Any, path: Path, checks_keys: bool) -> Outcome:
    try:
        with run_context(checks_keys):
            if isinstance(example, PROBES):
                shown = example.shows(as_thunk(target, example.call))
                return Outcome(None, None, type(example), shown)
            as_thunk(target, example)()
    except Exception as error:  # the outcome under test
        frames = fixture_frames(error, path)
        return Outcome(error, frames[-1] if frames else None, frames=frames)
    return Outcome(None, None)


def run_function(module: ModuleType, path: Path, name: str, examples: Any, checks_keys: bool) -> FunctionRun:
    target = resolve(module, name)
    lines = source_lines(target, path)
    outcomes = tuple(run_example(target, example, path, checks_keys) for example in examples)
    return FunctionRun(name, lines, tuple(examples), outcomes)


# ---------------------------------------------------------------------------------------------
# Comparing outcomes with labels.


def describe(outcome: Outcome) -> str:
    if outcome.probe is not None and outcome.error is None:
        return f"{outcome.probe.__name__} {'showed the pitfall' if outcome.shown else 'showed nothing'}"
    if outcome.error is None:
        return "ran without error"
    first = str(outcome.error).splitlines()[0] if str(outcome.error) else ""
    return f"{type(outcome.error).__name__} at line {outcome.line}: {first[:150]}"


def unexplained_errors(run: FunctionRun, labels: dict[int, set[str]]) -> Iterator[str]:
    for index, outcome in enumerate(run.outcomes):
        if outcome.error is None:
            continue
        line = outcome.line
        codes = labels.get(line, set()) if line is not None and line in run.lines else set()
        key_line = blamed_line(outcome, run)  # a key reused through a helper is blamed on the call
        if not any(CHECKS[code].explains(outcome.error) for code in codes) and not (
            "JIT007" in labels.get(key_line or -1, set()) and CHECKS["JIT007"].explains(outcome.error)
        ):
            where = sorted(codes) or "no label in this function"
            yield f"{run.name} example {index}: {describe(outcome)} ({where})"


def unlabelled_symptoms(run: FunctionRun, labels: dict[int, set[str]]) -> Iterator[str]:
    """Probe examples that showed a pitfall in a function carrying no label of its code."""
    for index, outcome in enumerate(run.outcomes):
        if not outcome.shown:
            continue
        codes = {
            code for code, check in CHECKS.items() if isinstance(check, Misbehaves) and check.probe is outcome.probe
        }
        if not any(codes & labels.get(line, set()) for line in run.lines):
            yield f"{run.name} example {index}: {describe(outcome)}, but it has no {sorted(codes)} label"


def unconfirmed_labels(run: FunctionRun, labels: dict[int, set[str]]) -> Iterator[str]:
    for line in run.lines:
        for code in sorted(labels.get(line, ())):
            if not CHECKS[code].confirms(run, line):
                seen = "; ".join(describe(outcome) for outcome in run.outcomes)
                yield f"{run.name}: line {line} labelled {code} is not confirmed ({seen})"


def label_problems(path: Path) -> list[str]:
    """Every disagreement between the file's labels and what JAX does with its examples."""
    labels = labelled_lines(path.read_text(encoding="utf-8"))
    with loaded_fixture(path) as module:
        return problems_in_module(module, path, labels)


def problems_in_module(module: ModuleType, path: Path, labels: dict[int, set[str]]) -> list[str]:
    problems: list[str] = []
    runs: list[FunctionRun] = []
    checks_keys = any("JIT007" in codes for codes in labels.values())
    for name, examples in module.jax_examples().items():
        try:
            run = run_function(module, path, name, examples, checks_keys)
        except (AttributeError, OSError, TypeError, ValueError) as error:
            problems.append(f"jax_examples entry {name!r}: {error}")
            continue
        if not run.examples:
            problems.append(f"jax_examples entry {name!r} has no examples")
        runs.append(run)
        problems += unexplained_errors(run, labels)
        problems += unlabelled_symptoms(run, labels)
        problems += unconfirmed_labels(run, labels)
    for line in sorted(labels):
        if not any(line in run.lines for run in runs):
            problems.append(f"line {line} {sorted(labels[line])}: in no function of jax_examples")
    return problems


@pytest.mark.parametrize("path", LABEL_FILES, ids=[p.relative_to(FIXTURES).as_posix() for p in LABEL_FILES])
# JAX 0.10.2 warns before rejecting an iterator passed to lax as an operand (JIT004 fixtures).
@pytest.mark.filterwarnings("ignore:Python iterable type .* is treated as a leaf:DeprecationWarning")
def test_labels_match_jax(path: Path) -> None:
    problems = label_problems(path)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
