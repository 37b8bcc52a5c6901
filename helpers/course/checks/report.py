"""How a checker reports: ✓ / not done yet / ✗ lines instead of exceptions (see helpers.course.checks)."""
from __future__ import annotations

import functools
import importlib
import traceback

from ..messages import joined, say, sentence


class NotDone(Exception):
    """Raised inside a checker when the learner's answer is still the stub's (None)."""


def passed(message: str) -> None:
    """Print the confirmation a checker shows when an answer is right."""
    print(f"✓ {say(message)}")


def not_done(answer, hint: str) -> bool:
    """Stop the check with "not done yet: hint" when the learner's answer is None; else return False."""
    if answer is None:
        raise NotDone(hint)
    return False


def described(x) -> str:
    """Return 'Tensor (2, 3)' or the type's name, to say what a learner's function gave back."""
    return f"{type(x).__name__} {tuple(x.shape)}" if hasattr(x, "shape") else type(x).__name__


def _resolve(path: str):
    """Return the object at "package.module.name" (imported when first needed)."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _learner_error(error: BaseException) -> str:
    """Return 'TypeError: ... (line 4 of your cell)' for an exception raised inside the learner's code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "helpers" not in f.filename.replace("\\", "/")]
    raised = f"{type(error).__name__}: {error}"
    if frames and frames[-1].line:  # a sentence of its own, so that the catalog translates "line" too
        return say(f"calling your code raised {raised} (line {frames[-1].lineno}: {frames[-1].line.strip()!r})")
    return say(f"calling your code raised {raised}")


def exercise(fallback: str | None = None):
    """Decorate a checker body: print ✓ / not done yet / ✗ instead of raising; return what to use next.

    ``fallback`` names the course's implementation ("helpers.models.attention.causal_mask") that the
    notebook continues with when the learner's answer is not done or wrong.
    """
    def wrap(body):
        @functools.wraps(body)
        def check(answer, *args, **kwargs):
            then = say(f"Continuing with {fallback} for now.") if fallback else ""
            try:
                body(answer, *args, **kwargs)
            except (NotDone, NotImplementedError) as stub:
                hint = str(stub) if isinstance(stub, NotDone) else "your function raises NotImplementedError"
                print(f"… {say('not done yet')}: {joined(sentence(say(hint)), then)}")
            except AssertionError as wrong:
                print(f"✗ {joined(sentence(say(str(wrong))), then)}")
            except Exception as error:  # the learner's code crashed: say where, keep the notebook going
                print(f"✗ {joined(sentence(_learner_error(error)), then)}")
            else:
                return answer
            return _resolve(fallback) if fallback else None
        check.fallback = fallback
        return check
    return wrap
