"""One walk over a scope's statements, shared by every analysis that follows values along paths.

flow.py (is a value traced?) and keys.py (is a PRNG key consumed?) ask different questions of the
same paths. Each is a `StatementWalker` whose *domain* says what one path knows (the state), how
states are copied, joined and compared, how an expression is evaluated and how a target is bound.
The walker owns the paths, in the spirit of mypy's binder:

- A state is what one path knows; statements change it in place. Alternatives (if/elif/else,
  match cases, the filter of a comprehension) start from copies, and the paths that go on are
  joined where they meet.
- `return`, `raise`, `break` and `continue` end a path: the walker raises `Terminated`, and a
  block whose every path ends raises it on to the statement around it.
- A loop is walked pass after pass until the state a pass starts from settles (at most
  `max_passes`). `continue` states go round again with the end of the body; the loop may stop at
  the start of any pass (after a `while` test); `else:` runs only when it stops that way, and
  `break` states skip it.
- A handler of `try` may start after any statement of the body, so it starts from the join of
  the states between them; `else:` follows the body; `finally:` runs on the join of what goes on,
  or, when no path goes on, on the body's states before the path ends anyway.
- A `with` block runs like any block, unless the domain says it expects an error
  (`pytest.raises`): then it may stop after any of its statements, and the error ends no path.
- A comprehension is a loop per `for` clause, whose targets are local to it.
- A nested `def` or `class` runs later, in its own scope: only its decorators, defaults and bases
  are evaluated here.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import libcst as cst

from jitlint.walk import all_params, children, dotted_name

State = TypeVar("State")
Value = TypeVar("Value")

ScopeBody = cst.Module | cst.FunctionDef | cst.ClassDef | cst.Lambda
Comprehension = cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp


class Terminated(Exception):
    """Raised inside a block after `return`/`raise`/`break`/`continue`: the path ends there."""


class TooLarge(Exception):
    """The walk of one scope went over the walker's step budget."""


@dataclass
class LoopPass(Generic[State]):
    """One pass over a loop body: the states that go round again and those that leave."""

    node: cst.CSTNode  # the loop, comprehension clause or repeated scope
    number: int  # 1 for the first pass
    continues: list[State] = field(default_factory=list)
    breaks: list[State] = field(default_factory=list)


