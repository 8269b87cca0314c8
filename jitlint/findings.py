"""The one result type of the engine: a finding at a place in a file."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def is_internal_error(self) -> bool:
        return self.code == "JIT902"
