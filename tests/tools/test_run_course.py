"""`python course.py run`: real notebooks executed in fresh kernels, the summary table, the stop on error, the site;
the stream outputs written with each progress bar at its last state (``coalesce_streams``)."""
import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, str(ROOT / "tools" / "run_course.py")]

spec = importlib.util.spec_from_file_location("run_course", ROOT / "tools" / "run_course.py")
run_course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_course)
coalesce_streams = run_course.coalesce_streams


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


def stream(name, text):
    return {"output_type": "stream", "name": name, "text": text}


def outputs_after(*outputs):
    """The outputs of a one-cell notebook holding ``outputs``, after coalesce_streams."""
    nb = {"cells": [{"cell_type": "code", "outputs": list(outputs)}]}
    return coalesce_streams(nb)["cells"][0]["outputs"]


def test_a_bar_stored_redraw_by_redraw_keeps_its_last_state():
    redraws = [stream("stderr", f"\rtraining: {p:3d}%|{'█' * (p // 10):<10}| {p}/100") for p in range(0, 101, 5)]
    assert outputs_after(*redraws, stream("stderr", "\n")) == [
        stream("stderr", "training: 100%|██████████| 100/100\n")]
    # several bars in one cell, each closed with its newline: one line each
    two = [stream("stderr", "\rfirst: 0%"), stream("stderr", "\rfirst: 100%\n"),
           stream("stderr", "\rsecond: 0%"), stream("stderr", "\rsecond: 100%\n")]
    assert outputs_after(*two) == [stream("stderr", "first: 100%\nsecond: 100%\n")]


def test_stdout_and_stderr_keep_their_order_and_stay_apart():
    # a training loop: tqdm.write prints each eval to stdout while the bar goes on, on stderr
    cell = [stream("stderr", "warning: slow CPU\n"), stream("stderr", "\rtraining: 0/4"),
            stream("stderr", "\rtraining: 1/4"), stream("stdout", "step 1: loss 2.0\n"),
            stream("stderr", "\rtraining: 2/4"), stream("stdout", "step 2: loss 1.5\n"),
            stream("stderr", "\rtraining: 3/4"), stream("stderr", "\rtraining: 4/4"),
            stream("stdout", "step 4: loss 1.0\n"), stream("stdout", "done\n"), stream("stderr", "\n")]
    assert outputs_after(*cell) == [
        stream("stderr", "warning: slow CPU\n"), stream("stdout", "step 1: loss 2.0\nstep 2: loss 1.5\n"),
        stream("stderr", "training: 4/4"), stream("stdout", "step 4: loss 1.0\ndone\n"), stream("stderr", "\n")]


def test_text_without_carriage_returns_is_kept_as_it_was():
    assert outputs_after(stream("stdout", "a\n"), stream("stdout", "b\n"), stream("stdout", "c")) == [
        stream("stdout", "a\nb\nc")]
    assert outputs_after(stream("stdout", "one\r\ntwo\r\n")) == [stream("stdout", "one\r\ntwo\r\n")], \
        "\\r\\n is a newline"
    assert outputs_after(stream("stderr", "x\n"), stream("stdout", "y\n"), stream("stderr", "z\n")) == [
        stream("stderr", "x\n"), stream("stdout", "y\n"), stream("stderr", "z\n")]


