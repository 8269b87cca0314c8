"""End-to-end tests of the installed `jitlint` command: arguments, output, exit codes.

Each test writes a small project under `tmp_path` and runs the real console script in a
subprocess with `cwd=tmp_path`, as a user or a CI job would. Every run is also checked for a
Python traceback on stderr: jitlint fails small, with one line, never with a stack dump.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[1]

# A jitted function printing its argument: JIT003 at line 6, column 5.
JITTED_PRINT = """\
import jax


@jax.jit
def step(x):
    print(x)
    return x
"""
PRINT_LINE, PRINT_COL = 6, 5

# Three prints, two on one line: JIT003 at 6:5, 6:15 and 7:5.
THREE_PRINTS = """\
import jax


@jax.jit
def step(x):
    print(x); print(x)
    print(x)
    return x
"""

CLEAN = """\
import jax


@jax.jit
def step(x):
    jax.debug.print("x = {x}", x=x)
    return x
"""

SYNTAX_ERROR = "import jax\n\nx = = 1\n"  # the error is on line 3

FINDING_LINE = re.compile(r"(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d{3}) (?P<message>.+)")


Located = tuple[str, int, int, str]  # path, line, column, code


class TextFinding(NamedTuple):
    path: str
    line: int
    col: int
    code: str
    message: str


@dataclass(frozen=True)
class Result:
    """What one jitlint process did: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def findings(self) -> list[TextFinding]:
        """stdout parsed as text findings; any other line on stdout fails the test."""
        return parse_findings(self.out.splitlines())

    @property
    def located(self) -> list[Located]:
        """(path, line, column, code) of each finding, in output order."""
        return [finding[:4] for finding in self.findings]

    @property
    def summary(self) -> str:
        """The last line on stderr, where the summary goes."""
        lines = self.err.splitlines()
        return lines[-1] if lines else ""


def parse_findings(lines: Sequence[str]) -> list[TextFinding]:
    """Parse `path:line:col: CODE message` lines."""
    findings = []
    for text in lines:
        match = FINDING_LINE.fullmatch(text)
        assert match, f"not a finding line: {text!r}"
        path, line, col, code, message = match.groups()
        findings.append(TextFinding(path, int(line), int(col), code, message))
    return findings


def jit003(path: str, line: int = PRINT_LINE, col: int = PRINT_COL) -> Located:
    """The located JIT003 finding expected for a print, by default the one in JITTED_PRINT."""
    return (path, line, col, "JIT003")


