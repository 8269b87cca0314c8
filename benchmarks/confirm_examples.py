"""Time `jitlint --confirm` per confirmed finding on examples/, after jax is imported.

Usage (from the repository root, with the interpreter that has jitlint and jax installed):

    .venv/bin/python benchmarks/confirm_examples.py            # 5 rounds over examples/
    .venv/bin/python benchmarks/confirm_examples.py --rounds 9 tests/fixtures/state

Each module with findings runs in its own child process, which reports how long importing jax
took and how long the rest took: importing the module and checking every finding. The second
number divided by the module's confirmed findings is one sample; the script prints the median
over every module and round, which is the README's benchmark line. Children run one at a time
(`jobs=1`) so that they do not compete for the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from jitlint.config import Config
from jitlint.confirm import ConfirmOptions, confirm_findings
from jitlint.discovery import discover, display_path
from jitlint.engine import check_file
from jitlint.findings import ConfirmStatus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["examples"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    config = Config()
    files = discover(args.paths, config)
    findings = sorted(
        finding for path in files.files for finding in check_file(path, config, display_path(path, Path.cwd()))
    )
    samples: list[float] = []
    jax_imports: list[float] = []
    confirmed = 0
    for _ in range(args.rounds):
        outcome = confirm_findings(findings, ConfirmOptions(jobs=1, timeout=120))
        confirmed = sum(
            1 for f in outcome.findings if f.confirmation and f.confirmation.status is ConfirmStatus.CONFIRMED
        )
        for timing in outcome.timings:
            jax_imports.append(timing.jax_seconds)
            if timing.confirmed:
                samples.append(timing.module_seconds / timing.confirmed)
    if not samples:
        print("no confirmed finding to time", file=sys.stderr)
        return 1
    print(
        f"{confirmed} of {len(findings)} findings confirmed; median {statistics.median(samples):.3f} s "
        f"per confirmed finding after jax is imported ({len(samples)} samples over {args.rounds} rounds); "
        f"importing jax took a median {statistics.median(jax_imports):.2f} s per module"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
