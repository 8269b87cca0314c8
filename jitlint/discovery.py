"""From command-line paths to the Python files to check."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from jitlint.config import Config


@dataclass(frozen=True)
class FileList:
    files: list[Path]
    missing: list[str]  # paths given on the command line that do not exist


def discover(paths: Sequence[str], config: Config) -> FileList:
    """Files named explicitly are always checked; directories are searched for `*.py`."""
    files: list[Path] = []
    missing: list[str] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = _search(path, config)
        elif path.is_file():
            found = iter([path])
        else:
            missing.append(given)
            continue
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return FileList(files, missing)


def _search(directory: Path, config: Config) -> Iterator[Path]:
    # Exclusions apply below the directory the user named, never to the path leading to it.
    for current, dirnames, filenames in os.walk(directory):
        base = Path(current)
        absolute = os.path.abspath(current)  # one getcwd per directory, no symlink resolution
        dirnames[:] = sorted(
            name for name in dirnames if not config.is_excluded(name, os.path.join(absolute, name))
        )
        for name in sorted(filenames):
            if name.endswith(".py") and not config.is_excluded(name, os.path.join(absolute, name)):
                yield base / name


def display_path(path: Path, cwd: Path) -> str:
    """The path as the user would type it: relative to the working directory when under it."""
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix() if path.is_absolute() else _clean(path)
    except ValueError:
        return str(path)


def _clean(path: Path) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


def package_of(path: Path) -> str | None:
    """The dotted package a file belongs to, found by walking up past `__init__.py` files."""
    parts: list[str] = []
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.name:
        parts.append(directory.name)
        directory = directory.parent
    return ".".join(reversed(parts)) or None