@cache
def console_script() -> str:
    """The `jitlint` script installed next to this interpreter (the venv), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "jitlint"
    if beside_python.exists():
        return str(beside_python)
    on_path = shutil.which("jitlint")
    if on_path is None:
        pytest.fail("the jitlint console script is not installed: run `pip install -e .` in the venv")
    return on_path


def run(argv: Sequence[str], cwd: Path) -> Result:
    """Run a command, capture its output, and check that it printed no traceback."""
    env = {**os.environ, "PYTHONUTF8": "1"}
    completed = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, encoding="utf-8", errors="replace", timeout=120
    )
    result = Result(completed.returncode, completed.stdout, completed.stderr)
    assert "Traceback" not in result.err, result.err
    return result


def jitlint(cwd: Path, *args: str) -> Result:
    """Run the installed console script."""
    return run([console_script(), *args], cwd)


def python(cwd: Path, *args: str) -> Result:
    """Run this interpreter, e.g. `python -m jitlint`."""
    return run([sys.executable, *args], cwd)


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create `files` (relative path -> text or exact bytes) under `root`; return `root`."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def jitlint_table(*settings: str) -> str:
    """A pyproject-style TOML document with these lines in its [tool.jitlint] table."""
    return "[tool.jitlint]\n" + "".join(f"{setting}\n" for setting in settings)


# --- text output, paths, sorting, summary ----------------------------------------------------


def test_a_jitted_print_is_reported_with_position_and_fix(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": JITTED_PRINT})
    result = jitlint(tmp_path, "mod.py")
    assert result.code == 1
    [finding] = result.findings
    assert finding[:4] == jit003("mod.py")
    assert "jax.debug.print" in finding.message
    assert result.summary == "Found 1 problem in 1 file (1 file checked)"


def test_default_path_is_the_cwd_searched_recursively(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "alpha.py": JITTED_PRINT,
            "pkg/__init__.py": "",
            "pkg/clean.py": CLEAN,
            "pkg/sub/deep.py": JITTED_PRINT,
            "notes.txt": JITTED_PRINT,  # not *.py: never checked
        },
    )
    result = jitlint(tmp_path)
    assert result.located == [jit003("alpha.py"), jit003("pkg/sub/deep.py")]
    assert result.summary == "Found 2 problems in 2 files (4 files checked)"


def test_findings_are_sorted_by_path_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, {"zeta.py": THREE_PRINTS, "alpha.py": JITTED_PRINT, "mid/m.py": JITTED_PRINT})
    result = jitlint(tmp_path, "zeta.py", "mid", "alpha.py")
    assert result.located == [
        jit003("alpha.py"),
        jit003("mid/m.py"),
        jit003("zeta.py", 6, 5),
        jit003("zeta.py", 6, 15),
        jit003("zeta.py", 7, 5),
    ]
    assert result.summary == "Found 5 problems in 3 files (3 files checked)"


def test_paths_under_the_cwd_are_printed_relative_to_it(tmp_path: Path) -> None:
    work = write(tmp_path / "work", {"pkg/mod.py": JITTED_PRINT})
    outside = write(tmp_path / "outside", {"o.py": JITTED_PRINT}) / "o.py"
    result = jitlint(work, str(work / "pkg" / "mod.py"), str(outside))
    paths = [finding.path for finding in result.findings]
    assert "pkg/mod.py" in paths
    [outside_path] = [path for path in paths if path != "pkg/mod.py"]
    assert (work / outside_path).resolve() == outside.resolve()


def test_no_findings_exits_0_with_a_clean_summary(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": CLEAN, "b.py": "x = 1\n"})
    result = jitlint(tmp_path)
    assert (result.code, result.out) == (0, "")
    assert result.summary == "No problems found (2 files checked)"


@pytest.mark.parametrize(
    ("flag", "source", "expected"),
    [("-q", JITTED_PRINT, [jit003("mod.py")]), ("--quiet", CLEAN, [])],
)
def test_quiet_prints_no_summary(tmp_path: Path, flag: str, source: str, expected: list[Located]) -> None:
    write(tmp_path, {"mod.py": source})
    result = jitlint(tmp_path, flag)
    assert result.located == expected
    assert result.err == ""


def test_statistics_follow_the_findings_on_stdout(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": THREE_PRINTS})
    result = jitlint(tmp_path, "--statistics")
    *finding_lines, statistics = result.out.splitlines()
    assert [finding.code for finding in parse_findings(finding_lines)] == ["JIT003"] * 3
    assert statistics.split() == ["3", "JIT003", "print-in-traced-function"]


# --- JSON output -------------------------------------------------------------------------------

JSON_KEYS = {
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "code",
    "message",
    "function",
    "traced_via",
    "confirmation",
}


def test_json_output_describes_each_finding(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/mod.py": JITTED_PRINT})
    result = jitlint(tmp_path, "--format", "json")
    assert result.code == 1
    [finding] = json.loads(result.out)
    assert set(finding) == JSON_KEYS
    expected = {
        "path": "pkg/mod.py",
        "line": 6,
        "column": 5,
        "code": "JIT003",
        "function": "step",
        "confirmation": None,
    }
    assert {key: finding[key] for key in expected} == expected
    assert "jax.debug.print" in finding["message"]
    assert all(isinstance(finding[key], int) for key in ("end_line", "end_column"))
    assert (finding["end_line"], finding["end_column"]) > (finding["line"], finding["column"])
    assert "jax.jit" in finding["traced_via"] and "step" in finding["traced_via"]


TRACED_FORMS = """\
import functools

import jax


def step_impl(x):
    print(x)
    return x


