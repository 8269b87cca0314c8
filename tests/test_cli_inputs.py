"""Bad and unusual inputs to the real `jitlint` command: what it is given to read (symlink loops,
FIFOs, devices, unreadable directories), exclude globs however the files are named, config
files in every TOML spelling or broken, and out-of-range option values.

Each test checks the exit code, the one line that explains the problem, and that the other
files' findings are still printed.
"""

import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from test_cli import CLEAN, JITTED_PRINT, Result, console_script, jit003, jitlint, jitlint_table, run, write
from test_flake8_plugin import flake8

from jitlint.codes import TOOL_CODES
from jitlint.discovery import read_regular_file

WARNING = "jitlint: warning: "
NOT_REGULAR = "could not read: not a regular file"


def only_findings(result: Result, expected: list[tuple[str, int, int, str]], code: int) -> None:
    """The exit code and exactly these findings (the good files' ones among them)."""
    assert result.located == expected
    assert result.code == code


def stderr_lines_before_the_summary(result: Result) -> list[str]:
    return result.err.splitlines()[:-1]


# --- symlink loops ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "links",
    [
        {"loop.py": "loop.py"},  # a link to itself
        {"pkg/a.py": "b.py", "pkg/b.py": "a.py"},  # two links to each other, deeper down
    ],
    ids=["self", "pair"],
)
def test_a_symlink_loop_in_a_search_is_skipped_with_one_warning(tmp_path: Path, links: dict[str, str]) -> None:
    write(tmp_path, {"good.py": JITTED_PRINT, "pkg/__init__.py": ""})
    for name, target in links.items():
        (tmp_path / name).symlink_to(target)
    result = jitlint(tmp_path)
    only_findings(result, [jit003("good.py")], 1)
    assert stderr_lines_before_the_summary(result) == [
        f"{WARNING}skipping symlink loop: {name}" for name in sorted(links)
    ]
    assert result.summary == "Found 1 problem in 1 file (2 files checked)"


def test_a_skipped_symlink_loop_does_not_change_the_exit_code(tmp_path: Path) -> None:
    # A loop is not a problem in the user's code: a clean project stays clean, as with ruff.
    write(tmp_path, {"clean.py": CLEAN})
    (tmp_path / "loop.py").symlink_to("loop.py")
    result = jitlint(tmp_path)
    assert (result.code, result.out) == (0, "")
    assert result.err.splitlines() == [f"{WARNING}skipping symlink loop: loop.py", "No problems found (1 file checked)"]


def test_a_symlink_loop_named_twice_is_reported_once(tmp_path: Path) -> None:
    write(tmp_path, {"src/good.py": JITTED_PRINT})
    (tmp_path / "src" / "loop.py").symlink_to("loop.py")
    result = jitlint(tmp_path, "src", "./src", str(tmp_path / "src"))
    only_findings(result, [jit003("src/good.py")], 1)
    assert stderr_lines_before_the_summary(result) == [f"{WARNING}skipping symlink loop: src/loop.py"]


