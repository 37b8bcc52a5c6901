#!/usr/bin/env python3
"""Set up, open and test the course with one command each (Python 3.10+, any OS).

    python course.py lab             # first time: make .venv and install the pinned requirements; then Jupyter Lab
    python course.py test            # ruff, then the whole suite (unit tests + every notebook in quick mode),
                                     # then the precision matrix: the numerics tests under float32 and bfloat16
                                     # (the leg in this machine's own precision is the suite itself)
    python course.py test --latest   # the same suite against the newest releases, in .venv-latest
    python course.py test --dtype bfloat16   # the precision-sensitive tests with COURSE_DTYPE forced, tiny models
    python course.py test --colab    # the notebooks' Colab set-up path, end to end in a fresh venv (~3 min)
    python course.py test --browser  # only the checks that need headless Chromium (playground, site)
    python course.py run [NN ...] [--quick] [--html]   # execute notebooks in fresh kernels: times, key figures, a site
    python course.py translate [--check | --update]    # build notebooks/ja/ from the English + translations/ja/
    python course.py setup           # only the install (the commands above run it themselves)
    python course.py lock            # rewrite constraints.txt from .venv (after re-executing the notebooks)

Extra words after `test` go to pytest, e.g. `python course.py test tests/ -x`.

requirements.txt says what the course needs (ranges); constraints.txt pins the exact versions the
committed notebooks were executed with. `setup` installs requirements.txt under constraints.txt;
`test --latest` ignores the pins and upgrades everything, so a breaking release shows up there first.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REQUIREMENTS = ROOT / "requirements.txt"
CONSTRAINTS = ROOT / "constraints.txt"
VENVS = {"pinned": ROOT / ".venv", "latest": ROOT / ".venv-latest"}
# requirements.txt lines marked with one of these are not installed by the Colab set-up cell
COLAB_SKIPS = ("# local", "# colab keeps its own")


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pip(python: Path, *args: str) -> int:
    return subprocess.call([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
                           cwd=ROOT)


def setup(latest: bool = False) -> Path:
    """Create the virtual environment and install the requirements; return its python.

    Pinned (default): requirements.txt under constraints.txt, again only when either file changed.
    Latest: every requirement upgraded to its newest release, on every call.
    """
    if sys.version_info < (3, 10):  # noqa: UP036 (course.py runs under any python3 and must say what it needs)
        sys.exit(f"the course needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    folder = VENVS["latest" if latest else "pinned"]
    python = venv_python(folder)
    if not python.exists():
        print(f"creating the virtual environment {folder.name}/ ...", flush=True)
        venv.create(folder, with_pip=True)
    if latest:
        print("installing the newest releases of requirements.txt (constraints.txt ignored) ...", flush=True)
        if pip(python, "--upgrade", "--upgrade-strategy", "eager", "-r", str(REQUIREMENTS)):
            sys.exit("pip could not install the newest releases (its error is above)")
        return python
    stamp = folder / ".requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes() + CONSTRAINTS.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        print("installing requirements.txt with the pinned versions of constraints.txt (a few minutes the first "
              "time) ...", flush=True)
        if pip(python, "-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS)):
            # a pin can lack a build for this Python or OS (e.g. numpy 2.4 needs Python 3.11+)
            print(f"the pinned versions do not all install on Python {sys.version.split()[0]} here; installing "
                  f"the newest compatible releases instead (`python course.py test` checks them)", flush=True)
            if pip(python, "-r", str(REQUIREMENTS)):
                sys.exit("pip could not install requirements.txt (its error is above)")
            (folder / ".unpinned").write_text("the pins of constraints.txt did not install here\n")
        else:
            (folder / ".unpinned").unlink(missing_ok=True)
        stamp.write_text(wanted)
    return python


def lock() -> int:
    """Write constraints.txt: the exact versions installed in .venv (what the notebooks ran with)."""
    python = venv_python(VENVS["pinned"])
    if not python.exists():
        sys.exit("no .venv yet: run `python course.py setup` first")
    frozen = subprocess.run([str(python), "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True).stdout
    # torch stays out: its build depends on the machine (CPU, CUDA), so requirements.txt's range governs it
    pins = sorted((line.split("+")[0] for line in frozen.splitlines()
                   if "==" in line and not line.lower().startswith(("torch==", "nvidia-", "triton=="))), key=str.lower)
    header = ("# The exact versions the committed notebooks were executed with (`python course.py lock` wrote\n"
              "# this from .venv). `python course.py setup` installs requirements.txt under these pins;\n"
              "# `python course.py test --latest` ignores them. torch is not pinned: requirements.txt's range\n"
              "# keeps a torch you installed yourself (a CUDA build, say).\n")
    CONSTRAINTS.write_text(header + "\n".join(pins) + "\n")
    print(f"wrote {CONSTRAINTS.name}: {len(pins)} pinned packages")
    return 0


def colab_requirements(requirements: Path = REQUIREMENTS, constraints: Path = CONSTRAINTS) -> list[str]:
    """Return the pip arguments the Colab set-up cell installs: each course requirement at its pinned version.

    Lines marked "# local" (Jupyter, pytest) or "# colab keeps its own" (torch, numpy, ...) are skipped:
    replacing Colab's own builds of those would force a runtime restart.
    """
    pinned = {}
    for line in constraints.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pinned[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    wanted = []
    for line in requirements.read_text().splitlines():
        spec = line.split("#")[0].strip()
        if not spec or spec.startswith("-") or any(mark in line for mark in COLAB_SKIPS):
            continue
        name = re.match(r"[A-Za-z0-9_.\-]+(\[[^\]]*\])?", spec).group(0)
        key = re.sub(r"[-_.]+", "-", name.split("[")[0].lower())
        wanted.append(f"{name}=={pinned[key]}" if key in pinned else spec)
    return wanted


def lab(rest: list[str]) -> int:
    python = setup()
    extra = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers, some cloud notebooks
        print("running as root (a container?): starting Jupyter with --allow-root", flush=True)
        extra.append("--allow-root")
    return subprocess.call([str(python), "-m", "jupyter", "lab", str(ROOT / "notebooks"), *extra, *rest], cwd=ROOT)


def pytest(python: Path, args: list[str], env: dict | None = None, title: str = "") -> int:
    if title:
        print(f"\n=== {title}: pytest {' '.join(args)}", flush=True)
    return subprocess.call([str(python), "-m", "pytest", *args], cwd=ROOT, env={**os.environ, **(env or {})})


def suite_workers() -> tuple[int, int]:
    """Return (pytest workers, torch threads each) for the whole suite on this machine's cores.

    One process alone keeps about one core busy (Python, kernels starting, a server answering), so
    the suite runs in up to four workers; their torch threads together never outnumber the cores, since
    threads that wait for a busy core make a matmul many times slower.
    """
    cores = os.cpu_count() or 1
    workers = max(1, min(4, cores))
    return workers, max(1, cores // workers)


def machine_precision(python: Path) -> str:
    """Return the precision the course chooses on this machine's default device (COURSE_DTYPE unset)."""
    code = "from helpers.course.precision import choose_precision; print(choose_precision().name)"
    env = {key: value for key, value in os.environ.items() if key != "COURSE_DTYPE"}
    done = subprocess.run([str(python), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout.strip() else ""


def lint(python: Path) -> int:
    """Run ``ruff check`` on the repository (its settings are in pyproject.toml); return its exit code."""
    print("=== ruff check .", flush=True)
    return subprocess.call([str(python), "-m", "ruff", "check", "."], cwd=ROOT)


def test(rest: list[str]) -> int:
    """Run the tests: with no pytest arguments, ruff, the whole suite and then the precision matrix.

    ruff runs first and a finding stops there (its message says what to fix). The precision matrix
    runs the tests marked ``numerics`` again under float32 and under bfloat16 (``COURSE_DTYPE``
    forced, tiny models: see ``tests/conftest.py``), so that any machine checks what a CPU with bf16
    units, or a GPU, computes. The leg in the precision this machine chooses is skipped: the suite
    has just run those tests in it, with the real weights. ``--dtype NAME`` runs one leg alone: the
    numerics tests, or the tests given (options alone, such as ``-q``, still select the numerics tests).
    """
    latest, browser, colab = (flag in rest for flag in ("--latest", "--browser", "--colab"))
    dtype = rest[rest.index("--dtype") + 1] if "--dtype" in rest[:-1] else None
    if "--dtype" in rest and dtype not in ("float32", "bfloat16", "float16"):
        print("--dtype takes float32, bfloat16 or float16, e.g. python course.py test --dtype bfloat16")
        return 2
    if dtype:
        rest.remove(dtype)
    rest = [word for word in rest if word not in ("--latest", "--browser", "--colab", "--dtype")]
    python = setup(latest=latest)
    env = {"COURSE_LATEST": "1"} if latest else {}
    if browser:  # only the checks that drive a real Chromium (tests/browser/)
        return pytest(python, ["-m", "browser", str(ROOT / "tests" / "browser"), *rest], env)
    if colab:  # the notebooks' set-up cell as Colab runs it, in a fresh virtual environment
        return pytest(python, ["-m", "colab", str(ROOT / "tests" / "install" / "test_colab_setup.py"), *rest], env)
    if not rest and not dtype and lint(python):
        return 1
    legs = [dtype] if dtype else ["float32", "bfloat16"]
    if dtype:
        code = 0
    elif rest:
        code = pytest(python, rest, env)
    else:  # the whole suite, one worker per core (whole files per worker: a notebook's cells run in order)
        workers, threads = suite_workers()
        spread = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []
        code = pytest(python, spread, {**env, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))})
    if rest and not dtype:
        return code
    if not dtype and not os.environ.get("COURSE_DTYPE"):
        # the suite above already ran the numerics tests, with the real weights, in the precision this
        # machine chose: a leg in that precision would repeat it with a smaller model
        chosen_here = machine_precision(python)
        if chosen_here in legs and len(legs) > 1:
            legs.remove(chosen_here)
            print(f"\n=== precision matrix, {chosen_here}: run by the suite above (this machine chose {chosen_here})",
                  flush=True)
    # what a leg runs: the numerics tests, unless the words choose tests (a path, or a -m/-k of their own)
    chosen = any(word in ("-m", "-k") or (ROOT / word.split("::")[0]).exists() for word in rest)
    leg_args = rest if chosen else ["-m", "numerics", "tests", *(rest or ["-q"])]
    for name in legs:
        leg_env = {**env, "COURSE_DTYPE": name, "COURSE_TEST_MODEL": "tiny"}
        code = pytest(python, leg_args, leg_env, f"precision matrix, {name}") or code
    return code


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "setup":
        setup(latest="--latest" in rest)
        return 0
    if command == "lock":
        return lock()
    if command == "colab-setup":  # what the notebooks' set-up cell runs in Colab
        return pip(Path(sys.executable), *colab_requirements())
    if command == "lab":
        return lab(rest)
    if command == "run":  # execute notebooks like a teacher before a workshop (tools/run_course.py)
        return subprocess.call([str(setup()), str(ROOT / "tools" / "run_course.py"), *rest], cwd=ROOT)
    if command == "translate":  # the Japanese notebooks, built from the English ones (tools/translate.py)
        return subprocess.call([str(setup()), str(ROOT / "tools" / "translate.py"), *rest], cwd=ROOT)
    if command == "test":
        return test(rest)
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