step = jax.jit(step_impl)


def helper(x):
    print(x)
    return x


@jax.jit
def train_step(x):
    return helper(x)


class Model:
    @functools.partial(jax.jit, static_argnums=0)
    def __call__(self, x):
        print(x)
        return x
"""


def test_json_names_the_traced_function_and_how_it_is_traced(tmp_path: Path) -> None:
    write(tmp_path, {"forms.py": TRACED_FORMS})
    result = jitlint(tmp_path, "--format", "json")
    by_line = {finding["line"]: finding for finding in json.loads(result.out)}
    assert sorted(by_line) == [7, 15, 27]
    expected = {  # line -> (function, fragments of traced_via)
        7: ("step_impl", ["jax.jit(step_impl)", "line 11"]),
        15: ("helper", ["called from train_step"]),
        27: ("Model.__call__", ["jax.jit"]),
    }
    for line, (function, fragments) in expected.items():
        assert by_line[line]["function"] == function
        for fragment in fragments:
            assert fragment in by_line[line]["traced_via"]


KEY_REUSE = """\
import jax

KEY = jax.random.key(0)
X = jax.random.normal(KEY, (2,))
Y = jax.random.normal(KEY, (2,))


def init(key):
    w = jax.random.normal(key, (2,))
    return w, jax.random.uniform(key, (2,))


@jax.jit
def step(key):
    return jax.random.normal(key), jax.random.normal(key)
"""


def test_json_for_key_reuse_in_module_code_plain_and_traced_functions(tmp_path: Path) -> None:
    write(tmp_path, {"keys.py": KEY_REUSE})
    result = jitlint(tmp_path, "--format", "json")
    by_line = {finding["line"]: finding for finding in json.loads(result.out)}
    assert sorted(by_line) == [5, 10, 15]
    assert {finding["code"] for finding in by_line.values()} == {"JIT007"}
    assert (by_line[5]["function"], by_line[5]["traced_via"]) == (None, None)
    assert (by_line[10]["function"], by_line[10]["traced_via"]) == ("init", None)
    assert by_line[15]["function"] == "step" and "jax.jit" in by_line[15]["traced_via"]
    assert by_line[10]["message"] == (
        "PRNG key 'key' was already consumed by jax.random.normal on line 9; reusing it gives the "
        "same random bits: split it first (key, subkey = jax.random.split(key))"
    )


def test_json_output_is_an_empty_array_without_findings(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": CLEAN})
    result = jitlint(tmp_path, "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == []


# --- exit codes and usage errors ---------------------------------------------------------------


def test_exit_zero_reports_findings_but_exits_0(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": JITTED_PRINT})
    result = jitlint(tmp_path, "--exit-zero")
    assert result.code == 0
    assert result.located == [jit003("mod.py")]


@pytest.mark.parametrize("args", [["--format", "xml"], ["--no-such-option"]], ids=["format", "option"])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    write(tmp_path, {"mod.py": JITTED_PRINT})
    result = jitlint(tmp_path, *args)
    assert (result.code, result.out) == (2, "")
    assert args[-1] in result.err


def test_a_missing_path_is_an_error_but_the_other_paths_are_checked(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": JITTED_PRINT, "b.py": JITTED_PRINT})
    result = jitlint(tmp_path, "a.py", "nope.py", "b.py")
    assert result.code == 2
    assert "jitlint: error: path not found: nope.py" in result.err.splitlines()
    assert result.located == [jit003("a.py"), jit003("b.py")]


@pytest.mark.parametrize("args", [["a.py", "nope.py", "pkg"], ["--format", "xml"]], ids=["findings", "usage"])
def test_python_m_and_the_console_script_give_identical_output(tmp_path: Path, args: list[str]) -> None:
    write(tmp_path, {"a.py": JITTED_PRINT, "pkg/b.py": THREE_PRINTS})
    script = jitlint(tmp_path, *args)
    module = python(tmp_path, "-m", "jitlint", *args)
    assert module == script
    assert (script.code, bool(script.err)) == (2, True)  # missing path / usage error


# --- rule selection and suppression ------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "reported"),
    [
        (["--select", "JIT003"], True),
        (["--select", "JIT00,JIT003"], True),  # a prefix, in a comma list
        (["--ignore", "JIT003"], False),
        (["--ignore", "JIT0"], False),  # a prefix
        (["--select", "JIT0", "--ignore", "JIT003"], False),
    ],
)
def test_select_and_ignore_take_codes_and_prefixes(tmp_path: Path, options: list[str], reported: bool) -> None:
    write(tmp_path, {"mod.py": JITTED_PRINT})
    result = jitlint(tmp_path, *options)
    assert result.located == ([jit003("mod.py")] if reported else [])
    assert result.code == (1 if reported else 0)


NOQA_VARIANTS = """\
import jax


