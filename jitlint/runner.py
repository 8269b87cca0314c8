"""Checking many files: cache lookups, then worker processes for the files not in the cache.

Per-file analysis is a pure function (engine.check_bytes), so where it runs changes nothing:
the findings are the same, in the same order, for any number of jobs and with or without the
cache. The main process reads each file once, looks its entry up, hands the misses to the
workers (largest first, so that no worker is left with a big file at the end) and stores what
they return.

The engine (with libcst) and the process pool are imported inside the functions that need
them, when a file must be analysed: a run answered from the cache does without them, and
importing them would be half of such a run.

The cache never stops a run (a key that cannot be computed, an entry that cannot be read or is
not valid: the file is analysed), and never decides what --confirm traces: with --confirm, a
file with cached findings is analysed again for their trace targets (see cache.py).
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from jitlint.cache import ResultCache
from jitlint.config import Config
from jitlint.discovery import display_path, read_regular_file
from jitlint.findings import Finding

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

# Below this many files to analyse, workers save little or nothing: on 2 cores a pool starts
# and stops in about 10 ms, a file of the real corpus takes 18 ms on average, and 8 random
# files took longer with 2 workers than in one process, 16 files 20% less time.
MIN_FILES_FOR_WORKERS = 16
_CHUNK = 4  # files a worker takes at a time: few enough to balance, enough to amortise the pipe


@dataclass(frozen=True)
class RunOptions:
    jobs: int  # worker processes; 1 checks every file in this process
    cache: ResultCache | None  # None: --no-cache
    # --confirm: findings must carry the trace target, which the cache does not keep.
    confirm: bool = False


@dataclass(frozen=True)
class _Task:
    path: Path
    shown: str
    data: bytes
    key: str | None  # the cache entry to store the findings in; None: none


def available_cores() -> int:
    """The cores this process may run on (its affinity), which `--jobs` defaults to."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def check_files(paths: Sequence[Path], config: Config, cwd: Path, options: RunOptions) -> list[Finding]:
    """The sorted findings of every file; each file is analysed at most once, cached or not."""
    cache = options.cache
    findings: list[Finding] = []
    tasks: list[_Task] = []
    for path in paths:
        shown = display_path(path, cwd)
        try:
            data = read_regular_file(path)  # never waits on a FIFO swapped in since discovery
        except OSError:
            from jitlint.engine import check_file

            findings.extend(check_file(path, config, shown))  # reports it as unreadable (JIT901)
            continue
        key = cache.key(path, data) if cache is not None else None
        cached = cache.load(key, path, shown, data) if cache is not None and key is not None else None
        if cached is None:
            tasks.append(_Task(path, shown, data, key))
        elif cached and options.confirm:
            # Analysed again for the trace targets, so that what --confirm runs comes from the
            # source and never from the cache; the entry stays as it is.
            tasks.append(_Task(path, shown, data, None))
        else:
            findings.extend(cached)
    if cache is not None and any(task.key is not None for task in tasks):
        cache.prepare()
    tasks.sort(key=lambda task: len(task.data), reverse=True)
    for task, found in zip(tasks, _analyse(tasks, config, options.jobs)):
        findings.extend(found)
        if cache is not None and task.key is not None:
            cache.store(task.key, task.path, task.data, found)
    return sorted(findings)


def _analyse(tasks: list[_Task], config: Config, jobs: int) -> Iterator[list[Finding]]:
    """The findings of each task, in task order."""
    import jitlint.engine  # noqa: F401  (here, before forking: workers start with it imported)

    workers = min(jobs, len(tasks) // _CHUNK)
    if workers < 2 or len(tasks) < MIN_FILES_FOR_WORKERS:
        yield from (_check_task(config, task) for task in tasks)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    try:
        with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
            for found in pool.map(partial(_check_task, config), tasks, chunksize=_CHUNK):
                done += 1
                yield found
    except (BrokenProcessPool, OSError, ImportError, NotImplementedError, pickle.PicklingError):
        # A worker died (killed, out of memory), this system has no working process pool
        # (no /dev/shm, no sem_open), or a result could not be sent back: check the files
        # not yet answered here, as --jobs 1 would, so that none is dropped.
        yield from (_check_task(config, task) for task in tasks[done:])


def _check_task(config: Config, task: _Task) -> list[Finding]:
    from jitlint.engine import check_bytes, internal_error

    try:
        return check_bytes(task.path, task.data, config, task.shown)
    except Exception as error:  # check_bytes guards its stages; this keeps a worker alive
        return [internal_error(task.shown, "while checking this file", error)]


def _context() -> BaseContext:
    import multiprocessing

    # fork starts a worker in milliseconds with jitlint and libcst already imported; spawn
    # (the default on macOS and Windows, where fork is unsafe) imports them again in each worker.
    method = "fork" if sys.platform == "linux" else None
    return multiprocessing.get_context(method)
