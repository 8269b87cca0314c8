"""--confirm: findings checked by tracing their functions with JAX in child processes.

Every child imports jax (about half a second), so the cases are batched: one jitlint run over the
fixture files in tests/fixtures/confirm/, one over a small project of misbehaving modules, one
over examples/ and one over the rule fixtures. In the fixture files each finding's label says
the verdict: `# expect: JIT003:5 [confirmed]`, `[not reproduced]`, `[unverified: <reason start>]`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from expectations import FIXTURES, expectations
from test_cli import REPO, Result, console_script, jitlint, parse_findings, write

from jitlint.config import Config
from jitlint.confirm.driver import ConfirmOptions, confirm_findings, module_location
from jitlint.confirm.examples import (
    ExampleError,
    from_annotation,
    parse_examples,
    plan_arguments,
)
from jitlint.engine import check_text
from jitlint.findings import Confirmation, ConfirmStatus, Finding, Parameter, TraceTarget
from jitlint.reporters import json_report, text_report

VERDICT = re.compile(r"(confirmed|not reproduced|unverified)(?::\s*(.*))?")
CONFIRM_FIXTURES = FIXTURES / "confirm"


def labelled_verdicts(path: Path) -> dict[tuple[int, int, str], tuple[str, str]]:
    """(line, col, code) → (status as JSON spells it, start of the detail) from `[verdict]` labels."""
    found = {}
    for label in expectations(path.read_text(encoding="utf-8")):
        verdict = VERDICT.fullmatch(label.verdict or "")
        assert verdict is not None, f"line {label.line}: {label.code} has no [verdict] label"
        status, detail = verdict.groups()
        found[(label.line, label.col, label.code)] = (status.replace(" ", "-"), (detail or "").strip())
    return found


def json_findings(result: Result) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(result.out)
    return findings


# -- example inputs (no JAX) -----------------------------------------------------------------


def test_example_comments_read_shapes_keys_literals_pytrees_and_calls() -> None:
    specs = parse_examples(
        'x=f32[3, 4], s=f32[], n=5, key=key, mode="train", p={"w": i32[2], "b": (u32[1], None)}, '
        "m=Model(f64[2], scale=0.5), f=jnp.tanh"
    )
    assert specs["x"] == {"array": "f32", "shape": [3, 4]}
    assert specs["s"] == {"array": "f32", "shape": []}
    assert specs["n"] == {"literal": "5"}
    assert specs["key"] == {"key": True}
    assert specs["mode"] == {"literal": "'train'"}
    assert specs["p"] == {
        "dict": [
            [{"literal": "'w'"}, {"array": "i32", "shape": [2]}],
            [{"literal": "'b'"}, {"tuple": [{"array": "u32", "shape": [1]}, {"literal": "None"}]}],
        ]
    }
    assert specs["m"] == {
        "call": "Model",
        "args": [{"array": "f64", "shape": [2]}],
        "kwargs": [["scale", {"literal": "0.5"}]],
    }
    assert specs["f"] == {"name": "jnp.tanh"}


@pytest.mark.parametrize("text", ["x=f32[n]", "f32[3]", "x=", "x=f32[-1]", "x=[*xs]"])
def test_malformed_example_comments_are_errors(text: str) -> None:
    with pytest.raises(ExampleError):
        parse_examples(text)


def test_annotations_imply_arrays_python_values_and_keys() -> None:
    dims: dict[str, int] = {}
    assert from_annotation("jax.Array", dims) == {"array": "f32", "shape": [4]}
    assert from_annotation("jnp.ndarray", dims) == {"array": "f32", "shape": [4]}
    assert from_annotation("'ArrayLike'", dims) == {"array": "f32", "shape": [4]}
    assert from_annotation('Float[Array, "batch dim"]', dims) == {"array": "f32", "shape": [2, 3]}
    assert from_annotation('Int[Array, "dim 5 *rest"]', dims) == {"array": "i32", "shape": [3, 5]}
    assert from_annotation('Float[Array, "n+1"]', dims) is None
    assert from_annotation("int", dims) == {"literal": "3"}
    assert from_annotation("bool", dims) == {"literal": "True"}
    assert from_annotation("PRNGKeyArray", dims) == {"key": True}
    assert from_annotation('Key[Array, ""]', dims) == {"key": True}
    assert from_annotation("Optional[int]", dims) is None


def _target(*parameters: Parameter, examples: tuple[str, ...] = (), static: tuple[str, ...] = ()) -> TraceTarget:
    return TraceTarget("step", 1, "jax.jit", True, static, parameters=parameters, examples=examples)


def test_inputs_come_from_comment_then_pyproject_then_annotation_then_default_then_name() -> None:
    target = _target(
        Parameter("a", "positional", annotation="jax.Array"),
        Parameter("b", "positional", annotation="jax.Array"),
        Parameter("c", "positional", annotation="int"),
        Parameter("d", "positional", default="2.0"),
        Parameter("rng", "positional"),
        Parameter("e", "keyword-only", default="1", default_passed=False),
        Parameter("f", "positional", default="True"),
        examples=("a=f32[2]",),
        static=("f",),
    )
    plan = plan_arguments(target, {"pkg.mod.step": "a=i32[9], b=f32[7]"}, "pkg.mod.step")
    assert plan.missing == ()
    assert [spec for _, _, spec in plan.specs] == [
        {"array": "f32", "shape": [2]},  # the comment wins over pyproject
        {"array": "f32", "shape": [7]},  # pyproject wins over the annotation
        {"literal": "3"},  # the annotation
        {"default": True},  # a default some call passes: traced, so passed
        {"key": True},  # a key-like name
        None,  # a default no call passes: left in place
        None,  # a static parameter keeps its default
    ]


def test_parameters_without_any_input_are_named() -> None:
    plan = plan_arguments(_target(Parameter("x", "positional"), Parameter("y", "positional")), {}, "m.step")
    assert plan.missing == ("x", "y")


def test_modules_are_imported_from_above_their_top_package(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/mod.py": "", "lone.py": ""})
    assert module_location(tmp_path / "pkg/sub/mod.py") == ("pkg.sub.mod", tmp_path.resolve())
    assert module_location(tmp_path / "pkg/sub/__init__.py") == ("pkg.sub", tmp_path.resolve())
    assert module_location(tmp_path / "lone.py") == ("lone", tmp_path.resolve())


def test_reporters_show_the_verdict() -> None:
    base = Finding("m.py", 3, 5, "JIT003", "print() runs while tracing")
    confirmed = Finding(
        "m.py",
        3,
        5,
        "JIT003",
        "print() runs while tracing",
        confirmation=Confirmation(ConfirmStatus.CONFIRMED, "ran once"),
    )
    unverified = Finding(
        "m.py",
        4,
        5,
        "JIT003",
        "print() runs while tracing",
        confirmation=Confirmation(ConfirmStatus.UNVERIFIED, "timed out after 60 s"),
    )
    assert text_report([base]) == "m.py:3:5: JIT003 print() runs while tracing\n"
    assert text_report([confirmed, unverified]).splitlines() == [
        "m.py:3:5: JIT003 print() runs while tracing [confirmed]",
        "m.py:4:5: JIT003 print() runs while tracing [unverified: timed out after 60 s]",
    ]
    as_json = json.loads(json_report([base, confirmed]))
    assert as_json[0]["confirmation"] is None
    assert as_json[1]["confirmation"] == {"status": "confirmed", "detail": "ran once"}


# -- never importing user code or jax without --confirm --------------------------------------


SIDE_EFFECT = """\
import pathlib
import jax