@jax.jit
def step(x):  # noqa
    print(x)
    print(x)  # noqa
    print(x)  # noqa: JIT003
    print(x)  # NOQA: JIT003
    print(x)  # noqa: jit003
    print(x)  # noqa:JIT003,JIT005
    print(x)  # noqa:JIT005,JIT003
    print(x)  # noqa: JIT0
    print(x)  # noqa: JIT005
    return x
"""


def test_noqa_silences_all_codes_or_the_listed_ones_on_its_line(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": NOQA_VARIANTS})
    result = jitlint(tmp_path)
    # Line 6: the noqa on the `def` line is another line. Line 14: noqa for another code only.
    assert result.located == [jit003("mod.py", 6), jit003("mod.py", 14)]


def test_skip_file_comment_anywhere_skips_the_file(tmp_path: Path) -> None:
    write(tmp_path, {"generated.py": JITTED_PRINT + "\n# jitlint: skip-file\n", "mod.py": JITTED_PRINT})
    result = jitlint(tmp_path)
    assert result.located == [jit003("mod.py")]


# --- file discovery and exclusion --------------------------------------------------------------

DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "env",
    ".env",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    "*.egg-info",
    ".jitlint_cache",
)


def test_default_excludes_skip_tool_and_build_directories(tmp_path: Path) -> None:
    excluded = {f"{pattern.replace('*', 'demo')}/gen.py": JITTED_PRINT for pattern in DEFAULT_EXCLUDES}
    write(tmp_path, {**excluded, "src/pkg/__pycache__/gen.py": JITTED_PRINT, "src/mod.py": JITTED_PRINT})
    result = jitlint(tmp_path)
    assert result.located == [jit003("src/mod.py")]
    assert result.summary == "Found 1 problem in 1 file (1 file checked)"


EXCLUDE_TREE = {path: JITTED_PRINT for path in ("build/a.py", "gen/b.py", "src/c.py", "src/model_pb2.py")}


@pytest.mark.parametrize(
    ("config", "options", "reported"),
    [
        # --exclude replaces the defaults, so build/ is checked again.
        (None, ["--exclude", "gen"], ["build/a.py", "src/c.py", "src/model_pb2.py"]),
        (None, ["--extend-exclude", "gen,*_pb2.py"], ["src/c.py"]),
        # Files named on the command line are checked even when excluded.
        (None, ["--extend-exclude", "*_pb2.py", "build/a.py", "src/model_pb2.py"], ["build/a.py", "src/model_pb2.py"]),
        ('exclude = ["gen"]', [], ["build/a.py", "src/c.py", "src/model_pb2.py"]),
        ('extend-exclude = ["gen", "*_pb2.py"]', [], ["src/c.py"]),
        # The command line overrides the file.
        ('exclude = ["gen"]', ["--exclude", "src"], ["build/a.py", "gen/b.py"]),
    ],
)
def test_exclude_and_extend_exclude(
    tmp_path: Path, config: str | None, options: list[str], reported: list[str]
) -> None:
    write(tmp_path, EXCLUDE_TREE)
    if config is not None:
        write(tmp_path, {"pyproject.toml": jitlint_table(config)})
    result = jitlint(tmp_path, *options)
    assert result.located == [jit003(path) for path in reported]


def test_checked_files_are_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "imported.marker"
    module = f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n" + JITTED_PRINT
    write(tmp_path, {"side_effect.py": module})
    result = jitlint(tmp_path, "side_effect.py")
    assert result.located == [jit003("side_effect.py", PRINT_LINE + 2)]
    assert not marker.exists()


# --- configuration -----------------------------------------------------------------------------


def test_config_is_found_upward_passing_over_pyprojects_without_the_table(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": jitlint_table('ignore = ["JIT003"]'),
            "pkg/pyproject.toml": '[project]\nname = "pkg"\n',
            "pkg/sub/mod.py": JITTED_PRINT,
        },
    )
    result = jitlint(tmp_path / "pkg" / "sub")
    assert (result.code, result.out) == (0, "")


def test_the_nearest_config_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": jitlint_table('ignore = ["JIT003"]'),
            "pkg/pyproject.toml": jitlint_table('select = ["JIT003"]'),
            "pkg/sub/mod.py": JITTED_PRINT,
        },
    )
    result = jitlint(tmp_path / "pkg" / "sub")
    assert result.located == [jit003("mod.py")]


@pytest.mark.parametrize(
    ("options", "reported"),
    [
        ([], []),  # the pyproject.toml in the cwd ignores JIT003
        (["--config", "ci/jitlint.toml"], ["mod.py"]),  # used instead: only its extend-exclude applies
        (["--isolated"], ["mod.py", "skipme.py"]),  # no config at all
    ],
)
def test_config_option_and_isolated(tmp_path: Path, options: list[str], reported: list[str]) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": jitlint_table('ignore = ["JIT003"]'),
            "ci/jitlint.toml": jitlint_table('extend-exclude = ["skipme.py"]'),
            "mod.py": JITTED_PRINT,
            "skipme.py": JITTED_PRINT,
        },
    )
    result = jitlint(tmp_path, *options)
    assert result.located == [jit003(path) for path in reported]


def test_per_file_ignores(tmp_path: Path) -> None:
    config = jitlint_table('per-file-ignores = { "tests/**" = ["JIT003"], "scripts/*.py" = ["JIT0"] }')
    write(
        tmp_path,
        {
            "pyproject.toml": config,
            "src/app.py": JITTED_PRINT,
            "tests/unit/test_app.py": JITTED_PRINT,
            "scripts/run.py": JITTED_PRINT,
        },
    )
    result = jitlint(tmp_path)
    assert result.located == [jit003("src/app.py")]


CUSTOM_DECORATORS = """\
import jax.numpy as jnp
import mylib
from mylib import compiled


