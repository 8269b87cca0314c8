"""The rule registry: stable codes, readable names, complete docs, a fixture for every rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jitlint.rules import ALL_RULES, TOOL_CODES

FIXTURES = Path(__file__).parent / "fixtures"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def test_codes_are_unique_and_well_formed() -> None:
    codes = [rule.code for rule in ALL_RULES] + list(TOOL_CODES)
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"JIT\d{3}", code) for code in codes)


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
    text = "\n".join(path.read_text(encoding="utf-8") for path in FIXTURES.rglob("*.py"))
    for rule in ALL_RULES:
        assert re.search(rf"#\s*expect:.*\b{rule.code}\b", text), f"no fixture for {rule.code}"
