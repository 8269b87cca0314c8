"""JAX API facts the analyses and --confirm read, as data: what tracing makes of values, which
calls consume a PRNG key, which NumPy functions and shape arguments fail on tracers.

Which functions JAX traces, and how, is in jitlint/entrypoints.py. Each fact is checked against
JAX in docs/jax-semantics.md; rules and analyses import these tables instead of keeping lists.
"""

from __future__ import annotations

# --- values under tracing (jitlint/flow.py) ---------------------------------------------------

# Attributes of an array that are static under jit.
STATIC_ARRAY_ATTRIBUTES = frozenset({"shape", "ndim", "dtype", "size", "weak_type", "sharding"})

# Attributes of an array that are arrays again.
ARRAY_ATTRIBUTES = frozenset({"T", "mT", "real", "imag", "at", "flat"})

# Array methods whose result is an array (traced when the array is).
ARRAY_METHODS = frozenset(
    {
        "sum",
        "mean",
        "max",
        "min",
        "prod",
        "std",
        "var",
        "any",
        "all",
        "argmax",
        "argmin",
        "reshape",
        "astype",
        "transpose",
        "squeeze",
        "ravel",
        "flatten",
        "clip",
        "round",
        "dot",
        "cumsum",
        "cumprod",
        "sort",
        "argsort",
        "take",
        "conj",
        "conjugate",
        "copy",
        "repeat",
        "swapaxes",
        "view",
        "diagonal",
        "trace",
        "searchsorted",
        "ptp",
        "compress",
        "choose",
        "block_until_ready",
        # the `.at[...]` updaters
        "set",
        "add",
        "multiply",
        "divide",
        "power",
        "get",
        "apply",
        "mul",
    }
)

# Functions of jax.numpy (and friends) whose result is static: shapes and dtypes.
STATIC_JAX_FUNCTIONS = frozenset(
    {
        "jax.numpy.shape",
        "jax.numpy.ndim",
        "jax.numpy.size",
        "jax.numpy.issubdtype",
        "jax.numpy.dtype",
        "jax.numpy.result_type",
        "jax.numpy.promote_types",
        "jax.numpy.finfo",
        "jax.numpy.iinfo",
        "jax.numpy.iscomplexobj",
        "jax.numpy.isrealobj",
        "jax.numpy.can_cast",
        "jax.device_count",
        "jax.local_device_count",
        "jax.devices",
        "jax.local_devices",
        "jax.process_index",
        "jax.process_count",
        "jax.default_backend",
        "jax.dtypes.canonicalize_dtype",
        "jax.dtypes.result_type",
        "jax.dtypes.issubdtype",
        "jax.tree_util.tree_structure",
        "jax.tree.structure",
        "jax.numpy.isscalar",
        "jax.core.is_concrete",
        "jax.numpy.broadcast_shapes",
        "jax.lax.broadcast_shapes",
        "jax.eval_shape",
        "jax.ShapeDtypeStruct",
        "jax.tree_util.tree_flatten",
    }
)

# Packages whose calls return arrays: traced inside jit, whatever the arguments.
ARRAY_PACKAGES = ("jax.numpy.", "jax.lax.", "jax.random.", "jax.nn.", "jax.scipy.", "jax.image.")

# Builtins whose result is a static Python value even on a tracer (or that fail anyway).
STATIC_BUILTINS = frozenset(
    {
        "builtins.len",
        "builtins.isinstance",
        "builtins.issubclass",
        "builtins.type",
        "builtins.hasattr",
        "builtins.callable",
        "builtins.id",
        "builtins.str",
        "builtins.repr",
        "builtins.getattr",
        "builtins.print",
        "builtins.format",
    }
)

# Builtins that keep a tracer a tracer.
TRACED_BUILTINS = frozenset({"builtins.abs", "builtins.sum", "builtins.round", "builtins.pow", "builtins.divmod"})

