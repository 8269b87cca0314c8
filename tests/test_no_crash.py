"""No input makes the checker crash: generated programs, and the installed packages' own code.

As in flake8-bugbear's tests, hypothesmith writes valid Python programs from the grammar. Such
programs seldom name anything JAX knows, so each one is also checked with its identifiers
renamed to JAX words and inside a jitted function; a second generator writes JAX-shaped programs
(jit decorators, PRNG keys, lax bodies, Python control flow) from a small vocabulary. Every
program goes through the engine in this process: an exception, or an internal rule error
(JIT902, which the engine makes of a rule's exception), fails the test.
"""

from __future__ import annotations

import io
import keyword
import string
import sysconfig
import textwrap
import tokenize
import traceback
import warnings
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitlint.config import Config
from jitlint.engine import check_file, check_text

# Reproducible in CI: the same programs on every run, no example database written to disk.
# hypothesmith's grammar strategy is slow and filters what does not compile.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def problems(text: str | None, path: Path = Path("generated.py")) -> list[str]:
    """What went wrong checking `text` (None: the file at `path`, read as the checker reads files):
    a traceback or JIT902 messages; [] when nothing did."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would be a stray line on the user's stderr
            findings = check_text(path, text, Config()) if text is not None else check_file(path, Config())
    except Exception:
        return [traceback.format_exc()]
    return [f"{finding.code} {finding.message}" for finding in findings if finding.code == "JIT902"]


# -- explicit cases: inputs that crashed the checker once --------------------------------------

HUGE = "9" * 5000  # int() refuses decimal literals of more than 4300 digits
REGRESSIONS = {
    # flow.py read the first argument of every `reversed(...)` loop
    "reversed-without-arguments": """
@jax.jit
def f(x):
    for a in reversed():
        x = x + a
    return [b for b in reversed()]
""",
    # traced.py, keys.py: int() on literals for static_argnums, split counts and key indices
    "huge-integer-literals": f"""
@partial(jax.jit, static_argnums={HUGE})
def f(x, key):
    a, b = jax.random.split(key, {HUGE})
    return jax.random.normal(a[-{HUGE}]) + jax.random.normal(a[{HUGE}])
""",
    # traced.py evaluated static_argnames strings: an unknown \\N{...} name raised SyntaxError
    # (libcst parses what compile() refuses), and an invalid escape warns on Python 3.12+
    "string-literals-python-refuses": """
@partial(jax.jit, static_argnames="\\N{NO SUCH NAME}")
def f(x):
    return x

@partial(jax.jit, static_argnames=("\\d", b"x"))
def g(x):
    return x