def test_other_outputs_are_untouched_and_keep_their_place():
    plot = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": ["<Figure>"]}, "metadata": {}}
    value = {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": ["\r42"]}, "metadata": {}}
    error = {"output_type": "error", "ename": "ValueError", "evalue": "no", "traceback": ["\rline"]}
    cell = [stream("stderr", "\r0%"), stream("stderr", "\r100%\n"), plot, stream("stdout", "a\n"),
            stream("stdout", "b\n"), value, error]
    assert outputs_after(*cell) == [stream("stderr", "100%\n"), plot, stream("stdout", "a\nb\n"), value, error]


def test_a_notebook_as_nbformat_or_as_json_keeps_its_form_and_is_not_changed_in_place():
    new = nbformat.v4
    streams = [new.new_output("stream", name="stdout", text=text) for text in ("a\nb\n", "c\rd\n")]
    code = new.new_code_cell("print()", outputs=streams, execution_count=1)
    node = new.new_notebook(cells=[new.new_markdown_cell("# hi"), code])
    node.cells[1].metadata["tags"] = ["nbval-check-output"]
    as_json = json.loads(nbformat.writes(node))  # the file's form: text as a list of lines
    assert as_json["cells"][1]["outputs"][0]["text"] == ["a\n", "b\n"]
    before_node, before_json = copy.deepcopy(node), copy.deepcopy(as_json)
    after_node, after_json = coalesce_streams(node), coalesce_streams(as_json)
    assert node == before_node and as_json == before_json, "the notebook given is not changed"
    assert after_node.cells[1].outputs == [new.new_output("stream", name="stdout", text="a\nb\nd\n")]
    assert after_json["cells"][1]["outputs"] == [stream("stdout", ["a\n", "b\n", "d\n"])], "as nbformat writes lines"
    assert json.loads(nbformat.writes(after_node)) == after_json
    assert {k: v for k, v in after_json["cells"][1].items() if k != "outputs"} == \
        {k: v for k, v in before_json["cells"][1].items() if k != "outputs"}
    assert after_json["cells"][0] == before_json["cells"][0] and after_json["metadata"] == before_json["metadata"]


NBVAL_CASES = [
    [stream("stdout", "loss 1.23\n"), stream("stdout", "loss 1.01\n")],
    [stream("stderr", "\rbar 1/2"), stream("stdout", "step 1\n"), stream("stderr", "\rbar 2/2"),
     stream("stdout", "done\n"), stream("stderr", "\n")],
    [stream("stdout", "a\r"), stream("stdout", "\nb\rc\r\r\n"), stream("stderr", "\r\r"),
     {"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": "1"}, "metadata": {}}],
]


@pytest.mark.parametrize("outputs", NBVAL_CASES)
def test_what_nbval_compares_is_unchanged(outputs):
    """nbval merges a cell's streams and applies \\r (to the committed outputs too): the same text either way."""
    from nbval.plugin import coalesce_streams as nbval_coalesce
    from nbval.plugin import transform_streams_for_comparison

    def compared(outs):  # per key, the values in order, as nbval's compare_outputs lays them out
        nodes = transform_streams_for_comparison(nbval_coalesce([nbformat.from_dict(copy.deepcopy(o)) for o in outs]))
        found = {}
        for node in nodes:
            for key, value in node.items():
                if key not in ("output_type", "metadata", "execution_count"):
                    found.setdefault(key, []).append(value)
        return found

    assert compared(outputs_after(*outputs)) == compared(outputs)


def test_executed_copies_keep_a_bars_last_state(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook(folder, "01_bar", "from tqdm import tqdm\nimport time\n"
             "for i in tqdm(range(30), desc='steps', mininterval=0):\n    time.sleep(0.01)\nprint('done')")
    done = run(folder, "--quick")
    assert done.returncode == 0, done.stderr[-2000:]
    outputs = json.loads((tmp_path / "out" / "01_bar.ipynb").read_text())["cells"][1]["outputs"]
    # the bar's closing newline may come after the print: stderr and stdout reach the notebook separately
    assert [o["name"] for o in outputs] in (["stderr", "stdout"], ["stderr", "stdout", "stderr"]), outputs
    assert "".join(outputs[0]["text"]).startswith("steps: 100%|██████████| 30/30")
    assert not any("\r" in "".join(o["text"]) for o in outputs)


def test_coalesce_only_rewrites_the_notebooks_in_place_without_running_them(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = notebook(folder, "01_bar", "raise SystemExit('never run')")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stderr", text=f"\r{i}/50") for i in range(51)]
    nbformat.write(nb, path)
    done = run(folder, "--coalesce-only")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(path.read_text())["cells"][1]["outputs"] == [stream("stderr", ["50/50"])]
    assert not (tmp_path / "out").exists(), "no run, no summary"
