"""The parent side of --confirm: findings grouped by module, one child process a module.

This module never imports jax or user code. For each module with findings it plans the example
inputs (examples.py), starts `python -m jitlint.confirm.child` in a new process group with
`JAX_PLATFORMS=cpu` unless the user set it, sends the request, and waits up to the timeout,
after which the whole group is killed. Children run in parallel, up to `jobs` at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from jitlint.confirm.examples import ExampleError, example_hint, plan_arguments
from jitlint.confirm.protocol import Check, Report, Request
from jitlint.findings import Confirmation, ConfirmStatus, Finding

INSTALL_HINT = "--confirm needs jax in this environment: pip install 'jitlint[confirm]'"


class JaxMissing(Exception):
    """jax cannot be imported here; the message says how to install it."""


@dataclass(frozen=True)
class ConfirmOptions:
    jobs: int = 1
    timeout: float = 60.0
    examples: Mapping[str, str] = field(default_factory=dict)  # [tool.jitlint.examples]
    progress: Callable[[int, int], None] | None = None  # (modules done, modules in all)


@dataclass(frozen=True)
class ModuleTiming:
    """How long one child took after importing jax, and how many findings it confirmed."""

    path: str
    jax_seconds: float
    module_seconds: float
    confirmed: int


@dataclass
class Outcome:
    findings: list[Finding]
    timings: list[ModuleTiming]


def confirm_findings(findings: Sequence[Finding], options: ConfirmOptions) -> Outcome:
    """The same findings, each with a Confirmation. Raises JaxMissing when jax is not installed."""
    if importlib.util.find_spec("jax") is None:
        raise JaxMissing(INSTALL_HINT)
    verdicts: dict[int, Confirmation] = {}
    requests: dict[str, list[Check]] = {}
    for index, finding in enumerate(findings):
        check = _plan(index, finding, options, verdicts)
        if check is not None:
            requests.setdefault(finding.path, []).append(check)
    timings: list[ModuleTiming] = []
    for path, result in _run_children(requests, options):
        found, timing = _read(result, requests[path], path)
        verdicts.update(found)
        if timing is not None:
            timings.append(timing)
    confirmed = [replace(finding, confirmation=verdicts[index]) for index, finding in enumerate(findings)]
    return Outcome(confirmed, timings)


def _run_children(requests: dict[str, list[Check]], options: ConfirmOptions) -> Iterator[tuple[str, _ChildResult]]:
    """One child per module, `jobs` at a time; results as they finish, with progress."""
    if not requests:
        return
    total = len(requests)
    with ThreadPoolExecutor(max_workers=max(1, min(options.jobs, total))) as pool:
        futures = {
            pool.submit(_run_child, _request(path, checks), options.timeout): path for path, checks in requests.items()
        }
        if options.progress is not None:
            options.progress(0, total)
        for done, future in enumerate(as_completed(futures), 1):
            yield futures[future], future.result()
            if options.progress is not None:
                options.progress(done, total)


def _plan(index: int, finding: Finding, options: ConfirmOptions, verdicts: dict[int, Confirmation]) -> Check | None:
    """The check to send, or None with the verdict already decided."""
    target = finding.target
    if target is None:
        why = "not a finding about traced code" if finding.code.startswith("JIT9") else "no function to trace"
        verdicts[index] = Confirmation(ConfirmStatus.UNVERIFIED, why)
        return None
    module, _ = module_location(Path(finding.path))
    try:
        arguments = plan_arguments(target, options.examples, f"{module}.{target.function}")
    except ExampleError as error:
        verdicts[index] = Confirmation(ConfirmStatus.UNVERIFIED, str(error))
        return None
    if arguments.missing:
        verdicts[index] = Confirmation(ConfirmStatus.UNVERIFIED, example_hint(target, arguments.missing))
        return None
    end_line = finding.end_line or finding.line
    return Check(index, finding.code, finding.line, end_line, target, arguments.specs)


def module_location(path: Path) -> tuple[str, Path]:
    """(`pkg.sub.mod`, the directory to put on sys.path): walk up past `__init__.py` files."""
    path = path.resolve()
    parts = [] if path.stem == "__init__" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        parts.append(directory.name)
        directory = directory.parent
    return ".".join(reversed(parts)), directory


def _request(path: str, checks: list[Check]) -> Request:
    module, root = module_location(Path(path))
    return Request(module, str(root), tuple(checks))


@dataclass(frozen=True)
class _ChildResult:
    report: Report | None
    failure: str = ""


def _run_child(request: Request, timeout: float) -> _ChildResult:
    env = dict(os.environ)
    env.setdefault("JAX_PLATFORMS", "cpu")
    with tempfile.TemporaryDirectory(prefix="jitlint-confirm-") as directory:
        report_path = Path(directory) / "report.json"
        process = subprocess.Popen(
            [sys.executable, "-m", "jitlint.confirm.child", str(report_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills what it started too
        )
        try:
            _, stderr = process.communicate(json.dumps(request.to_json()).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)  # also what the module started, which may hold our pipe open
            if not report_path.is_file():
                return _ChildResult(None, f"timed out after {timeout:g} s")
            stderr = b""
        if report_path.is_file():
            return _ChildResult(Report.from_json(json.loads(report_path.read_text(encoding="utf-8"))))
        last = stderr.decode("utf-8", "replace").strip().splitlines()
        reason = f": {last[-1].strip()}" if last else ""
        return _ChildResult(None, f"the check process ended with exit code {process.returncode}{reason}")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pass  # a grandchild that left the group still holds the pipe: give up on it


def _read(result: _ChildResult, checks: list[Check], path: str) -> tuple[dict[int, Confirmation], ModuleTiming | None]:
    if result.report is None:
        failed = Confirmation(ConfirmStatus.UNVERIFIED, result.failure)
        return {check.id: failed for check in checks}, None
    found = {r.id: Confirmation(ConfirmStatus(r.status), r.detail) for r in result.report.results}
    missing = Confirmation(ConfirmStatus.UNVERIFIED, "the check process gave no verdict")
    verdicts = {check.id: found.get(check.id, missing) for check in checks}
    confirmed = sum(1 for verdict in verdicts.values() if verdict.status is ConfirmStatus.CONFIRMED)
    timing = ModuleTiming(path, result.report.jax_seconds, result.report.module_seconds, confirmed)
    return verdicts, timing


def status_summary(findings: Sequence[Finding]) -> str:
    """`Confirmed 3, not reproduced 1, unverified 2 (of 6 findings)` for stderr."""
    counts = {status: 0 for status in ConfirmStatus}
    for finding in findings:
        if finding.confirmation is not None:
            counts[finding.confirmation.status] += 1
    return (
        f"Confirmed {counts[ConfirmStatus.CONFIRMED]}, not reproduced "
        f"{counts[ConfirmStatus.NOT_REPRODUCED]}, unverified {counts[ConfirmStatus.UNVERIFIED]}"
        f" (of {len(findings)} finding{'' if len(findings) == 1 else 's'})"
    )
