"""Run jitlint on the pinned real corpus: the released wheels of seven JAX libraries.

Usage (from the repository root, with the interpreter that has jitlint installed):

    .venv/bin/python benchmarks/real_corpus.py                       # download, lint, summarise
    .venv/bin/python benchmarks/real_corpus.py --select JIT003       # only some codes
    .venv/bin/python benchmarks/real_corpus.py --triage verdicts.json  # check the verdicts
    .venv/bin/python benchmarks/real_corpus.py --triage verdicts.json --markdown  # for real-corpus.md

What it does:

1. Downloads the pinned wheels (PINS below) with `python -m pip download --no-deps
   --only-binary=:all:` into `<cache>/wheels` and unpacks each one into
   `<cache>/src/<name>-<version>/`. The cache (default `~/.cache/jitlint-corpus`, or
   `--cache-dir`) is never committed. A wheel already downloaded is not downloaded again, and a
   package already unpacked (it has a marker file) is not unpacked again.
2. Runs `python -m jitlint --format json --exit-zero -q --isolated <dirs>` from `<cache>/src`,
   so finding paths look like `flax-0.12.8/flax/linen/module.py`. `--isolated` keeps a stray
   pyproject.toml above the cache from changing the run.
3. Prints the findings per package and per code, the files and lines scanned, the seconds jitlint
   took, and the tool's own codes (JIT900/JIT901 unparsable or unreadable files, JIT902 internal
   errors). Writes jitlint's full JSON output to `--output` (default `<cache>/findings.json`).

Triage: `--triage FILE` reads verdicts keyed by `path:line:code` (one key covers every finding
of that code on that line). A JSON file looks like

    {
      "flax-0.12.8/flax/linen/summary.py:120:JIT003": {"verdict": "real", "note": "prints a tracer"},
      "optax-0.2.8/optax/_src/utils.py:44:JIT003": {"verdict": "false", "note": "host-only helper"}
    }

A `.toml` file with the same keys (quoted) and inline tables also works on Python >= 3.11.
The script then prints, per code, the findings, how many are judged real, judged false and not
yet judged, and the false-positive rate among the judged ones. It exits 1 when a finding has no
verdict or when a code has 10% or more of its findings judged false (the target: fewer than 1
false in 10 findings per rule).

Exit codes: 0 done (and, with --triage, the target met), 1 the triage target missed, 2 an error
(download, unpacking, jitlint or a bad verdict file), reported as one line on stderr.

Only the standard library is used; Python >= 3.10.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PINS: tuple[str, ...] = (
    "optax==0.2.8",
    "flax==0.12.8",
    "equinox==0.13.8",
    "numpyro==0.22.0",
    "brax==0.14.2",
    "dm-haiku==0.0.17",
    "chex==0.1.92",
)
DEFAULT_CACHE = Path("~/.cache/jitlint-corpus").expanduser()
UNPACKED_MARKER = ".jitlint-corpus-unpacked"
TOOL_CODES = ("JIT900", "JIT901", "JIT902")
VERDICTS = ("real", "false")
FALSE_RATE_LIMIT = 0.10

Finding = dict[str, Any]


class CorpusError(Exception):
    """A failure reported as one line on stderr and exit code 2."""


@dataclass(frozen=True)
class Package:
    name: str  # as pinned, e.g. "dm-haiku"
    version: str

    @property
    def label(self) -> str:
        """The directory under <cache>/src and the first component of every finding path."""
        return f"{self.name}-{self.version}"

    @property
    def wheel_prefix(self) -> str:
        """How this package's wheel file name starts (PEP 427 escapes the name)."""
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


@dataclass(frozen=True)
class RuleCount:
    code: str
    found: int
    real: int
    false: int

    @property
    def unjudged(self) -> int:
        return self.found - self.real - self.false

    @property
    def false_rate(self) -> float | None:
        """False positives among the judged findings (None when none is judged)."""
        judged = self.real + self.false
        return self.false / judged if judged else None

    @property
    def too_many_false(self) -> bool:
        """10% or more of this code's findings are judged false (the target is fewer)."""
        return self.false >= FALSE_RATE_LIMIT * self.found


# --- corpus: download and unpack -------------------------------------------------------------


def parse_pin(pin: str) -> Package:
    name, _, version = pin.partition("==")
    return Package(name, version)


def find_wheel(wheels: Path, package: Package) -> Path | None:
    if not wheels.is_dir():
        return None
    for wheel in sorted(wheels.glob("*.whl")):
        if wheel.name.lower().startswith(package.wheel_prefix):
            return wheel
    return None


