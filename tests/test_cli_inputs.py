"""Bad and unusual inputs to the real `jitlint` command: what it is given to read (symlink loops,
FIFOs, devices, unreadable directories), exclude globs however the files are named, config
files in every TOML spelling or broken, and out-of-range option values.

Each test checks the exit code, the one line that explains the problem, and that the other
files' findings are still printed.
"""

from pathlib import Path

import pytest
from test_cli import JITTED_PRINT, Result, jit003, jitlint, write

from jitlint.codes import TOOL_CODES

WARNING = "jitlint: warning: "
NOT_REGULAR = "could not read: not a regular file"


def only_findings(result: Result, expected: list[tuple[str, int, int, str]], code: int) -> None:
    """The exit code and exactly these findings (the good files' ones among them)."""
    assert result.located == expected
    assert result.code == code


def stderr_lines_before_the_summary(result: Result) -> list[str]:
    return result.err.splitlines()[:-1]


# --- option values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--confirm-timeout", "nan"),
        ("--confirm-timeout", "inf"),
        ("--confirm-timeout", "1e308"),
        ("--confirm-timeout", "86401"),
        ("--confirm-timeout", "0"),
        ("--confirm-timeout", "-1"),
        ("--confirm-timeout", "soon"),
        ("--jobs", "0"),
        ("--jobs", "-3"),
        ("--jobs", "1.5"),
        ("--jobs", "many"),
    ],
)
def test_an_out_of_range_option_value_is_a_usage_error(tmp_path: Path, option: str, value: str) -> None:
    write(tmp_path, {"mod.py": JITTED_PRINT})
    result = jitlint(tmp_path, f"{option}={value}")
    assert (result.code, result.out) == (2, "")
    last = result.err.splitlines()[-1]  # argparse: the usage line, then this one
    assert last.startswith("jitlint: error: argument ") and option in last and value in last, last


@pytest.mark.parametrize("option", [["--confirm-timeout", "86400"], ["--confirm-timeout", "0.5"], ["-j", str(10**30)]])
def test_in_range_option_values_are_accepted(tmp_path: Path, option: list[str]) -> None:
    # A huge --jobs is harmless: no more processes start than there are files.
    write(tmp_path, {name: JITTED_PRINT for name in ("a.py", "b.py")})
    result = jitlint(tmp_path, *option)
    only_findings(result, [jit003("a.py"), jit003("b.py")], 1)


# --- --explain for every listed code -----------------------------------------------------------


def test_every_code_list_rules_shows_can_be_explained(tmp_path: Path) -> None:
    listed = [line.split()[0] for line in jitlint(tmp_path, "--list-rules").out.splitlines()]
    assert set(TOOL_CODES) < set(listed)
    for code in listed:
        result = jitlint(tmp_path, "--explain", code.lower())
        assert result.code == 0, result.err
        assert result.out.startswith(f"{code} (")


@pytest.mark.parametrize("code", sorted(TOOL_CODES))
def test_explain_of_a_tool_code_says_what_it_means_and_what_to_do(tmp_path: Path, code: str) -> None:
    result = jitlint(tmp_path, "--explain", code)
    assert result.code == 0
    title, blank, *body = result.out.splitlines()
    assert (title, blank) == (f"{code} ({TOOL_CODES[code].name})", "")
    text = "\n".join(body)
    assert text.index("## What it means") < text.index("## What to do")
    assert len(text.split()) > 40  # an explanation, not a restated summary
