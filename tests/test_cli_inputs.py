"""Bad and unusual inputs to the real `jitlint` command: what it is given to read (symlink loops,
FIFOs, devices, unreadable directories), exclude globs however the files are named, config
files in every TOML spelling or broken, and out-of-range option values.

Each test checks the exit code, the one line that explains the problem, and that the other
files' findings are still printed.
"""

from pathlib import Path

import pytest
from test_cli import CLEAN, JITTED_PRINT, Result, jit003, jitlint, jitlint_table, write
from test_flake8_plugin import flake8

from jitlint.codes import TOOL_CODES

WARNING = "jitlint: warning: "
NOT_REGULAR = "could not read: not a regular file"


def only_findings(result: Result, expected: list[tuple[str, int, int, str]], code: int) -> None:
    """The exit code and exactly these findings (the good files' ones among them)."""
    assert result.located == expected
    assert result.code == code


def stderr_lines_before_the_summary(result: Result) -> list[str]:
    return result.err.splitlines()[:-1]


# --- exclude globs, however the files are named ------------------------------------------------

# `proj[1]`: the root's own name must not be read as glob syntax.
PROJECT = "proj[1]"
EXCLUDING_B = {
    f"{PROJECT}/pyproject.toml": jitlint_table('extend-exclude = ["src/pkg/b.py", "./src/gen", "fixtures/"]'),
    f"{PROJECT}/src/pkg/a.py": JITTED_PRINT,
    f"{PROJECT}/src/pkg/b.py": JITTED_PRINT,
    f"{PROJECT}/src/gen/g.py": JITTED_PRINT,
    f"{PROJECT}/src/pkg/fixtures/x.py": JITTED_PRINT,  # a bare name matches at any depth
}


@pytest.mark.parametrize(
    ("cwd", "args", "shown"),
    [
        ("", [], "src/pkg/a.py"),
        ("", ["src"], "src/pkg/a.py"),
        ("", ["./src"], "src/pkg/a.py"),
        ("", ["src/pkg/"], "src/pkg/a.py"),
        ("", ["ABSOLUTE/src"], "src/pkg/a.py"),
        ("src", [], "pkg/a.py"),  # the config is found upward; its globs stay relative to it
        ("src", ["."], "pkg/a.py"),
        ("src/pkg", ["../pkg"], "../pkg/a.py"),
        ("src/pkg", [], "a.py"),
    ],
)
def test_exclude_globs_are_relative_to_the_config_file(tmp_path: Path, cwd: str, args: list[str], shown: str) -> None:
    write(tmp_path, EXCLUDING_B)
    root = tmp_path / PROJECT
    args = [arg.replace("ABSOLUTE", str(root)) for arg in args]
    result = jitlint(root / cwd, *args)
    only_findings(result, [jit003(shown)], 1)
    assert result.summary == "Found 1 problem in 1 file (1 file checked)"


def test_command_line_exclude_globs_are_relative_to_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path, EXCLUDING_B)
    result = jitlint(tmp_path / PROJECT / "src", "--extend-exclude", "pkg/a.py")  # replaces the file's
    only_findings(result, [jit003("gen/g.py"), jit003("pkg/b.py"), jit003("pkg/fixtures/x.py")], 1)


def test_files_named_on_the_command_line_are_checked_even_when_excluded(tmp_path: Path) -> None:
    write(tmp_path, EXCLUDING_B)
    result = jitlint(tmp_path / PROJECT, "src/pkg/b.py", "src")
    only_findings(result, [jit003("src/pkg/a.py"), jit003("src/pkg/b.py")], 1)


def test_a_named_directory_is_searched_even_when_its_name_is_excluded(tmp_path: Path) -> None:
    write(tmp_path, EXCLUDING_B)
    result = jitlint(tmp_path / PROJECT, "src/pkg/fixtures")  # excludes apply below what is named
    only_findings(result, [jit003("src/pkg/fixtures/x.py")], 1)


# --- configuration: any TOML spelling, clear errors --------------------------------------------


