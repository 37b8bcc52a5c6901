"""Checkers for the exercises of notebook 10_few_shot_prompting (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


@exercise(fallback="helpers.api.prompts.few_shot_messages")
def check_few_shot_messages(messages_fn) -> None:
    """Check messages_fn(description, examples, query): system turn, one user/assistant pair per example, user query."""
    cases = [("Translate English to French.", [("cheese", "fromage"), ("sea otter", "loutre de mer")], "plush giraffe"),
             ("Say the opposite.", [], "hot"),
             ("Label the sentiment.", [("great film", "positive")], "dull plot")]
    for description, examples, query in cases:
        got = messages_fn(description, list(examples), query)
        if not_done(got, "the chat cell above builds a conversation: what does one message look like there, and "
                         "in which order do the system, example and query turns come here?"):
            return
        want = [{"role": "system", "content": description}]
        for x, y in examples:
            want += [{"role": "user", "content": x}, {"role": "assistant", "content": y}]
        want.append({"role": "user", "content": query})
        assert isinstance(got, list) and all(isinstance(m, dict) for m in got), \
            f"expected a list of dicts, got {type(got).__name__}"
        assert len(got) == len(want), (f"{len(examples)} example(s) should give {len(want)} messages "
                                       f"(1 system + 2 per example + 1 query), got {len(got)}")
        for i, (g, w) in enumerate(zip(got, want)):
            assert g.get("role") == w["role"], f"message {i}: role should be {w['role']!r}, got {g.get('role')!r}"
            assert g.get("content") == w["content"], \
                f"message {i}: content should be {w['content']!r}, got {g.get('content')!r}"
    passed("examples become prior user/assistant turns, as the chat endpoint expects")


@exercise(fallback="helpers.api.prompts.parse_label")
def check_parse_label(parse_fn) -> None:
    """Check parse_fn(reply, labels) -> the label a free-form reply names first, or None."""
    labels = ("positive", "negative")
    cases = [(" positive", "positive"), ("Negative.", "negative"), ("The sentiment is negative.", "negative"),
             ("**Positive**", "positive"), ("  POSITIVE\n\nReview:", "positive"), ("neutral", None), ("", None),
             ("Positive, not negative", "positive"), ("Not sure; negative I think", "negative"),
             ("The review is negative, not positive.", "negative"), ("Negatively put? No: positive.", "positive")]
    for reply, want in cases:
        got = parse_fn(reply, labels)
        if got is None and want is not None:
            if not_done(parse_fn(" positive", labels), "try the statement's replies, such as 'Positive.' "
                                                       "and 'The sentiment is negative.': what has to go before a "
                                                       "word can equal a label?"):
                return
        assert not (want is None and got == ""), \
            f"parse_label({reply!r}) gave '': return None when no word is a label, so that a caller can test `is None`"
        assert got == want, f"parse_label({reply!r}) should be {want!r}, got {got!r}" + (
            ": a label must be a whole word, and the first one in the reply wins" if want and got else "")
    passed("free-form replies map to labels (or None), so chat answers can be scored too")
