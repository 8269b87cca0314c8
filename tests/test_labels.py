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
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import jax
import pytest
from test_fixtures import FIXTURES, expected

# ---------------------------------------------------------------------------------------------
# What each code's label means at run time.


@dataclass(frozen=True)
class FunctionRun:
    """A fixture function, the lines it owns, and what each of its examples did."""

    name: str
    lines: range
    examples: tuple[Callable[[], object], ...]
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class Outcome:
    """One example's result: the exception it raised (if any) and the fixture line it ended on."""

    error: Exception | None
    line: int | None


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


# One entry per code with a run-time observable. A code not listed here is not checked.
CHECKS: dict[str, LabelCheck] = {
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
}

# ---------------------------------------------------------------------------------------------
# Loading fixtures and running their examples.

EXAMPLES_FUNCTION = re.compile(r"^def jax_examples\(", re.MULTILINE)


def labelled_lines(text: str) -> dict[int, set[str]]:
    """Line number -> the checked codes labelled on it."""
    lines: dict[int, set[str]] = {}
    for number, code in expected(text):
        if code in CHECKS:
            lines.setdefault(number, set()).add(code)
    return lines


def takes_part(path: Path) -> bool:
    return bool(EXAMPLES_FUNCTION.search(path.read_text(encoding="utf-8")))


LABEL_FILES = sorted(path for path in FIXTURES.rglob("*.py") if takes_part(path))


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
        return example
    args, kwargs = example  # (args_tuple, kwargs_dict)
    return lambda: target(*args, **kwargs)


def innermost_line(error: BaseException, path: Path) -> int | None:
    """Line of the last traceback frame that runs code from `path` (JAX hides its own frames)."""
    line = None
    frame = error.__traceback__
    while frame is not None:
        if Path(frame.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = frame.tb_lineno
        frame = frame.tb_next
    return line


def run_example(thunk: Callable[[], object], path: Path) -> Outcome:
    jax.clear_caches()  # a cached trace would skip the body
    try:
        thunk()
    except Exception as error:  # the outcome under test
        return Outcome(error, innermost_line(error, path))
    return Outcome(None, None)


def run_function(module: ModuleType, path: Path, name: str, examples: Any) -> FunctionRun:
    target = resolve(module, name)
    thunks = tuple(as_thunk(target, example) for example in examples)
    outcomes = tuple(run_example(thunk, path) for thunk in thunks)
    return FunctionRun(name, source_lines(target, path), thunks, outcomes)


# ---------------------------------------------------------------------------------------------
# Comparing outcomes with labels.


def describe(outcome: Outcome) -> str:
    if outcome.error is None:
        return "ran without error"
    first = str(outcome.error).splitlines()[0] if str(outcome.error) else ""
    return f"{type(outcome.error).__name__} at line {outcome.line}: {first[:150]}"


def unexplained_errors(run: FunctionRun, labels: dict[int, set[str]]) -> Iterator[str]:
    for index, outcome in enumerate(run.outcomes):
        if outcome.error is None:
            continue
        line = outcome.line
        codes = labels.get(line, set()) if line in run.lines else set()
        if not any(CHECKS[code].explains(outcome.error) for code in codes):
            where = sorted(codes) or "no label in this function"
            yield f"{run.name} example {index}: {describe(outcome)} ({where})"


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
    for name, examples in module.jax_examples().items():
        try:
            run = run_function(module, path, name, examples)
        except (AttributeError, OSError, TypeError, ValueError) as error:
            problems.append(f"jax_examples entry {name!r}: {error}")
            continue
        if not run.examples:
            problems.append(f"jax_examples entry {name!r} has no examples")
        runs.append(run)
        problems += unexplained_errors(run, labels)
        problems += unconfirmed_labels(run, labels)
    for line in sorted(labels):
        if not any(line in run.lines for run in runs):
            problems.append(f"line {line} {sorted(labels[line])}: in no function of jax_examples")
    return problems


@pytest.mark.parametrize(
    "path", LABEL_FILES, ids=[p.relative_to(FIXTURES).as_posix() for p in LABEL_FILES]
)
def test_labels_match_jax(path: Path) -> None:
    problems = label_problems(path)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