@compiled
def step(x):
    print(x)
    return jnp.tanh(x)


@mylib.compiled
def other(x):
    print(x)
    return jnp.tanh(x)
"""


@pytest.mark.parametrize(("options", "lines"), [([], [8, 14]), (["--isolated"], [])])
def test_extend_jit_decorators(tmp_path: Path, options: list[str], lines: list[int]) -> None:
    config = jitlint_table('extend-jit-decorators = ["mylib.compiled"]')
    write(tmp_path, {"pyproject.toml": config, "mod.py": CUSTOM_DECORATORS})
    result = jitlint(tmp_path, *options)
    assert result.located == [jit003("mod.py", line) for line in lines]


def assert_config_error(result: Result, *mentions: str) -> None:
    """A config error: exit 2, nothing on stdout, one `jitlint: error:` line naming `mentions`."""
    assert (result.code, result.out) == (2, "")
    [line] = result.err.splitlines()
    assert line.startswith("jitlint: error:")
    for mention in mentions:
        assert mention in line


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('selcet = ["JIT003"]', "selcet"),  # unknown key
        ('ignore = ["JIT999"]', "ignore"),  # unknown rule code
        ('select = "JIT003"', "select"),  # a string, not a list
        ('per-file-ignores = { "tests/*" = ["JIT999"] }', "per-file-ignores"),
        ('extend-jit-decorators = "mylib.compiled"', "extend-jit-decorators"),
    ],
)
def test_an_invalid_config_value_is_an_error_naming_key_and_file(tmp_path: Path, setting: str, key: str) -> None:
    write(tmp_path, {"pyproject.toml": jitlint_table(setting), "mod.py": JITTED_PRINT})
    assert_config_error(jitlint(tmp_path), key, "pyproject.toml")


@pytest.mark.parametrize(
    ("config_file", "options"), [("pyproject.toml", []), ("ci/bad.toml", ["--config", "ci/bad.toml"])]
)
def test_malformed_toml_is_an_error_naming_the_file(tmp_path: Path, config_file: str, options: list[str]) -> None:
    write(tmp_path, {config_file: "[tool.jitlint\nselect = [\n", "mod.py": JITTED_PRINT})
    assert_config_error(jitlint(tmp_path, *options), Path(config_file).name)


# --- bad input ---------------------------------------------------------------------------------


def lint_beside_a_good_file(root: Path, content: str | bytes) -> TextFinding:
    """Lint bad.py next to a good file; check the good file still counts; return bad.py's finding."""
    write(root, {"bad.py": content, "good.py": JITTED_PRINT})
    result = jitlint(root)
    assert result.code == 1
    bad, good = result.findings
    assert good[:4] == jit003("good.py")
    assert bad.path == "bad.py"
    assert result.summary == "Found 2 problems in 2 files (2 files checked)"
    return bad


