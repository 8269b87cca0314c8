"""Fixtures are the spec: each file's findings are exactly its `# expect:` labels, and their
messages are exactly its snapshot (see tests/expectations.py for both formats)."""

from __future__ import annotations

import difflib
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from expectations import (
    FIXTURE_FILES,
    FIXTURES,
    SNAPSHOT_SUFFIX,
    Expectation,
    expectations,
    fixture_findings,
    snapshot_path,
    snapshot_text,
)

from jitlint.findings import Finding

fixture_ids = [path.relative_to(FIXTURES).as_posix() for path in FIXTURE_FILES]


@cache
def findings_of(path: Path) -> tuple[Finding, ...]:
    """The findings on a fixture, computed once for both of its tests."""
    return tuple(fixture_findings(path))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=fixture_ids)
def test_findings_are_the_labelled_ones(path: Path) -> None:
    # A multiset: a finding reported twice on the same spot is an extra finding.
    found = Counter((f.line, f.col, f.code) for f in findings_of(path))
    want = Counter((label.line, label.col, label.code) for label in expectations(path.read_text(encoding="utf-8")))
    unexpected, missing = sorted((found - want).elements()), sorted((want - found).elements())
    assert not unexpected and not missing, f"(line, col, code) unexpected: {unexpected}, missing: {missing}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=fixture_ids)
def test_messages_match_the_snapshot(path: Path) -> None:
    snapshot = snapshot_path(path)
    assert snapshot.exists(), f"no {snapshot.name}: run `python tests/update_snapshots.py`"
    want = snapshot.read_text(encoding="utf-8")
    got = snapshot_text(list(findings_of(path)))
    diff = difflib.unified_diff(
        want.splitlines(keepends=True),
        got.splitlines(keepends=True),
        fromfile=f"{snapshot.relative_to(FIXTURES)} (checked in)",
        tofile="jitlint now",
    )
    if got != want:  # pytest.fail: the unified diff alone, without pytest's own string diff
        pytest.fail(
            "the findings differ from the snapshot; if the change is intended, run "
            "`python tests/update_snapshots.py`\n" + "".join(diff),
            pytrace=False,
        )


def test_every_snapshot_has_its_fixture() -> None:
    snapshots = set(FIXTURES.rglob("*" + SNAPSHOT_SUFFIX))
    owned = {snapshot_path(fixture) for fixture in FIXTURE_FILES}
    orphans = sorted(p.relative_to(FIXTURES).as_posix() for p in snapshots - owned)
    assert orphans == [], "snapshots without a fixture: run `python tests/update_snapshots.py`"


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
