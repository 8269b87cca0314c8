"""How fast jitlint is on the pinned real corpus, next to flake8 and to libcst parsing alone.

Usage (from the repository root, with the interpreter that has jitlint installed):

    .venv/bin/python benchmarks/bench.py                  # 5 repetitions, a plain table
    .venv/bin/python benchmarks/bench.py --repeat 3 --markdown   # the table for README.md

What it does:

1. Downloads and unpacks the corpus as benchmarks/real_corpus.py does (the same functions and
   cache folder, default `~/.cache/jitlint-corpus`): optax, flax, equinox, numpyro, brax,
   dm-haiku and chex from their released wheels, about 224k lines.
2. Installs plain flake8 (FLAKE8_PIN, with its default plugins pyflakes, pycodestyle and
   mccabe) into its own virtual environment `<cache>/flake8-venv`. Not the flake8 next to
   jitlint: jitlint is a flake8 plugin, and flake8 would run it too.
3. Runs, `--repeat` times, each of the measurements below as a separate process from
   `<cache>/src`, one after another in a round so that a change in machine load hits them all:
   - parse floor: `libcst.parse_module` on every file, one process (the least a libcst linter
     can cost);
   - flake8 -j 1, and flake8 with its default jobs (one a core), `--isolated`;
   - jitlint cold, `--jobs 1`, and cold with its default jobs: each with an empty cache folder,
     as a first run is (it writes the cache);
   - jitlint warm: the default jobs again, with the cache the cold run wrote.
   Every jitlint run must print the same findings, or the script stops with an error.
4. Prints the median, fastest and slowest wall time of each, the peak memory (the resident
   memory of the process and its workers added up, sampled every 20 ms; shared pages count
   once per process, so it is an upper bound), and the ratios the targets of issue 9 are about.

Exit codes: 0 every target met, 1 some target missed, 2 an error (one line on stderr).
Only the standard library is used; memory sampling needs Linux's /proc (elsewhere the column
shows the largest single process, from the OS).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_corpus import (
    DEFAULT_CACHE,
    PINS,
    CorpusError,
    parse_pin,
    prepare_corpus,
    render_table,
)

FLAKE8_PIN = "flake8==7.3.0"
SAMPLE_SECONDS = 0.02
PARSE_FLOOR = """\
import sys, libcst
failed = 0
for name in sys.argv[1:]:
    with open(name, encoding="utf-8") as stream:
        text = stream.read()
    try:
        libcst.parse_module(text)
    except Exception:
        failed += 1
print(failed)
"""


@dataclass(frozen=True)
class Target:
    label: str
    value: Callable[[dict[str, float], dict[str, float]], float]  # (medians, peaks) → measured
    limit: float
    unit: str = "x"


@dataclass
class Measurement:
    name: str
    command: Callable[[], list[str]]
    before: Callable[[], None] = lambda: None  # e.g. empty the cache folder
    times: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)  # MB
    outputs: set[str] = field(default_factory=set)  # hashes of stdout, for jitlint runs


# --- running one command, with its time and peak memory ----------------------------------------


def run_measured(command: Sequence[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak memory in MB (process tree), and a hash of stdout."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=stderr)
        sampler = TreeMemory(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):
            stderr.seek(0)
            errors = stderr.read().decode(errors="replace").strip()[-300:]
            raise CorpusError(f"{' '.join(command[:4])} ... failed (exit {process.returncode}): {errors}")
        stdout.seek(0)
        digest = hashlib.sha256(stdout.read()).hexdigest()
    largest = usage.ru_maxrss / 1024  # KB on Linux: the largest single process of the tree
    return elapsed, max(sampler.peak_mb, largest), digest


class TreeMemory:
    """Samples the resident memory of a process and all its descendants, added up."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def start(self) -> None:
        if Path(f"/proc/{self.pid}").exists():
            self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            total = sum(self._rss(pid) for pid in self._tree())
            self.peak_mb = max(self.peak_mb, total * self._page / 2**20)

    def _tree(self) -> list[int]:
        pids, pending = [], [self.pid]
        while pending:
            pid = pending.pop()
            pids.append(pid)
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
        return pids

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            return 0


# --- set-up ------------------------------------------------------------------------------------


def flake8_venv(cache: Path) -> Path:
    """The flake8 executable of `<cache>/flake8-venv`, created and installed when missing."""
    venv = cache / "flake8-venv"
    executable = venv / ("Scripts" if os.name == "nt" else "bin") / "flake8"
    marker = venv / f".installed-{FLAKE8_PIN}"
    if marker.exists() and executable.exists():
        return executable
    shutil.rmtree(venv, ignore_errors=True)
    print(f"installing {FLAKE8_PIN} into {venv}", flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(executable.with_name("python")), "-m", "pip", "install", "-q", "--disable-pip-version-check", FLAKE8_PIN],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True)
        if result.returncode != 0:
            raise CorpusError(f"{' '.join(step[:4])} failed: {result.stderr.strip()[-300:]}")
    marker.write_text("")
    return executable