def test_a_syntax_error_is_a_jit900_finding(tmp_path: Path) -> None:
    bad = lint_beside_a_good_file(tmp_path, SYNTAX_ERROR)
    assert (bad.line, bad.code) == (3, "JIT900")
    assert bad.col >= 1
    assert re.fullmatch(r"could not parse: \S.*", bad.message)


def test_an_undecodable_file_is_a_jit901_finding(tmp_path: Path) -> None:
    bad = lint_beside_a_good_file(tmp_path, b"import jax\nx = '\xff'\n")
    assert bad[1:4] == (1, 1, "JIT901")
    assert re.fullmatch(r"could not read: \S.*", bad.message)


def test_a_pep263_cookie_and_a_utf8_bom_are_decoded(tmp_path: Path) -> None:
    latin1 = "# -*- coding: latin-1 -*-\n" + JITTED_PRINT.replace("print(x)", 'print("café", x)')
    bom = JITTED_PRINT.replace("print(x)", 'print("π ≈", x)')
    write(tmp_path, {"latin1.py": latin1.encode("latin-1"), "bom.py": b"\xef\xbb\xbf" + bom.encode()})
    result = jitlint(tmp_path)
    assert result.located == [jit003("bom.py"), jit003("latin1.py", PRINT_LINE + 1)]


NESTED = f"""\
import jax

Y = {"(" * 200}1{")" * 200}


@jax.jit
def f(x):
    print(x)
    return {"g(" * 200}x{")" * 200}
"""


def test_huge_and_deeply_nested_files_are_analysed(tmp_path: Path) -> None:
    # `import jax` makes jitlint parse the file; the print at its end makes it resolve positions
    # over all 50,000 lines.
    huge = "import jax\n" + "x = 1\n" * 50_000 + JITTED_PRINT.removeprefix("import jax\n")
    write(tmp_path, {"huge.py": huge, "nested.py": NESTED})
    result = jitlint(tmp_path, "--no-cache")
    assert result.code == 1
    assert result.located == [jit003("huge.py", 50_006), jit003("nested.py", 8)]


def flat_expression(shape: str, terms: int) -> str:
    """One flat expression of `terms` terms: `x + x + ...`, `x and x ...`, `x.T.T...`, `x[0][0]...`."""
    if shape == "+":
        return " + ".join(["x"] * terms)
    if shape == "and":
        return " and ".join(["x"] * terms)
    return "x" + {"attribute": ".T", "index": "[0]"}[shape] * terms


def deep_module(shape: str, terms: int) -> str:
    """A jitted function with a print (line 6) and a Python `if` (line 8) on a long flat
    expression of its traced argument."""
    return JITTED_PRINT.replace(
        "    return x\n", f"    y = {flat_expression(shape, terms)}\n    if y:\n        return y\n    return x\n"
    )


