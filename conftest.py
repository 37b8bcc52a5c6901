"""pytest configuration shared by the unit tests and the notebook runs (nbval)."""
import os

import pytest

# Quick mode for every notebook kernel nbval starts (kernels inherit this environment).
os.environ["COURSE_QUICK"] = "1"
# Text progress bars only, and no network retries for hub lookups in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# Notebooks that hand files to each other run in one worker, in this order: 12 loads the models 11 saves
# (a worker running 12 while another saves 11's runs could read half a folder).
CHAINED = ("11_instruction_tuning.ipynb", "12_rl_from_feedback.ipynb")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    """Mark the notebooks (nbval) ``download``: each reads texts or models from PyPI's assets.

    Each test file is one xdist group (``course.py test`` runs ``--dist loadgroup``), so a file's tests,
    a notebook's cells among them, run in order in one worker; the CHAINED notebooks share a group.
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.download)
        group = "chained notebooks" if item.path.name in CHAINED else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))
