"""Checkers for the notebooks' exercises: each takes the learner's answer and says what is right.

A checker raises AssertionError with a hint when the answer is wrong and prints a short
confirmation when it is right, so the learner sees progress without seeing the solution.
"""
from __future__ import annotations


def passed(message: str) -> None:
    """Print the confirmation a checker shows when an answer is right."""
    print(f"✓ {message}")


def not_done(answer, hint: str) -> bool:
    """Return True, after printing the hint, when the learner's function still returns None."""
    if answer is None:
        print(f"… not done yet: {hint}")
        return True
    return False


# --- 01_attention -------------------------------------------------------------------------------

# --- 02_gpt_block -------------------------------------------------------------------------------

# --- 03_tokenization ----------------------------------------------------------------------------
