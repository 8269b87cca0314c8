"""Pitfall: `x.at[0].set(1.0)` whose result is dropped.

JAX arrays are immutable: `x.at[0].set(1.0)` returns a new array and never changes
`x`. Written as a statement, it computes an updated copy and throws it away, with no
error or warning, inside jit or not. Here the start distribution stays all zeros,
so every probability after one step of the Markov chain is zero.

Fix: keep the result: `x = x.at[0].set(1.0)`.
"""

import jax
import jax.numpy as jnp


@jax.jit
def after_one_step(transition):
    """Distribution over states after one step, starting in state 0."""
    x = jnp.zeros(transition.shape[0])
    x.at[0].set(1.0)  # result dropped: x is still all zeros
    return x @ transition


if __name__ == "__main__":
    transition = jnp.array([[0.9, 0.1, 0.0], [0.0, 0.5, 0.5], [0.2, 0.0, 0.8]])
    probs = after_one_step(transition)
    print("distribution:", probs)
    print(f"sums to {float(probs.sum())} (expected 1.0)")
