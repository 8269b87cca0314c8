"""The pre-commit hook, run by the real `pre-commit try-repo` on a throwaway git project.

pre-commit installs the hook into an environment of its own with pip, from the package
registry, once per run (about 15 s each): the test is marked slow, and runs by default.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import CLEAN, JITTED_PRINT, REPO, write

pytestmark = pytest.mark.slow

# Commits need an author; GIT_* variables of an enclosing git command must not leak in.
GIT_ENV = {
    **{name: value for name, value in os.environ.items() if not name.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "jitlint tests",
    "GIT_AUTHOR_EMAIL": "tests@jitlint.invalid",
    "GIT_COMMITTER_NAME": "jitlint tests",
    "GIT_COMMITTER_EMAIL": "tests@jitlint.invalid",
}


def git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def checkout_snapshot(destination: Path) -> Path:
    """The files of this checkout, edited and new ones included, as a one-commit repository.

    pre-commit installs hooks from a commit; on a checkout with local changes `try-repo` adds
    only the tracked files to its temporary commit, so a new module would be left out.
    """
    command = ["git", "rev-parse", "--show-toplevel"]
    top = subprocess.run(command, cwd=REPO, env=GIT_ENV, capture_output=True, text=True)
    if top.returncode:
        pytest.skip("the tests do not run from a git checkout")
    root = Path(top.stdout.strip())
    listed = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        if (root / name).is_file():  # a tracked file deleted from the work tree is still listed
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, destination / name)
    git(destination, "init", "-q")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "snapshot of the checkout under test")
    return destination


def try_repo(project: Path, hook_repo: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo HOOK_REPO jitlint --all-files`, with its caches kept under `scratch`."""
    env = {**GIT_ENV, "PRE_COMMIT_HOME": str(scratch / "home"), "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "jitlint", "--all-files"]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)


def test_the_hook_fails_on_a_pitfall_and_passes_on_clean_code(tmp_path: Path) -> None:
    hook_repo = checkout_snapshot(tmp_path / "jitlint")
    project = write(tmp_path / "project", {"bad.py": JITTED_PRINT, "good.py": CLEAN, "notes.txt": "x\n"})
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "a project with a pitfall")

    failed = try_repo(project, hook_repo, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bad.py:6:5: JIT003 print()" in failed.stdout
    assert "Found 1 problem in 1 file (2 files checked)" in failed.stdout  # the Python files only

    git(project, "rm", "-q", "bad.py")
    passed = try_repo(project, hook_repo, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
