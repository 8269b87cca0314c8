"""Every code jitlint reports, as plain data: the config checks codes against it.

Kept apart from the rule registry (jitlint/rules), which imports libcst: a run answered from the
cache never needs libcst, whose import is half the time of such a run. A registry test checks
that RULE_CODES lists the codes of ALL_RULES, in order.
"""

from __future__ import annotations

RULE_CODES: tuple[str, ...] = ("JIT001", "JIT002", "JIT003", "JIT004", "JIT005", "JIT006", "JIT007")

# Codes the tool itself reports; they are not rules and cannot be selected away by --select.
# Code → (name, summary).
TOOL_CODES: dict[str, tuple[str, str]] = {
    "JIT900": ("syntax-error", "the file could not be parsed"),
    "JIT901": ("unreadable-file", "the file could not be read or decoded"),
    "JIT902": ("internal-error", "a rule failed on this file (a jitlint bug; please report it)"),
}
