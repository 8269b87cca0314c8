"""Fixtures are the spec: each file's findings are exactly its `# expect:` labels (the format is
described in tests/expectations.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from expectations import FIXTURE_FILES, FIXTURES, Expectation, expectations

from jitlint.config import Config
from jitlint.engine import check_text

fixture_ids = [path.relative_to(FIXTURES).as_posix() for path in FIXTURE_FILES]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=fixture_ids)
def test_findings_are_the_labelled_ones(path: Path) -> None:
    # A multiset: a finding reported twice on the same spot is an extra finding.
    text = path.read_text(encoding="utf-8")
    found = Counter((f.line, f.col, f.code) for f in check_text(path, text, Config()))
    want = Counter((label.line, label.col, label.code) for label in expectations(text))
    unexpected, missing = sorted((found - want).elements()), sorted((want - found).elements())
    assert not unexpected and not missing, f"(line, col, code) unexpected: {unexpected}, missing: {missing}"


def test_labels_read_codes_columns_repeats_and_verdicts() -> None:
    text = (
        "x = 1\n"
        "print(x)  # expect: JIT003:1\n"
        "f(a) + f(a)  # expect: JIT006:1, JIT006:8,JIT005:3\n"
        "g(x)  # expect: JIT001:1 [unverified: no example input for 'x'], JIT002:3 [confirmed]\n"
    )
    assert expectations(text) == [
        Expectation(2, 1, "JIT003"),
        Expectation(3, 1, "JIT006"),
        Expectation(3, 8, "JIT006"),
        Expectation(3, 3, "JIT005"),
        Expectation(4, 1, "JIT001", "unverified: no example input for 'x'"),
        Expectation(4, 3, "JIT002", "confirmed"),
    ]


@pytest.mark.parametrize(
    "label",
    ["# expect: JIT003", "# expect: JIT003:", "# expect: JIT003:5,", "# expect: JIT003:5 JIT005:7", "# expect:"],
)
def test_a_mistyped_label_is_an_error_not_an_empty_expectation(label: str) -> None:
    with pytest.raises(ValueError, match="line 2"):
        expectations(f"x = 1\nprint(x)  {label}\n")
