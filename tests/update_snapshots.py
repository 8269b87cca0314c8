"""Rewrite every fixture's message snapshot from the engine's current findings.

Run `python tests/update_snapshots.py` after changing a rule's message or a fixture, then read
`git diff tests/fixtures` before committing: the diff is the change users will see.
Snapshots whose fixture no longer exists are removed.
"""

from __future__ import annotations

from expectations import (
    FIXTURE_FILES,
    FIXTURES,
    SNAPSHOT_SUFFIX,
    fixture_findings,
    snapshot_path,
    snapshot_text,
)


def main() -> None:
    wanted = set()
    for fixture in FIXTURE_FILES:
        snapshot = snapshot_path(fixture)
        wanted.add(snapshot)
        text = snapshot_text(fixture_findings(fixture))
        if not snapshot.exists() or snapshot.read_text(encoding="utf-8") != text:
            snapshot.write_text(text, encoding="utf-8")
            print(f"updated {snapshot.relative_to(FIXTURES)}")
    for stale in sorted(set(FIXTURES.rglob("*" + SNAPSHOT_SUFFIX)) - wanted):
        stale.unlink()
        print(f"removed {stale.relative_to(FIXTURES)} (its fixture is gone)")


if __name__ == "__main__":
    main()