def tool_version(command: Sequence[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    return (result.stdout.strip() or result.stderr.strip()).splitlines()[0]


def machine_description() -> list[str]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [
        f"date: {datetime.date.today().isoformat()}",
        f"machine: {cores} cores available ({model}), {platform.system()} {platform.release()}",
        f"python: {platform.python_version()}",
    ]


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


# --- the benchmark -----------------------------------------------------------------------------


def measurements(labels: Sequence[str], files: Sequence[str], flake8: Path, work: Path) -> list[Measurement]:
    cold_cache, warm_cache = work / "cold-cache", work / "warm-cache"

    def jitlint(*options: str) -> Callable[[], list[str]]:
        return lambda: [sys.executable, "-m", "jitlint", "-q", "--exit-zero", "--isolated", *options, *labels]

    def emptied(directory: Path) -> Callable[[], None]:
        return lambda: shutil.rmtree(directory, ignore_errors=True)

    return [
        Measurement("parse floor (libcst, 1 process)", lambda: [sys.executable, "-c", PARSE_FLOOR, *files]),
        Measurement("flake8 -j 1", lambda: [str(flake8), "--isolated", "--exit-zero", "-j", "1", *labels]),
        Measurement(
            "jitlint cold --jobs 1", jitlint("--jobs", "1", "--cache-dir", str(cold_cache)), emptied(cold_cache)
        ),
        Measurement("flake8 (default jobs)", lambda: [str(flake8), "--isolated", "--exit-zero", *labels]),
        Measurement("jitlint cold (default jobs)", jitlint("--cache-dir", str(warm_cache)), emptied(warm_cache)),
        Measurement("jitlint warm (default jobs)", jitlint("--cache-dir", str(warm_cache))),
    ]


TARGETS = [
    Target("jitlint cold --jobs 1 / flake8 -j 1", lambda t, m: t["jitlint cold --jobs 1"] / t["flake8 -j 1"], 1.0),
    Target(
        "jitlint cold --jobs 1 / parse floor",
        lambda t, m: t["jitlint cold --jobs 1"] / t["parse floor (libcst, 1 process)"],
        1.3,
    ),
    Target(
        "jitlint cold (default jobs) / flake8 (default jobs)",
        lambda t, m: t["jitlint cold (default jobs)"] / t["flake8 (default jobs)"],
        1.0,
    ),
    Target(
        "jitlint warm / jitlint cold (default jobs)",
        lambda t, m: t["jitlint warm (default jobs)"] / t["jitlint cold (default jobs)"],
        0.05,
    ),
    Target(
        "jitlint peak memory, largest run",
        lambda t, m: max(v for k, v in m.items() if k.startswith("jitlint")),
        300,
        " MB",
    ),
]


def run(args: argparse.Namespace) -> int:
    cache = args.cache_dir.expanduser().resolve()
    labels = prepare_corpus(cache, [parse_pin(pin) for pin in PINS])
    src = cache / "src"
    flake8 = flake8_venv(cache)
    files = sorted(str(path.relative_to(src)) for label in labels for path in (src / label).rglob("*.py"))
    lines = sum((src / name).read_bytes().count(b"\n") for name in files)
    header = [
        *machine_description(),
        f"tools: jitlint {tool_version([sys.executable, '-m', 'jitlint', '--version']).split()[-1]}"
        f" ({git_commit()}), libcst {libcst_version()},"
        f" flake8 {tool_version([str(flake8), '--version']).split(' CPython')[0]}",
        f"corpus: {len(files)} files, {lines} lines ({', '.join(labels)})",
        f"repetitions: {args.repeat}; load average before: {load_average()}",
    ]
    print("\n".join(header), flush=True)

    with tempfile.TemporaryDirectory(prefix="jitlint-bench-") as work:
        runs = measurements(labels, files, flake8, Path(work))
        for repetition in range(1, args.repeat + 1):
            for measurement in runs:
                measurement.before()
                elapsed, peak, digest = run_measured(measurement.command(), src)
                measurement.times.append(elapsed)
                measurement.peaks.append(peak)
                if measurement.name.startswith("jitlint"):
                    measurement.outputs.add(digest)
            print(
                f"round {repetition}/{args.repeat}: "
                + ", ".join(f"{m.name.split(' (')[0]} {m.times[-1]:.2f} s" for m in runs),
                flush=True,
            )
    if len({digest for m in runs for digest in m.outputs}) > 1:
        raise CorpusError("jitlint printed different findings in different runs")

    print(f"load average after: {load_average()}\n")
    medians = {m.name: statistics.median(m.times) for m in runs}
    peaks = {m.name: max(m.peaks) for m in runs}
    rows = [
        [m.name, f"{medians[m.name]:.2f}", f"{min(m.times):.2f}", f"{max(m.times):.2f}", f"{peaks[m.name]:.0f}"]
        for m in runs
    ]
    print(render_table(["run", "median s", "fastest s", "slowest s", "peak MB"], rows, args.markdown))
    print()
    met = True
    target_rows = []
    for target in TARGETS:
        value = target.value(medians, peaks)
        ok = value <= target.limit
        met &= ok
        shown = f"{value:.0f}{target.unit}" if target.unit != "x" else f"{value:.3f}x"
        limit = f"{target.limit:g}{target.unit}" if target.unit != "x" else f"{target.limit:g}x"
        target_rows.append([target.label, shown, f"<= {limit}", "met" if ok else "MISSED"])
    print(render_table(["ratio (medians)", "measured", "target", ""], target_rows, args.markdown))
    return 0 if met else 1


def libcst_version() -> str:
    code = "import importlib.metadata as m; print(m.version('libcst'))"
    return tool_version([sys.executable, "-c", code])


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).resolve().parent
    )
    return result.stdout.strip() or "not a git checkout"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Time jitlint, flake8 and libcst parsing on the real corpus.")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        metavar="DIR",
        help=f"where the corpus and the flake8 venv go (default: {DEFAULT_CACHE})",
    )
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="repetitions (default: 5)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CorpusError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
