"""The pre-commit hook, run by the real pre-commit as a user sets it up, on a throwaway project.

The project names a one-commit snapshot of this checkout in its `.pre-commit-config.yaml`, runs
`pre-commit install`, and commits: pre-commit builds the hook's environment with pip the way it
does for every user (jitlint from source, libcst from the package registry), about 10 s. Both
commits share one pre-commit home, so that environment is built once: the second commit reuses
it, as a user's second commit does. The test is marked slow, and runs by default.
"""

import os
import re
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


def git(cwd: Path, *args: str, env: dict[str, str] = GIT_ENV) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def ok_git(cwd: Path, *args: str, env: dict[str, str] = GIT_ENV) -> str:
    completed = git(cwd, *args, env=env)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def checkout_snapshot(destination: Path) -> Path:
    """The files of this checkout, edited and new ones included, as a one-commit repository.

    pre-commit installs hooks from a commit, so local changes must be committed to be tested.
    """
    top = git(REPO, "rev-parse", "--show-toplevel")
    if top.returncode:
        pytest.skip("the tests do not run from a git checkout")
    root = Path(top.stdout.strip())
    listed = ok_git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        if (root / name).is_file():  # a tracked file deleted from the work tree is still listed
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, destination / name)
    ok_git(destination, "init", "-q")
    ok_git(destination, "add", "-A")
    ok_git(destination, "commit", "-q", "-m", "snapshot of the checkout under test")
    return destination


def test_the_hook_blocks_a_commit_with_a_pitfall_and_lets_a_clean_one_through(tmp_path: Path) -> None:
    hook_repo = checkout_snapshot(tmp_path / "jitlint")
    rev = ok_git(hook_repo, "rev-parse", "HEAD").strip()
    config = f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: jitlint\n"
    files = {".pre-commit-config.yaml": config, "bad.py": JITTED_PRINT, "good.py": CLEAN, "notes.txt": "x\n"}
    project = write(tmp_path / "project", files)
    # pre-commit's store, and so the hook's environment, lives under tmp_path, shared by both
    # commits. The user's git configuration stays out: a global core.hooksPath, for one, makes
    # `pre-commit install` refuse.
    env = {
        **GIT_ENV,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "PRE_COMMIT_HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path),
    }
    ok_git(project, "init", "-q", env=env)
    # The git hook that this writes runs pre-commit with this interpreter.
    command = [sys.executable, "-m", "pre_commit", "install"]
    install = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    ok_git(project, "add", "-A", env=env)

    blocked = git(project, "commit", "-m", "a pitfall", env=env)
    output = blocked.stdout + blocked.stderr  # git sends a hook's output to stderr
    assert blocked.returncode == 1, output
    assert "Installing environment for" in output  # pre-commit built the hook from its definition
    assert "bad.py:6:5: JIT003 print()" in output
    assert "Found 1 problem in 1 file (2 files checked)" in output  # the Python files only
    assert git(project, "rev-parse", "--verify", "-q", "HEAD", env=env).returncode  # nothing was committed

    ok_git(project, "rm", "-q", "--cached", "bad.py", env=env)
    passed = git(project, "commit", "-m", "clean code", env=env)
    output = passed.stdout + passed.stderr
    assert passed.returncode == 0, output
    assert "Installing environment" not in output  # the environment of the first commit is reused
    assert re.search(r"^jitlint\.+Passed$", output, re.MULTILINE), output
    assert ok_git(project, "log", "--format=%s", env=env).splitlines() == ["clean code"]
