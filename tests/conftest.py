"""Shared test setup: JAX, where a test imports it, runs on the CPU backend."""

import os

# Must happen before any test module imports jax: the backend is chosen at import time, and
# fixture labels were verified on CPU.
os.environ["JAX_PLATFORMS"] = "cpu"
