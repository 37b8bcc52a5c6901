"""Movie-review sentences with human sentiment scores (VADER's ground truth), for few-shot tests.

vaderSentiment's sdist carries the data of Hutto & Gilbert (ICWSM 2014) as a tar.gz inside the
tar.gz: ``asset_path`` pulls that inner archive out once, and we read one member of it here.
Each of the 10,605 sentences has the mean of about 20 people's ratings on a −4…+4 scale.
"""
from __future__ import annotations

import random
import tarfile

from .assets import asset_path

INNER_ARCHIVE = "additional_resources/hutto_ICWSM_2014.tar.gz"
MOVIE_MEMBER = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"


def load_movie_reviews() -> list[tuple[str, float]]:
    """Return all 10,605 (sentence, mean human score −4…+4) pairs of VADER's movie-review set."""
    with tarfile.open(asset_path("vader", INNER_ARCHIVE)) as tf:
        raw = tf.extractfile(MOVIE_MEMBER).read().decode("utf-8")
    rows = []
    for line in raw.splitlines():
        if line.strip():
            _, score, text = line.split("\t", 2)  # id, score, sentence
            rows.append((text.strip(), float(score)))
    return rows


def labelled_reviews(n: int, max_words: int = 15, seed: int = 0, skip: int = 0) -> list[tuple[str, str]]:
    """Return ``n`` (sentence, "positive"|"negative") pairs, half each, score ≥ +1 or ≤ −1, shuffled.

    Sentences longer than ``max_words`` are left out (short prompts keep a CPU server fast); ``skip``
    drops that many of each label first, so two calls with different ``skip`` never share a sentence.
    """
    if n < 2 or n % 2:
        raise ValueError(f"n={n}: ask for an even number of at least 2 sentences (half positive, half negative)")
    rows = [(t, s) for t, s in load_movie_reviews() if len(t.split()) <= max_words]
    random.Random(seed).shuffle(rows)
    pos = [(t, "positive") for t, s in rows if s >= 1][skip:skip + n // 2]
    neg = [(t, "negative") for t, s in rows if s <= -1][skip:skip + n // 2]
    if len(pos) < n // 2 or len(neg) < n // 2:
        raise ValueError(f"only {len(pos)} positive and {len(neg)} negative sentences of ≤ {max_words} words "
                         f"after skipping {skip}: ask for fewer, or allow longer sentences")
    both = pos + neg
    random.Random(seed + 1).shuffle(both)
    return both
