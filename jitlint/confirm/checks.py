"""Each rule's run-time check: trace the function a finding concerns and look for the symptom.

A finding is `confirmed` only when its symptom was observed, `not-reproduced` when the flagged
code ran while tracing without it, and `unverified` when the run could not tell (with why).

How each function is traced: `jax.jit` with the source's static parameters on its underlying
function (vmap, pmap, checkpoint and lax bodies too: their trace-time symptoms are the same
under jit), `equinox.filter_jit` and `flax.nnx.jit` as themselves with real arrays, and a host
function that hands an iterator to lax by calling it. One *session* per function serves JIT002
to JIT006: after `jax.clear_caches()`, a first trace and a second one with the same input shapes,
each with the module's line events, its output, its error; what a written name holds and how
many items an iterator gave are taken before, between and after. JIT001 (changing the captured
value) and JIT007 (the key reuse checker, eagerly) make runs of their own.

Child process only (imports jax).
"""

from __future__ import annotations

import collections
import copy
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import CellType, ModuleType
from typing import Any

import jax
import numpy as np

from jitlint.codes import RULES
from jitlint.confirm.inputs import InputBuilder, InputError, find_function
from jitlint.confirm.observe import (
    CountingIterator,
    LineRecorder,
    captured_output,
    clear_caches,
    error_line,
    fingerprint,
    same,
    short,
    tracers_in,
)
from jitlint.confirm.protocol import Check
from jitlint.findings import ConfirmStatus, TraceTarget

CONFIRMED, NOT_REPRODUCED, UNVERIFIED = (
    ConfirmStatus.CONFIRMED,
    ConfirmStatus.NOT_REPRODUCED,
    ConfirmStatus.UNVERIFIED,
)
Verdict = tuple[ConfirmStatus, str]

# Errors JAX raises when Python needs a concrete value from a tracer (docs/jax-semantics.md §5).
TRACER_ERRORS: tuple[type[Exception], ...] = (
    jax.errors.TracerBoolConversionError,
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.NonConcreteBooleanIndexError,
)
# The same failures, raised as plain built-in exceptions: shapes and slices from traced values.
PLAIN_TRACER_ERRORS = (
    (TypeError, "Shapes must be 1D sequences of concrete values"),
    (IndexError, "Slice entries must be static integers"),
)
# A condition or conversion on a whole array fails for its shape before JAX sees a tracer:
# retried with 0-d inputs.
NOT_SCALAR_ERRORS = (
    (ValueError, "truth value of an array with more than one element is ambiguous"),
    (TypeError, "Only scalar arrays can be converted"),
    (TypeError, "only length-1 arrays"),
)
# lax rejects an iterator operand (JIT004).
ITERATOR_OPERAND_ERRORS = ((TypeError, "is not a valid JAX type"), (TypeError, "Error interpreting argument"))

_MAX_CHANGES = 4  # JIT001: candidate changes of the captured value tried at most


def _matches(error: BaseException | None, patterns: Iterable[tuple[type[Exception], str]]) -> bool:
    return error is not None and any(isinstance(error, cls) and text in str(error) for cls, text in patterns)


