"""The rule registry: stable codes, readable names, complete docs, a fixture for every rule."""

from __future__ import annotations

import dataclasses
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from expectations import FIXTURE_FILES, expectations, fixture_findings

from jitlint import engine
from jitlint.codes import RULE_CODES
from jitlint.rules import ALL_RULES, TOOL_CODES
from jitlint.rules.base import Hit, ModuleAnalysis, Rule, ScopeRule

SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def test_codes_are_unique_and_well_formed() -> None:
    codes = [rule.code for rule in ALL_RULES] + list(TOOL_CODES)
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"JIT\d{3}", code) for code in codes)


def test_each_registered_rule_has_the_code_it_is_registered_under() -> None:
    # jitlint/codes.py lets the config check codes without importing the rules (and libcst).
    assert RULE_CODES == tuple(rule.code for rule in ALL_RULES)


def test_the_readme_table_lists_every_rule_by_code_and_name() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (JIT\d{3}) \| ([a-z-]+) \|", readme, re.MULTILINE)
    assert rows == [(rule.code, rule.name) for rule in ALL_RULES]


def test_a_run_from_the_cache_does_not_import_libcst(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("import jax\n\n@jax.jit\ndef f(x):\n    print(x)\n")
    probe = (
        "import sys; from jitlint.cli import main; code = main(sys.argv[1:]); "
        "print('libcst' in sys.modules); sys.exit(code)"
    )
    command = [
        sys.executable,
        "-c",
        probe,
        "-q",
        "--select",
        "JIT00",
        "--cache-dir",
        str(tmp_path / "c"),
        str(tmp_path),
    ]
    cold = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    warm = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert (cold.returncode, warm.returncode) == (1, 1), cold.stderr + warm.stderr
    assert cold.stdout.splitlines()[-1] == "True" and warm.stdout.splitlines()[-1] == "False"
    assert cold.stdout.splitlines()[:-1] == warm.stdout.splitlines()[:-1]


def test_names_are_kebab_case_without_negative_prefixes() -> None:
    for rule in ALL_RULES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name), rule.name
        assert not rule.name.startswith(("no-", "bad-")), rule.name


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_docs_have_every_section_in_order(rule) -> None:  # type: ignore[no-untyped-def]
    positions = [rule.docs.find(section) for section in SECTIONS]
    assert -1 not in positions, f"{rule.code} docs miss a section"
    assert positions == sorted(positions)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_message_is_one_line_without_trailing_period(rule) -> None:  # type: ignore[no-untyped-def]
    assert "\n" not in rule.message and not rule.message.endswith(".")


def test_every_rule_has_a_fixture_expectation() -> None:
    labelled = {label.code for path in FIXTURE_FILES for label in expectations(path.read_text(encoding="utf-8"))}
    for rule in ALL_RULES:
        assert rule.code in labelled, f"no fixture for {rule.code}"


def test_every_rule_names_a_confirm_check_of_the_right_kind() -> None:
    import inspect

    from jitlint.codes import RULES
    from jitlint.confirm import checks

    for code, entry in RULES.items():
        check = getattr(checks, entry.confirm, None)
        assert callable(check), f"{code}: no confirm check {entry.confirm}"
        parameters = list(inspect.signature(check).parameters)
        assert parameters == (["check", "subject", "session"] if entry.confirm_in_session else ["check", "subject"])


@pytest.fixture(scope="module")
def fixture_hits() -> dict[str, list[Hit]]:
    """Every hit each rule yields on the fixtures, as the engine runs them."""
    hits: dict[str, list[Hit]] = {rule.code: [] for rule in ALL_RULES}

    def recording(rule: Rule | ScopeRule) -> Rule | ScopeRule:
        def check(where: object, analysis: ModuleAnalysis) -> Iterator[Hit]:
            for hit in rule.check(where, analysis):  # type: ignore[arg-type]
                hits[rule.code].append(hit)
                yield hit

        return dataclasses.replace(rule, check=check)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "ALL_RULES", tuple(recording(rule) for rule in ALL_RULES))
        for path in FIXTURE_FILES:
            fixture_findings(path)
    return hits


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_message_placeholders_are_the_fields_its_hits_provide(
    rule: Rule | ScopeRule, fixture_hits: dict[str, list[Hit]]
) -> None:
    # `{function}` is the engine's to fill; the hit's details and lines fill the others, exactly:
    # a placeholder a hit leaves empty is a crash (JIT902) on the first such finding, and a
    # detail no placeholder shows is a fact computed for nothing.
    placeholders = {name for _, name, _, _ in string.Formatter().parse(rule.message) if name is not None}
    hits = fixture_hits[rule.code]
    assert hits, f"no fixture gives a {rule.code} hit"
    for hit in hits:
        assert not set(hit.details) & set(hit.lines) and "function" not in {*hit.details, *hit.lines}
        assert {*hit.details, *hit.lines} == placeholders - {"function"}, hit.details
