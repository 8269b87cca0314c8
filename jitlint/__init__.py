"""jitlint: a static linter for JAX programs."""

__version__ = "0.1.0"
