"""Pitfall: `print` inside a jitted training step (jitlint rule JIT003).

JAX runs the Python body of `train_step` once, with abstract tracers, to build the
compiled program; later calls with the same shapes replay that program. So the
`print` fires once, during tracing, and shows a tracer such as
`JitTracer(float32[])` instead of the loss. Every later step prints nothing.

Fix: print from inside the compiled program with `jax.debug.print`, which runs on
every call with the real value:

    jax.debug.print("loss {loss}", loss=loss)
"""

import jax
import jax.numpy as jnp

LEARNING_RATE = 0.1


def loss_fn(w, x, y):
    return jnp.mean((x @ w - y) ** 2)


# jitlint: example w=f32[3], x=f32[4, 3], y=f32[4]
@jax.jit
def train_step(w, x, y):
    loss, grad = jax.value_and_grad(loss_fn)(w, x, y)
    print("loss:", loss)  # runs while tracing only: prints a tracer, once
    return w - LEARNING_RATE * grad, loss


if __name__ == "__main__":
    x = jnp.arange(12.0).reshape(4, 3) / 10
    y = x @ jnp.array([1.0, -2.0, 0.5])
    w = jnp.zeros(3)
    for step in range(3):
        print(f"step {step}")
        w, loss = train_step(w, x, y)  # only step 0 prints, and not a number
    print(f"real loss after 3 steps: {float(loss):.4f}")
