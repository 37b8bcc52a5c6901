"""What `python course.py setup` installs: the pinned versions, and what the Colab set-up cell installs."""
import importlib.util
import os
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name.lower())] = version
    return found


def requirement_names() -> list[str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return [re.match(r"[A-Za-z0-9_.\-]+", line).group(0).lower() for line in lines if line and not line.startswith("-")]


def test_every_requirement_but_torch_is_pinned():
    pinned = pins()
    missing = [n for n in requirement_names() if n != "torch" and re.sub(r"[-_.]+", "-", n) not in pinned]
    assert not missing, f"constraints.txt lacks {missing}: run `python course.py lock` after installing them"
    assert "torch" not in pinned, "torch is not pinned: its build (CPU, CUDA) depends on the machine"


def test_installed_versions_are_the_pinned_ones():
    if os.environ.get("COURSE_LATEST"):
        pytest.skip("`course.py test --latest` runs against the newest releases, not the pins")
    if (Path(sys.prefix) / ".unpinned").exists():
        pytest.skip("the pins did not install on this Python; setup fell back to the newest compatible releases")
    pinned = pins()
    wrong = {}
    for name in requirement_names():
        key = re.sub(r"[-_.]+", "-", name)
        if key in pinned and metadata.version(name) != pinned[key]:
            wrong[name] = (metadata.version(name), pinned[key])
    assert not wrong, f"installed vs pinned: {wrong}; run `python course.py setup`"


def test_colab_installs_the_course_requirements_at_their_pins_and_keeps_its_own_torch():
    wanted = course.colab_requirements()
    pinned = pins()
    assert "transformers==" + pinned["transformers"] in wanted and "peft==" + pinned["peft"] in wanted
    assert not [w for w in wanted if w.split("==")[0].split("[")[0] in ("torch", "numpy", "matplotlib", "jupyterlab",
                                                                         "pytest", "nbval", "ipywidgets", "selenium")]
    assert all("==" in w for w in wanted)
