"""Where nodes are in the source: line and column ranges, for the nodes findings mention.

libcst's PositionProvider generates the code of a whole module and records a range for every
node, which costs more than the parse (3.3 s against 2.2 s on 10k lines of jitted code).
Findings mention a few nodes, so the provider runs on each top-level statement that holds one,
as a module of its own, and the ranges are shifted down by the lines of the statements before
it. Those lines are counted in the statements' plain code, which costs a tenth as much.

libcst's code generator recurses once per nesting level: on very deeply nested code it raises
RecursionError, and the engine analyses the file again on a large stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from jitlint.walk import descendants

UNKNOWN_RANGE = CodeRange((1, 0), (1, 0))  # where a node is reported when it cannot be placed

_NEWLINE = re.compile(r"\r\n?|\n")  # what libcst's code generator counts as a line break


class Positions:
    """The source ranges of one module's nodes, each top-level statement's made on first need."""

    def __init__(self, module: cst.Module) -> None:
        self._module = module
        self._statement_of: dict[int, int] | None = None  # node id → index in module.body
        self._first_lines: list[int] | None = None  # index in module.body → its first line
        self._ranges: dict[int, Mapping[cst.CSTNode, CodeRange]] = {}  # by index in module.body
        self._whole: Mapping[cst.CSTNode, CodeRange] | None = None

    def range(self, node: cst.CSTNode) -> CodeRange:
        """Where `node` is, from its first character to the one after its last."""
        if self._statement_of is None:
            self._statement_of = {
                id(inner): number
                for number, statement in enumerate(self._module.body)
                for inner in (statement, *descendants(statement))
            }
        number = self._statement_of.get(id(node))
        if number is None:  # the module itself, or a node the walk skips (whitespace)
            if self._whole is None:
                self._whole = _resolve(self._module)
            return self._whole.get(node, UNKNOWN_RANGE)
        found = self._statement_ranges(number).get(node)
        first_line = self._first_line(number)
        if found is None or first_line is None:
            return UNKNOWN_RANGE
        shift = first_line - 1
        return CodeRange(
            CodePosition(found.start.line + shift, found.start.column),
            CodePosition(found.end.line + shift, found.end.column),
        )

    def line(self, node: cst.CSTNode) -> int:
        """The line `node` starts on."""
        return self.range(node).start.line

    def _statement_ranges(self, number: int) -> Mapping[cst.CSTNode, CodeRange]:
        if number not in self._ranges:
            module = self._module
            alone = cst.Module(
                body=[module.body[number]],
                default_indent=module.default_indent,  # what indented blocks without their own use
                default_newline=module.default_newline,
            )
            self._ranges[number] = _resolve(alone)
        return self._ranges[number]

    def _first_line(self, number: int) -> int | None:
        """The line the statement starts on: every top-level statement starts a line, after the
        module's header lines and the lines of the statements before it."""
        if self._first_lines is None:
            self._first_lines = self._count_first_lines()
        return self._first_lines[number] if number < len(self._first_lines) else None

    def _count_first_lines(self) -> list[int]:
        module = self._module
        line = 1 + sum(_line_breaks(module.code_for_node(empty)) for empty in module.header)
        first_lines = []
        for statement in module.body:
            first_lines.append(line)
            line += _line_breaks(module.code_for_node(statement))
        return first_lines


def _line_breaks(code: str) -> int:
    return len(_NEWLINE.findall(code))


def _resolve(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