def _describe(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


# -------------------------------------------------------------------------------------------
# Running the function


@dataclass
class Run:
    """One trace or call: the module lines it ran, what it printed, how it ended."""

    lines: set[int]
    output: str
    error: BaseException | None = None
    line: int | None = None  # where the error was raised, in the module
    value: Any = None


class Subject:
    """The function a group of findings concerns, ready to trace the way the source does."""

    def __init__(self, module: ModuleType, check: Check) -> None:
        self.module = module
        self.target: TraceTarget = check.target
        assert module.__file__ is not None
        self.filename: str = module.__file__
        self.function = find_function(module, self.target.function, self.target.first_line)
        self.inputs = InputBuilder(module, self.function, check.arguments)
        self.wrapper, self.abstract = _transformed(self.function, self.target, check.arguments)
        self._scalar_run: Run | None = None

    def run(self, *, concrete: bool | None = None, scalar: bool = False) -> Run:
        """Trace (on ShapeDtypeStructs where the transform allows) or call, watching lines."""
        concrete = not self.abstract if concrete is None else concrete
        inputs = self.inputs.build(concrete=concrete, scalar=scalar)
        call = self.wrapper if concrete else self.wrapper.trace
        with LineRecorder(self.filename) as recorder, captured_output() as output:
            try:
                value = call(*inputs.args, **inputs.kwargs)
                if concrete:
                    jax.block_until_ready(value)  # type: ignore[no-untyped-call]
            except (Exception, SystemExit) as error:  # the outcome under observation
                return Run(recorder.lines, output.getvalue(), error, error_line(error, self.filename))
        return Run(recorder.lines, output.getvalue(), value=value)

    def scalar_run(self) -> Run:
        if self._scalar_run is None:
            self._scalar_run = self.run(scalar=True)
        return self._scalar_run

    def slot(self, name: str | None) -> Slot | None:
        """Where the function finds `name`: its closure, the module, or the instance for self."""
        if name is None:
            return None
        if name == "self":
            self.inputs.build(concrete=False)  # the object every trace receives (made once)
            instance = self.inputs.values.get(name)
            return None if instance is None else Slot(name, lambda: instance, None)
        code = self.function.__code__
        if name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
            return None  # a parameter: what it holds depends on the call
        closure = self.function.__closure__ or ()
        if name in code.co_freevars:
            cell = closure[code.co_freevars.index(name)]
            return Slot(name, lambda: cell.cell_contents, lambda value: _set_cell(cell, value))
        namespace = vars(self.module)
        if name in namespace:
            return Slot(name, lambda: namespace[name], lambda value: namespace.__setitem__(name, value))
        return None


def _set_cell(cell: CellType, value: object) -> None:
    cell.cell_contents = value


@dataclass(frozen=True)
class Slot:
    """A name the traced code reads or writes, as a getter and (unless fixed) a setter."""

    name: str
    get: Callable[[], object]
    set: Callable[[object], None] | None


def _transformed(function: Callable[..., Any], target: TraceTarget, arguments: Any) -> tuple[Any, bool]:
    """The wrapper to trace with, and whether it can trace on ShapeDtypeStructs alone."""
    name = target.transform
    passed = {parameter for parameter, _, spec in arguments if spec is not None}
    static = tuple(parameter for parameter in target.static if parameter in passed)
    if not name:
        return function, False  # a host function: called as it is
    if name.startswith("equinox."):
        # filter_jit takes ShapeDtypeStructs for static leaves: it gets real arrays only.
        return importlib.import_module("equinox").filter_jit(function), False
    if name in ("flax.nnx.jit", "flax.nnx.remat"):
        return importlib.import_module("flax.nnx").jit(function, static_argnames=static), False
    return jax.jit(function, static_argnames=static), True


# -------------------------------------------------------------------------------------------
# The shared session: two traces with the same shapes


@dataclass
class Watch:
    """A name written while tracing (JIT002): tracers and identities before and after."""

    slot: Slot
    tracers_before: set[int] = field(default_factory=set)
    new_tracers: list[object] = field(default_factory=list)
    prints: list[list[int]] = field(default_factory=list)  # fingerprints: before, first, second


@dataclass
class Session:
    first: Run
    second: Run | None
    watches: dict[str, Watch]
    counters: dict[str, tuple[CountingIterator, list[int]]]  # items taken after each trace


def run_session(subject: Subject, checks: list[Check]) -> Session:
    watches = _watches(subject, checks)
    counters = _install_counters(subject, checks)
    try:
        clear_caches()  # a trace cached at import would skip the body
        first = subject.run()
        _observe(watches, counters)
        second = subject.run() if first.error is None else None
        _observe(watches, counters)
    finally:
        for name, (counter, _) in counters.items():
            slot = subject.slot(name)
            if slot is not None and slot.set is not None:
                slot.set(counter.inner)
    for watch in watches.values():
        watch.new_tracers = [t for t in tracers_in(watch.slot.get()) if id(t) not in watch.tracers_before]
    return Session(first, second, watches, counters)


def _watches(subject: Subject, checks: list[Check]) -> dict[str, Watch]:
    watches: dict[str, Watch] = {}
    for check in checks:
        name = check.target.subject
        slot = subject.slot(name) if check.code == "JIT002" else None
        if name is not None and slot is not None and name not in watches:
            root = slot.get()
            watches[name] = Watch(slot, {id(t) for t in tracers_in(root)}, prints=[fingerprint(root)])
    return watches


def _install_counters(subject: Subject, checks: list[Check]) -> dict[str, tuple[CountingIterator, list[int]]]:
    counters: dict[str, tuple[CountingIterator, list[int]]] = {}
    for check in checks:
        name = check.target.subject
        slot = subject.slot(name) if check.code == "JIT004" else None
        if name is None or slot is None or slot.set is None or name in counters:
            continue
        value = slot.get()
        if isinstance(value, collections.abc.Iterator):
            counter = CountingIterator(value)
            slot.set(counter)
            counters[name] = (counter, [])
    return counters


def _observe(watches: dict[str, Watch], counters: dict[str, tuple[CountingIterator, list[int]]]) -> None:
    for watch in watches.values():
        watch.prints.append(fingerprint(watch.slot.get()))
    for counter, taken in counters.values():
        taken.append(counter.taken)


# -------------------------------------------------------------------------------------------
# Verdicts


def _ran(check: Check, run: Run | None) -> bool:
    return run is not None and any(check.line <= line <= check.end_line for line in run.lines)


def _at_flagged_line(check: Check, run: Run) -> bool:
    return run.line is not None and check.line <= run.line <= check.end_line


def _not_reached(check: Check, run: Run) -> Verdict:
    if run.error is not None:
        where = f"line {run.line}" if run.line is not None else "JAX"
        return UNVERIFIED, f"tracing stopped at {where} ({_describe(run.error)}) before line {check.line} ran"
    return UNVERIFIED, f"line {check.line} did not run while tracing with the example inputs"


def check_print(check: Check, subject: Subject, session: Session) -> Verdict:
    """JIT003: the line runs in the first trace and not on a second call with the same shapes."""
    first, second = session.first, session.second
    if not _ran(check, first):
        return _not_reached(check, first)
    printed = _printed(first.output)
    if not check.target.caches:  # the body runs on every call: the symptom is showing tracers
        if "Tracer" in first.output:
            return CONFIRMED, f"line {check.line} printed tracers while JAX traced it{printed}"
        return NOT_REPRODUCED, f"line {check.line} ran while tracing but printed no tracer"
    if first.error is not None:
        return UNVERIFIED, f"line {check.line} ran, then tracing failed ({_describe(first.error)})"
    if _ran(check, second):
        return NOT_REPRODUCED, f"line {check.line} ran again on a second call with the same shapes"
    return CONFIRMED, (
        f"line {check.line} ran while JAX traced '{check.target.function}'{printed} and not on a "
        "second call with the same input shapes"
    )


def _printed(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return f" (printed {short(lines[0], 60)!r})" if lines else ""


def check_tracer_error(check: Check, subject: Subject, session: Session) -> Verdict:
    """JIT005/JIT006: tracing raises a tracer conversion error on the flagged line."""
    run = session.first
    if _is_tracer_error(run) and _at_flagged_line(check, run):
        return CONFIRMED, _raised_at(check, _error(run))
    if _matches(run.error, NOT_SCALAR_ERRORS) and _at_flagged_line(check, run):
        retry = subject.scalar_run()
        if _is_tracer_error(retry) and _at_flagged_line(check, retry):
            return CONFIRMED, _raised_at(check, _error(retry)) + " (with 0-d inputs)"
        return UNVERIFIED, (
            f"line {check.line} fails for the example's shape ({_describe(_error(run))}); "
            "give 0-d examples (f32[]) for values used in conditions"
        )
    if run.error is not None and _at_flagged_line(check, run):
        return UNVERIFIED, f"line {check.line} raised {_describe(run.error)}, not a tracer error"
    if _ran(check, run):
        later = f"; tracing then stopped at line {run.line}" if run.error is not None and run.line else ""
        return NOT_REPRODUCED, f"line {check.line} ran while tracing without a tracer error{later}"
    return _not_reached(check, run)


def _raised_at(check: Check, error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__} at line {check.line}" + (f": {text[0]}" if text else "")


def _is_tracer_error(run: Run) -> bool:
    return isinstance(run.error, TRACER_ERRORS) or _matches(run.error, PLAIN_TRACER_ERRORS)


def _error(run: Run) -> BaseException:
    assert run.error is not None
    return run.error


def check_external_write(check: Check, subject: Subject, session: Session) -> Verdict:
    """JIT002: after tracing, the written name holds a tracer, or the write is lost later."""
    name = check.target.subject
    watch = session.watches.get(name or "")
    if watch is None:
        return _leak_check(check, subject, name)
    if not _ran(check, session.first):
        return _not_reached(check, session.first)
    if watch.new_tracers:
        return CONFIRMED, f"after tracing, '{name}' holds a leaked tracer: {short(watch.new_tracers[0])}"
    before, after_first, after_second = (watch.prints + [[], []])[:3]
    if check.target.caches and session.second is not None and before != after_first == after_second:
        return CONFIRMED, f"tracing changed '{name}', a second call with the same shapes did not: the update is lost"
    return NOT_REPRODUCED, f"line {check.line} ran while tracing, but '{name}' holds no tracer afterwards"


def _leak_check(check: Check, subject: Subject, name: str | None) -> Verdict:
    """When the written object cannot be found, JAX's own leak checker can still name it: a
    leaked tracer `is referred to by module.NAME` (docs/jax-semantics.md §6.3)."""
    clear_caches()
    with jax.checking_leaks():
        run = subject.run()
    text = str(run.error) if run.error is not None else ""
    if name and text.startswith("Leaked trace") and re.search(rf"referred to by .*\b{re.escape(name)}\b", text):
        return CONFIRMED, f"jax.checking_leaks() found a tracer left in '{name}' after tracing"
    return UNVERIFIED, f"cannot find what '{name}' is at run time, and the leak checker did not name it"


def check_iterator(check: Check, subject: Subject, session: Session) -> Verdict:
    """JIT004: the iterator advances while tracing and not on a second call; or lax rejects it."""
    first = session.first
    if not check.target.transform:  # an iterator handed to lax by a host function
        if _matches(first.error, ITERATOR_OPERAND_ERRORS) and _at_flagged_line(check, first):
            return CONFIRMED, f"lax rejected the iterator at line {check.line}: {_describe(_error(first))}"
        if first.error is not None:
            return UNVERIFIED, f"the call failed otherwise: {_describe(first.error)} at line {first.line}"
        return NOT_REPRODUCED, f"line {check.line} ran without lax rejecting an iterator"
    name = check.target.subject
    counted = session.counters.get(name or "")
    if counted is None:
        return UNVERIFIED, f"'{name}' is not a module-level or closure iterator that jitlint can count"
    if not _ran(check, first):
        return _not_reached(check, first)
    taken = counted[1]
    if first.error is not None or session.second is None or len(taken) < 2:
        return UNVERIFIED, f"tracing failed ({_describe(first.error) if first.error else 'no second call'})"
    if taken[0] == 0:
        return NOT_REPRODUCED, f"line {check.line} ran while tracing but took no item from '{name}'"
    if taken[1] > taken[0]:
        return NOT_REPRODUCED, f"'{name}' advanced again on a second call with the same shapes"
    items = "1 item" if taken[0] == 1 else f"{taken[0]} items"
    return CONFIRMED, (
        f"'{name}' gave {items} while JAX traced '{check.target.function}' and none on a second "
        "call with the same input shapes"
    )


def check_stale_value(check: Check, subject: Subject) -> Verdict:
    """JIT001: after a first call, changing the captured value does not change the result of a
    second call with the same shapes, while a fresh trace does see it."""
    name = check.target.subject
    slot = subject.slot(name)
    if slot is None or slot.set is None:
        return UNVERIFIED, f"cannot find what '{name}' is at run time (a module global or closure)"
    original = slot.get()
    changes = perturbations(original)[:_MAX_CHANGES]
    if not changes:
        return UNVERIFIED, f"cannot make a changed copy of '{name}' ({type(original).__name__})"
    for index, changed in enumerate(changes):
        first, second, fresh = _calls_around_a_change(subject, slot, changed)
        if first.error is not None:
            return UNVERIFIED, f"the call failed: {_describe(first.error)}"
        if index == 0 and not _ran(check, first):
            return _not_reached(check, first)
        failed = second.error or fresh.error
        if failed is not None:
            return UNVERIFIED, f"the call failed after changing '{name}': {_describe(failed)}"
        if same(fresh.value, first.value):
            continue  # this change does not show in the result: try another
        if same(second.value, first.value):
            return CONFIRMED, (
                f"after changing '{name}' from {short(original, 40)} to {short(changed, 40)}, a second "
                "call with the same shapes returned the old result; a fresh trace returns a new one"
            )
        return NOT_REPRODUCED, f"after changing '{name}', a second call with the same shapes saw the change"
    return NOT_REPRODUCED, f"changing '{name}' did not change the function's result, even after a fresh trace"


def _calls_around_a_change(subject: Subject, slot: Slot, changed: object) -> tuple[Run, Run, Run]:
    """A first call, a second one after the change, and one after a fresh trace; then the
    original value is put back and no trace of the changed one is kept."""
    assert slot.set is not None
    original = slot.get()
    try:
        clear_caches()
        first = subject.run(concrete=True)
        if first.error is not None:
            return first, first, first
        slot.set(changed)
        second = subject.run(concrete=True)
        clear_caches()
        fresh = subject.run(concrete=True)
    finally:
        slot.set(original)
        clear_caches()
    return first, second, fresh


def perturbations(value: object) -> list[object]:
    """Changed copies of a value, of the same type: numbers +1 and *2, containers with an item
    added or changed, arrays +1."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, (int, float, complex)):
        return [value + 1, value * 2 + 1]
    if isinstance(value, (jax.Array, np.ndarray)):
        if value.dtype == np.bool_:
            return [~value]
        return [value + 1, value * 2 + 1]
    if isinstance(value, (list, tuple, collections.deque)):
        return _sequence_changes(value)
    if isinstance(value, (set, frozenset)):
        return [type(value)(value | {item}) for item in _new_members(value)]
    if isinstance(value, dict):
        changes: list[object] = []
        for key, item in value.items():
            for changed in perturbations(item)[:1]:
                changes.append({**value, key: changed})
        return changes
    return []


def _sequence_changes(value: list[Any] | tuple[Any, ...] | collections.deque[Any]) -> list[object]:
    items = list(value)
    if not items:
        return []
    candidates = [[*items, copy.copy(items[-1])]]
    candidates += [[*items, changed] for changed in perturbations(items[-1])[:1]]
    for i, item in enumerate(items):
        candidates += [[*items[:i], changed, *items[i + 1 :]] for changed in perturbations(item)[:1]]
    if isinstance(value, collections.deque):
        return [collections.deque(candidate, maxlen=value.maxlen) for candidate in candidates]
    return [type(value)(candidate) for candidate in candidates]


def _new_members(value: set[Any] | frozenset[Any]) -> list[object]:
    numbers = [item for item in value if isinstance(item, (int, float)) and not isinstance(item, bool)]
    if numbers:
        return [max(numbers) + 1, min(numbers) - 1]
    return []


def check_key_reuse(check: Check, subject: Subject) -> Verdict:
    """JIT007: JAX's key reuse checker raises KeyReuseError on the flagged line, run eagerly
    under `jax.disable_jit()` so that the traceback names the line."""
    inputs = subject.inputs.build(concrete=True)
    with jax.debug_key_reuse(True), jax.disable_jit():
        with LineRecorder(subject.filename) as recorder, captured_output():
            try:
                subject.function(*inputs.args, **inputs.kwargs)
                error: BaseException | None = None
            except (Exception, SystemExit) as caught:
                error = caught
    run = Run(recorder.lines, "", error, None if error is None else error_line(error, subject.filename))
    if isinstance(error, jax.errors.KeyReuseError):
        if _at_flagged_line(check, run):
            return CONFIRMED, _raised_at(check, error)
        where = f"at line {run.line}" if run.line is not None else "without naming a line"
        return UNVERIFIED, f"the key reuse checker stopped {where} first ({_describe(error)})"
    if error is not None:
        if not _ran(check, run):
            return _not_reached(check, run)
        return UNVERIFIED, f"the call failed: {_describe(error)}"
    if _ran(check, run):
        return NOT_REPRODUCED, f"line {check.line} ran with a checked key and JAX found no reuse"
    return _not_reached(check, run)


# Each rule's check, as jitlint/codes.py's registry names it.
SESSION_CHECKS: dict[str, Callable[[Check, Subject, Session], Verdict]] = {
    code: globals()[entry.confirm] for code, entry in RULES.items() if entry.confirm_in_session
}
OWN_RUN_CHECKS: dict[str, Callable[[Check, Subject], Verdict]] = {
    code: globals()[entry.confirm] for code, entry in RULES.items() if not entry.confirm_in_session
}


def verdicts(module: ModuleType, checks: list[Check], clock: Callable[[], float]) -> dict[int, tuple[Verdict, float]]:
    """Every check's verdict and the seconds it took, one subject (traced function) at a time."""
    by_subject: dict[tuple[object, ...], list[Check]] = {}
    for check in checks:
        key = (check.target.function, check.target.first_line, check.target.transform, repr(check.arguments))
        by_subject.setdefault(key, []).append(check)
    results: dict[int, tuple[Verdict, float]] = {}
    for group in by_subject.values():
        started = clock()
        try:
            subject = Subject(module, group[0])
        except InputError as error:
            results.update({check.id: ((UNVERIFIED, str(error)), 0.0) for check in group})
            continue
        results.update(_subject_verdicts(subject, group, clock, started))
    return results


def _subject_verdicts(
    subject: Subject, group: list[Check], clock: Callable[[], float], started: float
) -> dict[int, tuple[Verdict, float]]:
    results: dict[int, tuple[Verdict, float]] = {}
    in_session = [check for check in group if check.code in SESSION_CHECKS]
    session: Session | None = None
    for check in [*in_session, *(check for check in group if check not in in_session)]:
        try:
            if check.code in SESSION_CHECKS:
                session = session or run_session(subject, in_session)
                verdict = SESSION_CHECKS[check.code](check, subject, session)
            elif check.code in OWN_RUN_CHECKS:
                verdict = OWN_RUN_CHECKS[check.code](check, subject)
            else:
                verdict = (UNVERIFIED, f"jitlint has no run-time check for {check.code}")
        except InputError as error:
            verdict = (UNVERIFIED, str(error))
        except Exception as error:  # a jitlint bug must not cost the other verdicts
            verdict = (UNVERIFIED, f"internal error in the check ({_describe(error)}); please report it")
        now = clock()
        results[check.id] = (verdict, now - started)
        started = now
    return results
