"""The flake8 route: a thin adapter that runs the same engine on the lines flake8 has read.

flake8 decides what is reported: its `--select`/`--ignore`, `--per-file-ignores` and `# noqa`
apply, so the engine's own noqa stage is skipped and jitlint's selection settings are not used.
From `[tool.jitlint]` only the settings that change which code is traced apply. The table is
found as the `jitlint` command finds it, upward from the working directory, and read once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from jitlint.config import Config, find_pyproject, load_config
from jitlint.engine import check_text


class Flake8Checker:
    """flake8's `JIT` plugin; flake8 makes one per file and passes arguments by name."""

    def __init__(self, tree: ast.AST, filename: str, lines: list[str]) -> None:
        # Asking for `tree` is what makes this a tree plugin; the stdlib AST itself is unused,
        # since the engine parses the same text once with libcst.
        self._path = Path(filename)
        self._text = "".join(lines)
        self._config = analysis_config(Path.cwd())

    def run(self) -> Iterator[tuple[int, int, str, type[Flake8Checker]]]:
        """(line, 0-based column, "CODE message", type) per finding; flake8 adds 1 to the column."""
        for finding in check_text(self._path, self._text, self._config, apply_noqa=False):
            yield finding.line, finding.col - 1, f"{finding.code} {finding.message}", type(self)


@cache
def analysis_config(directory: Path) -> Config:
    """The tracing settings of the project that `directory` is in, read once per directory."""
    found = find_pyproject(directory)
    if found is None:
        return Config()
    return Config(extend_jit_decorators=load_config(found).extend_jit_decorators)
