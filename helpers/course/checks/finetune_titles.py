"""Checkers for the exercises of notebook 09_finetune_titles (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


@exercise(fallback="helpers.data.titles.make_document")
def check_make_document(make_fn) -> None:
    """Check make_fn(text, label) = "<|startoftext|>[label] text<|endoftext|>" (no "[label] " if None)."""
    from helpers.data.titles import make_document

    cases = [("Cats sleep a lot", "no number"), ("Mensa offers an IQ test", "politics"),
             ("There are 206 bones", "number"), ("Just a title", None)]
    for text, label in cases:
        got = make_fn(text, label)
        if not_done(got, "write out by hand the document of one labelled and one unlabelled title from the "
                         "statement's pattern: which part depends on the label?"):
            return
        want = make_document(text, label)
        assert isinstance(got, str), \
            f"make_document({text!r}, {label!r}) should return one string, got {type(got).__name__}"
        if got == want:
            continue
        assert got.startswith("<|startoftext|>"), f"{got!r}: a document starts with <|startoftext|>"
        assert got.endswith("<|endoftext|>"), f"{got!r}: a document ends with <|endoftext|>, right after the text"
        if label is None:
            raise AssertionError(f"{got!r}: with label=None there is no control prefix, "
                                 f"just the text between the tokens")
        assert f"[{label}]" in got, f"{got!r}: the control prefix is the label in square brackets, [{label}]"
        raise AssertionError(f"{got!r}: expected {want!r} (one space after the ], none elsewhere)")
    passed("documents match helpers.data.titles.make_document")


@exercise(fallback="helpers.data.titles.jaccard")
def check_jaccard(jaccard_fn) -> None:
    """Check jaccard_fn(a, b) = |A ∩ B| / |A ∪ B| of the two texts' word sets (titles.word_set)."""
    from helpers.data.titles import jaccard

    cases = [("The cat sat", "the cat"), ("dogs dogs dogs bark", "dogs sleep"), ("A B C", "a b c"),
             ("Trump signs the bill", "Senate passes the bill today"), ("good boye", "a heck of a grow")]
    for a, b in cases:
        got = jaccard_fn(a, b)
        if not_done(got, "titles.word_set turns a text into a set of words; which two set operations does "
                         "|A ∩ B| / |A ∪ B| need?"):
            return
        want = jaccard(a, b)
        if abs(float(got) - want) < 1e-9:
            continue
        A, B = a.lower().split(), b.lower().split()
        shared = len(set(A) & set(B))
        assert abs(float(got) - shared / max(len(A), len(B))) > 1e-9 or shared == 0, \
            f"jaccard({a!r}, {b!r}) = {got}: divide by the size of the union A | B, not of the longer text"
        assert abs(float(got) - shared / min(len(set(A)), len(set(B)))) > 1e-9, \
            f"jaccard({a!r}, {b!r}) = {got}: divide by the size of the union A | B, not of the smaller set"
        raise AssertionError(f"jaccard({a!r}, {b!r}) = {got}, expected {want:.3f}: compare the word SETS "
                             f"(repeats count once, case ignored), |A ∩ B| / |A ∪ B|")
    passed("Jaccard similarity is right, repeated words and case included")
