"""The rule registry: an explicit tuple, in code order.

Codes: JIT0xx are the core purity pitfalls (JIT001 stale captured values, JIT002 external writes,
JIT003 host output, JIT004 external iterators, JIT005 Python control flow on traced values,
JIT006 concretization, JIT007 reused PRNG keys). JIT9xx are reserved for the tool itself:
JIT900 unparseable file, JIT901 unreadable file, JIT902 internal rule error.
"""

from jitlint.codes import TOOL_CODES
from jitlint.rules.base import Rule, ScopeRule
from jitlint.rules.concretization import CONCRETIZATION_OF_TRACED_VALUE
from jitlint.rules.control_flow import PYTHON_CONTROL_FLOW_ON_TRACED_VALUE
from jitlint.rules.external_state import EXTERNAL_STATE_WRITTEN, STALE_CAPTURED_VALUE
from jitlint.rules.iterators import EXTERNAL_ITERATOR
from jitlint.rules.printing import PRINT_IN_TRACED_FUNCTION
from jitlint.rules.prng import REUSED_PRNG_KEY

# Rule checks traced functions only; ScopeRule checks every scope (JIT007: keys are reused the
# same way in plain Python code).
ALL_RULES: tuple[Rule | ScopeRule, ...] = (
    STALE_CAPTURED_VALUE,
    EXTERNAL_STATE_WRITTEN,
    PRINT_IN_TRACED_FUNCTION,
    EXTERNAL_ITERATOR,
    PYTHON_CONTROL_FLOW_ON_TRACED_VALUE,
    CONCRETIZATION_OF_TRACED_VALUE,
    REUSED_PRNG_KEY,
)

__all__ = ["ALL_RULES", "TOOL_CODES", "Rule", "ScopeRule"]
