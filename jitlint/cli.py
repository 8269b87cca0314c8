"""The command line: arguments, configuration and exit codes. It only wires the stages together."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from jitlint import __version__
from jitlint.cache import ResultCache, default_cache_dir
from jitlint.codes import TOOL_CODES
from jitlint.config import Config, ConfigError, anchored, check_codes, find_pyproject, load_config
from jitlint.confirm import ConfirmOptions, JaxMissing, confirm_findings, status_summary
from jitlint.discovery import FileList, discover, display_path
from jitlint.findings import ConfirmStatus, Finding
from jitlint.reporters import REPORTERS, statistics, summary
from jitlint.runner import RunOptions, available_cores, check_files

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jitlint",
        description="Find JAX JIT purity pitfalls (prints, stale globals, traced control flow, "
        "reused PRNG keys) before the code runs.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument("--select", metavar="CODES", help="only these codes or prefixes (JIT00,JIT003)")
    parser.add_argument("--ignore", metavar="CODES", help="skip these codes or prefixes")
    parser.add_argument("--exclude", metavar="GLOBS", help="globs to skip, replacing the defaults")
    parser.add_argument("--extend-exclude", metavar="GLOBS", help="globs to skip, added to the defaults")
    parser.add_argument("--format", choices=sorted(REPORTERS), default="text", help="output format")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
    parser.add_argument("--statistics", action="store_true", help="count findings per code")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    parser.add_argument("--config", metavar="FILE", help="read [tool.jitlint] from this TOML file")
    parser.add_argument("--isolated", action="store_true", help="ignore configuration files")
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="where results are cached (default: .jitlint_cache in the project root)"
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument("--version", action="version", version=f"jitlint {__version__}")
    parser.add_argument("--list-rules", action="store_true", help="list rule codes and exit")
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    parser.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=available_cores(),
        metavar="N",
        help="processes to run at once (default: the available cores; files are "
        "checked in parallel, and --confirm runs one per module)",
    )
    confirm = parser.add_argument_group("confirming findings with JAX (imports and runs your code)")
    confirm.add_argument(
        "--confirm",
        action="store_true",
        help="trace each finding's function with JAX and mark it confirmed, not reproduced or unverified",
    )
    confirm.add_argument(
        "--confirm-timeout",
        type=_timeout,
        default=60.0,
        metavar="SECONDS",
        help=f"time allowed per module (default 60, at most {MAX_TIMEOUT})",
    )
    confirm.add_argument(
        "--confirmed-only", action="store_true", help="report only confirmed findings (implies --confirm)"
    )
    return parser


MAX_TIMEOUT = 86_400  # seconds: one day, beyond any import and trace of one module


def _jobs(text: str) -> int:
    """A whole number of processes, at least 1. A huge one is harmless: the runner and --confirm
    never start more processes than there are files or modules."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _timeout(text: str) -> float:
    """Seconds, more than 0 and at most a day: nan, inf and 1e308 cannot be waited for."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not '{text}'") from None
    if not 0 < value <= MAX_TIMEOUT:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_TIMEOUT}, not '{text}'")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run jitlint; returns the exit code (0 clean, 1 findings, 2 errors)."""
    args = build_parser().parse_args(argv)
    if args.list_rules:
        return _list_rules()
    if args.explain:
        return _explain(args.explain)
    try:
        config = _configure(args)
    except ConfigError as error:
        return _error(str(error))
    files = discover(args.paths or ["."], config)
    for missing in files.missing:
        _error(f"path not found: {missing}")
    cwd = Path.cwd()
    for loop in files.loops:  # not the user's code, so not a finding; other files go on (as ruff)
        print(f"jitlint: warning: skipping symlink loop: {display_path(loop, cwd)}", file=sys.stderr)
    findings = check_files(files.files, config, cwd, _run_options(args, config))
    findings = sorted(findings + _unreadable_findings(files, config, cwd))
    if args.confirm or args.confirmed_only:
        try:
            findings = _confirm(findings, args, config)
        except JaxMissing as error:
            return _error(str(error))
    all_findings = findings
    if args.confirmed_only:
        findings = [f for f in findings if f.confirmation and f.confirmation.status is ConfirmStatus.CONFIRMED]
    sys.stdout.write(REPORTERS[args.format](findings))
    if args.statistics:
        # After text findings, as flake8 does; on stderr for formats that must stay parseable.
        stream = sys.stdout if args.format == "text" else sys.stderr
        stream.write(statistics(findings))
    if not args.quiet:
        print(summary(findings, len(files.files)), file=sys.stderr)
        if args.confirm or args.confirmed_only:
            print(status_summary(all_findings), file=sys.stderr)
    if files.missing or any(finding.is_internal_error for finding in all_findings):
        return EXIT_ERROR
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN


def _unreadable_findings(files: FileList, config: Config, cwd: Path) -> list[Finding]:
    """JIT901 for what discovery could not read (a directory, a FIFO named on the command line):
    like flake8's E902, so that CI never passes on code that was not read."""
    return [
        Finding(display_path(path, cwd), 1, 1, "JIT901", reason)
        for path, reason in files.unreadable
        if config.is_enabled("JIT901", path)
    ]


def _confirm(findings: list[Finding], args: argparse.Namespace, config: Config) -> list[Finding]:
    """Trace each finding's function with JAX in child processes (jitlint.confirm)."""
    progress = _progress if sys.stderr.isatty() and not args.quiet else None
    options = ConfirmOptions(args.jobs, args.confirm_timeout, dict(config.examples), progress)
    return confirm_findings(findings, options).findings


def _progress(done: int, total: int) -> None:
    end = "\n" if done == total else ""
    print(f"\rjitlint: confirming {done}/{total} modules", end=end, file=sys.stderr, flush=True)


def main_entry() -> None:
    """Console-script entry point."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`jitlint src | head`): stop quietly, as Python's docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_FINDINGS
    sys.exit(code)


def _configure(args: argparse.Namespace) -> Config:
    config = Config()
    if args.config:
        config = load_config(Path(args.config))
    elif not args.isolated:
        found = find_pyproject(Path.cwd())
        if found is not None:
            config = load_config(found)
    overrides: dict[str, Any] = {}
    for option in ("select", "ignore", "exclude", "extend_exclude"):
        value = getattr(args, option)
        if value is not None:
            overrides[option] = tuple(item.strip() for item in value.split(",") if item.strip())
    for option in ("select", "ignore"):
        if option in overrides:
            check_codes(overrides[option], f"--{option}")
    for option in ("exclude", "extend_exclude"):  # relative to the cwd, as the PATHs given with them
        if option in overrides:
            overrides[option] = anchored(overrides[option], Path.cwd())
    return replace(config, **overrides)


def _run_options(args: argparse.Namespace, config: Config) -> RunOptions:
    cache = None
    if not args.no_cache:
        directory = Path(args.cache_dir) if args.cache_dir else default_cache_dir(config)
        cache = ResultCache(directory, config)
    return RunOptions(jobs=args.jobs, cache=cache, confirm=args.confirm or args.confirmed_only)


def _list_rules() -> int:
    from jitlint.rules import ALL_RULES  # imports libcst, which a run from the cache does without

    rows = [(rule.code, rule.name, rule.summary) for rule in ALL_RULES]
    rows += [(code, tool.name, tool.summary) for code, tool in TOOL_CODES.items()]
    width = max(len(name) for _, name, _ in rows)
    for code, name, description in rows:
        print(f"{code}  {name:<{width}}  {description}")
    return EXIT_CLEAN


def _explain(code: str) -> int:
    from jitlint.rules import ALL_RULES  # imports libcst, which a run from the cache does without

    docs = {rule.code: (rule.name, rule.docs) for rule in ALL_RULES}
    docs.update((tool_code, (tool.name, tool.docs)) for tool_code, tool in TOOL_CODES.items())
    if code.upper() not in docs:
        return _error(f"unknown rule code '{code}' (see --list-rules)")
    name, text = docs[code.upper()]
    print(f"{code.upper()} ({name})\n\n{text}")
    return EXIT_CLEAN


def _error(message: str) -> int:
    print(f"jitlint: error: {message}", file=sys.stderr)
    return EXIT_ERROR