# CPython compiles flat expressions of up to about 2,000 terms; each nests one level deeper.
@pytest.mark.parametrize("shape", ["+", "and", "attribute", "index"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_long_flat_expressions_are_analysed_with_one_job_and_with_workers(
    tmp_path: Path, shape: str, jobs: str
) -> None:
    # 16 files or more are checked by worker processes; one deep file must not cost the others.
    files = {f"plain{index:02}.py": JITTED_PRINT for index in range(16)}
    files["deep.py"] = deep_module(shape, 1_000 if shape == "index" else 1_900)
    compile(files["deep.py"], "deep.py", "exec")  # valid Python, as CPython sees it
    write(tmp_path, files)
    result = jitlint(tmp_path, "--no-cache", "--jobs", jobs)
    assert result.code == 1
    expected = [jit003("deep.py"), ("deep.py", 8, 8, "JIT005")]
    if shape == "and":  # `x and ...` converts the traced x to bool too
        expected.insert(1, ("deep.py", 7, 9, "JIT005"))
    assert [finding for finding in result.located if finding[0] == "deep.py"] == expected
    assert len(result.located) == 16 + len(expected)


# A rule that crashes on its first call: the run must report it and go on with the next file.
CRASHING_RULE = """\
import dataclasses
import sys

import jitlint.cli
import jitlint.engine
import jitlint.rules


def crash_on_first_call(rule):
    calls = []

    def check(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("deliberate failure")
        yield from rule.check(*args, **kwargs)

    return dataclasses.replace(rule, check=check)


rules = tuple(crash_on_first_call(r) if r.code == "JIT003" else r for r in jitlint.rules.ALL_RULES)
jitlint.rules.ALL_RULES = jitlint.engine.ALL_RULES = rules
sys.exit(jitlint.cli.main(sys.argv[1:]))
"""


def test_an_internal_rule_error_is_a_jit902_finding_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": JITTED_PRINT, "b.py": JITTED_PRINT})
    result = python(tmp_path, "-c", CRASHING_RULE, "a.py", "b.py")
    assert result.code == 2
    by_code = {finding.code: finding for finding in result.findings}
    assert len(result.findings) == 2 and set(by_code) == {"JIT003", "JIT902"}
    assert "internal error in JIT003" in by_code["JIT902"].message
    assert {by_code["JIT003"].path, by_code["JIT902"].path} == {"a.py", "b.py"}
    assert by_code["JIT003"][:4] == jit003(by_code["JIT003"].path)


# libcst's native parser crashes the process (or runs for minutes) on code nested thousands of
# levels deep; CPython rejects such code with a clean error, and so must jitlint.
TOO_DEEP = {
    "brackets.py": "import jax\nx = " + "(" * 2_000 + "1" + ")" * 2_000 + "\n",
    "lambdas.py": "import jax\nf = " + "lambda: " * 10_000 + "1\n",
    "conditionals.py": "import jax\nx = " + "1 if x else " * 10_000 + "2\n",
    "unary.py": "import jax\nx = " + "not " * 10_000 + "x\n",
}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_code_nested_too_deeply_to_parse_is_one_jit900_per_file(tmp_path: Path, jobs: str) -> None:
    files = {f"plain{index:02}.py": JITTED_PRINT for index in range(16)}
    write(tmp_path, {**files, **TOO_DEEP})
    result = jitlint(tmp_path, "--no-cache", "--jobs", jobs)
    assert result.code == 1
    # (path, line, code): CPython's column for the brackets depends on its version
    assert [(f.path, f.line, f.code) for f in result.findings if f.code != "JIT003"] == [
        ("brackets.py", 2, "JIT900"),
        ("conditionals.py", 1, "JIT900"),
        ("lambdas.py", 1, "JIT900"),
        ("unary.py", 1, "JIT900"),
    ]
    assert result.findings[0].message == "could not parse: too many nested parentheses"
    assert [finding[:4] for finding in result.findings if finding.code == "JIT003"] == [
        jit003(name) for name in sorted(files)
    ]


# Any stage after parsing that fails on one file (here: finding traced functions in bad.py)
# must become a JIT902 for that file while the other files are still checked and reported; and
# a worker process that dies (here: on bad.py, in a worker only) must not drop any file.
FAILING_STAGE = """\
import multiprocessing
import os
import sys

import jitlint.cli
import jitlint.engine

find_traced_functions = jitlint.engine.find_traced_functions


def failing_on_bad_file(scopes, *args):
    if "bad.py" in scopes.node.code:  # bad.py names itself in a comment
        if sys.argv[1] == "die" and multiprocessing.parent_process() is not None:
            os._exit(1)
        raise KeyError("deliberate failure")
    return find_traced_functions(scopes, *args)


jitlint.engine.find_traced_functions = failing_on_bad_file
sys.exit(jitlint.cli.main(sys.argv[2:]))
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failure_after_parsing_is_one_jit902_and_the_other_files_are_reported(tmp_path: Path, jobs: str) -> None:
    files = {f"good{index:02}.py": JITTED_PRINT for index in range(20)}
    write(tmp_path, {**files, "bad.py": "# bad.py\n" + JITTED_PRINT})
    result = python(tmp_path, "-c", FAILING_STAGE, "raise", "--no-cache", "--jobs", jobs)
    assert result.code == 2
    assert result.located == [("bad.py", 1, 1, "JIT902"), *(jit003(name) for name in sorted(files))]
    assert result.findings[0].message == "internal error while analysing this file: KeyError: 'deliberate failure'"


def test_files_of_a_worker_that_died_are_checked_in_this_process(tmp_path: Path) -> None:
    files = {f"good{index:02}.py": JITTED_PRINT for index in range(20)}
    write(tmp_path, {**files, "bad.py": "# bad.py\n" + JITTED_PRINT})
    result = python(tmp_path, "-c", FAILING_STAGE, "die", "--no-cache", "--jobs", "2")
    assert result.code == 2  # in this process bad.py fails as in the test above
    assert result.located == [("bad.py", 1, 1, "JIT902"), *(jit003(name) for name in sorted(files))]


# --- information options -----------------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    result = jitlint(tmp_path, "--version")
    assert result.code == 0
    assert result.out.strip() == f"jitlint {version('jitlint')}"
    assert re.fullmatch(r"jitlint \d+\.\d+\.\d+\S*", result.out.strip())


def test_list_rules_names_each_rule_with_a_summary(tmp_path: Path) -> None:
    result = jitlint(tmp_path, "--list-rules")
    assert result.code == 0
    [line] = [line for line in result.out.splitlines() if "JIT003" in line]
    assert "print-in-traced-function" in line
    summary = line.replace("JIT003", "").replace("print-in-traced-function", "")
    assert len(summary.split()) >= 3


def test_explain_prints_the_rule_documentation(tmp_path: Path) -> None:
    result = jitlint(tmp_path, "--explain", "JIT003")
    assert result.code == 0
    sections = ["What it does", "Why is this bad?", "Example", "Use instead"]
    positions = [result.out.find(section) for section in sections]
    assert -1 not in positions and positions == sorted(positions), result.out


def test_explain_of_an_unknown_code_is_an_error(tmp_path: Path) -> None:
    result = jitlint(tmp_path, "--explain", "JIT999")
    assert (result.code, result.out) == (2, "")
    assert "JIT999" in result.err


# --- the examples folder -----------------------------------------------------------------------


def test_examples_clean_has_no_findings_and_print_in_jit_has_jit003() -> None:
    lines = (REPO / "examples" / "print_in_jit.py").read_text().splitlines()
    [(line, col)] = [(n, text.index("print") + 1) for n, text in enumerate(lines, 1) if 'print("loss:"' in text]
    result = jitlint(REPO, "--isolated", "examples/clean.py", "examples/print_in_jit.py")
    assert result.located == [jit003("examples/print_in_jit.py", line, col)]
