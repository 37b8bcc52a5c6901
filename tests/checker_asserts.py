"""Shared assertions for the exercise checkers of every notebook (see helpers.course.checks for their three lines)."""
import re
from contextlib import contextmanager

# What code looks like inside a line of prose: a call or an indexing (name( name[ obj.name(), a matrix
# product, a power, a lambda. Names alone and equations such as "T = 3" are prose.
CODE_IN_PROSE = re.compile(r"[A-Za-z_][\w.]*[(\[]|\s@\s|\w\s*\*\*\s*\w|\blambda\b")
NOT_DONE = re.compile(r"… not done yet: (.*?)(?: Continuing with \S+ for now\.)?\s*$", re.S)


def nudge(out: str) -> str:
    """Return the hint of a checker's "… not done yet: <hint>. Continuing with ..." line."""
    found = NOT_DONE.match(out.strip())
    assert found, f"not a 'not done yet' line: {out!r}"
    return found.group(1)


def assert_only_nudges(out: str) -> None:
    """The "not done yet" line says what to look at, in words: no code, so no piece of the solution."""
    hint = nudge(out)
    code = CODE_IN_PROSE.search(hint)
    assert not code, f"the first hint a learner sees holds code ({code.group(0)!r}), it should only nudge: {hint!r}"


@contextmanager
def rejects(capsys, match: str | None = None):
    """The checker called inside prints "✗ ..." (matching ``match``) instead of accepting the answer."""
    capsys.readouterr()
    yield
    out = capsys.readouterr().out
    assert out.startswith("✗"), f"the checker did not reject this answer; it printed {out!r}"
    if match:
        assert re.search(match, out), f"the rejection does not say {match!r}: {out!r}"


def assert_checker_behaves(check, stub, solution, wrongs, capsys) -> None:
    """A checker says "not done yet" to a stub, rejects every wrong answer and accepts the solution.

    It returns what the notebook goes on with: the solution itself once accepted, else its fallback.
    """
    fallback = check.fallback
    capsys.readouterr()
    used = check(stub)
    out = capsys.readouterr().out
    assert "not done yet" in out
    assert_only_nudges(out)
    assert used is not stub and (fallback is None or used is not None)
    for wrong in wrongs:
        with rejects(capsys):
            used = check(wrong)
        assert used is not wrong
    assert check(solution) is solution
    assert capsys.readouterr().out.startswith("✓")
