"""PRNG keys consumed twice: the same random bits again, silently."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from jitlint.keys import Reuse
from jitlint.rules.base import Hit, ModuleAnalysis, ScopeRule
from jitlint.scopes import Scope

_EMPTY_MODULE = cst.Module(body=[])


def find_reused_keys(scope: Scope, module: ModuleAnalysis) -> Iterator[Hit]:
    """
    ## What it does
    Flags a call that consumes a PRNG key which an earlier call already consumed, in any
    function (jitted or not), lambda, class body or module body. `jax.random.split` and every
    sampler (`normal`, `uniform`, `bernoulli`, `categorical`, `choice`, `permutation`,
    `randint`, `truncated_normal`, `gumbel`, `bits`, ...) consume their key, and so does a
    function of the same module that consumes its key parameter on every path. A value is a key
    by what is done with it, not by its name: whatever a sampler is given is a key. Keys are
    followed through assignments and aliases, `k1, k2 = jax.random.split(key)`, `keys[0]`,
    `if`/`else`, loops, `try` and early `return`, and reported are:

    - two samplers given the same key, or sampling with a key after splitting it;
    - the same element of a split result consumed twice;
    - `jnp.where(p, normal(key), uniform(key))`: both sides are computed;
    - a key consumed in a `for`/`while` body or a comprehension without being rebound there,
      and a `lax.fori_loop`/`scan`/`while_loop`/`map` body consuming a key it closes over:
      every iteration gets the same numbers.

    ## Why is this bad?
    A JAX key is not a stateful generator: the same key always gives the same bits. Reusing it
    gives dropout masks that never change, initialisations that are correlated, samples that are
    not independent, with no error (`jax.debug_key_reuse` only catches it at run time, for
    new-style keys, and under `jit` it does not name the line).

    ## Example
        key = jax.random.key(0)
        w = jax.random.normal(key, (3, 3))
        b = jax.random.normal(key, (3,))          # drawn from the same bits as w

        for step in range(100):
            mask = jax.random.bernoulli(key, 0.9, x.shape)   # the same mask every step

    ## Use instead
        key = jax.random.key(0)
        key, w_key, b_key = jax.random.split(key, 3)
        w = jax.random.normal(w_key, (3, 3))
        b = jax.random.normal(b_key, (3,))

        for step in range(100):
            key, subkey = jax.random.split(key)      # or jax.random.fold_in(key, step)
            mask = jax.random.bernoulli(subkey, 0.9, x.shape)

    Not flagged: uses in exclusive branches (`if`/`else`, `lax.cond`/`lax.switch` branch
    functions), a key consumed on some paths only (`if i == 0:` in a loop), a key rebound
    between uses, `fold_in(key, i)` (it does not consume `key`), `jax.random.clone(key)`, keys
    handed to functions jitlint cannot see into (they may or may not consume them), a
    generator function called with a key (its body runs only when it is iterated), and reuse
    inside `with pytest.raises(...)` blocks.

    ## Known limits
    A key is followed through local names and through the elements of a `split` with a literal
    index; keys in attributes (`self.key`), in containers (`rngs["dropout"]`), after
    `key, *rest = split(key, n)` (the `rest` part), or merged from different values in different
    branches and then indexed are not followed. Calls into other modules, methods of other
    objects (`dist.sample(key)`, `model.init(key, x)`) and library layers that take a key
    (`eqx.nn.Linear(..., key=key)`) are treated as unknown, so reuse through them is not
    reported. A helper consuming a key it closes over (rather than a parameter), and
    `lax.cond(p, f, g, key)` consuming the key in its branches, are not seen. Each reused key is
    reported once, at its first reuse. A deliberate reuse, such as a test checking that the same
    key gives the same numbers, can be marked with `# noqa: JIT007`.
    """
    for reuse in module.keys.reuses(scope):
        yield _hit(reuse)


def _hit(reuse: Reuse) -> Hit:
    key = _EMPTY_MODULE.code_for_node(reuse.key)
    subject: str | None = None
    if isinstance(reuse.key, cst.Name):
        subject = reuse.key.value
        fix = f"split it first ({key}, subkey = jax.random.split({key}))"
    else:
        fix = "give each use its own key from jax.random.split"
    return Hit(
        reuse.call,
        {
            "key": key,
            "first": reuse.first.consumer,
            "when": " in an earlier loop iteration" if reuse.earlier_iteration else "",
            "fix": fix,
        },
        lines={"first_line": reuse.first.call},
        subject=subject,
    )


REUSED_PRNG_KEY = ScopeRule(
    code="JIT007",
    name="reused-prng-key",
    summary="a PRNG key consumed twice gives the same random bits again",
    message=(
        "PRNG key '{key}' was already consumed by {first} on line {first_line}{when}; reusing it "
        "gives the same random bits: {fix}"
    ),
    check=find_reused_keys,
)
