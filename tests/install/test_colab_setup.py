"""Colab's path, executed: the notebooks' set-up cell run end to end as Colab runs it.

In Colab, `"google.colab" in sys.modules` sends the set-up cell down a branch that nothing else runs: it
clones the course into /content and runs `python course.py colab-setup`. This test plays Colab here:

- a FRESH virtual environment holding only what Colab brings: torch, numpy, matplotlib, ipywidgets
  (requirements.txt's "colab keeps its own") and a Jupyter kernel;
- a fake `google.colab` package, imported at interpreter start as Colab's kernel has it;
- a scratch folder for /content and a clone of this repository's HEAD for GitHub (the cell reads
  COURSE_COLAB_CONTENT and COURSE_REPO_URL, unset in Colab);

then it executes notebook 01 top to bottom in quick mode in that environment. It tests the committed
HEAD, what Colab would clone: commit first. A few minutes; `python course.py test --colab` (add -s for
the timings of each step).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.colab

# what Colab has installed already: the requirements marked "colab keeps its own", and a kernel
COLAB_OWN = ["numpy", "matplotlib", "ipywidgets", "ipykernel", "nbclient", "nbformat"]

# whether torch and transformers are there, and torch's version, file and install time (a reinstall changes it)
PACKAGES = """
import importlib.util, json, os, torch
print(json.dumps({"torch": [torch.__version__, torch.__file__, os.stat(torch.__file__).st_mtime_ns],
                  "transformers": importlib.util.find_spec("transformers") is not None}))
"""

# run by the fresh environment's python, so the kernel is that python (jupyter_client starts the "python3"
# kernel with sys.executable); a last cell reports where the kernel found python, helpers and torch
DRIVER = """
import sys, nbformat
from nbclient import NotebookClient
notebook, content, executed = sys.argv[1:]
nb = nbformat.read(notebook, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import json, sys, helpers, torch\\n"
    "print(json.dumps({'python': sys.executable, 'helpers': helpers.__file__, 'torch': torch.__file__,\\n"
    "                  'colab': 'google.colab' in sys.modules}))"))
# errors are kept in the outputs, so that the test can show the first failing cell with what it printed
NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": content}}).execute()  # cwd: the stand-in for /content
nbformat.write(nb, executed)
"""


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def step(name: str, args: list, env: dict) -> str:
    """Run one step and print its time; on failure, fail with the end of its output."""
    start = time.perf_counter()
    done = subprocess.run([str(a) for a in args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=3600)
    print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    if done.returncode:
        pytest.fail(f"{name} failed (exit {done.returncode}); the end of its output:\n{tail(done.stdout)}",
                    pytrace=False)
    return done.stdout


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])  # warnings may come before it


def printed(cell: dict) -> str:
    # a saved notebook stores a stream's text as one string or as a list of lines
    return "".join("".join(o["text"]) for o in cell.get("outputs", []) if o["output_type"] == "stream")


def first_failure(nb: dict) -> str | None:
    """The first cell with an error output: its first line, what it printed, and the traceback."""
    for index, cell in enumerate(nb["cells"]):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if errors:
            traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0]["traceback"]))  # no terminal colours
            title = "".join(cell["source"]).splitlines()[0]
            return f"cell {index} ({title!r}) failed:\n{tail(printed(cell) + traceback)}"
    return None


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git, as the set-up cell does")
def test_colab_setup_cell_clones_installs_and_runs_notebook_01(tmp_path):
    start = time.perf_counter()
    content = tmp_path / "content"  # Colab's /content
    content.mkdir()
    # GitHub: a clone of the commit under test, named like the real repository (the cell names its clone after it)
    github = tmp_path / "github" / "gpt-course"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    step("clone HEAD as the stand-in for GitHub", ["git", "clone", "--quiet", ROOT, github], env)
    commit = step("its commit", ["git", "-C", github, "rev-parse", "HEAD"], env).strip()
    print(f"testing commit {commit[:12]} (uncommitted changes are not in it)")

    # a fake google.colab, imported at start-up by sitecustomize as in Colab's kernel; `google` stays a
    # namespace package (no __init__.py) so that real google.* packages (protobuf) still import
    fake = tmp_path / "fake_colab"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s own package."""\n')
    (fake / "sitecustomize.py").write_text("import google.colab  # Colab's kernel has it before any cell runs\n")

    venv = tmp_path / "colab_venv"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    step("fresh virtual environment", [sys.executable, "-m", "venv", venv], env)
    torch = "torch==" + metadata.version("torch").split("+")[0]  # this machine's torch release, as Colab has one
    step(f"install what Colab brings ({torch}, {', '.join(COLAB_OWN)})",
         [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", torch, *COLAB_OWN,
          "-c", ROOT / "constraints.txt"], env)
    before = last_json(step("torch before the set-up cell", [python, "-c", PACKAGES], env))
    assert not before["transformers"], "the fresh environment must not have transformers yet"

    env.update(PYTHONPATH=str(fake), COURSE_QUICK="1", COURSE_COLAB_CONTENT=str(content),
               COURSE_REPO_URL=github.as_uri())
    executed = tmp_path / "01_attention.executed.ipynb"
    kernel_output = step("notebook 01 in the Colab kernel (the set-up cell clones and runs colab-setup)",
                         [python, "-c", DRIVER, github / "notebooks" / "01_attention.ipynb", content, executed], env)
    nb = json.loads(executed.read_text(encoding="utf-8"))
    failure = first_failure(nb)
    # git and pip, run by the set-up cell, write to the kernel's own output, not to the notebook
    assert failure is None, f"{failure}\n\nwhat the kernel's subprocesses (git, pip) printed:\n{tail(kernel_output)}"
    after = last_json(step("torch after", [python, "-c", PACKAGES], env))

    clone = content / "gpt-course"
    assert (clone / "course.py").exists(), f"the set-up cell did not clone the course into {clone}"
    assert step("the clone's commit", ["git", "-C", clone, "rev-parse", "HEAD"], env).strip() == commit
    assert after["transformers"], "colab-setup did not install transformers"
    assert after["torch"] == before["torch"], "colab-setup replaced Colab's torch"
    probe = last_json(printed(nb["cells"][-1]))
    assert probe["colab"], "the kernel did not look like Colab's"
    assert Path(probe["python"]).is_relative_to(venv), f"the kernel ran {probe['python']}, not the fresh venv's python"
    assert Path(probe["helpers"]).is_relative_to(clone), f"helpers came from {probe['helpers']}, not the clone"
    assert probe["torch"] == before["torch"][1]
    print(f"total: {time.perf_counter() - start:.0f} s")
