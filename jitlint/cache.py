"""The result cache: a file's findings, stored under a hash of everything they depend on.

Per-file analysis is a pure function of the file's bytes, its package (relative imports), the
codes per-file-ignores turn off for it, the effective config, and the code of jitlint and
libcst. The entry key hashes all of these, so a changed file, config or jitlint invalidates
exactly the entries it must and nothing else. Findings are stored without their path and get
the displayed path back on load, so two files with the same bytes, package and settings share
an entry.

Each entry is one small JSON file, written through a temporary file and `os.replace`, so
concurrent runs (pre-commit splits files over processes) never see half an entry. An entry that
cannot be read or does not decode to findings is a miss, never an error; a cache directory that
cannot be written to only makes the run slower.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import importlib.util
import json
import os
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jitlint import __version__
from jitlint.config import Config
from jitlint.discovery import package_of
from jitlint.findings import Finding

CACHE_DIR_NAME = ".jitlint_cache"
_FORMAT = "1"  # bump when the layout of an entry changes

# Config fields that only decide which files are checked, or that reach the analysis only
# through the codes per-file-ignores turn off for a file, which are part of its entry key.
_NOT_ANALYSIS_FIELDS = ("exclude", "extend_exclude", "root", "per_file_ignores")


class ResultCache:
    """Findings by entry key, under one directory (`.jitlint_cache/` in the project root)."""

    def __init__(self, directory: Path, config: Config) -> None:
        self.directory = directory
        self._config = config
        self._run_key = run_key(config)
        self._packages: dict[Path, str | None] = {}
        self._writable = True
        self._entries = directory / f"v{_FORMAT}"

    def key(self, path: Path, data: bytes) -> str:
        """The entry key of `path` holding `data`."""
        digest = hashlib.blake2b(data, digest_size=20)
        ignored = self._config.ignored_for(path)
        digest.update(repr((self._run_key, self._package(path), ignored)).encode())
        return digest.hexdigest()

    def load(self, key: str, shown: str) -> list[Finding] | None:
        """The cached findings of an entry, reported at `shown`; None when absent or unusable."""
        try:
            text = self._entry(key).read_text(encoding="utf-8")
            return _decode(json.loads(text), shown)
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            return None

    def store(self, key: str, findings: Sequence[Finding]) -> None:
        """Write an entry atomically; a directory that cannot be written disables storing."""
        if not self._writable:
            return
        entry = self._entry(key)
        text = json.dumps(_encode(findings), separators=(",", ":"))
        try:
            _write_atomically(entry, text.encode())
        except OSError:
            self._writable = False

    def prepare(self) -> None:
        """Create the directory with a CACHEDIR.TAG and a .gitignore, as other tools' caches do."""
        try:
            self._entries.mkdir(parents=True, exist_ok=True)
            for name, text in _MARKERS.items():
                marker = self.directory / name
                if not marker.exists():
                    _write_atomically(marker, text.encode())
        except OSError:
            self._writable = False

    def _entry(self, key: str) -> Path:
        return self._entries / f"{key}.json"

    def _package(self, path: Path) -> str | None:
        # Relative imports resolve against it; it is the same for every file of a directory.
        if path.parent not in self._packages:
            self._packages[path.parent] = package_of(path)
        return self._packages[path.parent]


_MARKERS = {
    "CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by jitlint.\n",
    ".gitignore": "# Created by jitlint automatically.\n*\n",
}


def run_key(config: Config) -> str:
    """What every entry of one run shares: jitlint's version and code, libcst's, Python's, and
    the config fields that change findings."""
    settings = [
        (field.name, getattr(config, field.name))
        for field in dataclasses.fields(config)
        if field.name not in _NOT_ANALYSIS_FIELDS
    ]
    parts = (_FORMAT, __version__, code_hash(), sys.version, repr(settings))
    return hashlib.blake2b(repr(parts).encode(), digest_size=20).hexdigest()


@functools.cache
def code_hash() -> str:
    """A hash of jitlint's own source files and libcst's version, computed once per process.

    The version string does not change while jitlint is developed, but the rules do.
    """
    digest = hashlib.blake2b(_libcst_version().encode(), digest_size=20)
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _libcst_version() -> str:
    """The text of libcst's version file, found without importing libcst (see codes.py)."""
    spec = importlib.util.find_spec("libcst")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        version_file = Path(location) / "_version.py"
        if version_file.is_file():
            return version_file.read_text(encoding="utf-8")
    return "unknown"


def default_cache_dir(config: Config) -> Path:
    """`.jitlint_cache/` in the project root: where the config was found, else the cwd."""
    return config.root / CACHE_DIR_NAME


def _write_atomically(target: Path, data: bytes) -> None:
    # The temporary name is unique to this process, and each process writes an entry once.
    # os-level calls: a cold run writes an entry per file, and open() adds three system calls.
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            remaining = memoryview(data)
            while remaining:
                remaining = remaining[os.write(handle, remaining):]
        finally:
            os.close(handle)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- entries: findings without their path, as JSON -------------------------------------------
#
# A finding holds plain values and frozen dataclasses of them (the --confirm target). Each
# dataclass is stored as the list of its fields and read back by its type annotations, so a
# stored value of the wrong shape or type is an error (then a miss), never a wrong finding.
# JSON, not pickle: loading a pickle runs code, and a cache folder can come with a checkout.

_STORED_FIELDS = tuple(f.name for f in dataclasses.fields(Finding) if f.name != "path")


def _encode(findings: Sequence[Finding]) -> dict[str, Any]:
    return {"findings": [[_plain(getattr(f, name)) for name in _STORED_FIELDS] for f in findings]}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [_plain(getattr(value, f.name)) for f in dataclasses.fields(value)]
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(entry: Any, shown: str) -> list[Finding]:
    """Findings from a decoded entry; TypeError or ValueError when it is not a valid one."""
    rows = entry["findings"]
    if not isinstance(rows, list):
        raise TypeError("findings must be a list")
    hints = _type_hints(Finding)
    findings = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(_STORED_FIELDS):
            raise ValueError("a finding has the wrong number of fields")
        values = {name: _typed(hints[name], value) for name, value in zip(_STORED_FIELDS, row)}
        findings.append(Finding(path=shown, **values))
    return findings


def _typed(hint: Any, value: Any) -> Any:
    """`value` read back as the annotated type `hint`; TypeError or ValueError if it is not one."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                try:
                    return _typed(option, value)
                except (TypeError, ValueError):
                    continue
        raise TypeError(f"{value!r} is none of {hint}")
    if origin is tuple and isinstance(value, list):
        item_type = typing.get_args(hint)[0]  # tuple[X, ...]
        return tuple(_typed(item_type, item) for item in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, list):
        fields = [f.name for f in dataclasses.fields(hint)]
        if len(value) != len(fields):
            raise ValueError(f"{hint.__name__} needs {len(fields)} values")
        hints = _type_hints(hint)
        return hint(**{name: _typed(hints[name], item) for name, item in zip(fields, value)})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint in (str, int, bool) and type(value) is hint:
        return value
    raise TypeError(f"{value!r} is not a {hint}")


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)
