"""Output that happens only while JAX traces: print, sys.stdout/stderr writes and logging."""

from __future__ import annotations

from collections.abc import Iterator

from jitlint.rules.base import Hit, ModuleAnalysis, Rule
from jitlint.traced import TracedFunction
from jitlint.walk import dotted_name

_PRINTS = frozenset({"builtins.print", "sys.stdout.write", "sys.stderr.write"})

_LOG_METHODS = ("debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log")
_LOGGING = frozenset(
    f"{owner}.{method}" for owner in ("logging", "logging.Logger", "absl.logging") for method in _LOG_METHODS
)


def find_host_output(fn: TracedFunction, module: ModuleAnalysis) -> Iterator[Hit]:
    """
    ## What it does
    Flags `print(...)`, `sys.stdout.write(...)`, `sys.stderr.write(...)` and logging calls
    (`logging.info`, `absl.logging.info`, `logger.warning` on a `logging.getLogger(...)`
    logger, ...) inside a function that JAX traces: under `jax.jit`, `pmap`, `checkpoint`,
    `eqx.filter_jit`, `nnx.jit`, in `lax.scan`/`fori_loop`/`while_loop`/`cond`/`switch`
    bodies, under `vmap`, and in helpers that traced code calls.

    ## Why is this bad?
    JAX runs the Python body once, with abstract tracers, to build a compiled program; later
    calls replay that program without running Python. So the print happens once, at trace
    time, and shows a tracer such as `JitTracer(float32[3])` instead of the values; on every
    later call with the same shapes it prints nothing. Under `vmap` alone the body runs on each
    call, but the print still shows tracers, never values.

    ## Example
        @jax.jit
        def train_step(params, batch):
            loss = loss_fn(params, batch)
            print("loss", loss)            # prints once: loss JitTracer(float32[])
            return loss

    ## Use instead
        @jax.jit
        def train_step(params, batch):
            loss = loss_fn(params, batch)
            jax.debug.print("loss {}", loss)   # prints the value on every call
            return loss

    For logging, hand the values to the host with
    `jax.debug.callback(lambda v: logger.info("loss %s", v), loss)`.

    Not flagged: functions that are only traced for shapes (`jax.eval_shape`,
    `jax.make_jaxpr`), since they never run for real; output inside
    `if isinstance(x, jax.core.Tracer): ...` or `with jax.ensure_compile_time_eval():`, where
    the author handles trace time on purpose; host functions given to `jax.pure_callback`,
    `jax.debug.callback` or `io_callback`, which run with real values on every call.

    ## Known limits
    Output functions reached through an alias made at run time (`out = print; out(x)` inside a
    function, `self.logger.info`) are not seen. A print meant to fire once per trace (to spot
    re-compilation) is a legitimate use: silence it with `# noqa: JIT003`.
    """
    if not fn.executes:
        return  # only traced for shapes (eval_shape, make_jaxpr): there is no later call
    for call in fn.scope.calls:
        target = module.callee(call, fn)
        if target in _PRINTS:
            replacement = "jax.debug.print(...)"
        elif target in _LOGGING:
            replacement = "jax.debug.callback(...) to log values"
        else:
            continue
        if module.in_trace_aware_code(call, fn):
            continue
        yield Hit(
            call,
            {
                "callee": dotted_name(call.func) or target.rsplit(".", 1)[-1],
                "effect": _effect(fn),
                "replacement": replacement,
            },
        )


def _effect(fn: TracedFunction) -> str:
    if fn.caches:
        return "runs only while JAX traces it, not on each call"
    return "shows tracers, not values"


PRINT_IN_TRACED_FUNCTION = Rule(
    code="JIT003",
    name="print-in-traced-function",
    summary="print/logging inside traced code runs only at trace time and shows tracers",
    message="{callee}() in traced function '{function}' {effect}; use {replacement}",
    check=find_host_output,
)