@pytest.mark.parametrize(
    "pyproject",
    [
        '[ tool.jitlint ]\nignore = ["JIT003"]\n',
        '["tool".jitlint]\nignore = ["JIT003"]\n',
        '[tool."jitlint"]\nignore = ["JIT003"]\n',
        'tool.jitlint.ignore = ["JIT003"]\n',
        '[tool]\njitlint = { ignore = ["JIT003"] }\n',
        '[tool.black]\nline-length = 99\n\n[tool]\njitlint.ignore = ["JIT003"]\n',
    ],
    ids=["spaces", "quoted-tool", "quoted-jitlint", "dotted-key", "inline-table", "dotted-in-tool"],
)
def test_every_toml_spelling_of_the_table_is_read(tmp_path: Path, pyproject: str) -> None:
    write(tmp_path, {"pyproject.toml": pyproject, "src/mod.py": JITTED_PRINT, "src/clean.py": CLEAN})
    for cwd in (tmp_path, tmp_path / "src"):  # in the project root, and found upward
        result = jitlint(cwd)
        assert (result.code, result.out) == (0, ""), result.err
        assert result.summary == "No problems found (2 files checked)"


@pytest.mark.parametrize(
    ("config", "text", "options", "problem"),
    [
        ("pyproject.toml", "tool = 1  # jitlint settings: see the docs\n", [], "'tool' must be a table, not an integer"),
        ("ci/strict.toml", 'tool = "jitlint"\n', ["--config", "ci/strict.toml"], "'tool' must be a table, not a string"),
        ("pyproject.toml", "[tool]\njitlint = []\n", [], "[tool.jitlint] must be a table, not an array"),
    ],
    ids=["tool-integer", "config-tool-string", "jitlint-array"],
)
def test_a_tool_or_jitlint_key_that_is_not_a_table_is_a_config_error(
    tmp_path: Path, config: str, text: str, options: list[str], problem: str
) -> None:
    write(tmp_path, {config: text, "mod.py": JITTED_PRINT})
    result = jitlint(tmp_path, *options)
    assert (result.code, result.out) == (2, "")
    [line] = result.err.splitlines()
    assert line.startswith("jitlint: error: ") and line.endswith(f"{config}: {problem}"), line


def test_a_malformed_pyproject_met_upward_is_an_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[ tool.jitlint ]\nignore = [\n", "src/mod.py": JITTED_PRINT})
    result = jitlint(tmp_path / "src")
    assert (result.code, result.out) == (2, "")
    [line] = result.err.splitlines()
    assert line.startswith(f"jitlint: error: {tmp_path / 'pyproject.toml'}: invalid TOML: ")


def test_a_malformed_pyproject_that_never_names_jitlint_is_passed_over(tmp_path: Path) -> None:
    # It cannot hold the table; the project's config above it still applies.
    write(
        tmp_path,
        {
            "pyproject.toml": jitlint_table('ignore = ["JIT003"]'),
            "sub/pyproject.toml": "[project\nname = 'half-written'\n",
            "sub/mod.py": JITTED_PRINT,
        },
    )
    result = jitlint(tmp_path / "sub")
    assert (result.code, result.out, result.err) == (0, "", "No problems found (1 file checked)\n")


def test_flake8_reads_any_spelling_and_fails_cleanly_on_a_tool_that_is_not_a_table(tmp_path: Path) -> None:
    custom = "import mylib\n\n\n@mylib.compiled\ndef step(x):\n    print(x)\n    return x\n"
    write(tmp_path, {"pyproject.toml": 'tool.jitlint.extend-jit-decorators = ["mylib.compiled"]\n', "mod.py": custom})
    assert [f[:4] for f in flake8(tmp_path, "mod.py").findings] == [("mod.py", 6, 5, "JIT003")]
    write(tmp_path, {"pyproject.toml": "tool = 1  # jitlint\n"})
    result = flake8(tmp_path, "mod.py")  # flake8 reports the plugin's error and exits 1
    assert result.code == 1
    assert "'tool' must be a table, not an integer" in result.out + result.err


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