# Builtins that make a Python number, bool or list from their argument: static on static input.
CONVERTING_BUILTINS = frozenset(
    {
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.complex",
        "builtins.range",
        "builtins.min",
        "builtins.max",
        "builtins.sorted",
        "builtins.any",
        "builtins.all",
        "builtins.tuple",
        "builtins.list",
        "builtins.set",
        "builtins.frozenset",
        "builtins.dict",
        "builtins.enumerate",
        "builtins.zip",
        "builtins.reversed",
    }
)

# NumPy functions that hand a tracer back to the array's own method (docs/jax-semantics.md §5.5).
NUMPY_DISPATCHING = frozenset(
    f"numpy.{name}"
    for name in (
        "sum",
        "mean",
        "max",
        "min",
        "prod",
        "std",
        "var",
        "any",
        "all",
        "argmax",
        "argmin",
        "cumsum",
        "cumprod",
        "round",
        "around",
        "reshape",
        "transpose",
        "squeeze",
        "amax",
        "amin",
    )
)

# Module-level attributes that are constants (dtypes, pi, ...), not functions to call.
CONSTANT_PACKAGES = ("jax.numpy.", "numpy.", "math.")

# Annotations of parameters that are arrays (or Python scalars, traced under jit).
ARRAY_ANNOTATIONS = frozenset(
    {
        "Array",
        "ndarray",
        "ArrayLike",
        "Float",
        "Int",
        "Bool",
        "Shaped",
        "Num",
        "Real",
        "UInt",
        "Key",
        "PRNGKeyArray",
        "Scalar",
        "Numeric",
        "Inexact",
        "Integer",
        "Complex",
    }
)

SCALAR_ANNOTATIONS = frozenset({"bool", "int", "float", "complex"})

STATIC_ANNOTATIONS = frozenset({"bool", "int", "float", "str", "Callable", "type"})


# --- PRNG keys (jitlint/keys.py) -------------------------------------------------------------

SAMPLERS = (
    "ball",
    "bernoulli",
    "beta",
    "binomial",
    "bits",
    "categorical",
    "cauchy",
    "chisquare",
    "choice",
    "dirichlet",
    "double_sided_maxwell",
    "exponential",
    "f",
    "gamma",
    "generalized_normal",
    "geometric",
    "gumbel",
    "laplace",
    "loggamma",
    "logistic",
    "lognormal",
    "maxwell",
    "multinomial",
    "multivariate_normal",
    "normal",
    "orthogonal",
    "pareto",
    "permutation",
    "poisson",
    "rademacher",
    "randint",
    "rayleigh",
    "shuffle",
    "t",
    "triangular",
    "truncated_normal",
    "uniform",
    "wald",
    "weibull_min",
)

# Functions that consume the key passed as their first argument (or as `key=`).
KEY_CONSUMERS = frozenset({f"jax.random.{name}" for name in (*SAMPLERS, "split")})

KEY_SPLIT = "jax.random.split"

# Functions that return a new, unconsumed key and consume nothing.
KEY_CREATORS = frozenset(
    {"jax.random.PRNGKey", "jax.random.key", "jax.random.fold_in", "jax.random.clone", "jax.random.wrap_key_data"}
)

# Calls that never consume a key handed to them: array functions, key inspection, printing.
KEY_HARMLESS_PREFIXES = ("jax.numpy.", "numpy.", "jax.debug.", "math.")

KEY_HARMLESS = frozenset(
    {
        "jax.random.key_data",
        "jax.random.key_impl",
        "jax.device_get",
        "jax.block_until_ready",
        "builtins.print",
        "builtins.len",
        "builtins.isinstance",
        "builtins.type",
        "builtins.id",
        "builtins.repr",
        "builtins.str",
        "builtins.hash",
        "builtins.hasattr",
        "builtins.getattr",
        "builtins.list",
        "builtins.tuple",
        "builtins.iter",
        "builtins.zip",
        "builtins.enumerate",
        "builtins.reversed",
        "builtins.bool",
    }
)

