"""The one result type of the engine, a finding at a place in a file, and what --confirm adds."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Parameter:
    """A parameter of the function --confirm traces, as the source declares it."""

    name: str
    kind: str  # "positional-only", "positional", "var-positional", "keyword-only", "var-keyword"
    annotation: str | None = None  # source text of the annotation
    default: str | None = None  # source text of the default value
    default_passed: bool = True  # a call of the traced wrapper may pass it (then it is traced)


@dataclass(frozen=True)
class TraceTarget:
    """Static facts --confirm needs to trace the function a finding concerns.

    That function is the root of the finding's route chain: the jitted function that calls a
    helper, the traced function around a `lax` body, or the function itself. `transform` is the
    canonical entry point that traces it ("jax.jit", "equinox.filter_jit", "jax.lax.scan", ...),
    or "" for a plain host function that hands an iterator to lax (JIT004).
    """

    function: str  # `step`, `Model.__call__`, `make_step.step` (no `<locals>`)
    first_line: int  # first line of the definition, decorators included (co_firstlineno)
    transform: str
    caches: bool  # the transform caches its trace: the body runs once per input signature
    static: tuple[str, ...] = ()  # parameters the transform makes static
    arrays_only: bool = False  # equinox filter_*: only array leaves are traced
    parameters: tuple[Parameter, ...] = ()
    examples: tuple[str, ...] = ()  # bodies of `# jitlint: example ...` comments above the def
    owner: str | None = None  # the class, when the first parameter is bound to an instance
    index_parameter: str | None = None  # lax.fori_loop bodies: the loop index
    subject: str | None = None  # the name the finding is about: captured, written, iterated, reused


class ConfirmStatus(enum.Enum):
    """What tracing the function with JAX showed about a finding."""

    CONFIRMED = "confirmed"  # JAX showed the pitfall's symptom
    NOT_REPRODUCED = "not-reproduced"  # the flagged code ran while tracing, without the symptom
    UNVERIFIED = "unverified"  # the trace could not tell (no input, import failed, timeout, ...)


@dataclass(frozen=True)
class Confirmation:
    """--confirm's verdict on one finding, with what was observed or why nothing could be."""

    status: ConfirmStatus
    detail: str = ""

    @property
    def label(self) -> str:
        """`confirmed`, `not reproduced` or `unverified: <reason>`, as the text output shows it."""
        if self.status is ConfirmStatus.UNVERIFIED:
            return f"unverified: {self.detail}"
        return str(self.status.value).replace("-", " ")


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem. Created by the engine, never by rules; sorts by path, line, column."""

    path: str
    line: int  # 1-based
    col: int  # 1-based, as printed
    code: str
    message: str
    end_line: int | None = field(default=None, compare=False)
    end_col: int | None = field(default=None, compare=False)
    function: str | None = field(default=None, compare=False)  # the traced function it is in
    traced_via: str | None = field(default=None, compare=False)  # how JAX reaches that function
    target: TraceTarget | None = field(default=None, compare=False, repr=False)  # for --confirm
    confirmation: Confirmation | None = field(default=None, compare=False)  # set by --confirm

    @property
    def is_internal_error(self) -> bool:
        return self.code == "JIT902"
