"""The flake8 route: the real `flake8`, in a subprocess, reports what `jitlint` reports.

flake8 governs selection there (`--select`, `--per-file-ignores`, `# noqa`); from
`[tool.jitlint]` only what changes which code is traced applies.
"""

import json
import sys
from pathlib import Path

import pytest
from test_cli import (
    CLEAN,
    JITTED_PRINT,
    REPO,
    Result,
    jitlint,
    jitlint_table,
    run,
    write,
)

from jitlint import flake8_plugin
from jitlint.config import Config
from jitlint.flake8_plugin import Flake8Checker, analysis_config

Reported = tuple[str, int, int, str, str]  # path, line, column, code, message


def flake8(cwd: Path, *args: str) -> Result:
    """Run the real flake8 of this interpreter, with only the JIT codes selected."""
    return run([sys.executable, "-m", "flake8", "--select", "JIT", *args], cwd)


def reported_by_flake8(result: Result) -> set[Reported]:
    return {(Path(f.path).as_posix(), f.line, f.col, f.code, f.message) for f in result.findings}


def test_flake8_reports_exactly_what_jitlint_reports_on_the_fixtures() -> None:
    by_flake8 = flake8(REPO, "--isolated", "tests/fixtures")
    by_jitlint = jitlint(REPO, "--isolated", "--format", "json", "tests/fixtures")
    expected = {
        (Path(f["path"]).as_posix(), f["line"], f["column"], f["code"], f["message"])
        for f in json.loads(by_jitlint.out)
    }
    assert expected, "the fixtures must hold findings for this comparison to mean anything"
    assert reported_by_flake8(by_flake8) == expected
    assert by_flake8.code == 1


NOQA_FORMS = """\
import jax


@jax.jit
def step(x):
    print(x)  # noqa
    print(x)  # noqa: JIT003
    print(x)  # noqa: E501
    print(x)
    return x
"""


@pytest.mark.parametrize(
    ("options", "lines"),
    [((), [8, 9]), (("--disable-noqa",), [6, 7, 8, 9])],  # flake8, not jitlint, applies noqa
    ids=["noqa", "disable-noqa"],
)
def test_flake8_noqa_and_per_file_ignores_decide_what_is_reported(
    tmp_path: Path, options: tuple[str, ...], lines: list[int]
) -> None:
    write(tmp_path, {"noqa_forms.py": NOQA_FORMS, "ignored.py": JITTED_PRINT})
    per_file_ignores = ("--per-file-ignores", "ignored.py:JIT003")
    result = flake8(tmp_path, *options, *per_file_ignores, "noqa_forms.py", "ignored.py")
    assert [f[:4] for f in result.findings] == [("noqa_forms.py", line, 5, "JIT003") for line in lines]
    assert result.code == 1


def test_jitlint_selection_settings_are_left_to_flake8(tmp_path: Path) -> None:
    pyproject = jitlint_table('ignore = ["JIT003"]', 'per-file-ignores = { "mod.py" = ["JIT003"] }')
    write(tmp_path, {"pyproject.toml": pyproject, "mod.py": JITTED_PRINT})
    assert jitlint(tmp_path, "mod.py").findings == []
    assert [f[:4] for f in flake8(tmp_path, "mod.py").findings] == [("mod.py", 6, 5, "JIT003")]


CUSTOM_DECORATOR = """\
import mylib


@mylib.compiled
def step(x):
    print(x)
    return x
"""


@pytest.mark.parametrize(("settings", "expected"), [((), []), (('extend-jit-decorators = ["mylib.compiled"]',), [6])])
def test_extend_jit_decorators_applies_in_flake8(
    tmp_path: Path, settings: tuple[str, ...], expected: list[int]
) -> None:
    project = write(tmp_path, {"pyproject.toml": jitlint_table(*settings), "src/mod.py": CUSTOM_DECORATOR})
    result = flake8(project / "src", "mod.py")  # the table is found upward from the working directory
    assert [f.line for f in result.findings] == expected


def test_a_bad_config_makes_flake8_fail_without_a_traceback(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": jitlint_table("bogus = 1"), "mod.py": CLEAN})
    result = flake8(tmp_path, "mod.py")
    assert result.code == 1
    assert "unknown key 'bogus'" in result.out + result.err


def test_the_project_config_is_read_once_for_many_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"pyproject.toml": jitlint_table('extend-jit-decorators = ["mylib.compiled"]')})
    reads: list[Path] = []
    real_load_config = flake8_plugin.load_config  # type: ignore[attr-defined]  # replaced below

    def counting_load_config(path: Path) -> Config:
        reads.append(path)
        return real_load_config(path)

    monkeypatch.setattr(flake8_plugin, "load_config", counting_load_config)
    monkeypatch.chdir(tmp_path)
    analysis_config.cache_clear()
    found: list[tuple[str, int, int]] = []
    for name in ("a.py", "b.py", "c.py"):
        lines = CUSTOM_DECORATOR.splitlines(keepends=True)
        checker = Flake8Checker(None, name, lines)  # type: ignore[arg-type]  # the tree is unused
        found.extend((name, line, col) for line, col, _, _ in checker.run())
    analysis_config.cache_clear()
    assert reads == [tmp_path.resolve() / "pyproject.toml"]
    assert found == [(name, 6, 4) for name in ("a.py", "b.py", "c.py")]  # flake8 adds 1 to the column
