"""Reading the notebooks' code outside Jupyter: their cells, their definitions, their exercises.

Shared by test_exercises.py (each exercise's stub and hidden solution through its checker) and
test_notebook_copies.py (each notebook function named like a helper, against that helper).
"""
import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"checks\.(check_\w+)\(\s*(\w+)\s*\)")
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution[^<]*</summary>\s*```python\n(.*?)```\s*</details>", re.S)


def source(cell) -> str:
    return "".join(cell["source"])


def load_cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def python_of(code: str) -> str:
    """Return ``code`` without its shell (``!``) and magic (``%``) lines, continuation lines included."""
    kept, continued = [], False
    for line in code.splitlines():
        if continued or line.lstrip().startswith(("!", "%")):
            continued = line.rstrip().endswith("\\")
            continue
        kept.append(line)
    return "\n".join(kept)


def definitions(code: str) -> str:
    """Return the imports, function and class definitions (and constants) of ``code``, nothing that runs."""
    try:
        tree = ast.parse(python_of(code))
    except SyntaxError:
        return ""
    keep = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
            or (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant))]
    return "\n".join(ast.unparse(node) for node in keep)


def solution_after(cells: list[dict], index: int) -> str | None:
    """Return the hidden solution's code of the exercise in cell ``index`` (from the Markdown just after it)."""
    for cell in cells[index + 1:index + 3]:
        if cell["cell_type"] == "markdown" and SOLUTION.search(source(cell)):
            return SOLUTION.search(source(cell)).group(1)
    return None


def exercises(path: Path):
    """Yield (cell index, checker name, answer name, stub code, solution code, heading) of each exercise."""
    cells = load_cells(path)
    heading = ""
    for i, cell in enumerate(cells):
        text = source(cell)
        if cell["cell_type"] == "markdown" and "Exercise" in text:
            heading = text
        if cell["cell_type"] != "code" or not CHECK_CALL.search(text):
            continue
        checker, answer = CHECK_CALL.search(text).groups()
        yield i, checker, answer, text, solution_after(cells, i), heading


def context(path: Path, upto: int, solved: bool = False) -> str:
    """Return the definitions of the notebook's code cells before cell ``upto`` (the set-up cell excluded).

    With ``solved``, each exercise's hidden solution follows its stub, as in the notebook of a learner
    who has done the exercises (a stub alone returns None where later code needs a value).
    """
    cells = load_cells(path)
    code = [(i, source(c)) for i, c in enumerate(cells[:upto]) if c["cell_type"] == "code"][1:]
    parts = []
    for i, text in code:
        parts.append(definitions(text))
        if solved and CHECK_CALL.search(text) and solution_after(cells, i):
            parts.append(definitions(solution_after(cells, i)))
    return "\n".join(parts)