pathlib.Path("imported.txt").write_text("the module ran")


@jax.jit
def step(x):
    print(x)
    return x
"""


def test_without_confirm_no_module_is_imported(tmp_path: Path) -> None:
    write(tmp_path, {"side_effect.py": SIDE_EFFECT})
    result = jitlint(tmp_path, "side_effect.py")
    assert result.code == 1 and len(result.findings) == 1
    assert not (tmp_path / "imported.txt").exists()


def test_linting_imports_neither_jax_nor_numpy(tmp_path: Path) -> None:
    write(tmp_path, {"side_effect.py": SIDE_EFFECT})
    probe = (
        "import sys; from jitlint.cli import main; code = main(['side_effect.py']); "
        "print([name for name in ('jax', 'numpy', 'side_effect') if name in sys.modules])"
    )
    completed = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert completed.stdout.splitlines()[-1] == "[]"


def test_confirm_without_jax_names_the_install_command(tmp_path: Path) -> None:
    write(tmp_path, {"side_effect.py": SIDE_EFFECT})
    probe = (
        "import sys; sys.modules['jax'] = None; from jitlint.cli import main; "
        "sys.exit(main(['--confirm', 'side_effect.py']))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert completed.returncode == 2
    assert "pip install 'jitlint[confirm]'" in completed.stderr
    assert completed.stdout == ""


# -- verdicts on the fixtures in tests/fixtures/confirm/ --------------------------------------


@pytest.fixture(scope="module")
def confirmed_fixtures() -> list[dict[str, Any]]:
    result = jitlint(REPO, "--isolated", "--confirm", "--format", "json", "tests/fixtures/confirm")
    assert result.code == 1, result.err
    return json_findings(result)


@pytest.mark.parametrize("name", ["verdicts.py", "false_positives.py"])
def test_each_finding_gets_its_labelled_verdict(confirmed_fixtures: list[dict[str, Any]], name: str) -> None:
    path = CONFIRM_FIXTURES / name
    labels = labelled_verdicts(path)
    got = {
        (f["line"], f["column"], f["code"]): (f["confirmation"]["status"], f["confirmation"]["detail"])
        for f in confirmed_fixtures
        if f["path"] == f"tests/fixtures/confirm/{name}"
    }
    assert sorted(got) == sorted(labels), "every finding must carry a verdict label"
    wrong = [
        f"(line, col, code) {spot}: got {got[spot]}, want {want}"
        for spot, want in sorted(labels.items())
        if got[spot][0] != want[0] or want[1] not in got[spot][1]
    ]
    assert not wrong, "\n".join(wrong)


def test_no_hand_made_false_positive_is_confirmed(confirmed_fixtures: list[dict[str, Any]]) -> None:
    false_positives = [f for f in confirmed_fixtures if f["path"].endswith("false_positives.py")]
    assert len(false_positives) == 6
    assert all(f["confirmation"]["status"] != "confirmed" for f in false_positives)


def test_confirmed_only_prints_confirmed_findings_and_exits_by_them(tmp_path: Path) -> None:
    fp = jitlint(REPO, "--isolated", "--confirmed-only", "tests/fixtures/confirm/false_positives.py")
    assert (fp.code, fp.out) == (0, ""), fp.err
    assert fp.err.splitlines()[-1] == "Confirmed 0, not reproduced 5, unverified 1 (of 6 findings)"


# -- modules that misbehave, and how a module is imported -------------------------------------

PRINTS = """\
import jax


