"""The JAX entry points that trace a Python function, as one data table.

Facts from docs/jax-semantics.md §2-§3: which argument holds the traced function, whether the transform
caches its trace (so that prints happen once and captured values freeze), and which keyword
arguments declare static parameters.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace


class StaticStyle(enum.Enum):
    """How an entry point says which parameters are static."""

    NONE = "none"  # every argument is traced
    ARGNUMS = "argnums"  # static_argnums / static_argnames (jit, checkpoint, make_jaxpr, ...)
    IN_AXES = "in_axes"  # vmap: arguments with in_axes None pass through untouched
    ARRAYS_ONLY = "arrays_only"  # equinox filter_*: only array leaves are traced


@dataclass(frozen=True)
class FunctionSlot:
    """Where the traced function is passed: a position and a keyword, or a list of branches."""

    position: int
    keyword: str
    is_sequence: bool = False  # lax.switch takes a list of branch functions
    # How many positional arguments the entry point passes to the function: a fixed number
    # (scan passes carry and x), or the call's own arguments from `operands_from` on (cond).
    # None: the caller of the transformed function decides (jit, vmap).
    arity: int | None = None
    operands_from: int | None = None

    def passed_arguments(self, positional_count: int) -> int | None:
        """How many arguments the function receives at a call with this many positionals."""
        if self.operands_from is not None:
            return max(positional_count - self.operands_from, 0)
        return self.arity


@dataclass(frozen=True)
class EntryPoint:
    """A JAX API that traces the functions in its `slots`."""

    name: str  # canonical name, e.g. "jax.jit"
    slots: tuple[FunctionSlot, ...]
    caches: bool  # the trace is cached: the body does not run again on later calls
    static_style: StaticStyle = StaticStyle.NONE
    static_argnums_keyword: str = "static_argnums"
    label: str = ""  # how users call it in messages; the short name by default
    executes: bool = True  # False: traces only to get shapes or a jaxpr, never runs the program
    # lax loops and branches: the positions of the operands JAX turns into arrays (an iterator
    # there is rejected), whether the function runs again and again (a loop body: what it
    # closes over is reused each iteration), and what messages call the function.
    operands: tuple[int, ...] = ()
    repeats: bool = False
    part: str = ""  # "body" or "branch"

    @property
    def short_name(self) -> str:
        return self.label or self.name.removeprefix("jax.").removeprefix("equinox.")

    @property
    def traces_where_called(self) -> bool:
        """Called with the function and its operands at once (lax loops and branches): the
        trace happens at that call, not when a wrapper is called later."""
        return any(slot.arity is not None or slot.operands_from is not None for slot in self.slots)

    @property
    def is_decorator(self) -> bool:
        """Usable as `@entry` or `@partial(entry, ...)`: the function is the first argument."""
        return not self.slots[0].is_sequence and self.slots[0].position == 0


_FUN = (FunctionSlot(0, "fun"),)
_F = (FunctionSlot(0, "f"),)


def _table(entries: Iterable[EntryPoint]) -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entries}


ENTRY_POINTS: dict[str, EntryPoint] = _table(
    [
        EntryPoint("jax.jit", _FUN, True, StaticStyle.ARGNUMS, label="jax.jit"),
        EntryPoint("jax.experimental.pjit.pjit", _FUN, True, StaticStyle.ARGNUMS, label="pjit"),
        EntryPoint("jax.pmap", _FUN, True, StaticStyle.ARGNUMS, "static_broadcasted_argnums", "jax.pmap"),
        EntryPoint("jax.vmap", _FUN, False, StaticStyle.IN_AXES, label="jax.vmap"),
        EntryPoint("jax.numpy.vectorize", (FunctionSlot(0, "pyfunc"),), False, label="jnp.vectorize"),
        EntryPoint("jax.checkpoint", _FUN, True, StaticStyle.ARGNUMS, label="jax.checkpoint"),
        EntryPoint("jax.remat", _FUN, True, StaticStyle.ARGNUMS, label="jax.remat"),
        EntryPoint("jax.eval_shape", _FUN, True, label="jax.eval_shape", executes=False),
        EntryPoint("jax.make_jaxpr", _FUN, True, StaticStyle.ARGNUMS, label="jax.make_jaxpr", executes=False),
        EntryPoint(
            "jax.lax.scan",
            (FunctionSlot(0, "f", arity=2),),
            True,
            label="lax.scan",
            operands=(1, 2),
            repeats=True,
            part="body",
        ),
        EntryPoint(
            "jax.lax.map",
            (FunctionSlot(0, "f", arity=1),),
            False,
            label="lax.map",
            operands=(1,),
            repeats=True,
            part="body",
        ),
        EntryPoint(
            "jax.lax.associative_scan",
            (FunctionSlot(0, "fn", arity=2),),
            True,
            label="lax.associative_scan",
            part="body",
        ),
        EntryPoint(
            "jax.lax.fori_loop",
            (FunctionSlot(2, "body_fun", arity=2),),
            True,
            label="lax.fori_loop",
            operands=(3,),
            repeats=True,
            part="body",
        ),
        EntryPoint(
            "jax.lax.while_loop",
            (FunctionSlot(0, "cond_fun", arity=1), FunctionSlot(1, "body_fun", arity=1)),
            True,
            label="lax.while_loop",
            operands=(2,),
            repeats=True,
            part="body",
        ),
        EntryPoint(
            "jax.lax.cond",
            (FunctionSlot(1, "true_fun", operands_from=3), FunctionSlot(2, "false_fun", operands_from=3)),
            True,
            label="lax.cond",
            operands=(3, 4, 5, 6),
            part="branch",
        ),
        EntryPoint(
            "jax.lax.switch",
            (FunctionSlot(1, "branches", True, operands_from=2),),
            True,
            label="lax.switch",
            operands=(2, 3, 4, 5),
            part="branch",
        ),
        EntryPoint("jax.shard_map", _F, False, label="jax.shard_map"),
        EntryPoint("jax.experimental.shard_map.shard_map", _F, False, label="shard_map"),
        EntryPoint("equinox.filter_jit", _FUN, True, StaticStyle.ARRAYS_ONLY, label="eqx.filter_jit"),
        EntryPoint("equinox.filter_vmap", _FUN, False, StaticStyle.ARRAYS_ONLY, label="eqx.filter_vmap"),
        EntryPoint("equinox.filter_pmap", _FUN, True, StaticStyle.ARRAYS_ONLY, label="eqx.filter_pmap"),
        EntryPoint("equinox.filter_checkpoint", _FUN, True, StaticStyle.ARRAYS_ONLY, label="eqx.filter_checkpoint"),
        EntryPoint("flax.nnx.jit", _FUN, True, StaticStyle.ARGNUMS, label="nnx.jit"),
        EntryPoint("flax.nnx.pmap", _FUN, True, StaticStyle.ARGNUMS, "static_broadcasted_argnums", "nnx.pmap"),
        EntryPoint("flax.nnx.vmap", (FunctionSlot(0, "f"),), False, StaticStyle.IN_AXES, label="nnx.vmap"),
        EntryPoint("flax.nnx.remat", (FunctionSlot(0, "f"),), True, StaticStyle.ARGNUMS, label="nnx.remat"),
        EntryPoint("flax.nnx.scan", (FunctionSlot(0, "f"),), True, label="nnx.scan", part="body"),
        EntryPoint(
            "flax.nnx.fori_loop",
            (FunctionSlot(2, "body_fun", arity=2),),
            True,
            label="nnx.fori_loop",
            repeats=True,
            part="body",
        ),
        EntryPoint(
            "flax.nnx.while_loop",
            (FunctionSlot(0, "cond_fun", arity=1), FunctionSlot(1, "body_fun", arity=1)),
            True,
            label="nnx.while_loop",
            repeats=True,
            part="body",
        ),
        EntryPoint(
            "flax.nnx.cond",
            (FunctionSlot(1, "true_fun", operands_from=3), FunctionSlot(2, "false_fun", operands_from=3)),
            True,
            label="nnx.cond",
            part="branch",
        ),
        EntryPoint(
            "flax.nnx.switch",
            (FunctionSlot(1, "branches", True, operands_from=2),),
            True,
            label="nnx.switch",
            part="branch",
        ),
    ]
)

# Wrappers that do not trace on their own (Python control flow works under grad alone, see
# docs/jax-semantics.md §2) but that an entry point can see through: `jax.jit(jax.grad(f))` traces f.
TRANSPARENT_WRAPPERS = frozenset(
    {
        "jax.grad",
        "jax.value_and_grad",
        "jax.jacfwd",
        "jax.jacrev",
        "jax.hessian",
        "jax.named_call",
        "jax.custom_jvp",
        "jax.custom_vjp",
        "equinox.filter_grad",
        "equinox.filter_value_and_grad",
        "flax.nnx.grad",
        "flax.nnx.value_and_grad",
    }
)

# Functions given to these run on the host with concrete values on every call: not traced.
HOST_CALLBACKS = frozenset(
    {
        "jax.pure_callback",
        "jax.debug.callback",
        "jax.experimental.io_callback",
        "jax.experimental.host_callback.call",
        "jax.experimental.host_callback.id_tap",
    }
)

# Functions given to these inside traced code run while tracing, on traced values.
TRACE_TIME_APPLIERS = frozenset(
    {
        "jax.tree_util.tree_map",
        "jax.tree_util.tree_map_with_path",
        "jax.tree.map",
        "jax.tree.map_with_path",
        "jax.tree_map",
    }
)

PARTIAL = frozenset({"functools.partial"})


def entry_points(extra_jit_names: Iterable[str] = ()) -> dict[str, EntryPoint]:
    """The table, plus configured names that behave like `jax.jit` (`extend-jit-decorators`)."""
    table = dict(ENTRY_POINTS)
    for name in extra_jit_names:
        table[name] = replace(ENTRY_POINTS["jax.jit"], name=name, label=name.rsplit(".", 1)[-1])
    return table
