"""Every exercise, as the notebooks hold it: the stub is "not done yet", the hidden solution passes its checker.

An exercise is a code cell that defines the learner's function (or class) and hands it to its checker,

    def top_p_filter(logits, p):
        ...                              # TODO
        return None

    top_p_filter = checks.check_top_p(top_p_filter)

followed by a Markdown cell holding the solution in a collapsed ``<details><summary>Solution`` block.
This test runs both through the checker, outside the notebook: the stub's definitions, then the
solution's, each after the notebook's imports and top-level definitions that precede the exercise.
"""
import contextlib
import io
import json
import re

import pytest

from tests.notebooks.cells import NOTEBOOKS, context, definitions, exercises, source

DIFFICULTY = re.compile(r"Exercise[^\n]*(★{1,3})[^\n]*(\d+)\s*min", re.S)


CASES = [(path, *case) for path in NOTEBOOKS for case in exercises(path)]


def run_checker(path, index, checker, answer, code):
    namespace: dict = {}
    exec(compile(context(path, index), f"{path.name}:context", "exec"), namespace)
    exec(compile(definitions(code), f"{path.name}:exercise", "exec"), namespace)
    assert answer in namespace, f"{answer} is not defined by the exercise's code"
    check = getattr(namespace["checks"], checker)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        used = check(namespace[answer])
    return namespace[answer], used, out.getvalue()


@pytest.mark.parametrize("path, index, checker, answer, stub, solution, heading", CASES,
                         ids=[f"{c[0].name[:2]}-{c[2]}" for c in CASES])
def test_stub_is_not_done_and_solution_passes(path, index, checker, answer, stub, solution, heading):
    assert solution is not None, f"{path.name} cell {index}: no <details><summary>Solution block right after it"
    given, used, out = run_checker(path, index, checker, answer, stub)
    assert out.startswith("… not done yet"), f"the stub should be 'not done yet', the checker printed {out!r}"
    assert used is not given
    given, used, out = run_checker(path, index, checker, answer, solution)
    assert out.startswith("✓"), f"the solution should pass, the checker printed {out!r}"
    assert used is given


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_hidden_and_never_executed_in_place(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = list(exercises(path))
    assert found, f"{path.name} has no exercise with a checker"
    for index, _checker, answer, _stub, _solution, heading in found:
        assert DIFFICULTY.search(heading), \
            f"{path.name} cell {index}: the exercise's heading gives no ★ difficulty and minutes"
        later = [source(c) for c in cells[index + 1:] if c["cell_type"] == "code"]
        redefined = [c for c in later if re.search(rf"^(def|class) {answer}\b", c, re.M)]
        assert not redefined, f"{path.name}: {answer} is defined again after its exercise (an executed solution?)"
        outputs = "".join("".join(o.get("text", "")) for o in cells[index].get("outputs", []))
        assert "not done yet" in outputs, f"{path.name} cell {index}: committed in the learner's 'not done yet' state"