# jitlint: example x=f32[3]
@jax.jit
def step(x):
    print("traced", x)
    return x
"""

PROJECT = {
    "pyproject.toml": '[tool.jitlint.examples]\n"pkg.sub.mod.step" = "x=f32[2]"\n',
    "pkg/__init__.py": "",
    "pkg/sub/__init__.py": "",
    "pkg/sub/helpers.py": "OFFSET = 1.0\n",
    # a relative import works only when the module is imported as pkg.sub.mod
    "pkg/sub/mod.py": PRINTS.replace("# jitlint: example x=f32[3]\n", "").replace(
        "import jax\n", "import jax\n\nfrom .helpers import OFFSET\n"
    )
    + '\nif __name__ == "__main__":\n    open("main-ran.txt", "w").close()\n',
    "loud.py": 'print("hello from import")\n' + PRINTS,
    "exits.py": "import sys\nsys.exit(3)\n" + PRINTS,
    "broken.py": "import not_a_module_anywhere\n" + PRINTS,
    "crashes.py": "import os\nos._exit(7)\n" + PRINTS,
    "sleeps.py": (
        "import subprocess, sys, time\n"
        "helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "open('helper.pid', 'w').write(str(helper.pid))\n"
        "time.sleep(600)\n"
    )
    + PRINTS,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    root = write(tmp_path_factory.mktemp("project"), PROJECT)
    result = jitlint(root, "--confirm", "--confirm-timeout", "10", "--jobs", "2")
    return root, result


def verdict_of(result: Result, path: str) -> str:
    [finding] = [f for f in result.findings if f.path == path]
    return finding.message.rsplit(" [", 1)[1].rstrip("]")


def test_a_package_module_is_imported_from_its_package_root(project: tuple[Path, Result]) -> None:
    root, result = project
    assert verdict_of(result, "pkg/sub/mod.py") == "confirmed"  # example from pyproject
    assert not (root / "main-ran.txt").exists(), "the __main__ block must not run"


def test_output_at_import_stays_out_of_the_report(project: tuple[Path, Result]) -> None:
    _, result = project
    assert verdict_of(result, "loud.py") == "confirmed"
    assert "hello from import" not in result.out + result.err


def test_failed_imports_and_crashes_leave_findings_unverified(project: tuple[Path, Result]) -> None:
    _, result = project
    assert verdict_of(result, "exits.py") == "unverified: import failed: the module called sys.exit(3)"
    assert verdict_of(result, "broken.py") == (
        "unverified: import failed: ModuleNotFoundError: No module named 'not_a_module_anywhere'"
    )
    assert verdict_of(result, "crashes.py").startswith("unverified: the check process ended with exit code 7")
    assert result.code == 1
    assert result.err.splitlines()[-1] == "Confirmed 2, not reproduced 0, unverified 4 (of 6 findings)"


def test_a_timeout_kills_the_module_and_what_it_started(project: tuple[Path, Result]) -> None:
    root, result = project
    assert verdict_of(result, "sleeps.py") == "unverified: timed out after 10 s"
    helper = int((root / "helper.pid").read_text())
    deadline = time.monotonic() + 10
    while is_running(helper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(helper)


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


# -- JIT007 (the rule lives on another branch: its check is driven directly) -----------------

KEYS = """\
import jax