def test_directory_symlinks_are_not_followed_so_a_directory_loop_is_harmless(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/good.py": JITTED_PRINT})
    (tmp_path / "pkg" / "self").symlink_to(".")
    (tmp_path / "pkg" / "parent").symlink_to("..")
    result = jitlint(tmp_path)
    only_findings(result, [jit003("pkg/good.py")], 1)
    assert result.summary == "Found 1 problem in 1 file (1 file checked)"


def test_a_symlink_loop_named_on_the_command_line_is_a_jit901_finding(tmp_path: Path) -> None:
    write(tmp_path, {"good.py": JITTED_PRINT})
    (tmp_path / "loop.py").symlink_to("loop.py")
    result = jitlint(tmp_path, "loop.py", "good.py")
    [good, loop] = result.findings
    assert good[:4] == jit003("good.py")
    assert loop[:4] == ("loop.py", 1, 1, "JIT901")
    assert loop.message.startswith("could not read: ")  # the system's words for ELOOP
    assert result.code == 1


def test_symlink_loops_under_an_absolute_path_and_with_per_file_ignores(tmp_path: Path) -> None:
    # Both resolve paths (to show them, to match per-file-ignores), which fails on a loop.
    config = jitlint_table('per-file-ignores = { "tests/*" = ["JIT003"] }')
    write(tmp_path, {"pyproject.toml": config, "src/good.py": JITTED_PRINT})
    (tmp_path / "src" / "loop.py").symlink_to("loop.py")
    result = jitlint(tmp_path, str(tmp_path / "src"), "src/loop.py")
    [good, loop] = result.findings
    assert (good[:4], loop[:4]) == (jit003("src/good.py"), ("src/loop.py", 1, 1, "JIT901"))
    assert stderr_lines_before_the_summary(result) == [f"{WARNING}skipping symlink loop: {tmp_path}/src/loop.py"]
    assert result.code == 1


# --- FIFOs and devices: only regular files are read -------------------------------------------


@pytest.fixture
def fifo_beside_a_good_file(tmp_path: Path) -> Path:
    write(tmp_path, {"good.py": JITTED_PRINT})
    os.mkfifo(tmp_path / "pipe.py")  # no writer ever comes: reading it would wait forever
    return tmp_path


def test_a_fifo_named_py_in_a_search_is_skipped_without_being_opened(fifo_beside_a_good_file: Path) -> None:
    result = jitlint(fifo_beside_a_good_file)  # a hang fails the run's timeout
    only_findings(result, [jit003("good.py")], 1)
    assert result.err.splitlines() == ["Found 1 problem in 1 file (1 file checked)"]


@pytest.mark.parametrize("special", ["pipe.py", os.devnull])
def test_a_fifo_or_device_named_on_the_command_line_is_a_jit901_finding(
    fifo_beside_a_good_file: Path, special: str
) -> None:
    result = jitlint(fifo_beside_a_good_file, special, "good.py")
    expected = sorted([jit003("good.py"), (special, 1, 1, "JIT901")])
    only_findings(result, expected, 1)
    assert [f.message for f in result.findings if f.code == "JIT901"] == [NOT_REGULAR]
    assert result.err.splitlines() == ["Found 2 problems in 2 files (1 file checked)"]


def test_reading_a_fifo_neither_waits_nor_reads(tmp_path: Path) -> None:
    # Discovery passes on regular files only; this guards a path that becomes a FIFO after it.
    fifo = tmp_path / "swapped.py"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_regular_file(fifo)
        except OSError as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)  # a daemon: a hang cannot block pytest's exit
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "opening the FIFO waited for a writer"
    [error] = outcome
    assert isinstance(error, OSError) and error.strerror == "not a regular file"


# --- what cannot be read -----------------------------------------------------------------------


def without_read_permission(*args: str) -> list[str]:
    """The jitlint command as a user that file permissions apply to. As root they do not, so
    root runs it without the capabilities that override them (CAP_DAC_*), via setpriv."""
    command = [console_script(), *args]
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a chmod 000 directory stays readable")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", drop, "--inh-caps", "-all", *command]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize(
    ("locked", "message"),
    [("locked", "could not read directory: Permission denied"), ("locked.py", "could not read: Permission denied")],
    ids=["directory", "file"],
)
def test_what_cannot_be_read_in_a_search_is_a_jit901_finding(tmp_path: Path, locked: str, message: str) -> None:
    write(tmp_path, {"good.py": JITTED_PRINT, "locked/inside.py": JITTED_PRINT, "locked.py": JITTED_PRINT})
    (tmp_path / locked).chmod(0)
    try:
        result = run(without_read_permission("--no-cache"), tmp_path)
    finally:
        (tmp_path / locked).chmod(0o755)
    expected = [jit003("good.py"), (locked, 1, 1, "JIT901"), jit003("locked.py"), jit003("locked/inside.py")]
    expected.remove(jit003("locked/inside.py" if locked == "locked" else "locked.py"))
    only_findings(result, sorted(expected), 1)
    assert [f.message for f in result.findings if f.code == "JIT901"] == [message]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_directory_reached_several_ways_is_reported_once(tmp_path: Path) -> None:
    write(tmp_path, {"good.py": JITTED_PRINT, "locked/inside.py": JITTED_PRINT})
    (tmp_path / "locked").chmod(0)
    try:
        result = run(without_read_permission("--no-cache", ".", "locked", "./locked/"), tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    only_findings(result, [jit003("good.py"), ("locked", 1, 1, "JIT901")], 1)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_directory_can_be_ignored_like_any_jit901(tmp_path: Path) -> None:
    write(tmp_path, {"good.py": CLEAN, "locked/inside.py": JITTED_PRINT})
    (tmp_path / "locked").chmod(0)
    try:
        result = run(without_read_permission("--no-cache", "--ignore", "JIT901"), tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert (result.code, result.out) == (0, "")


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
        (
            "pyproject.toml",
            "tool = 1  # jitlint settings: see the docs\n",
            [],
            "'tool' must be a table, not an integer",
        ),
        (
            "ci/strict.toml",
            'tool = "jitlint"\n',
            ["--config", "ci/strict.toml"],
            "'tool' must be a table, not a string",
        ),
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
