"""The statement walker on its own, with a tiny domain: the names bound on every path.

A read of a name that some path reaches unbound is recorded. What the walker does with paths
(joins, loop passes, break/continue/else, try/finally, match, return) shows in which reads those
are, and in the names bound where the function ends.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import libcst as cst
import pytest

from jitlint.dataflow import StatementWalker, bound_names, captured_names
from jitlint.walk import children


class DefinitelyBound(StatementWalker[set[str], None]):
    """A state is the set of names bound on the path; paths meet in their intersection."""

    def __init__(self) -> None:
        super().__init__()
        self.unbound_reads: list[str] = []

    def copy(self, state: set[str]) -> set[str]:
        return set(state)

    def join(self, states: Sequence[set[str]], at: cst.CSTNode, tag: str) -> set[str]:
        return set.intersection(*states)

    def replace(self, state: set[str], by: set[str]) -> None:
        state.clear()
        state.update(by)

    def same(self, first: set[str], second: set[str]) -> bool:
        return first == second

    def evaluate(self, node: cst.BaseExpression, state: set[str]) -> None:
        self.read(node, state)

    def read(self, node: cst.CSTNode, state: set[str]) -> None:
        if isinstance(node, cst.Name):
            if node.value not in state:
                self.unbound_reads.append(node.value)
        elif isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            self.comprehension(node, state)
        elif isinstance(node, cst.NamedExpr):
            self.read(node.value, state)
            self.bind(node.target, None, state)
        elif isinstance(node, cst.Attribute):
            self.read(node.value, state)  # the attribute's name is no variable
        else:
            for child in children(node):
                self.read(child, state)

    def bind(
        self, target: cst.BaseExpression, value: None, state: set[str], source: cst.BaseExpression | None = None
    ) -> None:
        if isinstance(target, (cst.Attribute, cst.Subscript)):
            self.read(target, state)
        state.update(bound_names(target))

    def augmented_assignment(self, node: cst.AugAssign, state: set[str]) -> None:
        self.read(node.target, state)
        self.read(node.value, state)

    def iterable(self, node: cst.BaseExpression, state: set[str]) -> None:
        self.read(node, state)

    def bind_element(
        self, target: cst.BaseExpression, iterable: cst.BaseExpression, element: None, state: set[str]
    ) -> None:
        self.bind(target, element, state)

    def forget(self, name: str, state: set[str]) -> None:
        state.add(name)  # bound, to whatever it is

    def unbind(self, name: str, state: set[str]) -> None:
        state.discard(name)

    def restore(self, name: str, state: set[str], saved: set[str]) -> None:
        if name in saved:
            state.add(name)
        else:
            state.discard(name)


GIVEN = {"c", "d", "xs", "use", "f", "E", "Point"}  # bound before the body runs


def walk(body: str) -> tuple[list[str], set[str] | None]:
    """The reads of maybe-unbound names in `def f(): <body>`, and the names bound at its exits."""
    source = "def f():\n" + textwrap.indent(textwrap.dedent(body), "    ")
    function = cst.parse_module(source).body[0]
    assert isinstance(function, cst.FunctionDef)
    walker = DefinitelyBound()
    end = walker.run_body(function, set(GIVEN))
    return walker.unbound_reads, None if end is None else end - GIVEN


def test_branches_join_the_paths_that_go_on() -> None:
    reads, end = walk(
        """
        if c:
            a = b = 1
        elif d:
            a = 2
        else:
            raise E
        use(a, b)
        """
    )
    assert reads == ["b"]
    assert end == {"a"}


def test_an_if_without_else_may_skip_its_body() -> None:
    reads, _ = walk(
        """
        if c:
            a = 1
        use(a)
        """
    )
    assert reads == ["a"]


def test_return_ends_a_path_and_its_state_is_an_exit() -> None:
    reads, end = walk(
        """
        if c:
            a = 1
            return a
        b = 1
        """
    )
    assert reads == []
    assert end == set()  # one exit binds a, the other b


def test_a_body_that_always_raises_has_no_exit() -> None:
    assert walk("raise E")[1] is None


def test_a_loop_may_run_no_pass() -> None:
    reads, end = walk(
        """
        for x in xs:
            a = x
        use(a, x)
        """
    )
    assert reads == ["a", "x"]
    assert end == set()


def test_break_states_leave_the_loop_and_skip_else() -> None:
    reads, end = walk(
        """
        for x in xs:
            if c:
                found = x
                break
        else:
            raise E
        use(found)
        """
    )
    assert reads == []
    assert end == {"found", "x"}


def test_else_runs_when_the_loop_stops_without_break() -> None:
    reads, _ = walk(
        """
        while c:
            a = 1
            break
        else:
            b = 1
        use(a, b)
        """
    )
    assert reads == ["a", "b"]  # a: the test may be false at once; b: after a break


def test_continue_states_go_round_to_the_next_pass() -> None:
    reads, _ = walk(
        """
        a = 1
        for x in xs:
            use(a)
            if c:
                del a
                continue
            a = 2
        """
    )
    assert reads == ["a"]  # the second pass may start after `del a; continue`


def test_a_while_test_runs_before_the_loop_stops() -> None:
    reads, _ = walk(
        """
        while (line := f()):
            use(line)
        use(line)
        """
    )
    assert reads == []


def test_a_handler_may_start_after_any_statement_of_the_body() -> None:
    reads, _ = walk(
        """
        try:
            a = f()
            b = f()
        except E as error:
            use(a, error)
        else:
            e = 1
        use(b, e)
        """
    )
    assert reads == ["a", "b", "e"]


def test_finally_runs_on_what_goes_on_and_its_bindings_stay() -> None:
    reads, end = walk(
        """
        try:
            a = f()
        except E:
            raise
        finally:
            use(a)
            b = 1
        use(a, b)
        """
    )
    assert reads == []
    assert end == {"a", "b"}


def test_when_no_path_goes_on_finally_runs_and_the_path_ends() -> None:
    reads, end = walk(
        """
        try:
            a = 1
            return a
        finally:
            use(a)
        use(unreachable)
        """
    )
    assert reads == ["a"]  # finally may also run when `a = 1` did not finish
    assert end == {"a"}


def test_match_captures_and_guards_and_no_case_matching() -> None:
    reads, _ = walk(
        """
        match xs:
            case [first, *rest] if first:
                a = rest
            case {"key": value, **others}:
                a = others
            case Point(x=px) | Point(y=px):
                a = px
        use(a, first)
        """
    )
    assert reads == ["a", "first"]


def test_captured_names_are_only_the_captures() -> None:
    case = cst.parse_statement(
        "match v:\n    case Point(x=px, y=0) | [*rest] | {'k': E.VALUE, **more} | None:\n        pass\n"
    )
    assert isinstance(case, cst.Match)
    assert set(captured_names(case.cases[0].pattern)) == {"px", "rest", "more"}


def test_comprehension_targets_stay_inside_and_walrus_leaks() -> None:
    reads, end = walk(
        """
        total = [y for x in xs if x for y in x if (last := y)]
        use(x, y, last)
        """
    )
    assert reads == ["x", "y", "last"]
    assert end == {"total"}


def test_with_targets_and_nested_definitions_bind() -> None:
    reads, end = walk(
        """
        with f() as (handle, other):
            use(handle)

        @use
        def helper(value=other):
            return missing

        class Inner(E):
            pass
        use(helper, Inner)
        """
    )
    assert reads == []  # `missing` is in the nested body, which runs later
    assert end == {"handle", "other", "helper", "Inner"}


@pytest.mark.parametrize("passes", [1, 2, 3])
def test_a_loop_that_never_settles_stops_after_max_passes(passes: int) -> None:
    class Unsettled(DefinitelyBound):
        max_passes = passes

        def same(self, first: set[str], second: set[str]) -> bool:
            return False

        def read(self, node: cst.CSTNode, state: set[str]) -> None:
            if isinstance(node, cst.Name) and node.value == "use":
                numbers.append(self.loops[-1].number)
            super().read(node, state)

    numbers: list[int] = []
    function = cst.parse_module("def f():\n    for x in xs:\n        use(x)\n").body[0]
    assert isinstance(function, cst.FunctionDef)
    Unsettled().run_body(function, set(GIVEN))
    assert numbers == list(range(1, passes + 1))
