"""Fixtures are the spec: each file's findings must be exactly its `# expect:` comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jitlint.config import Config
from jitlint.engine import check_text

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)")


def expected(text: str) -> set[tuple[int, str]]:
    """(line, code) for every `# expect: CODE[, CODE]` comment."""
    return {
        (number, code.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if (match := EXPECT.search(line))
        for code in match.group(1).split(",")
    }


FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))


@pytest.mark.parametrize(
    "path", FIXTURE_FILES, ids=[p.relative_to(FIXTURES).as_posix() for p in FIXTURE_FILES]
)
def test_fixture(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = {(finding.line, finding.code) for finding in check_text(path, text, Config())}
    want = expected(text)
    assert sorted(found - want) == [], "unexpected findings"
    assert sorted(want - found) == [], "missing findings"
