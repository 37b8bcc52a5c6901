"""Shared assertions for the exercise checkers of every notebook (see helpers.course.checks for their three lines)."""
import re
from contextlib import contextmanager


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
    assert "not done yet" in capsys.readouterr().out
    assert used is not stub and (fallback is None or used is not None)
    for wrong in wrongs:
        with rejects(capsys):
            used = check(wrong)
        assert used is not wrong
    assert check(solution) is solution
    assert capsys.readouterr().out.startswith("✓")
