"""Every code jitlint reports, as plain data: the one registry of rules, and the tool's own codes.

`RULES` names each rule's code, where its implementation lives and which --confirm check shows
its symptom; jitlint/rules derives the rule objects from it, jitlint/confirm its checks. It is kept apart from those objects, which import libcst: the config
checks codes against it, and a run answered from the cache never needs libcst, whose import is
half the time of such a run. Adding a rule: its module (detection, docs, message), a line here,
and a fixture (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleEntry:
    """Where a rule lives: its Rule object, and the function of jitlint/confirm/checks.py that
    shows its symptom under JAX (run in the shared two-trace session, or in a run of its own)."""

    rule: str  # "module:attribute" of the Rule
    confirm: str
    confirm_in_session: bool = True


# Every rule, in code order: the one registry.
RULES: dict[str, RuleEntry] = {
    "JIT001": RuleEntry("jitlint.rules.external_state:STALE_CAPTURED_VALUE", "check_stale_value", False),
    "JIT002": RuleEntry("jitlint.rules.external_state:EXTERNAL_STATE_WRITTEN", "check_external_write"),
    "JIT003": RuleEntry("jitlint.rules.printing:PRINT_IN_TRACED_FUNCTION", "check_print"),
    "JIT004": RuleEntry("jitlint.rules.iterators:EXTERNAL_ITERATOR", "check_iterator"),
    "JIT005": RuleEntry("jitlint.rules.control_flow:PYTHON_CONTROL_FLOW_ON_TRACED_VALUE", "check_tracer_error"),
    "JIT006": RuleEntry("jitlint.rules.concretization:CONCRETIZATION_OF_TRACED_VALUE", "check_tracer_error"),
    "JIT007": RuleEntry("jitlint.rules.prng:REUSED_PRNG_KEY", "check_key_reuse", False),
}
RULE_CODES: tuple[str, ...] = tuple(RULES)


@dataclass(frozen=True)
class ToolCode:
    """A code the tool itself reports: not a rule, and not selected away by --select."""

    name: str
    summary: str  # one line for --list-rules
    docs: str  # what `--explain CODE` prints: what the finding means and what to do


TOOL_CODES: dict[str, ToolCode] = {
    "JIT900": ToolCode(
        "syntax-error",
        "the file could not be parsed",
        """\
## What it means
The file is not valid Python as jitlint's parser (libcst) reads it, so none of its code was
checked. The finding is at the place where the parser stopped.

## What to do
Fix the syntax error; `python -m py_compile FILE` shows it as Python sees it. A file that is
not meant to be Python source can be left out with `extend-exclude`. Like flake8's E999, the
finding counts as a problem (exit 1), so a file that was never checked does not pass CI.""",
    ),
    "JIT901": ToolCode(
        "unreadable-file",
        "the file (or directory) could not be read or decoded",
        """\
## What it means
jitlint could not read this path, so none of its code was checked. The message says why: the
operating system refused (`Permission denied`), the bytes are not in the file's encoding (UTF-8
unless a PEP 263 `# coding:` line says otherwise), a directory could not be listed, or the
path named on the command line is not a regular file (a FIFO or a device, which is never
opened: reading it could wait forever).

## What to do
Give the user running jitlint read access, fix the encoding or the coding line, or leave the
path out (`extend-exclude`, or do not name it). Like flake8's E902, the finding counts as a
problem (exit 1), so code that was never read does not pass CI.""",
    ),
    "JIT902": ToolCode(
        "internal-error",
        "jitlint failed on this file (a jitlint bug; please report it)",
        """\
## What it means
jitlint raised an exception while analysing this file: a bug in jitlint, not in your code. The
message says where (`in JIT005 (...)` for one rule, `while analysing this file` for a stage all
rules share) and names the exception. When one rule failed, the other rules still ran on the
file; in every case the other files were checked and reported, and the run exits 2.

## What to do
Please report it with the message and, if you can, the smallest file that shows it. Until it
is fixed, `--ignore` the failing rule's code, or `# jitlint: skip-file` in that file.""",
    ),
}
