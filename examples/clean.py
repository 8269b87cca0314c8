"""Clean: a small training loop that avoids each pitfall in this folder.

- `jax.debug.print` instead of `print`: it runs on every call, with real values.
- `jnp.where` instead of a Python `if` on a traced value.
- The PRNG key is split, and each subkey is used once.
- The result of `x.at[...].set(...)` is kept.
- Globals read under jit are constants, bound once; values that change are arguments.
"""

import jax
import jax.numpy as jnp

PEAK_LR = 0.1
WARMUP_STEPS = 5


def loss_fn(w, x, y):
    return jnp.mean((x @ w - y) ** 2)


@jax.jit
def train_step(w, x, y, step):
    loss, grad = jax.value_and_grad(loss_fn)(w, x, y)
    lr = jnp.where(step < WARMUP_STEPS, PEAK_LR * (step + 1) / WARMUP_STEPS, PEAK_LR)
    jax.debug.print("step {step}: loss {loss:.4f}", step=step, loss=loss)
    return w - lr * grad


if __name__ == "__main__":
    key = jax.random.key(0)
    key, w_key = jax.random.split(key)
    w = jax.random.normal(w_key, (3,)) * 0.1
    true_w = jnp.zeros(3).at[0].set(1.0)
    for step in range(8):
        key, batch_key = jax.random.split(key)
        x = jax.random.normal(batch_key, (32, 3))
        w = train_step(w, x, x @ true_w, step)
    print("learned w:", w)
