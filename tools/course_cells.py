"""The cells every notebook opens with, written once: the Colab badge and the set-up cell.

    python tools/course_cells.py notebooks/*.ipynb   # (re)write those cells in the notebooks

tests/notebooks/test_notebooks_layout.py checks that every notebook carries exactly these cells, so the
repository URL below is the only place to change when the course moves.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_URL = "https://github.com/gpt-from-scratch/gpt-course"
BRANCH = "main"

SETUP_SOURCE = f'''\
#@title Set-up (in Colab: fetch the course, install its pinned requirements; elsewhere: find helpers/)
# On your own machine nothing is installed here: `python course.py lab` did that.
import os, subprocess, sys
from pathlib import Path

# the two COURSE_ variables let tests/install/test_colab_setup.py play Colab anywhere; in Colab they are unset
REPO_URL = os.environ.get("COURSE_REPO_URL", "{REPO_URL}")
if "google.colab" in sys.modules:
    root = Path(os.environ.get("COURSE_COLAB_CONTENT", "/content")) / REPO_URL.rsplit("/", 1)[-1]
    if not root.exists():
        subprocess.run(["git", "clone", "--depth=1", REPO_URL, str(root)], check=True)
        subprocess.run([sys.executable, str(root / "course.py"), "colab-setup"], check=True)  # keeps Colab's torch
else:
    root = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "helpers" / "__init__.py").exists())
sys.path.insert(0, str(root))'''
# collapsed where the notebook opens: Colab's form view, JupyterLab's hidden source
SETUP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}


# what the set-up cell of a translated notebook adds (tools/translate.py builds those notebooks)
LANGUAGE_LINE = {
    "ja": 'os.environ.setdefault("COURSE_LANG", "ja")  # checkers, verdicts and the playground speak Japanese',
}


def setup_source(lang: str = "en") -> str:
    """Return the set-up cell's code: the English one, with one line that sets COURSE_LANG for a translation."""
    if lang == "en":
        return SETUP_SOURCE
    first, rest = SETUP_SOURCE.split("from pathlib import Path\n", 1)
    return f"{first}from pathlib import Path\n\n{LANGUAGE_LINE[lang]}\n{rest}"


def badge_source(notebook: str, lang: str = "en") -> str:
    """Return the Markdown of the 'Open in Colab' badge for notebooks/<notebook> (notebooks/ja/... in Japanese)."""
    path = REPO_URL.replace("https://github.com/", "")
    folder = "notebooks" if lang == "en" else f"notebooks/{lang}"
    url = f"https://colab.research.google.com/github/{path}/blob/{BRANCH}/{folder}/{notebook}"
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return f'<a href="{url}" target="_parent"><img src="{badge}" alt="Open In Colab"/></a>'


def lines_of(text: str) -> list[str]:
    """Return ``text`` as a notebook stores a cell's source or a stream: lines that keep their line breaks."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def sync(path: Path) -> None:
    """Make cell 0 the badge and the first code cell the set-up cell of the notebook at ``path``."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    badge = {"cell_type": "markdown", "id": "colab-badge", "metadata": {}, "source": lines_of(badge_source(path.name))}
    if cells and cells[0]["cell_type"] == "markdown" and "colab-badge" in "".join(cells[0]["source"]):
        cells[0] = badge
    else:
        cells.insert(0, badge)
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    cells[first_code]["source"] = lines_of(SETUP_SOURCE)
    cells[first_code]["metadata"] = {**cells[first_code].get("metadata", {}), **SETUP_METADATA}
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        sync(Path(name))
        print(f"synced {name}")
