"""Named fine-tuning runs on disk (``checkpoint/<run_name>/``), and copies of them on Google Drive.

A run folder holds what ``save_pretrained`` writes (the LoRA adapter, or the whole model for full
fine-tuning), the tokenizer, ``run.json`` (base model, method, settings, step count, loss history)
and ``training_state.pt`` (the optimizer's moments, the batch sampler's random state), so that
``finetune(..., restore_from="latest")`` continues exactly where the run stopped.

In Colab the machine and its disk go away when the session ends: ``copy_run_to_drive("titles")``
mounts your Google Drive and copies the run there, ``copy_run_from_drive("titles")`` brings it back
in a new session (gpt-2-simple's copy_checkpoint_to_gdrive / copy_checkpoint_from_gdrive).
"""
from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import torch

from helpers.course.runtime import get_device
from helpers.data.pretrained import OFFLINE_MODELS, converted_dir, load_pretrained
from helpers.models.lora import PEFT_DEPRECATION

RUN_INFO = "run.json"
TRAINING_STATE = "training_state.pt"
COLAB_DRIVE = Path("/content/drive")  # where google.colab.drive.mount puts your Drive
DRIVE_RUNS = "MyDrive/gpt-course-runs"  # the folder of runs inside it


def run_names(checkpoint_dir: str | Path) -> list[str]:
    """Return the names of the saved runs under ``checkpoint_dir``."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        return []
    return sorted(p.name for p in checkpoint_dir.iterdir() if (p / RUN_INFO).exists())


def run_folder(run_name: str, checkpoint_dir: str | Path = "checkpoint") -> Path:
    """Return the folder of an existing run; one-line error listing the runs that exist otherwise."""
    checkpoint_dir = Path(checkpoint_dir)
    folder = checkpoint_dir / run_name
    if not (folder / RUN_INFO).exists():
        runs = run_names(checkpoint_dir)
        listed = ", ".join(repr(r) for r in runs) if runs else "none"
        raise FileNotFoundError(f"no run {run_name!r} in {checkpoint_dir.as_posix()}/ (runs there: {listed}): "
                                f"pick one of those, or train it with finetune(..., run_name={run_name!r})")
    return folder


def run_info(run_name: str, checkpoint_dir: str | Path = "checkpoint") -> dict:
    """Return a saved run's run.json: base model, method, settings, step count, history."""
    return json.loads((run_folder(run_name, checkpoint_dir) / RUN_INFO).read_text(encoding="utf-8"))


def base_name(model) -> str:
    """Return the name load_pretrained knows this model by: the offline default's name, or its hub id."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    path = str(base.config._name_or_path)
    for name in OFFLINE_MODELS:
        if Path(path).resolve() == (converted_dir(name) / "model").resolve():
            return name
    return path


def forget_gguf(model) -> None:
    """Drop a GGUF-conversion marker (the weights are plain fp32) that makes save_pretrained refuse."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(getattr(base, "hf_quantizer", None), "quantization_config", None) is not None and \
            str(base.hf_quantizer.quantization_config.quant_method).endswith("gguf"):
        base.hf_quantizer = None
        if hasattr(base.config, "quantization_config"):
            del base.config.quantization_config


def building(folder: Path) -> Path:
    """Return an empty folder beside ``folder``, this process's own, to write a run into before ``_swap_in``."""
    tmp = folder.with_name(f"{folder.name}.part{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _swap_in(tmp: Path, folder: Path) -> None:
    """Replace ``folder`` by the finished ``tmp``: an interrupted save never leaves half a run behind.

    Two processes saving the same run at once (two notebooks in two test workers) each move the
    folder aside and put theirs in place; the last one to do so wins, and neither fails.
    """
    old = folder.with_name(f"{folder.name}.old{os.getpid()}")
    for _ in range(10):
        shutil.rmtree(old, ignore_errors=True)
        try:
            if folder.exists():
                os.replace(folder, old)
            os.replace(tmp, folder)
            break
        except OSError:  # the other process moved or placed the folder between our two steps: again
            continue
    else:
        raise OSError(f"could not place the run in {folder.as_posix()}: another process kept replacing it; save again")
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def save_run(model, tokenizer, folder: str | Path, info: dict, training_state: dict | None = None) -> Path:
    """Save a run (model or adapter, tokenizer, run.json, training state) to ``folder``; return it."""
    folder = Path(folder)
    tmp = building(folder)
    forget_gguf(model)
    if hasattr(model, "peft_config"):
        model.save_pretrained(tmp, save_embedding_layers=False)  # only the adapter (and trained token rows)
    else:
        model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / RUN_INFO).write_text(json.dumps(info, indent=1), encoding="utf-8")
    if training_state is not None:
        torch.save(training_state, tmp / TRAINING_STATE)
    _swap_in(tmp, folder)
    return folder


