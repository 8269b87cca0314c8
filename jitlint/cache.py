"""The result cache: a file's findings, stored under a hash of everything they depend on.

Per-file analysis is a pure function of the file's bytes, its package (relative imports), the
codes per-file-ignores turn off for it, the effective config, and the code of jitlint and
libcst. The entry key hashes all of these, so a changed file, config or jitlint invalidates
exactly the entries it must and nothing else. Findings are stored without their path and get
the displayed path back on load, so two files with the same bytes, package and settings share
an entry.

Each entry is one small JSON file, written through a temporary file and `os.replace`, so
concurrent runs (pre-commit splits files over processes) never see half an entry. A cache
directory that cannot be written to only makes the run slower, and no error of the cache (in
computing a key, reading, writing) ever stops a run: the file is analysed as if uncached.

The cache is data, not trust: it can arrive with a checkout or a CI artifact, and anyone who
can write to the folder can edit an entry. So an entry is read only if it is a regular file
(not a FIFO, a device or a symbolic link) of bounded size, and used only if every finding in it
is one the analysis could have produced for this file under this config: a known code that the
config reports for the file, a line within the file's lines, a column within its size, short
printable text that does not end in a --confirm verdict. Anything else is a miss: the file is
analysed again. This guarantees that a cache folder cannot crash or hang a run, cannot show an
impossible finding, and cannot mark a finding confirmed or choose what --confirm runs: entries
hold neither a confirmation nor a trace target, and under --confirm a file with cached findings
is analysed again (runner.py).

What it cannot guarantee: the entry key is a hash of the file's bytes and the settings, so
forging an entry takes write access to the folder; with that, a well-formed finding the code
does not have can be shown, and a real one hidden. The cache is as trustworthy as its folder;
`--no-cache` does without it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jitlint import __version__
from jitlint.codes import RULE_CODES, TOOL_CODES
from jitlint.config import Config
from jitlint.discovery import package_of, read_regular_file
from jitlint.findings import Finding

CACHE_DIR_NAME = ".jitlint_cache"
_FORMAT = "2"  # bump when the layout of an entry changes

# Config fields that only decide which files are checked, or that reach the analysis only
# through the codes per-file-ignores turn off for a file, which are part of its entry key.
_NOT_ANALYSIS_FIELDS = ("exclude", "extend_exclude", "root", "per_file_ignores")

# An entry of a real file is a few hundred bytes per finding; past this it is not read.
MAX_ENTRY_BYTES = 4 * 1024 * 1024
# A message, function name or route longer than this is not stored or read back (the file is
# analysed each run instead); real ones are well under 1,000 characters.
MAX_TEXT = 4096


class ResultCache:
    """Findings by entry key, under one directory (`.jitlint_cache/` in the project root).

    No method raises: a key that cannot be computed is None (the file is not cached), an entry
    that cannot be read or is not valid is a miss, a failed write stops further writes.
    """

    def __init__(self, directory: Path, config: Config) -> None:
        self.directory = directory
        self._config = config
        self._packages: dict[Path, str | None] = {}
        self._writable = True
        self._entries = directory / f"v{_FORMAT}"
        try:
            self._run_key: str | None = run_key(config)
        except Exception:  # jitlint's own files unreadable (an unusual install): no cache
            self._run_key = None

    def key(self, path: Path, data: bytes) -> str | None:
        """The entry key of `path` holding `data`; None when it cannot be cached."""
        if self._run_key is None:
            return None
        try:
            digest = hashlib.blake2b(data, digest_size=20)
            ignored = self._config.ignored_for(path)
            digest.update(repr((self._run_key, self._package(path), ignored)).encode())
            return digest.hexdigest()
        except Exception:  # the file's directory cannot be searched for its package, ...
            return None

    def load(self, key: str, path: Path, shown: str, data: bytes) -> list[Finding] | None:
        """The cached findings of `path` (holding `data`), reported at `shown`; None when the
        entry is absent, unreadable or not valid for this file."""
        try:
            text = _read_entry(self._entry(key))
            if text is None:
                return None
            return self._decode(json.loads(text), path, shown, data)
        except Exception:  # malformed JSON, a wrong value, too deeply nested, ...
            return None

    def store(self, key: str, path: Path, data: bytes, findings: Sequence[Finding]) -> None:
        """Write an entry atomically, if load would accept it back; a directory that cannot be
        written disables storing."""
        if not self._writable:
            return
        try:
            entry = _encode(findings)
            self._decode(entry, path, "", data)
            text = json.dumps(entry, separators=(",", ":")).encode()
        except Exception:  # a finding load would refuse (an over-long message): not stored
            return
        if len(text) > MAX_ENTRY_BYTES:
            return
        try:
            _write_atomically(self._entry(key), text)
        except Exception:  # a read-only or vanished directory, ...
            self._writable = False

    def prepare(self) -> None:
        """Create the directory with a CACHEDIR.TAG and a .gitignore, as other tools' caches do."""
        try:
            self._entries.mkdir(parents=True, exist_ok=True)
            for name, text in _MARKERS.items():
                marker = self.directory / name
                if not marker.exists():
                    _write_atomically(marker, text.encode())
        except Exception:
            self._writable = False

    def _entry(self, key: str) -> Path:
        return self._entries / f"{key}.json"

    def _package(self, path: Path) -> str | None:
        # Relative imports resolve against it; it is the same for every file of a directory.
        if path.parent not in self._packages:
            self._packages[path.parent] = package_of(path)
        return self._packages[path.parent]

    def _decode(self, entry: Any, path: Path, shown: str, data: bytes) -> list[Finding]:
        """The findings of a decoded entry; ValueError unless each could be one of this file."""
        if type(entry) is not dict or entry.keys() != {"findings"} or type(entry["findings"]) is not list:
            raise ValueError("an entry is {'findings': [...]}")
        rows = entry["findings"]
        if not rows:
            return []  # most files: no findings, and nothing to count
        # Lines end at \n, \r\n or \r, as for Python's tokenizer. A column counts characters,
        # which in any encoding Python source may have are never more than the bytes.
        last_line = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1
        last_col = len(data) + 1  # one past the end: a syntax error at the end of the file
        findings = []
        for row in rows:
            if type(row) is not list or len(row) != len(_STORED_FIELDS):
                raise ValueError(f"a finding is a list of {len(_STORED_FIELDS)} values")
            line, col, code, message, end_line, end_col, function, traced_via = row
            if not (_number(line, 1, last_line) and _number(col, 1, last_col)):
                raise ValueError("a finding lies outside the file")
            if not (end_line is None or _number(end_line, line, last_line)):
                raise ValueError("a finding ends outside the file")
            if not (end_col is None or _number(end_col, 1, last_col)):
                raise ValueError("a finding ends outside the file")
            if not (type(code) is str and code in _KNOWN_CODES and self._reported(code, path)):
                raise ValueError(f"{code!r} is not a code this config reports for the file")
            if not (_text(message) and _optional_text(function) and _optional_text(traced_via)):
                raise ValueError("a finding's text is not one short printable line")
            if _VERDICT.search(message):
                raise ValueError("a message ends in what --confirm adds to the text output")
            findings.append(
                Finding(
                    path=shown,
                    line=line,
                    col=col,
                    code=code,
                    message=message,
                    end_line=end_line,
                    end_col=end_col,
                    function=function,
                    traced_via=traced_via,
                )
            )
        return findings

    def _reported(self, code: str, path: Path) -> bool:
        # As the engine decides: internal errors are always reported, everything else as
        # select, ignore and per-file-ignores say.
        return code == "JIT902" or self._config.is_enabled(code, path)


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


