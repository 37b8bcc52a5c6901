"""pytest configuration shared by the unit tests and the notebook runs (nbval)."""
import os

# Quick mode for every notebook kernel nbval starts (kernels inherit this environment).
os.environ["COURSE_QUICK"] = "1"
# Text progress bars only, and no network retries for hub lookups in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The Japanese notebooks run the English notebooks' code (tools/translate.py builds them): nbval runs the
# English ones; tests/tools/test_translate.py executes a Japanese one and checks that it speaks Japanese.
collect_ignore_glob = ["notebooks/ja/*"]


def pytest_collection_modifyitems(config, items):
    """Mark the notebooks (nbval) ``download``: each reads texts or models from PyPI's assets."""
    import pytest

    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.download)
