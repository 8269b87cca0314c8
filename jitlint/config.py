"""`[tool.jitlint]` in pyproject.toml → a frozen Config; every key and code is validated."""

from __future__ import annotations

import fnmatch
import functools
import glob
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jitlint.codes import RULE_CODES, TOOL_CODES
from jitlint.suppression import matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "env",
    ".env",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    "*.egg-info",
    ".jitlint_cache",
)

KNOWN_CODES = frozenset(RULE_CODES) | frozenset(TOOL_CODES)


class ConfigError(Exception):
    """A configuration problem, reported as one line and exit code 2."""


@dataclass(frozen=True)
class Config:
    """Everything that decides what is checked and reported. Immutable; CLI flags override."""

    select: tuple[str, ...] = ()  # empty: every rule
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extend_jit_decorators: tuple[str, ...] = ()
    # [tool.jitlint.examples]: qualified function name → example inputs for --confirm
    examples: tuple[tuple[str, str], ...] = ()
    root: Path = field(default_factory=Path.cwd)  # per-file-ignores and exclude globs are relative to it

    @classmethod
    def default(cls) -> Config:
        return cls()

    def is_enabled(self, code: str, path: Path | None = None) -> bool:
        """Whether findings with `code` are reported (for `path`, if per-file ignores apply)."""
        if matches(code, self.ignore):
            return False
        if self.select and code not in TOOL_CODES and not matches(code, self.select):
            return False
        return path is None or not matches(code, self.ignored_for(path))

    def ignored_for(self, path: Path) -> tuple[str, ...]:
        """Codes that per-file-ignores turn off for this path."""
        if not self.per_file_ignores:
            return ()  # without resolving the path, which costs system calls each time
        try:
            relative = path.resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, RuntimeError):  # not under the root; a symlink loop (RuntimeError)
            relative = path.as_posix()
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern):
                codes.extend(ignored)
        return tuple(codes)

    def is_excluded(self, name: str, absolute: str) -> bool:
        """Whether a file or directory met while searching is excluded: a glob without a `/`
        matches its name (`build`, `*_pb2.py`), any other glob its path, relative globs being
        relative to `root` (`src/gen`, `./src/gen/*.py`), as per-file-ignores are."""
        names, paths = _exclusion_matchers((*self.exclude, *self.extend_exclude), self.root)
        return names(name) or paths(absolute)


@functools.cache
def _exclusion_matchers(patterns: tuple[str, ...], root: Path) -> tuple[Callable[[str], bool], Callable[[str], bool]]:
    """(name matcher, absolute path matcher), each one regular expression, built once per run.
    Path globs are made absolute here, so paths are matched without resolving each of them."""
    names = tuple(_normalised(pattern) for pattern in patterns if not _is_path_glob(pattern))
    paths = anchored(tuple(pattern for pattern in patterns if _is_path_glob(pattern)), root)
    return _glob_matcher(names), _glob_matcher(paths)


def anchored(patterns: tuple[str, ...], directory: Path) -> tuple[str, ...]:
    """Path globs made absolute against `directory`; name globs stay as they are. The CLI
    anchors its globs at the working directory, as the paths given with them are."""
    base = glob.escape(os.path.abspath(directory))  # the directory's own `[` or `*` are no glob
    return tuple(
        os.path.join(base, _normalised(pattern)) if _is_path_glob(pattern) else pattern for pattern in patterns
    )


def _is_path_glob(pattern: str) -> bool:
    return "/" in _normalised(pattern)


def _normalised(pattern: str) -> str:
    """`./src/` → `src`, `build/` → `build`: the same glob however it is written."""
    return os.path.normpath(pattern).replace(os.sep, "/")


@functools.cache
def _glob_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a name matches any of the globs, as fnmatch.fnmatch decides, with one regular
    expression: a call of fnmatch per glob and path part cost a fifth of a run from the cache."""
    if not patterns:
        return lambda name: False
    search = re.compile("|".join(fnmatch.translate(os.path.normcase(p)) for p in patterns)).match
    return lambda name: search(os.path.normcase(name)) is not None


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.jitlint] table, searched upward from `start`.

    Each candidate that mentions jitlint is parsed, so every spelling TOML allows is seen
    (`[ tool.jitlint ]`, `tool.jitlint.select = ...`, `[tool]` with `jitlint = {...}`). One that
    mentions it but is not valid TOML is an error: it may hold the table the user meant.
    """
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            text = _read_text(candidate)
            # A file that never names jitlint cannot hold its table (short of a key spelled with
            # escape sequences), and is not parsed: a broken unrelated pyproject is not our error.
            if "jitlint" in text and _jitlint_table(_parse(text, candidate), candidate) is not None:
                return candidate
    return None


def load_config(path: Path, base: Config | None = None) -> Config:
    """Read `[tool.jitlint]` from a TOML file; a file without the table gives the defaults."""
    table = _jitlint_table(_parse(_read_text(path), path), path)
    return parse_table(table or {}, path, base or Config(root=path.parent))


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def _jitlint_table(data: Mapping[str, Any], path: Path) -> Mapping[str, Any] | None:
    """The [tool.jitlint] table of a parsed file, None when it has none; a `tool` or
    `tool.jitlint` that is not a table is an error, never a table taken as empty."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table, not {_toml_type(tool)}")
    table = tool.get("jitlint")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.jitlint] must be a table, not {_toml_type(table)}")
    return table


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}
    return names.get(type(value), "a date or time")


_LIST_KEYS = {
    "select": "select",
    "ignore": "ignore",
    "exclude": "exclude",
    "extend-exclude": "extend_exclude",
    "extend-jit-decorators": "extend_jit_decorators",
}
_CODE_KEYS = ("select", "ignore")


def parse_table(table: Mapping[str, Any], path: Path, base: Config) -> Config:
    """Validate every key of a [tool.jitlint] table and apply it on top of `base`."""
    changes: dict[str, Any] = {"root": path.parent}
    for key, value in table.items():
        if key == "per-file-ignores":
            changes["per_file_ignores"] = _per_file_ignores(value, path)
        elif key == "examples":
            changes["examples"] = _examples(value, path)
        elif key in _LIST_KEYS:
            items = _string_list(value, key, path)
            if key in _CODE_KEYS:
                check_codes(items, f"{path}: '{key}'")
            changes[_LIST_KEYS[key]] = items
        else:
            raise ConfigError(f"{path}: unknown key '{key}' in [tool.jitlint]")
    return replace(base, **changes)


def check_codes(codes: tuple[str, ...], where: str) -> None:
    """Every code must be a known code or a prefix of one (`JIT00`)."""
    for code in codes:
        if not any(known.startswith(code) for known in KNOWN_CODES) or not code:
            raise ConfigError(f"{where}: unknown rule code '{code}'")


def _string_list(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: '{key}' must be a list of strings")
    return tuple(value)


def _per_file_ignores(value: Any, path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: 'per-file-ignores' must be a table of glob = [codes]")
    result = []
    for pattern, codes in value.items():
        items = _string_list(codes, f"per-file-ignores.{pattern}", path)
        check_codes(items, f"{path}: 'per-file-ignores'")
        result.append((pattern, items))
    return tuple(result)


def _examples(value: Any, path: Path) -> tuple[tuple[str, str], ...]:
    """`"pkg.mod.step" = "x=f32[3], n=2"`: the syntax is checked when --confirm reads it."""
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise ConfigError(f"{path}: 'examples' must be a table of function name = \"name=value, ...\"")
    return tuple(value.items())


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