def load_run_files(folder: Path, trainable: bool, device=None):
    """Return (model, tokenizer, info) of the run saved in ``folder``."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = json.loads((folder / RUN_INFO).read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    device = device or get_device()
    if info["method"] == "full":
        model = AutoModelForCausalLM.from_pretrained(folder).to(device)
    else:
        base, _ = load_pretrained(info["base_model"], device=device)
        if len(tokenizer) != base.get_input_embeddings().weight.size(0):  # the run added tokens
            base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", **PEFT_DEPRECATION)
            model = PeftModel.from_pretrained(base, folder, is_trainable=trainable)
    forget_gguf(model)
    return model.eval(), tokenizer, info


def load_training_state(folder: Path) -> dict | None:
    """Return the optimizer and sampler state saved with a run, or None (a run saved before they were kept)."""
    path = folder / TRAINING_STATE
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


def load_run(run_name: str, checkpoint_dir: str | Path = "checkpoint", device=None):
    """Return (model, tokenizer) of a saved run: a peft model (LoRA) or a full model, in eval mode."""
    model, tokenizer, _ = load_run_files(run_folder(run_name, checkpoint_dir), trainable=False, device=device)
    return model, tokenizer


# --- Google Drive (Colab) ----------------------------------------------------------------------------

def _drive_runs(drive_dir: str | Path | None) -> Path | None:
    """Return the folder of runs on the Drive (mounting it in Colab), ``drive_dir`` if given, else None."""
    if drive_dir is not None:
        return Path(drive_dir)
    try:
        from google.colab import drive
    except ImportError:
        return None
    if not (COLAB_DRIVE / "MyDrive").is_dir():
        drive.mount(str(COLAB_DRIVE))  # asks for permission once per session
    return COLAB_DRIVE / DRIVE_RUNS


def _copy_run(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    _swap_in(tmp, target)
    return target


def copy_run_to_drive(run_name: str, checkpoint_dir: str | Path = "checkpoint",
                      drive_dir: str | Path | None = None) -> Path | None:
    """Copy run ``run_name`` to Google Drive (Colab: mounted first) or to ``drive_dir``; return the copy.

    Outside Colab, with no ``drive_dir``, print what to do instead and return None.
    """
    source = run_folder(run_name, checkpoint_dir)
    runs = _drive_runs(drive_dir)
    if runs is None:
        print(f"Not in Colab, so there is no Google Drive to mount: the run stays in {source.as_posix()}/; "
              f"copy that folder to keep it elsewhere, or pass drive_dir= a folder to copy it to.")
        return None
    return _copy_run(source, runs / run_name)


def copy_run_from_drive(run_name: str, checkpoint_dir: str | Path = "checkpoint",
                        drive_dir: str | Path | None = None) -> Path | None:
    """Copy run ``run_name`` from Google Drive (or ``drive_dir``) into ``checkpoint_dir``; return its folder.

    Outside Colab, with no ``drive_dir``, print what to do instead and return None.
    """
    runs = _drive_runs(drive_dir)
    target = Path(checkpoint_dir) / run_name
    if runs is None:
        print(f"Not in Colab, so there is no Google Drive to mount: put the run's folder at {target.as_posix()}/ "
              f"yourself, or pass drive_dir= the folder that holds it.")
        return None
    if not (runs / run_name / RUN_INFO).exists():
        names = run_names(runs)
        listed = ", ".join(repr(r) for r in names) if names else "none"
        raise FileNotFoundError(f"no run {run_name!r} on the Drive in {runs.as_posix()}/ (runs there: {listed}): "
                                f"copy it there first with copy_run_to_drive({run_name!r})")
    return _copy_run(runs / run_name, target)
