"""Reporters: pure functions from sorted findings to output text. They never analyse."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from jitlint import __version__
from jitlint.codes import TOOL_CODES
from jitlint.findings import Finding


def text_report(findings: Sequence[Finding]) -> str:
    """flake8's format: `path:line:col: CODE message`, one finding a line; with --confirm the
    verdict follows in brackets: ` [confirmed]`, ` [not reproduced]`, ` [unverified: why]`."""
    return "".join(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}{_verdict(f)}\n" for f in findings)


def _verdict(finding: Finding) -> str:
    return "" if finding.confirmation is None else f" [{finding.confirmation.label}]"


def _confirmation(finding: Finding) -> dict[str, str] | None:
    confirmation = finding.confirmation
    if confirmation is None:
        return None
    return {"status": confirmation.status.value, "detail": confirmation.detail}


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
            "confirmation": _confirmation(f),
        }
        for f in findings
    ]
    return json.dumps(objects, indent=2) + "\n"


def github_report(findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: one `::error` annotation a finding."""
    return "".join(
        f"::error file={_property(f.path)},line={f.line},col={f.col},title={_property(f.code)}"
        f"::{_data(f.message + _verdict(f))}\n"
        for f in findings
    )


def _data(text: str) -> str:
    """Escape a workflow command's message, as GitHub's actions/toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """Escape a workflow command's property value: `:` and `,` separate properties."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def sarif_report(findings: Sequence[Finding]) -> str:
    """SARIF 2.1.0: one run that describes every rule and holds one result a finding."""
    rules = _sarif_rules()
    rule_index = {rule["id"]: number for number, rule in enumerate(rules)}
    run = {
        "tool": {"driver": {"name": "jitlint", "version": __version__, "rules": rules}},
        "columnKind": "unicodeCodePoints",  # columns count characters, as Python strings do
        "results": [_sarif_result(finding, rule_index[finding.code]) for finding in findings],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _sarif_rules() -> list[dict[str, Any]]:
    from jitlint.rules import ALL_RULES  # imports libcst, which other formats do without

    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": _doc_section(rule.docs, "What it does")},
            "help": {"text": rule.docs, "markdown": rule.docs},
        }
        for rule in ALL_RULES
    ]
    rules.extend(
        {
            "id": code,
            "name": tool.name,
            "shortDescription": {"text": tool.summary},
            "help": {"text": tool.docs, "markdown": tool.docs},
        }
        for code, tool in TOOL_CODES.items()
    )
    return rules


def _doc_section(docs: str, title: str) -> str:
    """The text under `## title` in a rule's docs, up to the next heading, as one paragraph."""
    _, _, rest = docs.partition(f"## {title}\n")
    return " ".join(rest.split("\n## ", 1)[0].split())


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    region = {"startLine": finding.line, "startColumn": finding.col}
    if finding.end_line is not None and finding.end_col is not None:
        region.update(endLine=finding.end_line, endColumn=finding.end_col)
    location = {"artifactLocation": _artifact_location(finding.path), "region": region}
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": "error",
        "message": {"text": finding.message + _verdict(finding)},
        "locations": [{"physicalLocation": location}],
    }
    confirmation = _confirmation(finding)
    if confirmation is not None:
        result["properties"] = {"confirmation": confirmation}
    return result


def _artifact_location(path: str) -> dict[str, str]:
    """A relative path (files under the working directory are shown relative to it) stays a
    relative URI, which code scanning resolves against the repository root; an absolute path
    becomes a file URI."""
    if PurePath(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(PurePath(path).as_posix()), "uriBaseId": "%SRCROOT%"}


REPORTERS: dict[str, Callable[[Sequence[Finding]], str]] = {
    "text": text_report,
    "json": json_report,
    "github": github_report,
    "sarif": sarif_report,
}


def statistics(findings: Sequence[Finding]) -> str:
    """`COUNT CODE name` per code, most frequent first, as flake8's --statistics."""
    from jitlint.rules import ALL_RULES  # imports libcst: only for this option

    names = {rule.code: rule.name for rule in ALL_RULES}
    names.update((code, tool.name) for code, tool in TOOL_CODES.items())
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