""",
}


@pytest.mark.parametrize("body", REGRESSIONS.values(), ids=REGRESSIONS.keys())
def test_past_crashes(body: str) -> None:
    assert problems("import jax\nfrom functools import partial\n" + body) == []


# -- grammar-made programs (hypothesmith) ---------------------------------------------------------

# Words the rules and the value model look for: renamed into, random code reaches their paths.
JAX_WORDS = [
    "x",
    "key",
    "jax",
    "jit",
    "jnp",
    "lax",
    "random",
    "split",
    "numpy",
    "i",
    "print",
    "range",
    "scan",
    "shape",
    "partial",
    "vmap",
    "reversed",
    "len",
    "enumerate",
    "zip",
    "T",
    "at",
    "set",
    "int",
    "float",
    "item",
    "fori_loop",
    "cond",
    "while_loop",
    "self",
    "logging",
    "info",
    "np",
    "grad",
    "fold_in",
    "normal",
    "static_argnums",
    "static_argnames",
    "next",
    "iter",
    "items",
    "sum",
    "tree_map",
    "pure_callback",
    "checkpoint",
    "debug",
    "isinstance",
    "carry",
    "y",
    "n",
]
JAX_IMPORTS = (
    "import logging\nfrom functools import partial\nimport jax\nimport jax.numpy as jnp\n"
    "import numpy as np\nfrom jax import lax, random, jit\n"
)


def with_jax_names(program: str, words: list[str]) -> str:
    """The program with its n-th distinct identifier renamed to words[n % len(words)]."""
    lines = io.StringIO(program).readlines()  # split as tokenize numbers rows: at \n only
    names = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(program).readline):
            if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
                names.append(token)
    except tokenize.TokenError:
        pass  # it rejects a few programs that compile (a backslash at the end): rename up to there
    renamed: dict[str, str] = {}
    for token in names:
        renamed.setdefault(token.string, words[len(renamed) % len(words)])
    for token in reversed(names):  # right to left: the columns of earlier tokens stay valid
        (row, start), (_, end) = token.start, token.end
        lines[row - 1] = lines[row - 1][:start] + renamed[token.string] + lines[row - 1][end:]
    return "".join(lines)


def in_jitted_function(program: str) -> str:
    """The program as the body of a jitted function, so that the traced-code rules run on it."""
    body = textwrap.indent(program, "    ", lambda line: True)
    return f"{JAX_IMPORTS}\n@jax.jit\ndef traced(x, key, n):\n{body}\n    return x\n"


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles `1()` and the like
@settings(FUZZ, max_examples=2000)
@given(program=hypothesmith.from_grammar(), words=st.permutations(JAX_WORDS))
def test_grammar_programs(program: str, words: list[str]) -> None:
    jaxy = with_jax_names(program, words)
    for variant in (program, jaxy):
        assert problems(JAX_IMPORTS + variant) == []
        assert problems(in_jitted_function(variant)) == []


# -- JAX-shaped programs ---------------------------------------------------------------------------

# Programs need not compile (`break` outside a loop, `await` outside `async def`, a parameter
# named twice): libcst parses them, so the checker must cope with them too.
# Forms are filled with generated expressions {a} {b} {c}, names {n} {m} and targets {t}.
# Not jax or jnp: rebinding them anywhere in a module (as random code would) hides every JAX call.
NAMES = ["x", "y", "key", "keys", "k1", "i", "n", "xs", "carry", "self", "STATE", "f", "g"]
ATOMS = [
    "0",
    "1",
    "2.5",
    "1j",
    "-1",
    "'s'",
    "b'x'",
    "'a' 'b'",
    "None",
    "True",
    "()",
    "[]",
    "{}",
    "(0, 1)",
    "...",
    'f"{x!r:>{n}}"',
]
CALLEES = [
    "jnp.sum",
    "jnp.where",
    "jnp.arange",
    "jnp.zeros",
    "jnp.nonzero",
    "np.array",
    "math.sqrt",
    "jax.random.split",
    "jax.random.normal",
    "jax.random.fold_in",
    "random.split",
    "jax.random.key",
    "random.PRNGKey",
    "np.asarray",
    "np.sum",
    "int",
    "float",
    "bool",
    "len",
    "print",
    "range",
    "reversed",
    "enumerate",
    "zip",
    "next",
    "iter",
    "isinstance",
    "sorted",
    "min",
    "sum",
    "getattr",
    "setattr",
    "super",
    "jax.debug.print",
    "logging.info",
    "jax.jit",
    "jax.vmap",
    "jax.grad",
    "jax.value_and_grad",
    "jax.checkpoint",
    "lax.scan",
    "lax.fori_loop",
    "lax.cond",
    "lax.while_loop",
    "lax.switch",
    "lax.map",
    "jax.pure_callback",
    "jax.shard_map",
    "partial",
    "jax.tree_util.tree_map",
    "jax.tree.map",
    "jax.device_get",
    "eqx.filter_jit",
    "nnx.jit",
    "f",
    "g",
    "self.f",
    "STATE.append",
    "x.item",
    "x.tolist",
    "x.at[0].set",
    "keys.append",
]
KEYWORDS = ["static_argnums", "static_argnames", "axis", "key", "num", "length", "in_axes", "unroll"]
EXPRESSION_FORMS = [
    "(not {a})",
    "(-{a})",
    "({a}).shape",
    "({a}).T",
    "({a}).ndim",
    "({a}).at",
    "({a}).field",
    "({a}).sum()",
    "({a}).item()",
    "(yield {a})",
    "(await {a})",
    "{{**{a}}}",
    "({n} := {a})",
    "[*{a}]",
    "({a} + {b})",
    "({a} > {b})",
    "({a} and {b})",
    "({a} or {b})",
    "({a} is not {b})",
    "({a} in {b})",
    "({a} == {b})",
    "{a}[{b}]",
    "{a}[1:{b}, ...]",
    "{a}[{b}:]",
    "{a}[::{b}]",
    "{a}[*{b}]",
    "({a}, {b})",
    "[{a}, *{b}]",
    "{{{a}, {b}}}",
    "{{{a}: {b}}}",
    "{a}({n} for {n} in {b})",
    "({a} < {b} <= {c})",
    "(lambda a, *b, c={a}: {b})",
    "({a} if {b} else {c})",
    "({a}).at[{b}].set({c})",
    "[{a} for {t} in {b} if {c}]",
    "{{{a}: {b} for {n}, _ in {c}}}",
    "({a} for i, x in zip({b}, {c}))",
]
TARGETS = ["{n}", "{n}, {m}", "{n}, *{m}", "{n}[0]", "self.{n}", "[{n}, ({m}, _)]", "{n}.field"]
SIMPLE_STATEMENTS = [
    "{t} = {a}",
    "{t} = {n} = {a}",
    "{n} += {a}",
    "{n}: jax.Array = {a}",
    "{n}: int",
    "{a}",
    "pass",
    "global STATE",
    "nonlocal {n}",
    "del {n}, {m}[0]",
    "import jax.numpy as jnp",
    "import jax as {n}",
    "from jax import random as {n}",
    "from jax.random import split as {n}",
    "from . import {n}",
    "from .{n} import *",
    "assert {a}, {b}",
    "type {n} = {a}",
    "yield {a}",
    "yield from {a}",
    "{n} = jax.jit({m}, static_argnums={a})",
    "if {a}: {n} = {b}",
    "while {a}: break",
    # what the rules look for, more often than random forms would write it
    "print({a})",
    "{n} = jax.random.normal(key, {a})",
    "key, {n} = jax.random.split(key)",
    "it = iter({a})",
    "{n} = next(it)",
    "{n} = lax.scan({m}, {a}, {b})",
    "{n} = lax.fori_loop(0, {a}, {m}, {b})",
    "{n} = jax.vmap({m})({a})",
    "{n} = float({m})",
    "STATE.append({a})",
]
ENDINGS = ["return {a}", "return", "raise {a}", "break", "continue"]  # only last in a body: the rest is dead
DECORATORS = [
    "jax.jit",
    "jit",
    "partial(jax.jit, static_argnums={a})",
    "partial(jax.jit, static_argnames={a})",
    "jax.jit(static_argnames={a})",
    "jax.vmap",
    "jax.grad",
    "functools.wraps({a})",
    "staticmethod",
    "property",
    "jax.checkpoint",
    "eqx.filter_jit",
    "nnx.jit",
    "{a}",
    "jax.custom_jvp",
    "f.defjvp",
    "partial(jax.vmap, in_axes={a})",
    "jax.remat",
]
SIGNATURES = [
    "",
    "x",
    "x, key",
    "self, x",
    "x, n: int",
    "carry, x",
    "x, *args, **kwargs",
    "i, carry",
    "x, /, y=None, *, n=0",
    "key, i=0",
    "x: jax.Array, static: bool = True",
    "*xs",
    "x, k=key",
    "cls, x",
    "params, batch, key",
    "x, x",
]
PATTERNS = [
    "[key, *keys]",
    "{'x': x, **rest}",
    "jax.Array(shape=(n, _)) as y",
    "str() | bytes()",
    "(1 | 2) as i",
    "[x, y] if x",
]
FUNCTION_HEADERS = [
    "def {n}({s}):",
    "def {n}({s}) -> jax.Array:",
    "async def {n}({s}):",
    "def {n}[T, *Ts]({s}):",
]
JAX_HEADER = (
    "import functools\nimport logging\nimport math\nfrom functools import partial\nimport jax\n"
    "import jax.numpy as jnp\nimport numpy as np\nfrom jax import lax, random, jit\n"
    "import equinox as eqx\nfrom flax import nnx\n"
)
_names = st.sampled_from(NAMES)


def _fill(form: str, expression: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`form` with each of its fields generated (only those it has: every draw costs time)."""
    fields = {field for _, field, _, _ in string.Formatter().parse(form) if field}
    slots = {"a": expression, "b": expression, "c": expression, "n": _names, "m": _names}
    if "t" in fields:
        slots["t"] = st.one_of([_fill(target, expression) for target in TARGETS])
    return st.fixed_dictionaries({field: slots[field] for field in fields}).map(form.format_map)


