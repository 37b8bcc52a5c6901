#!/usr/bin/env python3
"""Set up, open and test the course with one command each (Python 3.10+, any OS).

    python course.py lab     # first time: make .venv and install requirements; then Jupyter Lab
    python course.py test    # the whole test suite: helpers' unit tests + every notebook (quick mode)
    python course.py setup   # only the install (the two commands above run it themselves)

Extra words after `test` go to pytest, e.g. `python course.py test tests/ -x`.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def setup() -> Path:
    """Create .venv and install requirements.txt into it, again only when that file changed."""
    if sys.version_info < (3, 10):
        sys.exit(f"the course needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        print(f"creating the virtual environment {VENV.name}/ ...", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / ".requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        print("installing requirements.txt (a few minutes the first time) ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(REQUIREMENTS)], cwd=ROOT, check=True)
        stamp.write_text(wanted)
    return python


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "setup":
        setup()
        return 0
    if command == "lab":
        return subprocess.call([str(setup()), "-m", "jupyter", "lab", str(ROOT / "notebooks"), *rest], cwd=ROOT)
    if command == "test":
        return subprocess.call([str(setup()), "-m", "pytest", *rest], cwd=ROOT)
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
