"""Was this text in the training data? Per-token log-probabilities, and the Min-K% score built on them.

A model that has read a text many times predicts its tokens well everywhere; on a text it never
saw, some tokens surprise it badly. Min-K% Prob (Shi et al. 2023, "Detecting Pretraining Data from
Large Language Models") averages only the k% *least* likely tokens of a text: on a seen text even
those are fairly likely, on an unseen one they are very unlikely. Compare a text's score with texts
of the same kind and length that cannot have been in the training data (written after the model,
or the same text shuffled): a score well above theirs suggests the text was trained on.

    scores = [min_k_prob(model, tokenizer, text) for text in texts]   # higher: more likely seen

``FAMOUS`` names three texts that are on countless web pages; ``FRESH`` holds three of the same
kinds (a sonnet, a verse soliloquy, a declaration in 18th-century prose) written for this course,
so no model trained before it can have read them. ``shuffled_words`` makes a third control.
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from helpers.data.corpora import load_plays, load_sonnets

from .likelihood import logits_of


@torch.no_grad()
def token_logprobs(model, tokenizer, text: str, max_tokens: int = 512) -> torch.Tensor:
    """Return log p(token_t | tokens before t) for each token of ``text`` after the first, (T-1,)."""
    ids = tokenizer.encode(text, add_special_tokens=False)[:max_tokens]
    if len(ids) < 2:
        raise ValueError(f"the text has {len(ids)} token(s): give at least two tokens to score")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    idx = torch.tensor([ids], device=device)
    logits = logits_of(model, idx[:, :-1]).float()  # (1, T-1, vocab)
    model.train(was_training)
    return -F.cross_entropy(logits[0], idx[0, 1:], reduction="none").cpu()  # (T-1,)


def min_k_prob(model, tokenizer, text: str, k: float = 0.2, max_tokens: int = 512) -> float:
    """Return the mean log-probability of the k% least likely tokens of ``text`` (higher: more likely seen)."""
    if not 0 < k <= 1:
        raise ValueError(f"k={k}: give the share of tokens to average, between 0 (exclusive) and 1, e.g. 0.2")
    logps = token_logprobs(model, tokenizer, text, max_tokens)
    lowest = logps.sort().values[:max(1, int(k * len(logps)))]
    return lowest.mean().item()


def mean_logprob(model, tokenizer, text: str, max_tokens: int = 512) -> float:
    """Return the mean log-probability per token of ``text`` (minus its loss; k = 100% of Min-K%)."""
    return token_logprobs(model, tokenizer, text, max_tokens).mean().item()


DECLARATION = ("When in the Course of human events, it becomes necessary for one people to dissolve the political "
               "bands which have connected them with another, and to assume among the powers of the earth, the "
               "separate and equal station to which the Laws of Nature and of Nature's God entitle them, a decent "
               "respect to the opinions of mankind requires that they should declare the causes which impel them "
               "to the separation. We hold these truths to be self-evident, that all men are created equal, that "
               "they are endowed by their Creator with certain unalienable Rights, that among these are Life, "
               "Liberty and the pursuit of Happiness.")

# Written for this course: the same kinds of text as the famous ones, found in no training set.
FRESH = {
    "new sonnet": (
        "When morning lays her silver on the lake\n"
        "And every reed still trembles from the night,\n"
        "I count the journeys that the swallows make\n"
        "Before they turn their faces from the light.\n"
        "The miller's wheel complains, the river sighs,\n"
        "The orchard drops its apples in the grass,\n"
        "And I, who praised the summer's painted skies,\n"
        "Must watch their colours fade as seasons pass.\n"
        "Yet grieve not, for the things the year unmakes\n"
        "The patient earth will fashion new in spring;\n"
        "The seed that sleeps beneath the frost awakes,\n"
        "And birds that ceased their music learn to sing.\n"
        "  So love, though winter shut the garden gate,\n"
        "  Will find the latch, however long it wait."),
    "new soliloquy": (
        "O weary night, that wrap'st the sleeping town\n"
        "In borrowed velvet, lend me yet an hour.\n"
        "What is this crown but iron dressed in gold,\n"
        "That bends the neck it promised to make proud?\n"
        "My father wore it lightly, or so seemed,\n"
        "And smiled at council while his counsel bled.\n"
        "Now every lord that kneels before my chair\n"
        "Keeps one knee bent and one eye on the door.\n"
        "Shall I be loved, or feared, or only served?\n"
        "The clock says nothing, and the candle less."),
    "new declaration": (
        "Whenever the officers of a free city, chosen by its people to keep the common peace, turn the powers "
        "entrusted to them against the very persons they were chosen to protect, it becomes the duty of the "
        "citizens to set before the world a plain account of their grievances, that honest observers may judge "
        "whether the patience so long shown has been rewarded with justice, or whether the time has come to "
        "withdraw the consent on which all lawful government depends. We count it beyond dispute that no "
        "office is owned by the one who holds it, that every magistrate answers to the people who appointed "
        "him, and that a law kept secret from those it binds is no law at all."),
}


def famous_texts() -> dict[str, str]:
    """Return Sonnet 18, Hamlet's "To be, or not to be" and the opening of the US Declaration of Independence."""
    plays = load_plays()
    start = plays.find("To be, or not to be")
    return {"Sonnet 18": load_sonnets()[17], "Hamlet": plays[start:start + 600], "Declaration": DECLARATION}


def shuffled_words(text: str, seed: int = 0) -> str:
    """Return ``text`` with its words shuffled within each line: the same words, in an order nobody wrote."""
    rng = random.Random(seed)
    lines = []
    for line in text.splitlines():
        words = line.split()
        rng.shuffle(words)
        lines.append(" ".join(words))
    return "\n".join(lines)


def same_length(tokenizer, texts: dict[str, str]) -> int:
    """Return the token count of the shortest text, so that every text can be scored on as many tokens."""
    return min(len(tokenizer.encode(t, add_special_tokens=False)) for t in texts.values())

