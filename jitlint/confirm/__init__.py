"""--confirm: prove each finding by tracing the function it concerns with JAX.

The parent side (driver.py, examples.py, protocol.py) never imports jax or user code; the child
side (child.py, checks.py, inputs.py, observe.py) runs in a separate process per module.
"""

from jitlint.confirm.driver import (
    INSTALL_HINT,
    ConfirmOptions,
    JaxMissing,
    ModuleTiming,
    confirm_findings,
    status_summary,
)

__all__ = ["INSTALL_HINT", "ConfirmOptions", "JaxMissing", "ModuleTiming", "confirm_findings", "status_summary"]
