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

Each example runs inside the run context of the checks whose codes the file labels: by default
after `jax.clear_caches()` (a cached trace would skip the body); JIT007 examples run under
`jax.debug_key_reuse(True)` and `jax.disable_jit()`, where nothing is traced. A file may not mix
checks that need different contexts. For the codes in `CHECKS`:

- every labelled line must lie inside a function listed by `jax_examples`;
- an exception is allowed only when the line its check blames (for most checks the innermost
  traceback frame in the fixture) is a labelled line of the function being run and that line's
  check accepts the exception;
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
from contextlib import AbstractContextManager, ExitStack, contextmanager
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
    """One example's result: the exception it raised (if any) and the fixture lines of its
    traceback, outermost first."""

    error: Exception | None
    frames: tuple[int, ...] = ()

    @property
    def line(self) -> int | None:
        """The innermost fixture line: where the error was raised."""
        return self.frames[-1] if self.frames else None


class LabelCheck(Protocol):
    """How JAX shows that a labelled line really has the pitfall."""

    def running(self) -> AbstractContextManager[object]:
        """The context the examples of a file with this code run in."""

    def blamed_line(self, outcome: Outcome, run: FunctionRun) -> int | None:
        """The fixture line an error of this kind is reported at."""

    def explains(self, error: Exception) -> bool:
        """Whether the label explains `error` raised on its line (False for non-raising codes)."""

    def confirms(self, run: FunctionRun, line: int) -> bool:
        """Whether running `run`'s examples shows the pitfall on `line`."""


@contextmanager
def fresh_traces() -> Iterator[None]:
    """Clear JAX's caches first: a cached trace would skip the body (and its pitfall)."""
    jax.clear_caches()
    yield


@dataclass(frozen=True)
class RaisesAtLine:
    """The pitfall raises while JAX traces, and the traceback ends on the labelled line."""

    raises: tuple[type[Exception], ...]
    not_these: tuple[type[Exception], ...] = ()  # subclasses that belong to another code
    # (class, message pattern): errors JAX raises as plain built-in exceptions
    plain: tuple[tuple[type[Exception], re.Pattern[str]], ...] = ()

    def running(self) -> AbstractContextManager[object]:
        return fresh_traces()

    def blamed_line(self, outcome: Outcome, run: FunctionRun) -> int | None:
        return outcome.line

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


@dataclass(frozen=True)
class ReusesKey:
    """`jax.debug_key_reuse(True)` raises KeyReuseError when a consumed key is consumed again
    (new-style keys only). Under `jax.disable_jit()` the traceback goes through the reusing line;
    when that line calls a helper that consumes the key, it ends inside the helper, so the line
    blamed is the innermost traceback frame in the function being run."""

    def running(self) -> AbstractContextManager[object]:
        # Nothing is traced under disable_jit, so no cache to clear (clearing it would make
        # every eager operation compile again).
        stack = ExitStack()
        stack.enter_context(jax.debug_key_reuse(True))
        stack.enter_context(jax.disable_jit())
        return stack

    def blamed_line(self, outcome: Outcome, run: FunctionRun) -> int | None:
        return next((line for line in reversed(outcome.frames) if line in run.lines), None)

    def explains(self, error: Exception) -> bool:
        return isinstance(error, jax.errors.KeyReuseError)

    def confirms(self, run: FunctionRun, line: int) -> bool:
        return any(
            outcome.error is not None and self.explains(outcome.error) and self.blamed_line(outcome, run) == line
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
    # reused-prng-key: a key consumed by a sampler, `split` or a consuming helper, consumed again
    "JIT007": ReusesKey(),
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


def run_example(thunk: Callable[[], object], path: Path, context: LabelCheck | None) -> Outcome:
    try:
        with context.running() if context is not None else fresh_traces():
            thunk()
    except Exception as error:  # the outcome under test
        return Outcome(error, fixture_frames(error, path))
    return Outcome(None)


def run_function(
    module: ModuleType, path: Path, name: str, examples: Any, context: LabelCheck | None
) -> FunctionRun:
    target = resolve(module, name)
    thunks = tuple(as_thunk(target, example) for example in examples)
    outcomes = tuple(run_example(thunk, path, context) for thunk in thunks)
    return FunctionRun(name, source_lines(target, path), thunks, outcomes)


def run_context(labels: dict[int, set[str]]) -> LabelCheck | None:
    """The one check whose run context the file's examples need (None: a plain run)."""
    needing = {code for codes in labels.values() for code in codes if not isinstance(CHECKS[code], RaisesAtLine)}
    if len(needing) > 1:
        raise ValueError(f"labels need different run contexts: {sorted(needing)}")
    if needing and any(isinstance(CHECKS[code], RaisesAtLine) for codes in labels.values() for code in codes):
        raise ValueError(f"{sorted(needing)} labels need a run context the other labels do not")
    return CHECKS[needing.pop()] if needing else None


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
        if not any(explained_by(code, outcome, run, labels) for code in CHECKS):
            codes = labels.get(outcome.line, set()) if outcome.line in run.lines else set()
            where = sorted(codes) or "no label in this function"
            yield f"{run.name} example {index}: {describe(outcome)} ({where})"


def explained_by(code: str, outcome: Outcome, run: FunctionRun, labels: dict[int, set[str]]) -> bool:
    """Whether a `code` label on the line its check blames explains the outcome's error."""
    check = CHECKS[code]
    line = check.blamed_line(outcome, run)
    return (
        outcome.error is not None
        and line is not None
        and line in run.lines
        and code in labels.get(line, set())
        and check.explains(outcome.error)
    )


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
    try:
        context = run_context(labels)
    except ValueError as error:
        return [str(error)]
    for name, examples in module.jax_examples().items():
        try:
            run = run_function(module, path, name, examples, context)
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
