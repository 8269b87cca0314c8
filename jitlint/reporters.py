"""Reporters: pure functions from sorted findings to output text. They never analyse."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence

from jitlint.findings import Finding
from jitlint.rules import ALL_RULES, TOOL_CODES


def text_report(findings: Sequence[Finding]) -> str:
    """flake8's format: `path:line:col: CODE message`, one finding a line."""
    return "".join(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}\n" for f in findings)


def json_report(findings: Sequence[Finding]) -> str:
    """A JSON array with one object a finding (1-based lines and columns)."""
    objects = [
        {
            "path": f.path,
            "line": f.line,
            "column": f.col,
            "end_line": f.end_line,
            "end_column": f.end_col,
            "code": f.code,
            "message": f.message,
            "function": f.function,
            "traced_via": f.traced_via,
            "confirmation": None,
        }
        for f in findings
    ]
    return json.dumps(objects, indent=2) + "\n"


def github_report(findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: one `::error` annotation a finding."""
    return "".join(
        f"::error file={_property(f.path)},line={f.line},col={f.col},title={_property(f.code)}"
        f"::{_data(f.message)}\n"
        for f in findings
    )


def _data(text: str) -> str:
    """Escape a workflow command's message, as GitHub's actions/toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """Escape a workflow command's property value: `:` and `,` separate properties."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


REPORTERS: dict[str, Callable[[Sequence[Finding]], str]] = {
    "text": text_report,
    "json": json_report,
    "github": github_report,
}


def statistics(findings: Sequence[Finding]) -> str:
    """`COUNT CODE name` per code, most frequent first, as flake8's --statistics."""
    names = {rule.code: rule.name for rule in ALL_RULES}
    names.update((code, name) for code, (name, _) in TOOL_CODES.items())
    counts = Counter(f.code for f in findings)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(f"{count} {code} {names.get(code, '')}\n" for code, count in ordered)


def summary(findings: Sequence[Finding], files_checked: int) -> str:
    """`Found 3 problems in 2 files (41 files checked)` or `No problems found (...)`."""
    checked = _count(files_checked, "file") + " checked"
    if not findings:
        return f"No problems found ({checked})"
    files = len({f.path for f in findings})
    return f"Found {_count(len(findings), 'problem')} in {_count(files, 'file')} ({checked})"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
