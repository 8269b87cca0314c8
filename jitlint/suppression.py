"""Suppression and selection: the stage after the rules that decides what is reported."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Sequence

from jitlint.findings import Finding

# flake8's syntax: `# noqa` alone silences the line, `# noqa: A1,B2` (or `noqa:A1 B2`) some codes.
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]*(?:[,\s]+[A-Z]+[0-9]*)*))?", re.IGNORECASE)
_SKIP_FILE = re.compile(r"#\s*jitlint:\s*skip-file\b")


def skips_file(text: str) -> bool:
    """Whether a comment `# jitlint: skip-file` opts the file out; in a string it does not.

    The text search is the cheap test every file gets; only a file it matches is tokenized, to
    see whether the match is a comment. A file the tokenizer stops on before reaching such a
    comment is not skipped: the parse then reports its syntax error.
    """
    if _SKIP_FILE.search(text) is None:
        return False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT and _SKIP_FILE.search(token.string):
                return True
    except (tokenize.TokenError, SyntaxError):
        pass
    return False


def matches(code: str, patterns: Iterable[str]) -> bool:
    """`JIT003` matches `JIT003`, `JIT00`, `JIT0` and `JIT`."""
    return any(code.startswith(pattern) for pattern in patterns)


def noqa_codes(line: str) -> frozenset[str] | None:
    """None when the line has no noqa; an empty set for a bare `# noqa` (silences all)."""
    found = _NOQA.search(line)
    if found is None:
        return None
    codes = found.group("codes")
    if not codes:
        return frozenset()
    return frozenset(code.upper() for code in re.split(r"[,\s]+", codes) if code)


def is_suppressed(finding: Finding, lines: Sequence[str]) -> bool:
    """A `# noqa` comment on the reported physical line silences the finding."""
    if not 1 <= finding.line <= len(lines):
        return False
    codes = noqa_codes(lines[finding.line - 1])
    if codes is None:
        return False
    return not codes or matches(finding.code, codes)
