"""Pitfall: a Python `if` on a traced argument inside `@jax.jit`.

Under jit, `step` is a tracer: an abstract value with a shape and dtype but no
number. `if step < WARMUP_STEPS` needs a Python bool, so tracing fails with
`jax.errors.TracerBoolConversionError` (the same code works without jit, which
makes the error a surprise when jit is added later).

Fix: select between the two values with `jnp.where(step < WARMUP_STEPS, warmup,
decay)`, or choose between two computations with `jax.lax.cond`. Only a value that
really is a configuration constant should become static (`static_argnames`).
"""

import jax
import jax.numpy as jnp

PEAK_LR = 1e-3
WARMUP_STEPS = 100
TOTAL_STEPS = 1000


# jitlint: example step=10
@jax.jit
def learning_rate(step):
    if step < WARMUP_STEPS:  # a traced value has no truth value
        return PEAK_LR * step / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / (TOTAL_STEPS - WARMUP_STEPS)
    return PEAK_LR * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))


if __name__ == "__main__":
    try:
        learning_rate(10)
    except jax.errors.TracerBoolConversionError as error:
        print(f"{type(error).__name__}: {str(error).splitlines()[0]}")