@jax.jit
def reuse(key):
    a = jax.random.normal(key, (2,))
    b = jax.random.uniform(key, (2,))
    print(a)
    return a + b


@jax.jit
def split_first(key):
    key, sub = jax.random.split(key)
    b = jax.random.uniform(sub, (2,))
    print(b)
    return b
"""


def test_key_reuse_is_confirmed_on_the_reusing_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, {"keys.py": KEYS}) / "keys.py"
    monkeypatch.chdir(tmp_path)
    prints = {f.function: f for f in check_text(Path("keys.py"), path.read_text(), Config())}
    as_reuse = [
        Finding("keys.py", 7, 9, "JIT007", "key reused", end_line=7, target=prints["reuse"].target),
        Finding("keys.py", 15, 9, "JIT007", "key reused", end_line=15, target=prints["split_first"].target),
    ]
    outcome = confirm_findings(as_reuse, ConfirmOptions(jobs=1, timeout=60))
    confirmations = [finding.confirmation for finding in outcome.findings]
    assert confirmations[0] is not None and confirmations[0].status is ConfirmStatus.CONFIRMED
    assert "KeyReuseError at line 7" in confirmations[0].detail
    assert confirmations[1] is not None and confirmations[1].status is ConfirmStatus.NOT_REPRODUCED


# -- the issue's acceptance runs ----------------------------------------------------------------


def test_every_pitfall_in_the_examples_is_confirmed_with_progress_on_a_tty() -> None:
    main, terminal = os.openpty()  # stderr is a TTY: progress is shown there
    completed = subprocess.run(
        [console_script(), "--isolated", "--confirm", "examples/"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=terminal,
        timeout=300,
    )
    os.close(terminal)
    shown = os.read(main, 65536).decode("utf-8", "replace")
    os.close(main)
    findings = parse_findings(completed.stdout.decode().splitlines())
    assert len(findings) >= 3
    assert all(f.message.endswith(" [confirmed]") for f in findings), completed.stdout.decode()
    modules = len({f.path for f in findings})
    assert f"confirming {modules}/{modules} modules" in shown


def test_at_least_nine_in_ten_rule_fixture_findings_are_confirmed() -> None:
    families = ["concretization", "control_flow", "printing", "state"]
    result = jitlint(REPO, "--isolated", "--confirm", "--format", "json", *(f"tests/fixtures/{f}" for f in families))
    findings = json_findings(result)
    confirmed = [f for f in findings if f["confirmation"]["status"] == "confirmed"]
    assert len(findings) > 150
    assert len(confirmed) / len(findings) >= 0.9, [
        (f["path"], f["line"], f["confirmation"]) for f in findings if f not in confirmed
    ]
