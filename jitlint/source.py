"""Reading and parsing one file: bytes to text (PEP 263, BOM) and the single libcst parse."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from dataclasses import dataclass
from itertools import accumulate

import libcst as cst


class SourceError(Exception):
    """A file that cannot be linted: unreadable, undecodable or unparseable."""

    def __init__(self, code: str, reason: str, line: int = 1, col: int = 1) -> None:
        super().__init__(reason)
        self.code = code  # JIT900 (parse) or JIT901 (read)
        self.reason = reason
        self.line = line
        self.col = col


@dataclass(frozen=True)
class Source:
    """Decoded text of one file, with its physical lines kept for `# noqa` lookups."""

    text: str

    @property
    def lines(self) -> list[str]:
        # Only the line ends Python's tokenizer knows: str.splitlines() also splits at form
        # feeds and other separators, which would shift every later line against the parser's.
        return _LINE_END.split(self.text)


_LINE_END = re.compile(r"\r\n|\r|\n")


def decode(data: bytes) -> Source:
    """Decode bytes as Python does: BOM, then a PEP 263 cookie, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        raise SourceError("JIT901", f"could not read: {error}") from None
    return Source(text.removeprefix("\ufeff"))


def unreadable(error: OSError) -> SourceError:
    """The JIT901 error for a file the OS would not let us read."""
    return SourceError("JIT901", f"could not read: {error.strerror or error}")


def parse_once(source: Source) -> cst.Module:
    """The only libcst parse of a file. Syntax errors (and inputs too deep to parse) are JIT900."""
    if _may_nest_deeply(source.text):
        # libcst's native parser crashes the process (or runs for minutes) on code nested a few
        # thousand levels deep, which CPython rejects with a clean SyntaxError or
        # RecursionError. CPython looks first at such files; what it accepts, libcst parses.
        located = _python_syntax_error(source.text, too_deep=True)
        if located is not None:
            raise located
    try:
        return cst.parse_module(source.text)
    except cst.ParserSyntaxError as error:
        located = _python_syntax_error(source.text)
        if located is not None:
            raise located from None
        reason = error.message.splitlines()[0] if error.message else "syntax error"
        raise SourceError("JIT900", f"could not parse: {reason}", error.raw_line, error.raw_column + 1) from None
    except (RecursionError, MemoryError) as error:
        raise SourceError("JIT900", f"could not parse: {type(error).__name__}") from None
    except Exception as error:  # libcst's native parser reports some inputs with other types
        raise SourceError("JIT900", f"could not parse: {error}") from None


# Nesting needs either brackets or, without them, one long logical line (`not not ...`,
# `lambda: lambda: ...`, `a if b else c if ...`). Far below where libcst fails (1,000 levels
# parse; 2,000 brackets crash it), and above what real code has.
_DEEP_BRACKETS = 100
_LONG_LINE = 2_000
_BRACKET_DEPTH = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_LOGICAL_LINE_END = re.compile(r"(?<!\\)\r?\n|(?<!\\)\r")


def _may_nest_deeply(text: str) -> bool:
    """A cheap test (C-speed string work, about 0.2 ms a file on the real corpus) for code nested
    deeper than real code is: many open brackets at once (brackets in strings and comments
    count too; then CPython simply looks), or a very long line."""
    brackets = _NOT_BRACKETS.sub("", text)
    if len(brackets) > _DEEP_BRACKETS and max(accumulate(map(_BRACKET_DEPTH.__getitem__, brackets))) > _DEEP_BRACKETS:
        return True
    if len(text) <= _LONG_LINE:
        return False
    # A backslash joins physical lines into one logical line; real code rarely has any.
    lines = _LOGICAL_LINE_END.split(text) if "\\\n" in text or "\\\r" in text else text.splitlines()
    return max(map(len, lines)) > _LONG_LINE


def _python_syntax_error(text: str, too_deep: bool = False) -> SourceError | None:
    """Where CPython's own parser finds the error, for a file libcst could not parse.

    libcst's positions are often wrong: column 1 for every parser error, line 1 col 1 for every
    tokenizer error (unclosed string, bad dedent, tab/space mix), sometimes the next line.
    CPython points at the token, with a clearer message (`'(' was never closed`). Only an AST
    is built; nothing is compiled to bytecode or run. None when CPython gives no line, or
    accepts the file (grammar libcst lacks): then libcst's report stands. CPython judges by
    the grammar of the Python running jitlint, which for a file libcst rejects is the best
    guess at hand. With `too_deep`, for a file not yet given to libcst, CPython running out of
    stack is the error too.
    """
    try:
        with warnings.catch_warnings():
            # An invalid escape sequence warns; under -W error it would become the error.
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        if error.lineno:
            column = max(error.offset or 1, 1)
            return SourceError("JIT900", f"could not parse: {error.msg}", error.lineno, column)
    except (RecursionError, MemoryError) as error:
        if too_deep:
            return SourceError("JIT900", f"could not parse: nested too deeply ({type(error).__name__})")
    except ValueError:  # NUL bytes, on older Pythons
        pass
    return None