def _forms(forms: list[str], expression: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of([_fill(form, expression) for form in forms])


def _call(e: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`callee(positional, *star, keyword=value, **mapping)`, in the order Python allows."""
    keyword_argument = st.tuples(st.sampled_from(KEYWORDS), e).map("{0[0]}={0[1]}".format)
    positional = st.lists(e | e.map("*{}".format), max_size=3)
    keywords = st.lists(keyword_argument, max_size=2)
    mapping = st.lists(e.map("**{}".format), max_size=1)
    arguments = st.tuples(positional, keywords, mapping).map(
        lambda parts: ", ".join([line for part in parts for line in part])
    )
    return st.tuples(st.sampled_from(CALLEES) | e, arguments).map("{0[0]}({0[1]})".format)


def _expressions(depth: int) -> st.SearchStrategy[str]:
    """Expressions nested up to `depth` forms deep (st.recursive draws the same, more slowly).
    Half the leaves are names, so that values flow between statements."""
    leaves = _names | st.sampled_from(ATOMS + CALLEES)
    if depth == 0:
        return leaves
    inner = _expressions(depth - 1)
    return leaves | _forms(EXPRESSION_FORMS, inner) | _call(inner)


expressions = _expressions(2)


def _suite(header: str, body: list[str], *clauses: tuple[str, list[str] | None]) -> list[str]:
    """`header:` and the indented body, then each clause (`else:`...) that has a body."""
    lines = [header, *("    " + line for line in body)]
    for clause, clause_body in clauses:
        if clause_body is not None:
            lines += [clause, *("    " + line for line in clause_body)]
    return lines


def _body(statement: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    """One to four statements, perhaps ended by `return`, `raise`, `break` or `continue`."""
    ending = st.none() | _forms(ENDINGS, expressions)
    statements = st.lists(statement, min_size=1, max_size=4)
    return st.builds(
        lambda parts, end: [line for part in parts for line in part] + ([end] if end else []), statements, ending
    )


def _definitions(statement: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    """Decorated functions and classes; half the functions are jitted, so that rules run on them."""
    decorators = st.lists(_forms(DECORATORS, expressions).map("@{}".format), max_size=2)
    signatures = st.sampled_from(SIGNATURES)
    headers = st.builds(lambda h, n, s: h.format(n=n, s=s), st.sampled_from(FUNCTION_HEADERS), _names, signatures)
    jitted_or_not = st.just(["@jax.jit"]) | decorators
    function = st.builds(lambda d, h, a: d + _suite(h, a), jitted_or_not, headers, _body(statement))
    klass = st.builds(
        lambda d, n, a: d + _suite(f"class {n.title()}(eqx.Module):", a), decorators, _names, _body(statement)
    )
    return function | klass


def _compound_statements(statement: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    """if/for/while/try/with/match and definitions, around generated bodies."""
    body = _body(statement)
    maybe = st.none() | body
    e = expressions
    targets = _forms(TARGETS, e)
    return st.one_of(
        st.builds(lambda t, a, b: _suite(f"if {t}:", a, ("else:", b)), e, body, maybe),
        st.builds(lambda t, a, b: _suite(f"if {t}:", a, (f"elif {t}:", b)), e, body, body),
        st.builds(lambda t, i, a, b: _suite(f"for {t} in {i}:", a, ("else:", b)), targets, e, body, maybe),
        st.builds(lambda t, a, b: _suite(f"while {t}:", a, ("else:", b)), e, body, maybe),
        st.builds(lambda t, i, a: _suite(f"async for {t} in {i}:", a), targets, e, body),
        st.builds(
            lambda a, t, b, c, d: _suite("try:", a, (f"except {t} as err:", b), ("else:", c), ("finally:", d)),
            body,
            e,
            body,
            maybe,
            maybe,
        ),
        st.builds(lambda a, t, b: _suite("try:", a, (f"except* {t}:", b)), body, e, body),
        st.builds(lambda a, b: _suite("try:", a, ("finally:", b)), body, body),
        st.builds(lambda t, n, a: _suite(f"with {t} as {n}:", a), e, _names, body),
        st.builds(lambda t, a: _suite(f"async with {t}, {t}:", a), e, body),
        st.builds(
            lambda t, p, a, b: [f"match {t}:", *("    " + line for line in _suite(f"case {p}:", a, ("case _:", b)))],
            e,
            st.sampled_from(PATTERNS),
            body,
            body,
        ),
        _definitions(statement),
    )


def _statements(depth: int) -> st.SearchStrategy[list[str]]:
    """The lines of a statement nested up to `depth` compound statements deep."""
    simple = _forms(SIMPLE_STATEMENTS, expressions).map(lambda line: [line])
    return simple if depth == 0 else simple | _compound_statements(_statements(depth - 1))


statements = _statements(2)
# Definitions at the top as often as other statements: most rules look at function bodies only.
jax_programs = st.lists(statements | _definitions(statements), min_size=1, max_size=6).map(
    lambda parts: JAX_HEADER + "\n".join([line for part in parts for line in part]) + "\n"
)


@settings(FUZZ, max_examples=1000)
@given(jax_programs)
def test_jax_shaped_programs(program: str) -> None:
    assert problems(program) == []


# -- the installed packages' own code --------------------------------------------------------------


def installed_files() -> dict[str, Path]:
    """The .py files of the packages installed beside the tests, by name (`jax/_src/api.py`),
    except scipy's. The checker parses only the files that mention JAX (the others cost a
    substring test), so the time goes to jax and jaxlib: 700 files, about a minute on 2 cores.
    scipy would add 25 seconds for test files that name jax only through array-api-compat."""
    roots = {Path(sysconfig.get_paths()[kind]) for kind in ("purelib", "platlib")}
    return {
        path.relative_to(root).as_posix(): path
        for root in sorted(roots)
        for path in sorted(root.rglob("*.py"))
        if path.relative_to(root).parts[0] != "scipy"
    }


def test_installed_packages() -> None:
    files = installed_files()
    assert {"jax/__init__.py", "jaxlib/__init__.py"} <= files.keys()
    failed = {name: found for name, path in files.items() if (found := problems(None, path))}
    assert failed == {}
