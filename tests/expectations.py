"""What the rule fixtures expect: their `# expect:` labels and their message snapshots.

A fixture line that must be reported ends with a label naming each finding on it by code and
1-based column, as the text report prints them:

    print("x", x)  # expect: JIT003:5
    if x > 0 and float(x) < 1:  # expect: JIT005:8, JIT006:18

The same code found twice on a line is listed twice. In tests/fixtures/confirm/ an item may also
carry the verdict `--confirm` must give it: `# expect: JIT003:5 [confirmed]`, `[not reproduced]`,
`[unverified: <start of the reason>]`.

Next to each fixture `name.py`, the snapshot `name.py.snap` lists the findings' full messages,
one `line:col: CODE message` a line in the engine's order; `python tests/update_snapshots.py`
rewrites every snapshot from the current findings. Snapshots live beside their fixtures so that a
change to a fixture and to what it reports are read together; jitlint and flake8 only look at
`.py` files, so the tests that run them over tests/fixtures/ never see the snapshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jitlint.config import Config
from jitlint.engine import check_text
from jitlint.findings import Finding

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))
SNAPSHOT_SUFFIX = ".snap"

LABEL = re.compile(r"#\s*expect:")
ITEM = re.compile(r"\s*([A-Z]+\d+):(\d+)(?:\s*\[([^\]]*)\])?\s*")
SEPARATOR = re.compile(r",")


@dataclass(frozen=True, order=True)
class Expectation:
    """One expected finding: where it is, its code and, in confirm fixtures, its verdict."""

    line: int
    col: int
    code: str
    verdict: str | None = None  # the text between the brackets, e.g. "unverified: no example"


def expectations(text: str) -> list[Expectation]:
    """Every finding the `# expect:` labels of a fixture's text ask for, in line order.

    A label that does not read as `CODE:COL[, CODE:COL ...]` up to the end of its line raises
    ValueError: a mistyped label must not silently expect nothing.
    """
    found: list[Expectation] = []
    for number, line in enumerate(text.splitlines(), 1):
        label = LABEL.search(line)
        if label is not None:
            found.extend(_items(number, line, label.end()))
    return found


def _items(number: int, line: str, start: int) -> Iterator[Expectation]:
    position = start
    while True:
        item = ITEM.match(line, position)
        if item is None:
            raise ValueError(f"line {number}: `# expect:` wants CODE:COL items, got {line[start:]!r}")
        code, col, verdict = item.groups()
        yield Expectation(number, int(col), code, verdict)
        position = item.end()
        if position == len(line):
            return
        separator = SEPARATOR.match(line, position)
        if separator is None:
            raise ValueError(f"line {number}: unexpected text after `# expect:` items: {line[position:]!r}")
        position = separator.end()


def fixture_findings(path: Path) -> list[Finding]:
    """The engine's findings on a fixture, with the defaults a project without config gets."""
    return check_text(path, path.read_text(encoding="utf-8"), Config())


def snapshot_path(fixture: Path) -> Path:
    return fixture.with_name(fixture.name + SNAPSHOT_SUFFIX)


def snapshot_text(findings: list[Finding]) -> str:
    """The snapshot of a fixture's findings: `line:col: CODE message`, one a line."""
    return "".join(f"{f.line}:{f.col}: {f.code} {f.message}\n" for f in findings)