def download_wheels(wheels: Path, packages: Sequence[Package]) -> None:
    """`pip download` the wheels not yet in `wheels`; one clear error line if pip fails."""
    missing = [p for p in packages if find_wheel(wheels, p) is None]
    if not missing:
        return
    wheels.mkdir(parents=True, exist_ok=True)
    pins = [f"{p.name}=={p.version}" for p in missing]
    print(f"downloading {len(pins)} wheels: {' '.join(pins)}", flush=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        *pins,
        "-d",
        str(wheels),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise CorpusError(f"pip download failed (exit {result.returncode}): {last_line(result.stderr)}")
    still_missing = [p.label for p in missing if find_wheel(wheels, p) is None]
    if still_missing:
        raise CorpusError(f"pip download gave no wheel for: {', '.join(still_missing)}")


def unpack(wheel: Path, target: Path) -> None:
    """Extract a wheel into `target` (via a temporary directory, then a marker file)."""
    if (target / UNPACKED_MARKER).exists():
        return
    partial = target.with_name(target.name + ".partial")
    for leftover in (partial, target):
        if leftover.exists():
            shutil.rmtree(leftover)
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(partial)
    except (zipfile.BadZipFile, OSError) as error:
        raise CorpusError(f"cannot unpack {wheel.name}: {error}") from error
    partial.rename(target)
    (target / UNPACKED_MARKER).write_text(wheel.name + "\n")


def prepare_corpus(cache: Path, packages: Sequence[Package]) -> list[str]:
    """Download and unpack every package; returns their directory names under <cache>/src."""
    wheels, src = cache / "wheels", cache / "src"
    download_wheels(wheels, packages)
    src.mkdir(parents=True, exist_ok=True)
    for package in packages:
        wheel = find_wheel(wheels, package)
        assert wheel is not None  # download_wheels checked it
        unpack(wheel, src / package.label)
    return [package.label for package in packages]


def count_source(root: Path) -> tuple[int, int]:
    """Python files and lines under `root` (what jitlint is given; wheels hold no excluded dirs)."""
    files = lines = 0
    for path in root.rglob("*.py"):
        files += 1
        lines += path.read_bytes().count(b"\n")
    return files, lines


# --- running jitlint -------------------------------------------------------------------------


def run_jitlint(src: Path, dirs: Sequence[str], select: str | None) -> tuple[list[Finding], float]:
    """jitlint's JSON findings for `dirs` (relative to `src`) and the seconds it took."""
    command = [sys.executable, "-m", "jitlint", "--format", "json", "--exit-zero", "-q", "--isolated"]
    if select:
        command += ["--select", select]
    start = time.perf_counter()
    result = subprocess.run([*command, *dirs], cwd=src, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    # Exit 2 with a JSON array means some JIT902 (internal error): still a run to report.
    try:
        findings = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise CorpusError(f"jitlint failed (exit {result.returncode}): {last_line(result.stderr)}") from None
    if result.returncode not in (0, 2) or not isinstance(findings, list):
        raise CorpusError(f"jitlint failed (exit {result.returncode}): {last_line(result.stderr)}")
    return findings, elapsed


def rule_names() -> dict[str, str]:
    """Code -> rule name, from `jitlint --list-rules` (empty if that fails)."""
    command = [sys.executable, "-m", "jitlint", "--list-rules"]
    result = subprocess.run(command, capture_output=True, text=True)
    names: dict[str, str] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names[parts[0]] = parts[1]
    return names


# --- triage ----------------------------------------------------------------------------------


def finding_key(finding: Finding) -> str:
    return f"{finding['path']}:{finding['line']}:{finding['code']}"


def load_verdicts(path: Path) -> dict[str, str]:
    """`path:line:code` -> "real" or "false", from a JSON (or, on 3.11+, TOML) file."""
    try:
        raw = load_mapping(path)
    except (OSError, ValueError) as error:
        raise CorpusError(f"cannot read verdicts {path}: {error}") from error
    verdicts: dict[str, str] = {}
    for key, entry in raw.items():
        verdict = entry.get("verdict") if isinstance(entry, dict) else None
        if verdict not in VERDICTS:
            raise CorpusError(f'{path}: {key!r} needs {{"verdict": "real"|"false", "note": ...}}')
        verdicts[key] = verdict
    return verdicts


def load_mapping(path: Path) -> dict[str, Any]:
    if path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib

            with path.open("rb") as stream:
                return tomllib.load(stream)
        raise ValueError("TOML needs Python >= 3.11; use a JSON file")
    data: object = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object keyed by path:line:code")
    return data


def triage(findings: Sequence[Finding], verdicts: dict[str, str]) -> list[RuleCount]:
    found: Counter[str] = Counter()
    judged: Counter[tuple[str, str]] = Counter()
    for finding in findings:
        code = finding["code"]
        found[code] += 1
        verdict = verdicts.get(finding_key(finding))
        if verdict:
            judged[code, verdict] += 1
    return [RuleCount(code, found[code], judged[code, "real"], judged[code, "false"]) for code in sorted(found)]


def stale_verdicts(findings: Sequence[Finding], verdicts: dict[str, str]) -> list[str]:
    """Verdict keys that match no finding (the code moved, or the rule changed)."""
    keys = {finding_key(finding) for finding in findings}
    return sorted(key for key in verdicts if key not in keys)


# --- output ----------------------------------------------------------------------------------


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]], markdown: bool) -> str:
    """A plain aligned table, or a Markdown one; numeric columns are right-aligned."""
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    right = [len(cells) > 1 and all(is_numeric(row[i]) for row in cells[1:]) for i in range(len(headers))]
    if markdown:
        rule = ["---:" if r else "---" for r in right]
        return "\n".join("| " + " | ".join(row) + " |" for row in [cells[0], rule, *cells[1:]])
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(row, widths, right)).rstrip()
        for row in cells
    )


