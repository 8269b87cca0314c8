"""Input jitlint must not take at its word: a cache folder that came with a checkout or a CI
artifact, `# jitlint: skip-file` and `# noqa` inside strings, and broken files, whose syntax
error must be reported where it is.

The tests run the real `jitlint` command (tests/test_cli.py); where a bug would hang it, with a
timeout of their own. Where a failure cannot be caused from outside (a cache key that cannot be
computed), the runner is called in this process with the failure patched in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

import pytest
from test_cli import (
    JITTED_PRINT,
    SYNTAX_ERROR,
    THREE_PRINTS,
    Located,
    Result,
    console_script,
    jit003,
    jitlint,
    lint_beside_a_good_file,
    run,
    write,
)

import jitlint.cache as cache_module
from jitlint.cache import MAX_ENTRY_BYTES, MAX_TEXT, ResultCache
from jitlint.config import Config
from jitlint.findings import Finding
from jitlint.runner import RunOptions, check_files

# --- the cache folder: data, not trust ---------------------------------------------------------

CACHE = "cache"  # --cache-dir, inside the project
PROJECT = {"a.py": JITTED_PRINT, "b.py": THREE_PRINTS}  # one finding in a.py, three in b.py
# A finding a.py does not have, but could: a known code at a line and column inside the file.
FORGED_ROW = [2, 1, "JIT003", "forged", None, None, None, None]


def cached(root: Path, *args: str) -> Result:
    return jitlint(root, "--cache-dir", CACHE, *args)


def entries(root: Path) -> list[Path]:
    return sorted((root / CACHE).rglob("*.json"))


def entry_of_a(root: Path) -> Path:
    """The entry of a.py: the one with a single finding."""
    [entry] = [path for path in entries(root) if len(json.loads(path.read_text())["findings"]) == 1]
    return entry


def warm_project(root: Path) -> tuple[Result, Path, str]:
    """A project with a written cache: the output without a cache, a.py's entry and its text."""
    write(root, PROJECT)
    reference = jitlint(root, "--no-cache")
    assert reference.code == 1 and len(reference.findings) == 4
    assert cached(root).out == reference.out
    entry = entry_of_a(root)
    return reference, entry, entry.read_text()


def forged(text: str, change: Callable[[dict[str, Any], list[Any]], None]) -> str:
    """An entry's text with `change` applied to the entry and its first finding."""
    entry = json.loads(text)
    change(entry, entry["findings"][0])
    return json.dumps(entry)


def setter(index: int, value: object) -> Callable[[dict[str, Any], list[Any]], None]:
    def change(entry: dict[str, Any], row: list[Any]) -> None:
        row[index] = value

    return change


# a.py is JITTED_PRINT: 7 lines and a final newline, so lines 1 to 8; its finding is at 6:5.
FORGERIES: dict[str, Callable[[dict[str, Any], list[Any]], None]] = {
    "unknown-code": setter(2, "JIT999"),
    "code-not-a-string": setter(2, ["JIT003"]),
    "line-zero": setter(0, 0),
    "line-past-the-end": setter(0, 9),
    "huge-line": setter(0, 10**30),
    "line-a-bool": setter(0, True),
    "line-a-float": setter(0, 6.0),
    "column-zero": setter(1, 0),
    "column-past-the-end": setter(1, len(JITTED_PRINT) + 2),
    "end-before-start": setter(4, 5),
    "end-past-the-end": setter(4, 9),
    "newline-in-message": setter(3, "forged\nb.py:1:1: JIT003 injected"),
    "escape-in-message": setter(3, "\x1b[2Jforged"),
    "message-too-long": setter(3, "x" * (MAX_TEXT + 1)),
    "verdict-in-message": lambda entry, row: row.__setitem__(3, f"{row[3]} [confirmed]"),
    "function-not-text": setter(6, 3),
    "confirmation-stored": lambda entry, row: row.append(["confirmed", "ran once"]),
    "field-missing": lambda entry, row: row.pop(),
    "extra-key": lambda entry, row: entry.update(confirmed=True),
}


@pytest.mark.parametrize("change", FORGERIES.values(), ids=FORGERIES.keys())
def test_an_entry_with_an_impossible_finding_is_a_miss(
    tmp_path: Path, change: Callable[[dict[str, Any], list[Any]], None]
) -> None:
    reference, entry, original = warm_project(tmp_path)
    entry.write_text(forged(original, change))
    result = cached(tmp_path)
    assert (result.code, result.out) == (reference.code, reference.out)  # b.py's findings too
    assert entry.read_text() == original  # a.py was analysed again and its entry rewritten