# Decorators that leave a helper's consumption as it is (jit runs the same code; with
# `jax.debug_key_reuse` a jitted function consumes the keys its body consumes).
KEY_TRANSPARENT_DECORATORS = frozenset(
    {
        "builtins.staticmethod",
        "builtins.classmethod",
        "jax.jit",
        "jax.checkpoint",
        "jax.remat",
        "jax.experimental.pjit.pjit",
        "equinox.filter_jit",
        "equinox.filter_checkpoint",
        "flax.nnx.jit",
        "flax.nnx.remat",
    }
)


# --- what fails on a tracer (JIT006) ---------------------------------------------------------

# NumPy functions that raise TracerArrayConversionError on a tracer (docs/jax-semantics.md §5.5);
# the ones that forward to the array's method (np.sum, np.mean, ...) work and are left alone, and
# so does np.flip, which only indexes its argument.
NUMPY_CONVERTING = frozenset(
    {
        "asarray",
        "array",
        "ascontiguousarray",
        "asanyarray",
        "float32",
        "float64",
        "float16",
        "int32",
        "int64",
        "int8",
        "int16",
        "uint8",
        "uint32",
        "bool_",
        "complex64",
        "complex128",
        "sin",
        "cos",
        "tan",
        "exp",
        "log",
        "log1p",
        "expm1",
        "sqrt",
        "abs",
        "absolute",
        "tanh",
        "sinh",
        "cosh",
        "arctan",
        "arctan2",
        "arcsin",
        "arccos",
        "isnan",
        "isinf",
        "isfinite",
        "sign",
        "floor",
        "ceil",
        "maximum",
        "minimum",
        "power",
        "square",
        "exp2",
        "log2",
        "log10",
        "where",
        "dot",
        "matmul",
        "concatenate",
        "stack",
        "vstack",
        "hstack",
        "sort",
        "ravel",
        "clip",
        "zeros_like",
        "ones_like",
        "full_like",
        "empty_like",
        "einsum",
        "outer",
        "tensordot",
        "linalg.norm",
        "linalg.inv",
        "linalg.solve",
        "linalg.det",
        "linalg.eigh",
        "linalg.svd",
        "linalg.cholesky",
        "allclose",
        "isclose",
        "array_equal",
        "unique",
        "nonzero",
        "argwhere",
        "diff",
        "tile",
        "broadcast_to",
        "expand_dims",
        "roll",
        "logical_and",
        "logical_or",
        "logical_not",
        "equal",
        "greater",
        "less",
        "add",
        "subtract",
        "multiply",
        "divide",
        "true_divide",
        "negative",
        "reciprocal",
    }
)

# jnp functions whose argument at (position, keyword) is a shape or size: it must be static.
SHAPE_ARGUMENTS = {
    "jax.numpy.zeros": (0, "shape"),
    "jax.numpy.ones": (0, "shape"),
    "jax.numpy.empty": (0, "shape"),
    "jax.numpy.full": (0, "shape"),
    "jax.numpy.arange": (0, "start"),
    "jax.numpy.eye": (0, "N"),
    "jax.numpy.identity": (0, "n"),
    "jax.numpy.linspace": (2, "num"),
    "jax.numpy.reshape": (1, "shape"),
    "jax.numpy.broadcast_to": (1, "shape"),
    "jax.numpy.tile": (1, "reps"),
    "jax.numpy.tri": (0, "N"),
    "jax.random.normal": (1, "shape"),
    "jax.random.uniform": (1, "shape"),
    "jax.random.bernoulli": (2, "shape"),
    "jax.random.randint": (1, "shape"),
    "jax.random.categorical": (3, "shape"),
    "jax.random.truncated_normal": (3, "shape"),
    "jax.lax.iota": (1, "size"),
    "jax.lax.broadcast": (1, "sizes"),
    "jax.lax.dynamic_slice": (2, "slice_sizes"),
}