def is_numeric(cell: str) -> bool:
    """A count, a percentage or the '-' of an undefined rate."""
    return cell == "-" or cell.rstrip("%").replace(".", "", 1).isdigit()


def package_table(findings: Sequence[Finding], labels: Sequence[str], markdown: bool) -> str:
    """Findings per package (rows) and per code (columns), with totals."""
    codes = sorted({finding["code"] for finding in findings})
    counts = Counter((finding["path"].split("/", 1)[0], finding["code"]) for finding in findings)
    rows = [[label, *(counts[label, code] for code in codes), sum(counts[label, c] for c in codes)] for label in labels]
    rows.append(["total", *(sum(counts[label, code] for label in labels) for code in codes), len(findings)])
    return render_table(["package", *codes, "all"], rows, markdown)


def triage_table(counts: Sequence[RuleCount], names: dict[str, str], markdown: bool) -> str:
    headers = ["code", "rule", "found", "real", "false", "not judged", "false rate (judged)"]
    rows = [
        [
            c.code,
            names.get(c.code, ""),
            c.found,
            c.real,
            c.false,
            c.unjudged,
            "-" if c.false_rate is None else f"{c.false_rate:.0%}",
        ]
        for c in counts
    ]
    return render_table(headers, rows, markdown)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


# --- main ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run jitlint on the pinned real corpus of JAX libraries.")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        metavar="DIR",
        help=f"where wheels, sources and findings go (default: {DEFAULT_CACHE})",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write jitlint's JSON findings here (default: <cache>/findings.json)",
    )
    parser.add_argument("--select", metavar="CODES", help="passed to jitlint --select")
    parser.add_argument("--triage", type=Path, metavar="FILE", help="JSON (or TOML) verdicts keyed by path:line:code")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    return parser


def run(args: argparse.Namespace) -> int:
    cache = args.cache_dir.expanduser().resolve()
    packages = [parse_pin(pin) for pin in PINS]
    verdicts = load_verdicts(args.triage) if args.triage else None  # fail early on a bad file

    start = time.perf_counter()
    labels = prepare_corpus(cache, packages)
    print(f"corpus ready in {time.perf_counter() - start:.1f} s: {cache / 'src'}")
    findings, elapsed = run_jitlint(cache / "src", labels, args.select)

    output = (args.output or cache / "findings.json").resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(findings, indent=2) + "\n", encoding="utf-8")

    print_summary(cache / "src", labels, findings, elapsed, args.markdown)
    print(f"findings written to {output}")
    if verdicts is None:
        return 0
    return print_triage(findings, verdicts, args.markdown)


def print_summary(
    src: Path, labels: Sequence[str], findings: Sequence[Finding], elapsed: float, markdown: bool
) -> None:
    sizes = [count_source(src / label) for label in labels]
    files, lines = sum(f for f, _ in sizes), sum(n for _, n in sizes)
    tool = Counter(finding["code"] for finding in findings if finding["code"] in TOOL_CODES)
    print(f"\nscanned {files} Python files, {lines} lines, in {elapsed:.1f} s of jitlint")
    print(f"{len(findings)} findings in {len({f['path'] for f in findings})} files")
    print(
        f"JIT902 internal errors: {tool['JIT902']}; JIT900 syntax errors: {tool['JIT900']}; "
        f"JIT901 unreadable files: {tool['JIT901']}\n"
    )
    print(package_table(findings, labels, markdown))


def print_triage(findings: Sequence[Finding], verdicts: dict[str, str], markdown: bool) -> int:
    counts = triage(findings, verdicts)
    print()
    print(triage_table(counts, rule_names(), markdown))
    stale = stale_verdicts(findings, verdicts)
    if stale:
        shown = ", ".join(stale[:5]) + (" ..." if len(stale) > 5 else "")
        print(f"\n{len(stale)} verdicts match no finding: {shown}")
    if not counts:
        print("\ntriage: no findings to judge")
        return 0
    unjudged = sum(c.unjudged for c in counts)
    missed = [c.code for c in counts if c.too_many_false]
    if unjudged or missed:
        reasons = ([f"{unjudged} findings not judged"] if unjudged else []) + (
            [f"10% or more false: {', '.join(missed)}"] if missed else []
        )
        print(f"\ntriage target missed: {'; '.join(reasons)}")
        return 1
    print("\ntriage target met: every finding judged, fewer than 1 false in 10 per rule")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CorpusError as error:
        print(f"real_corpus: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