class StatementWalker(abc.ABC, Generic[State, Value]):
    """Walks statements along every path; a subclass supplies the domain (the abstract methods).

    `Value` is what evaluating an expression gives the domain (a kind, a tracked key, ...); None
    stands for a value the walker cannot know (the target of `with ... as`, an exception).
    """

    max_passes = 3  # passes over a loop body before the walker settles for what it has
    step_budget: int | None = None  # statements one walk may visit before it raises TooLarge

    def __init__(self) -> None:
        self.loops: list[LoopPass[State]] = []  # the passes under way, outermost first
        self.returns: list[State] = []  # the states at each `return` of the current run
        self.expecting_error = 0  # how many blocks around the walk expect an error
        self.steps = 0

    # -- the domain -----------------------------------------------------------------------------

    @abc.abstractmethod
    def copy(self, state: State) -> State:
        """A state that can change without changing `state`."""

    @abc.abstractmethod
    def join(self, states: Sequence[State], at: cst.CSTNode, tag: str) -> State:
        """One new state for the paths of `states` (never empty) that meet at `at`; `tag` tells
        apart the joins made at one node."""

    @abc.abstractmethod
    def replace(self, state: State, by: State) -> None:
        """Make `state` hold what `by` holds: the path goes on from `by`."""

    @abc.abstractmethod
    def same(self, first: State, second: State) -> bool:
        """Whether two states hold the same facts: a loop has settled when they do."""

    def next_pass(self, start: State, going_round: Sequence[State], loop: cst.CSTNode) -> State:
        """The state the next pass of `loop` starts from, given the state this pass started from
        and the states that go round (never empty). By default only the latter: what every path
        through the body did holds when the next iteration starts."""
        return self.join(going_round, loop, "loop")

    @abc.abstractmethod
    def evaluate(self, node: cst.BaseExpression, state: State) -> Value:
        """Evaluate `node` on `state` (in place: evaluating may change what the path knows)."""

    @abc.abstractmethod
    def bind(
        self,
        target: cst.BaseExpression,
        value: Value | None,
        state: State,
        source: cst.BaseExpression | None = None,
    ) -> None:
        """Bind an assignment target to `value`, the value of `source` when there is one."""

    @abc.abstractmethod
    def augmented_assignment(self, node: cst.AugAssign, state: State) -> None:
        """`target op= value`."""

    @abc.abstractmethod
    def iterable(self, node: cst.BaseExpression, state: State) -> Value:
        """Evaluate what a `for` loop or clause iterates over, once before its first pass;
        returns what its elements are."""

    @abc.abstractmethod
    def bind_element(
        self, target: cst.BaseExpression, iterable: cst.BaseExpression, element: Value, state: State
    ) -> None:
        """Bind a loop target to the next element of `iterable`, at the start of each pass."""

    @abc.abstractmethod
    def forget(self, name: str, state: State) -> None:
        """`name` is bound to something the analysis does not follow: an import, a match
        capture, a nested `def` or `class`, a `global` or `nonlocal` name other code rebinds."""

    @abc.abstractmethod
    def unbind(self, name: str, state: State) -> None:
        """`del name`."""

    @abc.abstractmethod
    def restore(self, name: str, state: State, saved: State) -> None:
        """Give `name` back what it held in `saved` (the target of a finished comprehension)."""

    def nested_scope(self, node: cst.FunctionDef | cst.ClassDef, state: State) -> None:
        """Called where a nested definition is made, after its decorators and defaults are
        evaluated: its body will run later, in its own scope."""

    def expects_error(self, node: cst.With) -> bool:
        """Whether the block of `node` is expected to raise (and the error to be caught)."""
        return False

    # -- scopes and loops -----------------------------------------------------------------------

    def run_body(self, node: ScopeBody, state: State) -> State | None:
        """Run a scope's body once on `state`. Returns the join of the states at its normal exits
        (its end and every `return`), or None when every path raises."""
        self.returns = []
        try:
            if isinstance(node, cst.Lambda):
                self.evaluate(node.body, state)
            elif isinstance(node, cst.Module):
                for statement in node.body:
                    self.statement(statement, state)
            else:
                self.block(node.body, state)
            self.returns.append(state)
        except Terminated:
            pass
        return self.join(self.returns, node, "return") if self.returns else None

    def iterate(
        self,
        node: cst.CSTNode,
        state: State,
        body: Callable[[State], State | None],
        test: Callable[[State], None] | None = None,
    ) -> tuple[list[State], list[State]]:
        """Run a loop until the state a pass starts from settles.

        Each pass runs `test` (when given) on the state it starts from, then `body` on a copy:
        `body` returns the state at its end, or None when every path through it ends. The next
        pass starts from `next_pass` of its end and its `continue`s. Returns the states where the
        loop may stop (the start of each pass, after the test) and the `break` states.
        """
        exits: list[State] = []
        breaks: list[State] = []
        head = state
        for number in range(1, self.max_passes + 1):
            context = LoopPass[State](node, number)
            self.loops.append(context)
            try:
                tested = head
                if test is not None:
                    tested = self.copy(head)
                    test(tested)
                exits.append(tested)
                end = body(self.copy(tested))
            finally:
                self.loops.pop()
            breaks.extend(context.breaks)
            going_round = [*context.continues, *([end] if end is not None else [])]
            if not going_round:
                return exits, breaks  # every path leaves in this pass: there is no next one
            following = self.next_pass(head, going_round, node)
            if self.same(following, head):
                return exits, breaks
            head = following
        exits.append(head)  # unsettled: the loop may also stop where the next pass would start
        return exits, breaks

    # -- statements -----------------------------------------------------------------------------

    def block(self, body: cst.BaseSuite, state: State) -> None:
        """Run a block on `state`; raises Terminated when every path through it ends."""
        if isinstance(body, cst.SimpleStatementSuite):  # `if x: return y` on one line
            for small in body.body:
                self.small_statement(small, state)
        else:
            for statement in body.body:
                self.statement(statement, state)

    def statement(self, node: cst.CSTNode, state: State) -> None:
        self.steps += 1
        if self.step_budget is not None and self.steps > self.step_budget:
            raise TooLarge
        # Exact types: parsed trees hold only the concrete classes, and a failed isinstance on
        # libcst's abstract classes is slow (walk.py).
        if type(node) is cst.SimpleStatementLine:
            for small in node.body:
                self.small_statement(small, state)
        elif type(node) is cst.If:
            self.if_statement(node, state)
        elif type(node) is cst.For:
            self.for_loop(node, state)
        elif type(node) is cst.While:
            self.while_loop(node, state)
        elif type(node) is cst.Try or type(node) is cst.TryStar:
            self.try_statement(node, state)
        elif type(node) is cst.With:
            self.with_statement(node, state)
        elif type(node) is cst.FunctionDef or type(node) is cst.ClassDef:
            self.definition(node, state)
        elif type(node) is cst.Match:
            self.match_statement(node, state)

    def small_statement(self, node: cst.CSTNode, state: State) -> None:
        if type(node) is cst.Assign:
            value = self.evaluate(node.value, state)
            for target in node.targets:
                self.bind(target.target, value, state, node.value)
        elif type(node) is cst.AnnAssign:
            if node.value is not None:
                self.bind(node.target, self.evaluate(node.value, state), state, node.value)
        elif type(node) is cst.AugAssign:
            self.augmented_assignment(node, state)
        elif type(node) is cst.Expr:
            self.evaluate(node.value, state)
        elif type(node) is cst.Assert:
            self.evaluate(node.test, state)
            if node.msg is not None:
                self.evaluate(node.msg, state)
        elif type(node) is cst.Return:
            if node.value is not None:
                self.evaluate(node.value, state)
            self.returns.append(self.copy(state))
            raise Terminated
        elif type(node) is cst.Raise:
            if node.exc is not None:
                self.evaluate(node.exc, state)
            if node.cause is not None:
                self.evaluate(node.cause.item, state)
            raise Terminated
        elif type(node) is cst.Break or type(node) is cst.Continue:
            if self.loops:
                context = self.loops[-1]
                (context.breaks if type(node) is cst.Break else context.continues).append(self.copy(state))
            raise Terminated
        elif type(node) is cst.Global or type(node) is cst.Nonlocal:
            for item in node.names:
                self.forget(item.name.value, state)
        elif type(node) is cst.Del:
            for name in bound_names(node.target):
                self.unbind(name, state)
        elif type(node) is cst.Import or type(node) is cst.ImportFrom:
            for name in _imported_names(node):
                self.forget(name, state)

    def if_statement(self, node: cst.If, state: State) -> None:
        self.evaluate(node.test, state)
        outcomes = [] if node.orelse is not None else [self.copy(state)]  # the test may be false
        branch = self.copy(state)
        try:
            self.block(node.body, branch)
            outcomes.append(branch)
        except Terminated:
            pass
        if node.orelse is not None:
            branch = self.copy(state)
            try:
                if isinstance(node.orelse, cst.If):  # elif: the rest of the chain
                    self.statement(node.orelse, branch)
                else:
                    self.block(node.orelse.body, branch)
                outcomes.append(branch)
            except Terminated:
                pass
        self.go_on(state, outcomes, node)

    def match_statement(self, node: cst.Match, state: State) -> None:
        self.evaluate(node.subject, state)
        outcomes = [self.copy(state)]  # no case may match
        for case in node.cases:
            branch = self.copy(state)
            for name in captured_names(case.pattern):
                self.forget(name, branch)
            try:
                if case.guard is not None:
                    self.evaluate(case.guard, branch)
                self.block(case.body, branch)
                outcomes.append(branch)
            except Terminated:
                pass
        self.go_on(state, outcomes, node)

    def for_loop(self, node: cst.For, state: State) -> None:
        element = self.iterable(node.iter, state)

        def one_pass(body: State) -> State | None:
            self.bind_element(node.target, node.iter, element, body)
            return self.loop_body(node, body)

        exits, breaks = self.iterate(node, state, one_pass)
        self.leave_loop(node, exits, breaks, state)

    def while_loop(self, node: cst.While, state: State) -> None:
        def test(head: State) -> None:  # the loop stops after a false test
            self.evaluate(node.test, head)

        exits, breaks = self.iterate(node, state, lambda body: self.loop_body(node, body), test)
        self.leave_loop(node, exits, breaks, state)

    def loop_body(self, node: cst.For | cst.While, body: State) -> State | None:
        """One pass over a loop body: the state at its end, or None when every path ends."""
        try:
            self.block(node.body, body)
        except Terminated:
            return None
        return body

    def leave_loop(self, node: cst.For | cst.While, exits: list[State], breaks: list[State], state: State) -> None:
        """Continue after a loop: from its `break`s, and from where it stops after `else:`."""
        finished = self.join(exits, node, "exit")
        outcomes = [*breaks]
        if node.orelse is None:
            outcomes.append(finished)
        else:
            try:
                self.block(node.orelse.body, finished)
                outcomes.append(finished)
            except Terminated:
                pass
        self.go_on(state, outcomes, node)

    def try_statement(self, node: cst.Try | cst.TryStar, state: State) -> None:
        """A handler may start after any statement of the body: from the join of them all."""
        snapshots, finished = self.run_with_snapshots(node.body, state)
        outcomes = []
        if finished:
            try:
                if node.orelse is not None:
                    self.block(node.orelse.body, state)
                outcomes.append(state)
            except Terminated:
                pass
        if node.handlers:
            caught = self.join(snapshots, node, "except")
            for handler in node.handlers:
                branch = self.copy(caught)
                if handler.type is not None:
                    self.evaluate(handler.type, branch)
                if handler.name is not None:
                    self.bind(handler.name.name, None, branch)
                try:
                    self.block(handler.body, branch)
                    outcomes.append(branch)
                except Terminated:
                    pass
        if node.finalbody is None:
            self.go_on(state, outcomes, node)
        elif outcomes:
            self.go_on(state, outcomes, node)
            self.block(node.finalbody.body, state)
        else:  # the finally block runs, then the path ends anyway
            self.block(node.finalbody.body, self.join(snapshots, node, "finally"))
            raise Terminated

    def with_statement(self, node: cst.With, state: State) -> None:
        for item in node.items:
            self.evaluate(item.item, state)
            if item.asname is not None:
                self.bind(item.asname.name, None, state)
        if not self.expects_error(node):
            self.block(node.body, state)
            return
        # The block stops at the error it expects, after any of its statements, and the error
        # is caught: every stopping point goes on.
        self.expecting_error += 1
        try:
            snapshots, _ = self.run_with_snapshots(node.body, state)
        finally:
            self.expecting_error -= 1
        self.go_on(state, snapshots, node)

    def run_with_snapshots(self, body: cst.BaseSuite, state: State) -> tuple[list[State], bool]:
        """Run `body` on `state`, keeping copies of the state before it and after each of its
        statements; the second result says whether it ran to its end."""
        snapshots = [self.copy(state)]
        try:
            if isinstance(body, cst.SimpleStatementSuite):
                self.block(body, state)
                snapshots.append(self.copy(state))
            else:
                for statement in body.body:
                    self.statement(statement, state)
                    snapshots.append(self.copy(state))
        except Terminated:
            return snapshots, False
        return snapshots, True

    def definition(self, node: cst.FunctionDef | cst.ClassDef, state: State) -> None:
        for decorator in node.decorators:
            self.evaluate(decorator.decorator, state)
        if isinstance(node, cst.FunctionDef):
            for param in all_params(node.params):
                if param.default is not None:
                    self.evaluate(param.default, state)
        else:
            for arg in (*node.bases, *node.keywords):
                self.evaluate(arg.value, state)
        self.nested_scope(node, state)
        self.forget(node.name.value, state)

    def go_on(self, state: State, outcomes: Sequence[State], join: cst.CSTNode) -> None:
        """Continue from the join of `outcomes`; no outcome means every path ended."""
        if not outcomes:
            raise Terminated
        self.replace(state, self.join(outcomes, join, "join"))

    # -- comprehensions -------------------------------------------------------------------------

    def comprehension(self, node: Comprehension, state: State) -> None:
        """Evaluate a comprehension on `state`: a loop per `for` clause, whose targets are local."""
        saved = self.copy(state)
        element = self.iterable(node.for_in.iter, state)
        self.comprehension_clause(node, node.for_in, element, state)
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            for name in bound_names(clause.target):
                self.restore(name, state, saved)
            clause = clause.inner_for_in

    def comprehension_clause(self, node: Comprehension, clause: cst.CompFor, element: Value, state: State) -> None:
        def one_pass(body: State) -> State | None:
            self.bind_element(clause.target, clause.iter, element, body)
            for condition in clause.ifs:
                self.evaluate(condition.test, body)
            produced = self.copy(body) if clause.ifs else body  # the filters may skip the element
            inner = clause.inner_for_in
            if inner is not None:
                self.comprehension_clause(node, inner, self.iterable(inner.iter, produced), produced)
            elif isinstance(node, cst.DictComp):
                self.evaluate(node.key, produced)
                self.evaluate(node.value, produced)
            else:
                self.evaluate(node.elt, produced)
            return self.join([produced, body], clause, "filter") if clause.ifs else produced

        exits, _ = self.iterate(clause, state, one_pass)
        self.replace(state, self.join(exits, clause, "join"))


