"""Every notebook as committed: the shared opening cells, executed top to bottom, nothing private, bars tidy."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

spec = importlib.util.spec_from_file_location("course_cells", ROOT / "tools" / "course_cells.py")
course_cells = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course_cells)


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_course_has_its_part_one_notebooks():
    names = [p.name for p in NOTEBOOKS]
    for expected in ("01_attention.ipynb", "02_gpt_block.ipynb", "03_tokenization.ipynb"):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opening_cells_are_the_shared_ones(path):
    cells = load(path)["cells"]
    assert "".join(cells[0]["source"]) == course_cells.badge_source(path.name)
    code = [c for c in cells if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == course_cells.SETUP_SOURCE
    assert code[0]["metadata"].items() >= course_cells.SETUP_METADATA.items(), "the set-up cell opens collapsed"
    assert "helpers.versions(" in "".join(code[1]["source"]), "the second code cell prints versions"
    assert any("You will learn" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_executed_in_order_without_errors_paths_or_secrets(path):
    nb = load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code]
    assert all(isinstance(n, int) for n in counts), "every code cell was executed"
    assert counts == list(range(1, len(code) + 1)), "executed once, top to bottom"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = json.dumps(nb)
    assert not re.search(r"/(tmp|root|work|home)/", text), "no machine paths"
    assert not re.search(r"(sk-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,})", text), "no API keys"
    assert "Quick mode (COURSE_QUICK=1)" not in text, "committed in full mode"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_come_with_checked_solutions(path):
    cells = load(path)["cells"]
    sources = ["".join(c["source"]) for c in cells]
    assert any("<summary>Solution" in s for s in sources)
    assert any("helpers.course.checks." in s or "checks.check_" in s for s in sources)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_prose_has_no_unfilled_markers(path):
    """Prose written after a run is drafted with markers (@@NAME@@, PLACEHOLDER_NAME): none may remain."""
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "markdown":
            left = re.findall(r"@@\w+@@|PLACEHOLDER\w*", "".join(cell["source"]))
            assert not left, f"{path.name} cell {index}: unfilled prose markers {left}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_test_markers_are_cell_tags_not_code(path):
    """nbval reads the tag nbval-check-output; a `# NBVAL_...` comment would show test machinery to the reader."""
    code = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    assert not [i for i, c in enumerate(code) if "NBVAL" in "".join(c["source"])]
    assert any("nbval-check-output" in c["metadata"].get("tags", []) for c in code), "some outputs are checked"


BAR_CHARACTERS = set("▏▎▍▌▋▊▉█")  # what tqdm draws its bar with
MOST_STDERR_OUTPUTS = 3
MOST_PROGRESS_BYTES = 4096


def progress_problems(name: str, cells: list[dict]) -> list[str]:
    """Return, per cell of notebook ``name`` that stores a progress bar redraw by redraw, what is wrong.

    Progress text is every line of a stream output that holds a carriage return or a bar character.
    """
    problems = []
    for index, cell in enumerate(cells):
        streams = [o for o in cell.get("outputs", []) if o["output_type"] == "stream"]
        stderr = sum(o["name"] == "stderr" for o in streams)
        lines = [line for o in streams for line in "".join(o["text"]).split("\n")]
        progress = sum(len(line.encode()) for line in lines if "\r" in line or BAR_CHARACTERS & set(line))
        if stderr > MOST_STDERR_OUTPUTS or progress > MOST_PROGRESS_BYTES:
            problems.append(f"{name} cell {index}: {stderr} stderr outputs, {progress:,} bytes of progress-bar text")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_progress_bars_are_stored_at_their_last_state_not_redraw_by_redraw(path):
    """A kernel sends a tqdm bar once per redraw; the committed notebook keeps its last state (or a few)."""
    problems = progress_problems(path.name, load(path)["cells"])
    assert not problems, (
        f"at most {MOST_STDERR_OUTPUTS} stderr outputs and {MOST_PROGRESS_BYTES:,} bytes of progress-bar text a cell:\n"
        + "\n".join(problems) + f"\n`python course.py run --coalesce-only {path.name[:2]}` keeps each bar's last state "
        "without executing anything (`course.py run --inplace` does it after executing)")


def test_the_progress_check_names_the_notebook_and_the_cell():
    redraws = [{"output_type": "stream", "name": "stderr", "text": [f"\r{i:3d}%|"]} for i in range(100)]  # 6 bytes
    cells = [{"cell_type": "markdown", "source": []}, {"cell_type": "code", "outputs": redraws}]
    assert progress_problems("05_decoding.ipynb", cells) == [
        "05_decoding.ipynb cell 1: 100 stderr outputs, 600 bytes of progress-bar text"]
    long_bar = [{"output_type": "stream", "name": "stdout", "text": ["\r" + "█" * 1400]}]  # 4,201 bytes
    assert progress_problems("x.ipynb", [{"cell_type": "code", "outputs": long_bar}]) == [
        "x.ipynb cell 0: 0 stderr outputs, 4,201 bytes of progress-bar text"]
    tidy = [{"output_type": "stream", "name": "stderr", "text": ["training: 100%|██████████| 1500/1500\n"]},
            {"output_type": "stream", "name": "stdout", "text": ["step 1500: " + "x" * 5000 + "\n"]}]
    assert progress_problems("x.ipynb", [{"cell_type": "code", "outputs": tidy}]) == []
