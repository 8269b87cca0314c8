"""The pipeline for one file, visible in one function (see check_source).

read + decode → parse once → scopes and names (one walk) → traced functions → rules → raw hits
→ positions (only for files with hits) → suppression and selection → Findings.
Rules run on the traced functions; scope rules (JIT007) on every scope, traced or not.
Per-file analysis is a pure function of (path, text, config).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import libcst as cst

from jitlint.config import Config
from jitlint.discovery import package_of, read_regular_file
from jitlint.entrypoints import entry_points
from jitlint.findings import Finding
from jitlint.flow import FlowAnalyzer
from jitlint.imports import NameResolver
from jitlint.keys import KeyAnalyzer
from jitlint.positions import Positions
from jitlint.rules import ALL_RULES
from jitlint.rules.base import Hit, ModuleAnalysis, Rule, ScopeRule
from jitlint.scopes import Scope, build_scopes
from jitlint.source import Source, SourceError, decode, parse_once, unreadable
from jitlint.suppression import is_suppressed, skips_file
from jitlint.targets import TargetFinder
from jitlint.traced import TracedFunction, find_traced_functions

# Text that every file with something to trace mentions. A file without any is not parsed.
_JAX_MARKERS = ("jax", "equinox", "flax")


@dataclass(frozen=True)
class _RawHit:
    rule: Rule | ScopeRule
    hit: Hit
    scope: Scope  # the function (or class body, or module) the hit is in
    fn: TracedFunction | None  # that scope as JAX traces it, if it does


def check_file(path: Path, config: Config, display: str | None = None) -> list[Finding]:
    """Lint one file. Bad input and rule bugs become findings, never exceptions."""
    try:
        data = read_regular_file(path)
    except OSError as error:
        return _source_error_findings(display or str(path), unreadable(error), path, config)
    return check_bytes(path, data, config, display)


def check_bytes(path: Path, data: bytes, config: Config, display: str | None = None) -> list[Finding]:
    """Lint the bytes of the file at `path` (already read, as the runner does): as check_file."""
    shown = display or str(path)
    try:
        source = decode(data)
    except SourceError as error:
        return _source_error_findings(shown, error, path, config)
    return check_source(path, source, config, shown)


def check_text(path: Path, text: str, config: Config, *, apply_noqa: bool = True) -> list[Finding]:
    """Lint source text as if it were the file at `path` (used by tests and the flake8 route).

    With `apply_noqa=False`, `# noqa` comments are left to the caller: flake8 applies its own.
    """
    return check_source(path, Source(text), config, str(path), apply_noqa=apply_noqa)


def check_source(path: Path, source: Source, config: Config, shown: str, *, apply_noqa: bool = True) -> list[Finding]:
    if not _may_trace(source.text, config) or skips_file(source.text):
        return []
    with _cyclic_collector_paused():
        return _check_module(path, source, config, shown, apply_noqa)


@contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """Run without Python's cyclic garbage collector, then turn it back on if it was on.

    A parsed module is a tree of a million objects with no cycles: reference counting frees it
    (the scope tree's cycles are broken by Scope.release). The collector would still traverse
    the whole tree at each full collection, and the larger the file, the more of those its
    growing heap triggers: 15 on a 50k-line file, 27 of its 34 seconds. Cycles made meanwhile
    are collected once it is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_module(path: Path, source: Source, config: Config, shown: str, apply_noqa: bool) -> list[Finding]:
    try:
        module = parse_once(source)
    except SourceError as error:
        return _source_error_findings(shown, error, path, config)
    analyse = partial(_analyse, module, path, config, shown)
    try:
        try:
            findings = analyse()
        except RecursionError:
            # Python recursion in the analysis (expression evaluation, libcst's code generator)
            # follows the nesting of the code: a flat `a + b + ...` of a few hundred terms is a
            # few hundred levels deep. Such files are analysed again with room for it.
            findings = _on_large_stack(analyse)
    except Exception as error:  # one guard: nothing after parsing may stop the other files
        return [internal_error(shown, "while analysing this file", error)]
    if apply_noqa:
        lines = source.lines
        findings = [finding for finding in findings if not is_suppressed(finding, lines)]
    return sorted(findings)


def _analyse(module: cst.Module, path: Path, config: Config, shown: str) -> list[Finding]:
    """Every finding of the parsed module, before suppression. A rule that fails becomes a
    JIT902 finding naming it, and the other rules still run; too deep a recursion is raised
    for check_source to retry the whole file."""
    scopes = build_scopes(module)
    try:
        resolver = NameResolver(package_of(path))
        entries = entry_points(config.extend_jit_decorators)
        traced = find_traced_functions(scopes, resolver, entries)
        analysis = ModuleAnalysis(resolver, FlowAnalyzer(resolver, traced), KeyAnalyzer(resolver, scopes, traced))
        raw: list[_RawHit] = []
        errors: list[Finding] = []
        for rule in ALL_RULES:
            if not config.is_enabled(rule.code, path):
                continue
            try:
                raw.extend(_run_rule(rule, traced, scopes, analysis))
            except RecursionError:
                raise
            except Exception as error:  # a rule bug must not stop the other rules or files
                errors.append(internal_error(shown, f"in {rule.code} ({rule.name})", error))
        return _locate(raw, module, shown, traced) + errors
    finally:
        scopes.release()


def _may_trace(text: str, config: Config) -> bool:
    markers = (*_JAX_MARKERS, *(name.split(".", 1)[0] for name in config.extend_jit_decorators))
    return any(marker in text for marker in markers)


def _run_rule(
    rule: Rule | ScopeRule, traced: list[TracedFunction], root: Scope, analysis: ModuleAnalysis
) -> Iterator[_RawHit]:
    if isinstance(rule, ScopeRule):
        for scope in root.tree():
            fn = analysis.flows.traced_by_scope.get(id(scope))
            for hit in rule.check(scope, analysis):
                yield _RawHit(rule, hit, scope, fn)
        return
    seen: set[int] = set()  # a node shared by several traced functions is reported once
    for fn in traced:
        for hit in rule.check(fn, analysis):
            if id(hit.node) not in seen:
                seen.add(id(hit.node))
                yield _RawHit(rule, hit, fn.scope, fn)


def _locate(raw: list[_RawHit], module: cst.Module, shown: str, traced: list[TracedFunction]) -> list[Finding]:
    """Positions are worked out only for files with hits, and there only where needed."""
    if not raw:
        return []
    positions = Positions(module)
    targets = TargetFinder(traced, positions.line)  # what --confirm would trace for each finding
    findings = []
    for item in raw:
        where = positions.range(item.hit.node)
        lines = {name: positions.line(node) for name, node in item.hit.lines.items()}
        findings.append(
            Finding(
                path=shown,
                line=where.start.line,
                col=where.start.column + 1,
                code=item.rule.code,
                message=item.rule.format(item.hit, _function_name(item), lines),
                end_line=where.end.line,
                end_col=where.end.column + 1,
                function=_function_name(item) or None,
                traced_via=None if item.fn is None else item.fn.primary.describe(positions.line),
                target=targets.target(item.fn, item.hit) if item.fn else targets.untraced(item.scope, item.hit),
            )
        )
    return findings


# Room for the deepest code CPython compiles (about 2,000 terms in one flat expression) at
# tens of Python frames a level, on a thread whose C stack can hold them.
_LARGE_STACK_BYTES = 512 * 1024 * 1024
_LARGE_RECURSION_LIMIT = 200_000

_Result = TypeVar("_Result")


def _on_large_stack(work: Callable[[], _Result]) -> _Result:
    """`work()` run on a thread with a large stack and a raised recursion limit; its exception,
    if it raises one, is raised here."""
    outcome: list[_Result] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # handed to the calling thread
            failure.append(error)

    previous_stack = threading.stack_size(_LARGE_STACK_BYTES)
    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_LARGE_RECURSION_LIMIT)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous_stack)
        sys.setrecursionlimit(previous_limit)
    if failure:
        raise failure[0]
    return outcome[0]


def _function_name(item: _RawHit) -> str:
    """`Model.__call__`; "" for module-level code."""
    return item.fn.name if item.fn is not None else item.scope.qualname


def _source_error_findings(shown: str, error: SourceError, path: Path, config: Config) -> list[Finding]:
    if not config.is_enabled(error.code, path):
        return []
    return [Finding(shown, error.line, error.col, error.code, error.reason)]


def internal_error(shown: str, where: str, error: Exception) -> Finding:
    """The JIT902 finding for an exception jitlint raised on this file: `where` says at which stage."""
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return Finding(shown, 1, 1, "JIT902", f"internal error {where}: {detail}")
