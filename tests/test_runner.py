"""Many files at once: the result cache and worker processes never change what is reported.

Runs with several jobs go through the real `jitlint` command, in a fresh process (forking the
test process, which may have imported jax and its threads, is not what users run).
"""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import astuple, replace
from pathlib import Path

import pytest

import jitlint.cache
from jitlint.cache import ResultCache, run_key
from jitlint.config import Config
from jitlint.runner import RunOptions, check_files

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

# JIT003 on line 6 and JIT005 on line 7.
TWO_CODES = """\
import jax


@jax.jit
def step(x):
    print(x)
    if x > 0:
        x = -x
    return x
"""


def run_jitlint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "jitlint", "--format", "json", *args]
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed


def outcome(completed: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return completed.returncode, completed.stdout, completed.stderr


def entries(cache_dir: Path) -> dict[Path, int]:
    """Each cache entry file and when it was last written."""
    return {path: path.stat().st_mtime_ns for path in cache_dir.rglob("*.json")}


def test_same_output_for_any_jobs_with_and_without_cache(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    reference = run_jitlint(REPO, "--no-cache", "--jobs", "1", "tests/fixtures")
    assert json.loads(reference.stdout), "the fixtures must produce findings"
    assert outcome(run_jitlint(REPO, "--no-cache", "--jobs", "2", "tests/fixtures")) == outcome(reference)
    cold = run_jitlint(REPO, "--cache-dir", cache, "--jobs", "2", "tests/fixtures")
    assert outcome(cold) == outcome(reference)
    written = entries(Path(cache))
    assert len(written) == len(list(FIXTURES.rglob("*.py")))
    for jobs in ("1", "3"):
        warm = run_jitlint(REPO, "--cache-dir", cache, "--jobs", jobs, "tests/fixtures")
        assert outcome(warm) == outcome(reference)
    assert entries(Path(cache)) == written  # the warm runs read every result, wrote none


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def findings(root: Path, config: Config, cache: Path | None) -> list[tuple[object, ...]]:
    """Every field of each finding but its --confirm target, which the cache does not keep."""
    options = RunOptions(jobs=1, cache=None if cache is None else ResultCache(cache, config))
    paths = sorted(root.rglob("*.py"))
    return [astuple(replace(finding, target=None)) for finding in check_files(paths, config, root, options)]


def test_a_changed_file_is_the_only_one_analysed_again(tmp_path: Path) -> None:
    root = project(tmp_path / "src", {"a.py": TWO_CODES, "b.py": TWO_CODES, "c.py": "import jax\n"})
    cache = tmp_path / "cache"
    config = Config(root=root)
    first = findings(root, config, cache)
    before = entries(cache)
    (root / "b.py").write_text(TWO_CODES.replace("print(x)\n", "pass\n"))
    second = findings(root, config, cache)
    after = entries(cache)
    assert len(after) == len(before) + 1 and all(after[path] == when for path, when in before.items())
    assert [f[:5] for f in second] == [f[:5] for f in first if f[0] != "b.py" or f[3] != "JIT003"]
    assert second == findings(root, config, None)


def test_config_changes_invalidate_and_discovery_settings_do_not() -> None:
    config = Config()
    assert run_key(replace(config, select=("JIT003",))) != run_key(config)
    assert run_key(replace(config, ignore=("JIT005",))) != run_key(config)
    assert run_key(replace(config, extend_jit_decorators=("mylib.jit",))) != run_key(config)
    assert run_key(replace(config, exclude=("tests",), extend_exclude=("x",))) == run_key(config)
    assert run_key(replace(config, root=Path("/elsewhere"))) == run_key(config)


def test_the_run_key_does_not_depend_on_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(root=tmp_path)
    here = run_key(config)
    monkeypatch.chdir(tmp_path)
    assert run_key(config) == here


def test_jitlint_code_changes_invalidate(monkeypatch: pytest.MonkeyPatch) -> None:
    before = run_key(Config())
    monkeypatch.setattr(jitlint.cache, "code_hash", lambda: "a rule changed")
    assert run_key(Config()) != before
    monkeypatch.undo()
    monkeypatch.setattr(jitlint.cache, "__version__", "9.9.9")
    assert run_key(Config()) != before


def test_package_and_per_file_ignores_are_part_of_the_key(tmp_path: Path) -> None:
    root = project(tmp_path, {"pkg/mod.py": TWO_CODES})
    path, data = root / "pkg" / "mod.py", TWO_CODES.encode()
    config = Config(root=root)
    plain = ResultCache(tmp_path / "cache", config).key(path, data)
    (root / "pkg" / "__init__.py").write_text("")  # relative imports now resolve differently
    in_package = ResultCache(tmp_path / "cache", config).key(path, data)
    assert in_package != plain
    ignoring = replace(config, per_file_ignores=(("pkg/*", ("JIT003",)),))
    unrelated = replace(config, per_file_ignores=(("tests/*", ("JIT003",)),))
    assert ResultCache(tmp_path / "cache", ignoring).key(path, data) != in_package
    assert ResultCache(tmp_path / "cache", unrelated).key(path, data) == in_package


def test_the_same_text_at_two_paths_is_reported_at_each(tmp_path: Path) -> None:
    root = project(tmp_path / "src", {"a.py": TWO_CODES, "b.py": TWO_CODES})
    cache, config = tmp_path / "cache", Config(root=tmp_path / "src")
    cold = findings(root, config, cache)
    assert {f[0] for f in cold} == {"a.py", "b.py"}
    assert findings(root, config, cache) == cold


def _retyped(text: str, index: int, value: object) -> str:
    """The entry with one stored value of its first finding replaced."""
    entry = json.loads(text)
    entry["findings"][0][index] = value
    return json.dumps(entry)


GARBAGE = {
    "empty": lambda text: "",
    "truncated": lambda text: text[: len(text) // 2],
    "list": lambda text: "[]",
    "not-a-list": lambda text: '{"findings": 3}',
    "short-row": lambda text: '{"findings": [[1]]}',
    "wrong-type": lambda text: _retyped(text, 0, "6"),
    "binary": lambda text: "\x00\xff",
    "deeply-nested": lambda text: "[" * 100_000,
}


@pytest.mark.parametrize("damage", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_corrupted_entry_is_a_miss(tmp_path: Path, damage: Callable[[str], str]) -> None:
    root = project(tmp_path / "src", {"a.py": TWO_CODES})
    cache, config = tmp_path / "cache", Config(root=tmp_path / "src")
    cold = findings(root, config, cache)
    for entry in entries(cache):
        entry.write_text(damage(entry.read_text()), encoding="latin-1")
    assert findings(root, config, cache) == cold
    assert findings(root, config, cache) == cold  # and the entry was written again


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    root = project(tmp_path / "src", {"a.py": TWO_CODES})
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    config = Config(root=root)
    assert findings(root, config, blocker / "cache") == findings(root, config, None)


def test_the_cache_lives_in_the_project_root(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": "[tool.jitlint]\n", "src/a.py": TWO_CODES})
    first = run_jitlint(root / "src")
    assert (root / ".jitlint_cache" / "CACHEDIR.TAG").is_file()
    assert (root / ".jitlint_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert outcome(run_jitlint(root / "src")) == outcome(first)
    shutil.rmtree(root / ".jitlint_cache")
    assert outcome(run_jitlint(root / "src", "--no-cache")) == outcome(first)
    assert not (root / ".jitlint_cache").exists()


def test_jobs_must_be_a_positive_number(tmp_path: Path) -> None:
    for bad in ("0", "-1", "two"):
        completed = run_jitlint(tmp_path, "--jobs", bad)
        assert completed.returncode == 2 and "--jobs" in completed.stderr


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="affinity is Linux-only")
def test_default_jobs_is_the_available_cores() -> None:
    from jitlint.runner import available_cores

    assert available_cores() == len(os.sched_getaffinity(0))


class _NoPool:
    """A system without a working process pool (no /dev/shm, no sem_open)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise OSError("this platform lacks a functioning sem_open implementation")


class _DyingPool:
    """A pool whose worker dies after three files (killed, out of memory)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> "_DyingPool":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[[object], object], tasks: list[object], chunksize: int = 1) -> Iterator[object]:
        for index, task in enumerate(tasks):
            if index == 3:
                raise BrokenProcessPool("a child process terminated abruptly")
            yield fn(task)


@pytest.mark.parametrize("pool", [_NoPool, _DyingPool], ids=["no-pool", "worker-died"])
def test_without_working_workers_the_files_are_checked_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: type
) -> None:
    root = project(tmp_path, {f"m{i}.py": TWO_CODES for i in range(20)})
    config = Config(root=root)
    paths = sorted(root.rglob("*.py"))
    serial = [astuple(finding) for finding in check_files(paths, config, root, RunOptions(jobs=1, cache=None))]
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", pool)
    parallel = check_files(paths, config, root, RunOptions(jobs=2, cache=None))
    assert [astuple(finding) for finding in parallel] == serial
    assert len(serial) == 40
