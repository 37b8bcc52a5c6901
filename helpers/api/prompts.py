"""Few-shot prompts in the two shapes the APIs take, and reading a label back out of a reply.

    few_shot_prompt(description, examples, query)    one string, GPT-3's `input => answer` lines
    few_shot_messages(description, examples, query)  chat turns: system, (user, assistant) per example, user
    parse_label(reply, labels)                       the first word of a free-form reply that is a label
"""
from __future__ import annotations

import re


def few_shot_prompt(description: str, examples, query: str, arrow: str = "=>") -> str:
    """Return a GPT-3-style prompt: the task description, one ``x => y`` line per example, ``query =>``."""
    lines = [description.strip(), ""] if description else []
    lines += [f"{x} {arrow} {y}" for x, y in examples]
    lines.append(f"{query} {arrow}")
    return "\n".join(lines)


def few_shot_messages(description: str, examples, query: str) -> list[dict]:
    """Return chat messages: the description as the system turn, each example as a user/assistant pair, the query."""
    messages = [{"role": "system", "content": description}]
    for x, y in examples:
        messages += [{"role": "user", "content": x}, {"role": "assistant", "content": y}]
    return messages + [{"role": "user", "content": query}]


def parse_label(reply: str, labels) -> str | None:
    """Return the first word of ``reply`` (case and punctuation ignored) that is one of ``labels``, else None."""
    wanted = {label.lower() for label in labels}
    for word in re.findall(r"[a-z0-9]+", reply.lower()):
        if word in wanted:
            return word
    return None
