"""Pitfall: a jitted function reads a module-level global that is later reassigned.

`predict` reads `SCALE` while JAX traces it, and the value 2.0 is baked into the
compiled program as a constant. Reassigning `SCALE` afterwards changes nothing for
inputs of the same shape and dtype, which reuse the cached program; an input of a
new shape re-traces and picks up the new value. The same call gives different
answers depending on what ran before.

Fix: pass the value as an argument (`predict(params, x, scale)`), or keep globals
read under jit as constants that are bound once and never reassigned.
"""

import jax
import jax.numpy as jnp

SCALE = 2.0


# jitlint: example params={"w": f32[3, 2], "b": f32[2]}, x=f32[4, 3]
@jax.jit
def predict(params, x):
    return SCALE * jnp.tanh(x @ params["w"] + params["b"])


if __name__ == "__main__":
    params = {"w": jnp.full((3, 2), 0.5), "b": jnp.zeros(2)}
    x = jnp.ones((4, 3))
    print("SCALE = 2.0: ", predict(params, x)[0])
    SCALE = 10.0
    print("SCALE = 10.0:", predict(params, x)[0], "<- stale: still uses 2.0")
    print("new shape:   ", predict(params, x[:2])[0], "<- re-traced: uses 10.0")
