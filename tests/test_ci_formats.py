"""CI output: `--format github` (workflow commands)."""

from pathlib import Path

from test_cli import CLEAN, JITTED_PRINT, jitlint, write

from jitlint.findings import Finding
from jitlint.reporters import github_report

# --- GitHub Actions workflow commands ----------------------------------------------------------


def test_github_format_is_one_error_command_a_finding(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/mod.py": JITTED_PRINT, "clean.py": CLEAN})
    result = jitlint(tmp_path, "--format", "github")
    [line] = result.out.splitlines()
    prefix = "::error file=pkg/mod.py,line=6,col=5,title=JIT003::"
    assert line.startswith(prefix)
    assert "print()" in line.removeprefix(prefix)
    assert result.code == 1


def test_github_format_prints_nothing_without_findings(tmp_path: Path) -> None:
    write(tmp_path, {"clean.py": CLEAN})
    result = jitlint(tmp_path, "--format", "github")
    assert (result.code, result.out) == (0, "")


def test_github_format_escapes_as_github_documents() -> None:
    finding = Finding("dir:a,b/100%.py", 3, 7, "JIT003", "50% of\r\nit: a, b")
    assert github_report([finding]) == (
        "::error file=dir%3Aa%2Cb/100%25.py,line=3,col=7,title=JIT003::50%25 of%0D%0Ait: a, b\n"
    )
