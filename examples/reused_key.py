"""Pitfall: sampling twice with the same PRNG key.

JAX random functions are pure: the same key always gives the same bits. Here both
hidden layers are initialised from one `key`, so `w1` and `w2` come out identical
(and `b1` and `b2` too), and the network starts with two copies of one layer.
Nothing warns about it.

Fix: split the key and use each subkey exactly once:

    k1, k2, k3, k4 = jax.random.split(key, 4)
"""

import jax
import jax.numpy as jnp


@jax.jit
def init_mlp(key):
    w1 = jax.random.normal(key, (16, 16)) * jnp.sqrt(2.0 / 16)
    w2 = jax.random.normal(key, (16, 16)) * jnp.sqrt(2.0 / 16)  # same key again
    b1 = jax.random.uniform(key, (16,), minval=-0.1, maxval=0.1)
    b2 = jax.random.uniform(key, (16,), minval=-0.1, maxval=0.1)
    return {"w1": w1, "b1": b1, "w2": w2, "b2": b2}


if __name__ == "__main__":
    params = init_mlp(jax.random.key(0))
    print("w1 == w2:", bool(jnp.array_equal(params["w1"], params["w2"])))
    print("b1 == b2:", bool(jnp.array_equal(params["b1"], params["b2"])))
