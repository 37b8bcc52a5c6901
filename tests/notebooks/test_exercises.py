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
import ast
import contextlib
import io
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"checks\.(check_\w+)\(\s*(\w+)\s*\)")
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution[^<]*</summary>\s*```python\n(.*?)```\s*</details>", re.S)
DIFFICULTY = re.compile(r"Exercise[^\n]*(★{1,3})[^\n]*(\d+)\s*min", re.S)


def source(cell) -> str:
    return "".join(cell["source"])


def definitions(code: str) -> str:
    """Return the imports, function and class definitions (and constants) of ``code``, nothing that runs."""
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("!", "%")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    keep = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
            or (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant))]
    return "\n".join(ast.unparse(node) for node in keep)


def exercises(path: Path):
    """Yield (cell index, checker name, answer name, stub code, solution code, heading) of each exercise."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    heading = ""
    for i, cell in enumerate(cells):
        text = source(cell)
        if cell["cell_type"] == "markdown" and "Exercise" in text:
            heading = text
        if cell["cell_type"] != "code" or not CHECK_CALL.search(text):
            continue
        solution_cell = next((c for c in cells[i + 1:i + 3] if c["cell_type"] == "markdown" and SOLUTION.search(source(c))), None)
        checker, answer = CHECK_CALL.search(text).groups()
        yield i, checker, answer, text, SOLUTION.search(source(solution_cell)).group(1) if solution_cell else None, heading


def context(path: Path, upto: int) -> str:
    """Return the definitions of the notebook's code cells before cell ``upto`` (the set-up cell excluded)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [source(c) for c in cells[:upto] if c["cell_type"] == "code"][1:]
    return "\n".join(definitions(c) for c in code)


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
    for index, checker, answer, stub, solution, heading in found:
        assert DIFFICULTY.search(heading), f"{path.name} cell {index}: the exercise's heading gives no ★ difficulty and minutes"
        later = [source(c) for c in cells[index + 1:] if c["cell_type"] == "code"]
        redefined = [c for c in later if re.search(rf"^(def|class) {answer}\b", c, re.M)]
        assert not redefined, f"{path.name}: {answer} is defined again after its exercise (an executed solution?)"
        outputs = "".join("".join(o.get("text", "")) for o in cells[index].get("outputs", []))
        assert "not done yet" in outputs, f"{path.name} cell {index}: committed in the learner's 'not done yet' state"
