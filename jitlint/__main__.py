"""`python -m jitlint` runs the same entry point as the `jitlint` script."""

from jitlint.cli import main_entry

main_entry()
