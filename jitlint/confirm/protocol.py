"""The messages between jitlint and its confirm child: one request and one report a module.

Both are JSON. The request goes to the child's stdin; the child writes its report to the file
named on its command line (the module under test may print anything on stdout).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from jitlint.confirm.examples import Spec
from jitlint.findings import Parameter, TraceTarget


@dataclass(frozen=True)
class Check:
    """One finding to confirm: where it is, and how to trace the function it concerns."""

    id: int
    code: str
    line: int
    end_line: int
    target: TraceTarget
    arguments: tuple[tuple[str, str, Spec | None], ...]  # (parameter, kind, example or None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Check:
        target = dict(data["target"])
        target["parameters"] = tuple(Parameter(**parameter) for parameter in target["parameters"])
        for key in ("static", "examples"):
            target[key] = tuple(target[key])
        return cls(
            id=data["id"],
            code=data["code"],
            line=data["line"],
            end_line=data["end_line"],
            target=TraceTarget(**target),
            arguments=tuple((name, kind, spec) for name, kind, spec in data["arguments"]),
        )


@dataclass(frozen=True)
class Request:
    """A module to import the way Python would from the project, and its checks."""

    module: str  # dotted name, e.g. `pkg.train`
    root: str  # the directory to put on sys.path: the parent of the top package
    checks: tuple[Check, ...]

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "root": self.root, "checks": [c.to_json() for c in self.checks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        return cls(data["module"], data["root"], tuple(Check.from_json(c) for c in data["checks"]))


@dataclass(frozen=True)
class Result:
    """The verdict on one check: a ConfirmStatus value and its detail."""

    id: int
    status: str
    detail: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Report:
    """What the child did: its verdicts, and timings for the benchmark."""

    results: tuple[Result, ...]
    jax_seconds: float = 0.0  # importing jax
    module_seconds: float = 0.0  # importing the module and running every check, after jax

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        results = tuple(Result(**result) for result in data["results"])
        return cls(results, data.get("jax_seconds", 0.0), data.get("module_seconds", 0.0))
