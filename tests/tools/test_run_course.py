"""`python course.py run`: real notebooks executed in fresh kernels, the summary table, the stop on error, the site."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, str(ROOT / "tools" / "run_course.py")]


def notebook(folder: Path, name: str, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}")] + [nbformat.v4.new_code_cell(s) for s in sources]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


SETUP = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import helpers"


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook(folder, "01_first", SETUP, "helpers.versions();",
             "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()",
             "helpers.record('answer', 42.0, 'units')")
    notebook(folder, "02_second", SETUP,
             "from helpers.course import is_quick\nhelpers.record('mode_is_quick', is_quick())")
    return folder


def run(folder, *args, out=None):
    return subprocess.run([*RUN, "--folder", str(folder), "--out", str(out or folder.parent / "out"), *args],
                          capture_output=True, text=True, timeout=600)


def test_runs_each_notebook_and_tabulates_mode_precision_time_and_figures(course):
    done = run(course, "--quick")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((course.parent / "out" / "summary.json").read_text())
    assert [r["notebook"] for r in rows] == ["01_first", "02_second"]
    assert rows[0]["mode"] == "quick" and rows[0]["device"] == "cpu" and rows[0]["precision"] in ("float32", "bfloat16")
    assert rows[0]["figures"] == {"answer": "42.000"} and rows[1]["figures"] == {"mode_is_quick": "True"}
    assert "| 01_first | quick | cpu |" in done.stdout and "answer = 42.000" in done.stdout
    executed = json.loads((course.parent / "out" / "01_first.ipynb").read_text())
    assert executed["cells"][-1]["outputs"], "the executed copy holds the outputs"
    assert not json.loads((course / "01_first.ipynb").read_text())["cells"][1].get("outputs"), \
        "committed copy untouched"


def test_only_the_chosen_notebooks_run_and_full_mode_is_the_default(course):
    done = run(course, "02")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((course.parent / "out" / "summary.json").read_text())
    assert [r["notebook"] for r in rows] == ["02_second"] and rows[0]["figures"] == {"mode_is_quick": "False"}


def test_the_first_error_stops_the_run_and_says_where(course):
    notebook(course, "01_first", SETUP, "x = 1", "raise ValueError('the learning rate is negative')", "print('never')")
    done = run(course, "--quick")
    assert done.returncode == 1
    assert "01_first.ipynb stopped at code cell 3" in done.stderr
    assert "ValueError: the learning rate is negative" in done.stderr
    rows = json.loads((course.parent / "out" / "summary.json").read_text())
    assert [r["notebook"] for r in rows] == ["01_first"], "02 never ran"


def test_an_unknown_notebook_is_a_one_line_error(course):
    done = run(course, "07")
    assert done.returncode != 0 and "no notebook '07': give numbers (01, 02)" in done.stderr


def test_the_site_has_a_page_per_notebook_and_an_index_with_table_and_plots(course):
    done = run(course, "--quick", "--html")
    assert done.returncode == 0, done.stderr[-2000:]
    site = course.parent / "out" / "site"
    index = (site / "index.html").read_text()
    assert (site / "01_first.html").exists() and (site / "02_second.html").exists()
    assert 'href="01_first.html"' in index and "answer = 42.000" in index
    assert (site / "img" / "01_first-1.png").read_bytes().startswith(b"\x89PNG")
