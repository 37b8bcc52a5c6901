"""A shared assertion for the exercise checkers of every notebook."""
import pytest


def assert_checker_behaves(check, stub, solution, wrongs, capsys) -> None:
    """A checker says "not done yet" to a stub, rejects every wrong answer and accepts the solution."""
    check(stub)
    assert "not done yet" in capsys.readouterr().out
    for wrong in wrongs:
        with pytest.raises(AssertionError):
            check(wrong)
    capsys.readouterr()
    check(solution)
    assert capsys.readouterr().out.startswith("✓")