def test_a_code_the_config_does_not_report_for_the_file_is_a_miss(tmp_path: Path) -> None:
    write(tmp_path, PROJECT)
    reference = jitlint(tmp_path, "--no-cache", "--ignore", "JIT005")
    cached(tmp_path, "--ignore", "JIT005")  # entries for this config
    entry = entry_of_a(tmp_path)
    entry.write_text(forged(entry.read_text(), setter(2, "JIT005")))
    assert cached(tmp_path, "--ignore", "JIT005").out == reference.out


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_lines_are_counted_as_python_counts_them(tmp_path: Path, newline: str) -> None:
    write(tmp_path, {"a.py": JITTED_PRINT.replace("\n", newline)})
    first = cached(tmp_path)
    assert first.located == [jit003("a.py")]
    [entry] = entries(tmp_path)
    written = entry.stat().st_mtime_ns
    assert cached(tmp_path).out == first.out
    assert entry.stat().st_mtime_ns == written  # the real finding was read back, not recomputed
    entry.write_text(forged(entry.read_text(), setter(0, 9)))  # one past the last line, 8
    assert cached(tmp_path).out == first.out


def run_briefly(root: Path, *args: str) -> Result:
    """jitlint with a short timeout of its own: a hang fails this test, not the whole suite."""
    env = {**os.environ, "PYTHONUTF8": "1"}
    completed = subprocess.run(
        [console_script(), *args], cwd=root, env=env, capture_output=True, encoding="utf-8", timeout=30
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return Result(completed.returncode, completed.stdout, completed.stderr)


def readable_forgery(entry: Path, original: str) -> Path:
    """A valid entry for a.py with a forged finding added, elsewhere: if the cache read it, the
    output would show `forged`."""
    target = entry.parent.parent / "elsewhere.txt"
    target.write_text(forged(original, lambda e, row: e["findings"].append(FORGED_ROW)))
    return target


def replace_with_fifo(entry: Path, original: str) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(entry)


def replace_with_link_to_dev_zero(entry: Path, original: str) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    entry.symlink_to("/dev/zero")


def replace_with_link_to_a_forgery(entry: Path, original: str) -> None:
    entry.symlink_to(readable_forgery(entry, original))


def replace_with_directory(entry: Path, original: str) -> None:
    entry.mkdir()


def replace_with_oversized_forgery(entry: Path, original: str) -> None:
    text = readable_forgery(entry, original).read_text()
    entry.write_text(text + " " * (MAX_ENTRY_BYTES + 1 - len(text)))  # valid JSON, too large


NOT_ENTRIES = {
    "fifo": replace_with_fifo,
    "link-to-dev-zero": replace_with_link_to_dev_zero,
    "link-to-a-forgery": replace_with_link_to_a_forgery,
    "directory": replace_with_directory,
    "oversized": replace_with_oversized_forgery,
}


@pytest.mark.parametrize("replace", NOT_ENTRIES.values(), ids=NOT_ENTRIES.keys())
def test_only_a_regular_file_of_bounded_size_is_read(tmp_path: Path, replace: Callable[[Path, str], None]) -> None:
    reference, entry, original = warm_project(tmp_path)
    entry.unlink()
    replace(entry, original)
    result = run_briefly(tmp_path, "--cache-dir", CACHE)
    assert (result.code, result.out) == (reference.code, reference.out)
    assert result.summary == reference.summary


def test_a_link_in_place_of_an_entry_is_replaced_not_written_through(tmp_path: Path) -> None:
    reference, entry, original = warm_project(tmp_path)
    entry.unlink()
    replace_with_link_to_a_forgery(entry, original)
    target = entry.resolve()
    before = target.read_text()
    assert cached(tmp_path).out == reference.out
    assert not entry.is_symlink() and entry.read_text() == original
    assert target.read_text() == before


def test_an_entry_is_never_written_through_a_planted_temporary_file(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": JITTED_PRINT})
    path, data, config = tmp_path / "a.py", JITTED_PRINT.encode(), Config(root=tmp_path)
    [finding] = check_files([path], config, tmp_path, RunOptions(jobs=1, cache=None))
    cache = ResultCache(tmp_path / CACHE, config)
    cache.prepare()
    key = cache.key(path, data)
    assert key is not None
    entry = cache._entry(key)
    victim = tmp_path / "victim.txt"
    victim.write_text("not jitlint's")
    entry.with_name(f".{entry.name}.{os.getpid()}.tmp").symlink_to(victim)  # the name it writes to
    cache.store(key, path, data, [finding])
    assert victim.read_text() == "not jitlint's"
    loaded = cache.load(key, path, "a.py", data)
    assert loaded is not None and [astuple(f)[:9] for f in loaded] == [astuple(finding)[:9]]


def test_a_cached_entry_holds_only_what_is_shown() -> None:
    # A new field of Finding must be stored, or be decided here not to be: `target` is what
    # --confirm runs, `confirmation` its verdict; neither may come from a cache folder.
    stored = set(cache_module._STORED_FIELDS)
    assert stored | {"path", "target", "confirmation"} == {field.name for field in fields(Finding)}
    assert not stored & {"path", "target", "confirmation"}


CONFIRMABLE = JITTED_PRINT.replace("def step(x):", "def step(x: jax.Array):")


def test_confirm_takes_nothing_from_the_cache(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": CONFIRMABLE})
    first = cached(tmp_path)
    [entry] = entries(tmp_path)
    entry.write_text(forged(entry.read_text(), lambda e, row: e["findings"].append(FORGED_ROW)))
    # What a cache is trusted with (see cache.py): a well-formed finding is shown as stored...
    assert [f[:4] for f in cached(tmp_path).findings] == [("a.py", 2, 1, "JIT003"), jit003("a.py")]
    # ...but --confirm analyses the file again: it traces what the source says, and nothing else.
    confirmed = cached(tmp_path, "--confirm")
    assert confirmed.out == first.out.replace("\n", " [confirmed]\n")
    assert "Confirmed 1, not reproduced 0, unverified 0 (of 1 finding)" in confirmed.err


def _failing(*args: object, **kwargs: object) -> Any:
    raise RuntimeError("the cache failed")


# Each target is patched to raise; the run must go on as if there were no cache.
CACHE_FAILURES = {
    "run-key": "code_hash",  # jitlint's own files cannot be read
    "file-key": "package_of",  # the file's directory cannot be searched
    "load": "_read_entry",
    "store-and-prepare": "_write_atomically",
}


@pytest.mark.parametrize("target", CACHE_FAILURES.values(), ids=CACHE_FAILURES.keys())
def test_no_error_of_the_cache_stops_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    write(tmp_path, PROJECT)
    paths, config = sorted(tmp_path.glob("*.py")), Config(root=tmp_path)

    def findings(cache: ResultCache | None) -> list[tuple[object, ...]]:
        options = RunOptions(jobs=1, cache=cache)
        return [astuple(finding) for finding in check_files(paths, config, tmp_path, options)]

    reference = findings(None)
    monkeypatch.setattr(cache_module, target, _failing)
    assert findings(ResultCache(tmp_path / CACHE, config)) == reference
    assert findings(ResultCache(tmp_path / CACHE, config)) == reference  # what the first one left


# --- `# jitlint: skip-file` and `# noqa` in strings --------------------------------------------

SKIP_IN = {
    "string": (JITTED_PRINT + 'S = "# jitlint: skip-file"\n', [jit003("marked.py")]),
    "docstring": ('"""Never # jitlint: skip-file here."""\n' + JITTED_PRINT, [jit003("marked.py", 7)]),
    "comment-after-code": (JITTED_PRINT + "S = 1  # jitlint: skip-file\n", []),
    "comment-line": (JITTED_PRINT + "# jitlint: skip-file\n", []),
}


@pytest.mark.parametrize(("source", "expected"), SKIP_IN.values(), ids=SKIP_IN.keys())
def test_only_a_skip_file_comment_skips_the_file(tmp_path: Path, source: str, expected: list[Located]) -> None:
    write(tmp_path, {"marked.py": source, "other.py": JITTED_PRINT})
    assert jitlint(tmp_path).located == [*expected, jit003("other.py")]


def test_a_skip_file_comment_before_a_syntax_error_still_skips(tmp_path: Path) -> None:
    write(tmp_path, {"marked.py": "# jitlint: skip-file\n" + SYNTAX_ERROR, "other.py": JITTED_PRINT})
    assert jitlint(tmp_path).located == [jit003("other.py")]


def test_a_skip_file_marker_the_tokenizer_cannot_reach_does_not_skip(tmp_path: Path) -> None:
    # Inside a string that is never closed: not a comment, and the file is broken.
    source = 'import jax\nx = 1\ny = """\n# jitlint: skip-file\n'
    bad = lint_beside_a_good_file(tmp_path, source)
    assert (bad.line, bad.col, bad.code) == (3, 5, "JIT900")
    assert bad.message.startswith("could not parse: unterminated triple-quoted string literal")


def test_noqa_in_a_string_silences_the_line_as_flake8_does(tmp_path: Path) -> None:
    # flake8 looks for `# noqa` in the physical line's text, strings included; so does jitlint.
    source = JITTED_PRINT.replace("print(x)", 'print(x, "# noqa")')
    write(tmp_path, {"mod.py": source})
    assert jitlint(tmp_path, "mod.py").findings == []
    by_flake8 = run([sys.executable, "-m", "flake8", "--isolated", "--select", "JIT", "mod.py"], tmp_path)
    assert (by_flake8.code, by_flake8.out) == (0, "")


def test_noqa_lines_are_counted_past_a_form_feed(tmp_path: Path) -> None:
    # A form feed (^L, a page break) is no line end for Python, but it is for str.splitlines().
    source = JITTED_PRINT.replace("\n\n\n", "\n\x0c\n\n")
    source = source.replace("print(x)\n", "print(x)  # noqa\n    print(x)\n")
    write(tmp_path, {"mod.py": source})
    assert jitlint(tmp_path).located == [jit003("mod.py", 7)]


# --- JIT900: where the syntax error is ---------------------------------------------------------

# (file content, line, column or None where Python versions differ, the message after "could
# not parse: "). The error is never on line 1 unless the case says so.
SYNTAX_ERRORS: dict[str, tuple[str | bytes, int, int | None, str]] = {
    "unclosed-bracket": ("import jax\n\nx = (1,\ny = 2\n", 3, 5, "'(' was never closed"),
    "unclosed-bracket-at-eof": ("import jax\nx = [1, 2", 2, 5, "'[' was never closed"),
    "missing-operand-at-eof": ("import jax\nx = 1 +", 2, None, "invalid syntax"),
    "block-missing-at-eof": ("import jax\nclass A:\n", 2, None, "expected an indented block"),
    "double-equals": (SYNTAX_ERROR, 3, 5, "invalid syntax"),
    "error-on-line-1": ("x = = 1\nimport jax\n", 1, 5, "invalid syntax"),
    "unexpected-indent": ("import jax\ndef f():\n    x = 1\n      y = 2\n", 4, None, "unexpected indent"),
    "dedent-to-no-block": ("import jax\nif x:\n        a = 1\n    b = 2\n", 4, None, "unindent does not"),
    "tabs-and-spaces": ("import jax\nif x:\n        a = 1\n\tb = 2\n", 4, None, "inconsistent use of tabs"),
    "tab-before-the-error": ("import jax\nif x:\n\ty = = 1\n", 3, 6, "invalid syntax"),  # a tab is a column
    "missing-colon": ("import jax\nif x\n    pass\n", 2, 5, "expected ':'"),
    "unterminated-string": ("import jax\nx = 'abc\ny = 1\n", 2, 5, "unterminated string literal"),
    "bad-character": ("import jax\nx = 1 $ 2\n", 2, 7, "invalid syntax"),
    "crlf": ("import jax\r\n\r\nx = = 1\r\n", 3, 5, "invalid syntax"),
    "cr": ("import jax\r\rx = = 1\r", 3, 5, "invalid syntax"),
    "utf8-bom": (b"\xef\xbb\xbf" + SYNTAX_ERROR.encode(), 3, 5, "invalid syntax"),
    "form-feed-line": ("import jax\n\x0c\nx = = 1\n", 3, 5, "invalid syntax"),
    "form-feed-indent": ("import jax\n\x0cx = = 1\n", 2, 6, "invalid syntax"),
    # Columns count characters, not bytes: 'é' is one column in any encoding.
    "latin-1": ("# coding: latin-1\nimport jax\ns = 'é' + = 1\n".encode("latin-1"), 3, 11, "invalid syntax"),
}


@pytest.mark.parametrize(("content", "line", "col", "message"), SYNTAX_ERRORS.values(), ids=SYNTAX_ERRORS.keys())
def test_a_syntax_error_is_reported_where_python_finds_it(
    tmp_path: Path, content: str | bytes, line: int, col: int | None, message: str
) -> None:
    bad = lint_beside_a_good_file(tmp_path, content)
    assert (bad.line, bad.code) == (line, "JIT900")
    if col is not None:
        assert bad.col == col
    assert bad.message.startswith(f"could not parse: {message}")


def test_warnings_as_errors_do_not_move_the_syntax_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An invalid escape sequence warns while parsing; as an error it would be reported instead.
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    bad = lint_beside_a_good_file(tmp_path, 'import jax\nx = "\\d"\ny = = 1\n')
    assert (bad.line, bad.col, bad.message) == (3, 5, "could not parse: invalid syntax")