def bound_names(target: cst.CSTNode) -> set[str]:
    """The plain names an assignment, loop or `del` target binds (`obj.a`, `x[i]` bind none)."""
    if type(target) is cst.Name:
        return {target.value}
    if type(target) is cst.Attribute or type(target) is cst.Subscript:
        return set()
    found: set[str] = set()
    for child in children(target):
        found |= bound_names(child)
    return found


def captured_names(pattern: cst.CSTNode) -> Iterator[str]:
    """The names a match pattern captures: `case Point(x=px, y=0) | [*rest]` captures px, rest."""
    if isinstance(pattern, (cst.MatchAs, cst.MatchStar)) and pattern.name is not None:
        yield pattern.name.value
    elif isinstance(pattern, cst.MatchMapping) and pattern.rest is not None:
        yield pattern.rest.value
    if isinstance(pattern, (cst.MatchValue, cst.MatchSingleton)):
        return  # `case Color.RED`, `case None`: compared, not bound
    for child in children(pattern):
        yield from captured_names(child)


def _imported_names(node: cst.Import | cst.ImportFrom) -> Iterator[str]:
    """The names an import binds: `import a.b` binds a, `from m import x as y` binds y."""
    if isinstance(node.names, cst.ImportStar):
        return
    for alias in node.names:
        local = alias.asname.name if alias.asname is not None else alias.name
        dotted = dotted_name(local) if isinstance(local, (cst.Name, cst.Attribute)) else None
        if dotted is not None:
            yield dotted.split(".", 1)[0]
