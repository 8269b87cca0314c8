"""The rules, in code order, as jitlint/codes.py's RULES registry names them.

`Rule` checks traced functions only; `ScopeRule` checks every scope (JIT007: keys are reused the
same way in plain Python code).
"""

from importlib import import_module

from jitlint.codes import RULES, TOOL_CODES
from jitlint.rules.base import Rule, ScopeRule


def _load(location: str) -> Rule | ScopeRule:
    module, attribute = location.split(":")
    rule: Rule | ScopeRule = getattr(import_module(module), attribute)
    return rule


ALL_RULES: tuple[Rule | ScopeRule, ...] = tuple(_load(entry.rule) for entry in RULES.values())

__all__ = ["ALL_RULES", "TOOL_CODES", "Rule", "ScopeRule"]
