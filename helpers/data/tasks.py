"""Part V's three instruction tasks (trivia, sentiment, translation), their answer format, and scoring.

Each example is a dict: ``task``, ``prompt`` (with the one-line format instruction), ``answers``
(accepted), ``others`` (labels that make an answer wrong) and ``response`` (the answer to train on).
A reply counts when it is exactly one line ``Answer: ...`` (``parse_answer``) and names an accepted
answer and no wrong label (``is_correct``).
"""
from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

from helpers.course.runtime import REPO_ROOT

from .assets import asset_path
from .sentiment import load_movie_reviews

TRIVIA_MEMBER = "chatterbot_corpus/data/english/trivia.yml"
WORD_PAIRS = REPO_ROOT / "data" / "english_french_words.tsv"

INSTRUCTION = 'Reply with one line: "Answer: " followed by the short answer, nothing else.'
ANSWER_FORMAT = re.compile(r"Answer: [^\n]{1,60}")  # the whole response, one line


# ----------------------------------------------------------------------------- the three data sets

def load_trivia() -> list[tuple[str, str]]:
    """Return chatterbot-corpus's trivia as (question, answer) pairs, the malformed entry repaired."""
    import yaml  # PyYAML comes with transformers

    conversations = yaml.safe_load(asset_path("chatterbot", TRIVIA_MEMBER).read_text(encoding="utf-8"))["conversations"]
    pairs = []
    for entry in conversations:
        if isinstance(entry, str):  # one entry lost its "- " nesting: 'Question? - '22''
            question, _, answer = entry.rpartition(" - ")
            entry = [question, answer.strip("'\"")]
        question, answer = (str(x).strip() for x in entry)
        pairs.append((question, answer.rstrip(".").strip()))
    return pairs


def load_word_pairs(path: str | Path = WORD_PAIRS) -> list[tuple[str, list[str]]]:
    """Return (English word, accepted French translations) from the course's word list."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, french = line.split("\t")
            pairs.append((english, french.split("|")))
    return pairs


def make_tasks(n_reviews: int = 400, seed: int = 0) -> dict[str, list[dict]]:
    """Return the three tasks as lists of dicts: task, prompt, answers (accepted), others, response."""
    rng = random.Random(seed)
    trivia = [dict(task="trivia", prompt=f"{q}\n{INSTRUCTION}", answers=[a], others=[], response=f"Answer: {a}")
              for q, a in load_trivia() if len(a) <= 40]  # two answers are whole sentences, not short answers
    clear = [(s, v) for s, v in load_movie_reviews() if abs(v) >= 1.5 and len(s.split()) <= 20]  # clear-cut, short
    pos = [s for s, v in clear if v > 0]
    neg = [s for s, v in clear if v < 0]
    rng.shuffle(pos)
    rng.shuffle(neg)
    reviews = [(s, "positive") for s in pos[:n_reviews // 2]] + [(s, "negative") for s in neg[:n_reviews // 2]]
    question = "Is this movie review positive or negative?"
    sentiment = [dict(task="sentiment", prompt=f"{question}\nReview: {s}\n{INSTRUCTION}",
                      answers=[label], others=[{"positive": "negative", "negative": "positive"}[label]],
                      response=f"Answer: {label}") for s, label in reviews]
    translation = [dict(task="translation", prompt=f'Translate the English word "{w}" into French.\n{INSTRUCTION}',
                        answers=fr, others=[], response=f"Answer: {fr[0]}") for w, fr in load_word_pairs()]
    tasks = {"trivia": trivia, "sentiment": sentiment, "translation": translation}
    for rows in tasks.values():
        rng.shuffle(rows)
    return tasks


# ----------------------------------------------------------------------------- scoring answers

def _normal(text: str) -> str:
    """Lowercase, accents and punctuation off, leading articles dropped: 'The Pacific.' -> 'pacific'."""
    text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = re.sub(r"^(the|a|an|le|la|les|l|un|une) ", "", " ".join(text.split()))
    return text.strip()


def parse_answer(response: str) -> str | None:
    """Return the short answer if ``response`` is exactly one line 'Answer: ...', else None."""
    return response[len("Answer: "):].strip() if ANSWER_FORMAT.fullmatch(response) else None


def is_correct(response: str, example: dict) -> bool:
    """Return True when an accepted answer appears in ``response`` (whole words) and no wrong label does."""
    said = f" {_normal(response)} "

    def found(answer):
        return f" {_normal(answer)} " in said

    return any(map(found, example["answers"])) and not any(map(found, example["others"]))


def score(responses: list[str], examples: list[dict]) -> dict[str, float]:
    """Return the shares of responses in the format, correct, and both (correct and in the format)."""
    fmt = [parse_answer(r) is not None for r in responses]
    right = [is_correct(r, e) for r, e in zip(responses, examples)]
    n = max(1, len(responses))
    return {"format": sum(fmt) / n, "correct": sum(right) / n, "both": sum(f and c for f, c in zip(fmt, right)) / n}
