"""pytest configuration shared by the unit tests and the notebook runs (nbval)."""
import os

# Quick mode for every notebook kernel nbval starts (kernels inherit this environment).
os.environ["COURSE_QUICK"] = "1"
# Text progress bars only, and no network retries for hub lookups in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