_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
# O_EXCL: never write through whatever already has the temporary name (a planted symbolic link).
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY


def _read_entry(entry: Path) -> bytes | None:
    """The bytes of an entry; None when it is absent, not a regular file (a FIFO, a symbolic
    link to /dev/zero or elsewhere) or too large."""
    try:
        return read_regular_file(entry, max_bytes=MAX_ENTRY_BYTES, follow_links=False)
    except OSError:
        return None


def _write_atomically(target: Path, data: bytes) -> None:
    # The temporary name is unique to this process, and each process writes an entry once: one
    # already there was left by a crashed run with the same process id, or planted.
    # os-level calls: a cold run writes an entry per file, and open() adds three system calls.
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        try:
            handle = os.open(temporary, _WRITE_FLAGS, 0o644)
        except FileExistsError:
            temporary.unlink()
            handle = os.open(temporary, _WRITE_FLAGS, 0o644)
        try:
            remaining = memoryview(data)
            while remaining:
                remaining = remaining[os.write(handle, remaining) :]
        finally:
            os.close(handle)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- entries: findings without their path, as JSON -------------------------------------------
#
# Only what is shown is stored: no `target` (--confirm analyses the file again, so what it runs
# comes from the source, never from the cache) and no `confirmation` (decided by --confirm in
# the run that shows it). JSON, not pickle: loading a pickle runs code.

_STORED_FIELDS = ("line", "col", "code", "message", "end_line", "end_col", "function", "traced_via")
_KNOWN_CODES = frozenset(RULE_CODES) | frozenset(TOOL_CODES)
# The verdict the text output appends to a message under --confirm (reporters.text_report).
_VERDICT = re.compile(r" \[(?:confirmed|not reproduced|unverified: .*)\]\Z")


def _encode(findings: Sequence[Finding]) -> dict[str, Any]:
    return {"findings": [[getattr(finding, name) for name in _STORED_FIELDS] for finding in findings]}


def _number(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high  # not bool, not float


def _text(value: Any) -> bool:
    # Printable: a newline or an escape sequence in a message would forge output lines or
    # reach the terminal.
    return type(value) is str and len(value) <= MAX_TEXT and value.isprintable()


def _optional_text(value: Any) -> bool:
    return value is None or _text(value)
