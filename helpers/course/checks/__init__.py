"""The exercises' checkers, one module per notebook (``helpers.course.checks.attention`` checks 01_attention, ...).

Every checker takes the learner's answer (usually a function), tries it on small inputs and prints
one of three lines, never raising, so that "Run all" always reaches the end of the notebook:

    ✓ what is right                                   the answer passed; the checker returns it
    … not done yet: a nudge. Continuing with helpers.X  the stub still returns None (or raises
                                                      NotImplementedError); the checker returns
                                                      the course's own implementation
    ✗ what is wrong, and a hint. Continuing with ...   the answer failed a check; same fallback

The notebook then goes on with whatever the checker returned, e.g.

    attention = checks.check_attention(attention)   # yours if it passed, else helpers.models.attention's

The "not done yet" line only nudges: it says what to look at (a quantity, a shape, an earlier cell),
never the answer; the notebook's collapsed Hint and Solution blocks give the next steps. A ✗ line says
what is wrong and what to check, without the solution's code.

A checker body is written as plain assertions: ``not_done(got, hint)`` for a stub's None,
``assert condition, hint`` for a wrong answer and ``passed(message)`` at the end; ``@exercise``
turns that into the three lines above.
"""
from .report import NotDone, described, exercise, not_done, passed

__all__ = ["exercise", "not_done", "passed", "described", "NotDone"]
