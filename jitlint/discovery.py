"""From command-line paths to the Python files to check."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jitlint.config import Config

NOT_A_REGULAR_FILE = "not a regular file"


@dataclass
class FileList:
    """What discovery found; each file, loop and unreadable path once, however often named."""

    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # paths given on the command line that do not exist
    # What exists but cannot be read, with the reason: reported as JIT901 findings.
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    loops: list[Path] = field(default_factory=list)  # symlink loops met while searching: skipped
    _seen: set[tuple[int, int]] = field(default_factory=set, repr=False)  # (device, inode) of files
    _seen_unreadable: set[str] = field(default_factory=set, repr=False)  # absolute paths
    _seen_loops: set[str] = field(default_factory=set, repr=False)

    def add(self, path: Path, status: os.stat_result) -> None:
        """Add a regular file once, however many ways (overlapping paths, symlinks) lead to it."""
        key = (status.st_dev, status.st_ino)
        if key not in self._seen:
            self._seen.add(key)
            self.files.append(path)

    def add_unreadable(self, path: Path, reason: str) -> None:
        if _first_time(path, self._seen_unreadable):
            self.unreadable.append((path, reason))

    def add_loop(self, path: Path) -> None:
        if _first_time(path, self._seen_loops):
            self.loops.append(path)


def _first_time(path: Path, seen: set[str]) -> bool:
    # By the path, not what it points to: a loop or an unreadable path has nothing to stat.
    key = os.path.abspath(path)
    if key in seen:
        return False
    seen.add(key)
    return True


def discover(paths: Sequence[str], config: Config) -> FileList:
    """Files named explicitly are always checked; directories are searched for `*.py`.

    Only regular files are ever read. A path named explicitly that is neither a directory nor
    a regular file (a FIFO, a device), or that cannot be reached, is unreadable (JIT901). In a
    search, a `*.py` entry that is not a regular file is not source and is skipped, a symlink
    loop is listed for a warning (as ruff does), and a directory that cannot be listed or an
    entry that cannot be reached (no permission, a dangling symlink) is unreadable.
    """
    found = FileList()
    for given in paths:
        path = Path(given)
        try:
            status = os.stat(path)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):  # a dangling symlink, too
                found.missing.append(given)
            else:  # no permission to reach it, a symlink loop, a name too long
                found.add_unreadable(path, _could_not_read(error))
            continue
        if stat.S_ISDIR(status.st_mode):
            _search(path, config, found)
        elif stat.S_ISREG(status.st_mode):
            found.add(path, status)
        else:  # never opened: reading a FIFO waits for a writer, a device may never end
            found.add_unreadable(path, f"could not read: {NOT_A_REGULAR_FILE}")
    return found


def _search(directory: Path, config: Config, found: FileList) -> None:
    # Exclusions apply below the directory the user named, never to the path leading to it.
    # os.walk does not follow symlinks to directories, so a directory loop is never entered.
    def unreadable_directory(error: OSError) -> None:
        found.add_unreadable(Path(error.filename), f"could not read directory: {error.strerror}")

    for current, dirnames, filenames in os.walk(directory, onerror=unreadable_directory):
        base = Path(current)
        absolute = os.path.abspath(current)  # one getcwd per directory, no symlink resolution
        dirnames[:] = sorted(name for name in dirnames if not config.is_excluded(name, os.path.join(absolute, name)))
        for name in sorted(filenames):
            if name.endswith(".py") and not config.is_excluded(name, os.path.join(absolute, name)):
                _add_found_file(base / name, found)


def _add_found_file(path: Path, found: FileList) -> None:
    try:
        status = os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            found.add_loop(path)
        else:  # a dangling symlink, or no permission to reach it
            found.add_unreadable(path, _could_not_read(error))
        return
    # A FIFO, socket or device named *.py is not source code: skipped without being opened.
    if stat.S_ISREG(status.st_mode):
        found.add(path, status)


def _could_not_read(error: OSError) -> str:
    return f"could not read: {error.strerror or error}"


def read_regular_file(path: Path, *, max_bytes: int | None = None, follow_links: bool = True) -> bytes:
    """The bytes of a regular file; for anything else an OSError, and nothing read.

    Discovery passes on regular files only, but a path can change before it is read. Opening
    with O_NONBLOCK does not wait for a FIFO's writer, and the type is checked on the opened
    file itself, so no swap makes this hang. With `max_bytes`, a larger file is an OSError too
    (also one that grows while it is read); with `follow_links=False`, so is a symbolic link.
    """
    flags = os.O_RDONLY | _NONBLOCK | _BINARY | (0 if follow_links else _NOFOLLOW)
    handle = os.open(path, flags)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(None, NOT_A_REGULAR_FILE, str(path))
        if max_bytes is not None and info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"larger than {max_bytes} bytes", str(path))
        chunks = []
        size = 0
        while chunk := os.read(handle, max(info.st_size + 1 - size, 1)):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:  # it grew while being read
                raise OSError(errno.EFBIG, f"larger than {max_bytes} bytes", str(path))
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(handle)


# Where a flag is missing (Windows has neither FIFOs nor, for os.open, symbolic links to
# follow), the fstat check above still holds.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def display_path(path: Path, cwd: Path) -> str:
    """The path as the user would type it: relative to the working directory when under it."""
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix() if path.is_absolute() else _clean(path)
    except (ValueError, OSError, RuntimeError):  # not under the cwd; a symlink loop (RuntimeError)
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
