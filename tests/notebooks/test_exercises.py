"""Every exercise, as the notebooks hold it: the stub is "not done yet", the hidden solution passes its checker.

An exercise is a code cell that defines the learner's function (or class) and hands it to its checker,

    def top_p_filter(logits, p):
        ...                              # TODO
        return None

    top_p_filter = checks.check_top_p(top_p_filter)

followed by a Markdown cell holding the hints and the solution, each in a collapsed block: a
``<details><summary>Hint`` (sometimes a ``Second hint``) and, last, ``<details><summary>Solution``.
This test runs stub and solution through the checker, outside the notebook: the stub's definitions,
then the solution's, each after the notebook's imports and top-level definitions that precede the
exercise. The checker's "not done yet" line only nudges: no code, and no piece of the solution.
"""
import ast
import contextlib
import io
import json
import re
import tokenize

import pytest

from tests.checker_asserts import assert_only_nudges, nudge
from tests.notebooks.cells import NOTEBOOKS, context, definitions, exercises, load_cells, source

DIFFICULTY = re.compile(r"Exercise[^\n]*(★{1,3})[^\n]*(\d+)\s*min", re.S)
BLOCK = re.compile(r"<details>\s*<summary>\s*([^<]*?)\s*</summary>(.*?)</details>", re.S)


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


def solution_fragments(code: str) -> set[str]:
    """Return the solution's pieces of code, three tokens long, two names or numbers joined by an operator,
    an attribute or a call.

    Spaces are dropped (``K @ q`` is ``K@q``); comments, shapes (``(T, T)``) and punctuation left out.
    """
    kinds = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type not in kinds]
    fragments = set()
    for a, b, c in zip(tokens, tokens[1:], tokens[2:]):
        strings = [a.string, b.string, c.string]
        call = any(x.type == tokenize.NAME and y.string in "([" for x, y in ((a, b), (b, c)))
        operands = sum(t.type in (tokenize.NAME, tokenize.NUMBER) for t in (a, b, c))
        if operands >= 2 and (call or any(s in ("@", ".", "=", "**", "[") for s in strings)):
            fragments.add("".join(strings))
    return fragments


@pytest.mark.parametrize("path, index, checker, answer, stub, solution, heading", CASES,
                         ids=[f"{c[0].name[:2]}-{c[2]}" for c in CASES])
def test_not_done_line_nudges_without_the_solution(path, index, checker, answer, stub, solution, heading):
    _, _, out = run_checker(path, index, checker, answer, stub)
    assert_only_nudges(out)
    hint, statement = (re.sub(r"\s", "", text) for text in (nudge(out), heading))
    given = [f for f in solution_fragments(solution) if f in hint and f not in statement]
    assert not given, f"{path.name} cell {index}: the 'not done yet' line holds the solution's code {given}: {out!r}"


def test_solution_fragments_find_code_in_a_hint():
    """The fragments are what made the first hints give answers away (01's "scores = K @ q / sqrt(D), ...")."""
    old = "scores = K @ q / sqrt(D), weights = softmax(scores), output = weights @ V"
    solution = "scores = K @ q / math.sqrt(q.shape[0])\nweights = torch.softmax(scores, dim=0)\nreturn weights @ V\n"
    assert {"K@q", "weights@V", "softmax(scores"} <= {f for f in solution_fragments(solution) if f in
                                                      old.replace(" ", "")}
    with pytest.raises(AssertionError, match="holds code"):
        assert_only_nudges(f"… not done yet: {old}. Continuing with helpers.models.attention.attend_one for now.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_hints_come_in_layers_before_the_solution(path):
    """Below each stub: a collapsed Hint, maybe a Second hint, then the Solution, in that order."""
    cells = load_cells(path)
    for index, *_ in exercises(path):
        after = source(cells[index + 1])
        names = [name for name, _ in BLOCK.findall(after)]
        assert names and names[0] == "Hint", f"{path.name} cell {index + 1}: no collapsed Hint first, got {names}"
        assert names[-1] == "Solution", f"{path.name} cell {index + 1}: the Solution is not the last block: {names}"
        assert names[1:-1] in ([], ["Second hint"]), f"{path.name} cell {index + 1}: unexpected blocks {names}"
        assert all(text.strip() for _, text in BLOCK.findall(after)), f"{path.name} cell {index + 1}: an empty block"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_three_star_stubs_leave_the_steps_to_the_learner(path):
    """A ★★★ stub is a signature, a docstring of what goes in and out, and ``return None``: no step list."""
    for index, _checker, _answer, stub, _solution, heading in exercises(path):
        if DIFFICULTY.search(heading).group(1) != "★★★":
            continue
        exercise_text = heading[heading.index("### Exercise"):]
        assert not re.search(r"^\s*\d+\.\s", exercise_text, re.M), \
            f"{path.name}: the ★★★ exercise before cell {index} lists its steps; they belong in the hints"
        functions = [node for node in ast.walk(ast.parse(stub)) if isinstance(node, ast.FunctionDef)]
        stubs = [f for f in functions if any(isinstance(n, ast.Return) and isinstance(n.value, ast.Constant)
                                             and n.value.value is None for n in ast.walk(f))]
        assert stubs, f"{path.name} cell {index}: no function of the stub returns None"
        for function in stubs:
            body = function.body[1:] if ast.get_docstring(function) else function.body
            assert ast.get_docstring(function), f"{path.name} cell {index}: {function.name} has no docstring"
            assert len(body) == 1 and isinstance(body[0], ast.Return), \
                f"{path.name} cell {index}: {function.name} does more than return None: leave its steps to the learner"


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
        # a cell not yet executed has no output (test_notebooks_layout.py requires every cell executed)
        assert not outputs or "not done yet" in outputs, \
            f"{path.name} cell {index}: committed in the learner's 'not done yet' state"
