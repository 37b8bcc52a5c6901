"""The course machinery around the notebooks: their settings, key figures and reference runs, the checkers.

    runtime.py     COURSE_ variables, repository and cache folders, device, seeding, quick mode
    precision.py   the compute precision per device (bf16 / fp16 + gradient scaler / fp32), COURSE_DTYPE
    messages.py    say(): the course's sentences in COURSE_LANG (English, or Japanese from messages_ja.py)
    notebook.py    what a notebook calls first: versions() and settings(...) (its sizes, quick mode)
    figures.py     record(): a run's key figures, which ``course.py run`` collects
    reference.py   "is my run normal?": a loss curve against the stored reference
    checks/        the exercises' checkers, one module per notebook

runtime, precision and messages are the low layer that training, generation, api and data may import; the
rest sits on top of everything (the checkers import the course's own solutions to compare with).
"""
from .figures import record
from .notebook import settings, versions
from .precision import Precision, choose_precision
from .reference import check_run
from .runtime import cache_dir, get_device, is_quick, seed_everything

__all__ = ["Precision", "cache_dir", "check_run", "choose_precision", "get_device", "is_quick", "record",
           "seed_everything", "settings", "versions"]
