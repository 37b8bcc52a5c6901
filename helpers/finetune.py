"""Fine-tuning a pretrained model: LoRA adapters, named runs, and gpt-2-simple's workflow (Part III, V).

LoRA (Hu et al. 2021) freezes the pretrained weights W and learns a low-rank change B·A beside
them, so W·x becomes W·x + (alpha / r)·B·A·x with A (r × in) and B (out × r), B starting at zero.

The workflow follows gpt-2-simple (Max Woolf's package for fine-tuning GPT-2), rewritten for any
causal LM and our sampling loop:

    model, tokenizer = helpers.load_pretrained()
    model, history = finetune(model, tokenizer, texts, run_name="sonnets", steps=200)
    generate(model, tokenizer, prefix="Shall I", nsamples=4, batch_size=2, length=64)
    model, tokenizer = load_run("sonnets")          # later, in another session
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import sampling
from .train import History, TrainConfig, configure_optimizer, get_batch
from .train import learning_rate as scheduled_lr  # warmup + cosine; `learning_rate` is finetune's argument

# peft calls a transformers method that transformers 5 deprecates; nothing for a learner to act on
_PEFT_DEPRECATION = dict(message=".*is_gradient_checkpointing.*", category=FutureWarning)
warnings.filterwarnings("ignore", **_PEFT_DEPRECATION)

END_OF_TEXT = "<|endoftext|>"
SEPARATOR = "=" * 20  # printed after each sample, as gpt-2-simple did
RUN_INFO = "run.json"


def add_lora(model, r: int = 8, alpha: int = 16, dropout: float = 0.0,
             targets: tuple[str, ...] = ("q_proj", "v_proj"), trainable_tokens=None):
    """Return ``model`` wrapped by ``peft`` with LoRA adapters on ``targets``; only they train.

    ``trainable_tokens`` (token ids, e.g. from ``add_tokens``) makes those embedding rows train too
    (peft's trainable_token_indices; with tied embeddings the output rows follow).
    """
    from peft import LoraConfig, get_peft_model

    if r < 1:
        raise ValueError(f"r={r}: the LoRA rank is a positive number of directions, e.g. 8")
    extra = {}
    if trainable_tokens:
        embedding = model.get_input_embeddings()
        name = next(n for n, m in model.named_modules() if m is embedding).rsplit(".", 1)[-1]
        extra["trainable_token_indices"] = {name: [int(i) for i in trainable_tokens]}
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets),
                        task_type="CAUSAL_LM", **extra)
    with warnings.catch_warnings():  # also where a test runner resets the filters
        warnings.filterwarnings("ignore", **_PEFT_DEPRECATION)
        return get_peft_model(model, config)


def trainable_parameters(model) -> tuple[int, int]:
    """Return (trainable, total) parameter counts of ``model``."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


# --- tokens ------------------------------------------------------------------------------------

def _encode(tokenizer, text: str) -> list[int]:
    """Return the ids of ``text`` with no BOS/EOS added (transformers or course tokenizer)."""
    if hasattr(tokenizer, "get_vocab"):  # transformers: no automatic specials, no length warning
        return tokenizer.encode(text, add_special_tokens=False, verbose=False)
    return tokenizer.encode(text)


def end_of_text_id(tokenizer) -> int:
    """Return the id of the tokenizer's end-of-text token (``<|endoftext|>``, else its EOS token)."""
    ids = _encode(tokenizer, END_OF_TEXT)
    if len(ids) == 1:
        return ids[0]
    if getattr(tokenizer, "eos_token_id", None) is not None:
        return tokenizer.eos_token_id
    raise ValueError(f"the tokenizer has no {END_OF_TEXT} token and no EOS token: give a prefix")


def add_tokens(model, tokenizer, tokens, like: str | None = None) -> list[int]:
    """Add ``tokens`` as special tokens to tokenizer and model; return their ids.

    Each new embedding row starts as a copy of the ``like`` token's row (e.g. "<|im_start|>"), or
    the mean row without ``like``, so it starts somewhere meaningful. Tokens already known are kept.
    """
    if hasattr(model, "peft_config"):
        raise ValueError("the model already has LoRA adapters: add tokens to the base model, before finetune/add_lora")
    tokens = [tokens] if isinstance(tokens, str) else list(tokens)
    vocab = tokenizer.get_vocab()
    if like is not None and like not in vocab:
        raise ValueError(f"like={like!r} is not one token of this tokenizer: pick an existing token, e.g. "
                         f"{tokenizer.all_special_tokens[:3]}")
    new = [t for t in dict.fromkeys(tokens) if t not in vocab]
    if new:
        old_rows = model.get_input_embeddings().weight.size(0)
        tokenizer.add_tokens(new, special_tokens=True)  # special: never split, one id each
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        new_ids = tokenizer.convert_tokens_to_ids(new)
        with torch.no_grad():
            tables = [model.get_input_embeddings().weight]
            output = model.get_output_embeddings()
            if output is not None and output.weight is not tables[0]:  # untied: the output rows too
                tables.append(output.weight)
            for table in tables:
                start = table[vocab[like]].clone() if like is not None else table[:old_rows].mean(0)
                table[new_ids] = start.to(table.dtype)
    return tokenizer.convert_tokens_to_ids(tokens)


# --- generation (gpt-2-simple's interface) --------------------------------------------------------

def generate(model, tokenizer, prefix: str | None = None, truncate: str | None = None, include_prefix: bool = True,
             nsamples: int = 1, batch_size: int = 1, length: int = 256, temperature: float = 0.7, top_k: int = 0,
             top_p: float = 0.0, seed: int | None = None, return_as_list: bool = False):
    """Return ``nsamples`` generated texts (``return_as_list``), or print them and return None.

    gpt-2-simple's ``generate``: ``batch_size`` rows are sampled together (one KV cache), ``length``
    new tokens each; top_k=0 and top_p=0.0 mean off; ``truncate`` cuts each text at the first
    occurrence of that string after the prefix (generation stops once every row has it);
    ``include_prefix=False`` drops the prefix; ``prefix=None`` starts from the end-of-text token.
    gpt-2-simple required nsamples % batch_size == 0; here the last batch is simply smaller, so
    exactly ``nsamples`` texts come back. ``seed`` makes the whole call reproducible.
    """
    for name, value in (("nsamples", nsamples), ("batch_size", batch_size), ("length", length)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: give a positive whole number")
    net = sampling.as_course_model(model)
    context = net.config.block_size
    prefix_ids = _encode(tokenizer, prefix) if prefix else [end_of_text_id(tokenizer)]
    if not prefix_ids:
        raise ValueError("the prefix encodes to no tokens: give at least one character, or prefix=None")
    if len(prefix_ids) > context:
        raise ValueError(f"the prefix has {len(prefix_ids)} tokens but the model's context is {context}: "
                         f"shorten the prefix")
    device = next(net.parameters()).device
    generator = None if seed is None else torch.Generator(device=device).manual_seed(seed)
    stop = [truncate] if truncate else None
    texts = []
    for start in range(0, nsamples, batch_size):
        rows = min(batch_size, nsamples - start)
        idx = torch.tensor([prefix_ids] * rows, dtype=torch.long, device=device)  # (B, T) all rows share the prefix
        out = sampling.generate(net, idx, length, temperature=temperature, top_k=top_k,
                                top_p=top_p if top_p > 0 else 1.0, stop=stop, decode=tokenizer.decode,
                                generator=generator)  # (B, T + length)
        for row in out:
            text = sampling.trim_at_stop(tokenizer.decode(row[len(prefix_ids):].tolist()), stop)
            texts.append(prefix + text if prefix and include_prefix else text)
    if return_as_list:
        return texts
    for text in texts:
        print(f"{text}\n{SEPARATOR}")
    return None


def generate_to_file(model, tokenizer, destination_path: str | Path = "generated_texts.txt", **kwargs) -> Path:
    """Write ``generate``'s samples to ``destination_path``, each followed by a ==== line; return the path."""
    kwargs["return_as_list"] = True
    texts = generate(model, tokenizer, **kwargs)
    path = Path(destination_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{text}\n{SEPARATOR}\n" for text in texts), encoding="utf-8")
    return path


# --- named runs ----------------------------------------------------------------------------------

def _run_names(checkpoint_dir: Path) -> list[str]:
    """Return the names of the saved runs under ``checkpoint_dir``."""
    if not checkpoint_dir.is_dir():
        return []
    return sorted(p.name for p in checkpoint_dir.iterdir() if (p / RUN_INFO).exists())


def _run_folder(run_name: str, checkpoint_dir: str | Path) -> Path:
    """Return the folder of an existing run; one-line error listing the runs that exist otherwise."""
    checkpoint_dir = Path(checkpoint_dir)
    folder = checkpoint_dir / run_name
    if not (folder / RUN_INFO).exists():
        runs = _run_names(checkpoint_dir)
        listed = ", ".join(repr(r) for r in runs) if runs else "none"
        raise FileNotFoundError(f"no run {run_name!r} in {checkpoint_dir}/ (runs there: {listed}): "
                                f"pick one of those, or train it with finetune(..., run_name={run_name!r})")
    return folder


def _base_name(model) -> str:
    """Return the name load_pretrained knows this model by: the offline default's name, or its hub id."""
    from .pretrained import OFFLINE_MODELS, converted_dir

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    path = str(base.config._name_or_path)
    for name in OFFLINE_MODELS:
        if Path(path).resolve() == (converted_dir(name) / "model").resolve():
            return name
    return path


def _forget_gguf(model) -> None:
    """Drop a GGUF-conversion marker (the weights are plain fp32) that makes save_pretrained refuse."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(getattr(base, "hf_quantizer", None), "quantization_config", None) is not None and \
            str(base.hf_quantizer.quantization_config.quant_method).endswith("gguf"):
        base.hf_quantizer = None
        if hasattr(base.config, "quantization_config"):
            del base.config.quantization_config


def save_run(model, tokenizer, folder: str | Path, info: dict) -> Path:
    """Save a run (model or adapter, tokenizer, run.json) to ``folder`` atomically; return the folder."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp, old = folder.with_name(folder.name + ".part"), folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    _forget_gguf(model)
    if hasattr(model, "peft_config"):
        model.save_pretrained(tmp, save_embedding_layers=False)  # only the adapter (and trained token rows)
    else:
        model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / RUN_INFO).write_text(json.dumps(info, indent=1), encoding="utf-8")
    # written aside, then swapped in: an interrupted save never leaves half a run behind
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def _load(folder: Path, trainable: bool, device=None):
    """Return (model, tokenizer, info) of the run saved in ``folder``."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .pretrained import load_pretrained
    from .settings import get_device

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
            warnings.filterwarnings("ignore", **_PEFT_DEPRECATION)
            model = PeftModel.from_pretrained(base, folder, is_trainable=trainable)
    _forget_gguf(model)
    return model.eval(), tokenizer, info


def load_run(run_name: str, checkpoint_dir: str | Path = "checkpoint", device=None):
    """Return (model, tokenizer) of a saved run: a peft model (LoRA) or a full model, in eval mode."""
    model, tokenizer, _ = _load(_run_folder(run_name, checkpoint_dir), trainable=False, device=device)
    return model, tokenizer


# --- fine-tuning ---------------------------------------------------------------------------------

def encode_dataset(tokenizer, dataset) -> torch.Tensor:
    """Return the token ids (N,) of a list of texts (end-of-text between them) or a text file's path."""
    if isinstance(dataset, (str, Path)):
        path = Path(dataset)
        if not path.is_file():
            raise FileNotFoundError(f"dataset {str(dataset)[:60]!r} is not a file: give a text file's path "
                                    f"or a list of texts")
        from .data import read_text

        dataset = [read_text(path)]
    texts = [t for t in dataset if t]
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("the dataset must be a non-empty list of strings (or a text file's path)")
    eot = end_of_text_id(tokenizer)
    ids = []
    for text in texts:
        ids.extend(_encode(tokenizer, text))
        if not ids or ids[-1] != eot:  # gpt-2-simple's separator; a text that ends with it gets no second one
            ids.append(eot)
    return torch.tensor(ids, dtype=torch.long)


def train_config(steps: int, batch_size: int = 4, block_size: int = 128, learning_rate: float | None = None,
                 warmup: int | None = None, method: str = "lora", **kwargs) -> TrainConfig:
    """Return the TrainConfig ``finetune`` uses: its schedule is ``helpers.train.learning_rate(step, cfg)``.

    Defaults: learning rate 1e-3 for LoRA, 5e-5 for full fine-tuning; warmup a tenth of the steps;
    cosine down to a tenth of the peak; no weight decay (the pretrained weights are not pulled to 0).
    """
    lr = learning_rate or (1e-3 if method == "lora" else 5e-5)
    return TrainConfig(steps=steps, batch_size=batch_size, block_size=block_size, lr=lr, min_lr=lr / 10,
                       warmup=max(1, steps // 10) if warmup is None else warmup, weight_decay=0.0, **kwargs)


def finetune(model, tokenizer, dataset, run_name: str = "run1", checkpoint_dir: str | Path = "checkpoint",
             steps: int = 1000, batch_size: int = 4, block_size: int = 128, learning_rate: float | None = None,
             warmup: int | None = None, method: str = "lora", lora_r: int = 8,
             lora_targets: tuple[str, ...] = ("q_proj", "v_proj"), train_tokens=None,
             restore_from: str = "fresh", dtype: str | None = None, save_every: int = 500, sample_every: int = 0,
             sample_prefix: str | None = None, sample_length: int = 64, seed: int = 0, progress: bool = True):
    """Fine-tune ``model`` on ``dataset`` for ``steps`` steps; return (model, history).

    ``dataset``: a list of texts (joined with the end-of-text token) or a text file's path; each
    step trains on ``batch_size`` random windows of ``block_size`` + 1 tokens. ``method="lora"``
    wraps the model with ``add_lora`` on ``lora_targets`` (``train_tokens``: ids whose embedding rows
    train too, e.g. from ``add_tokens``); ``"full"`` trains every weight (meant for a GPU). AdamW, warmup then
    cosine over this call's steps, gradients clipped at 1; ``dtype`` None/"auto" picks the device's
    precision (``helpers.precision``), or give "float32", "bfloat16", "float16".
    The run is saved to ``checkpoint_dir/run_name/`` every ``save_every`` steps and at the end.
    ``restore_from="latest"`` continues that saved run (its weights, tokenizer, step count and
    history; the optimizer starts afresh, hence the warmup); ``"fresh"`` starts from ``model``.
    ``model`` itself is trained in place (LoRA wraps it); use the returned model.
    """
    from .pretrained import logits_of
    from .settings import get_device

    if method not in ("lora", "full"):
        raise ValueError(f"method={method!r}: use 'lora' (adapters only) or 'full' (every weight)")
    if restore_from not in ("fresh", "latest"):
        raise ValueError(f"restore_from={restore_from!r}: use 'fresh' or 'latest'")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r}: give a positive number of optimizer steps")
    if hasattr(model, "new_cache"):
        raise ValueError("finetune trains a transformers model (helpers.load_pretrained); "
                         "course models train with helpers.train.train")
    folder = Path(checkpoint_dir) / run_name
    history, start = History(), 0
    if restore_from == "latest" and (folder / RUN_INFO).exists():
        saved = json.loads((folder / RUN_INFO).read_text(encoding="utf-8"))["method"]
        if saved != method:
            raise ValueError(f"run {run_name!r} was trained with method={saved!r}: "
                             f"continue it with the same method, or use restore_from='fresh'")
        model, tokenizer, info = _load(folder, trainable=True)
        history, start, base = History(**info["history"]), info["step"], info["base_model"]
        train_tokens = info.get("train_tokens") or train_tokens
        lora_r = info.get("lora_r", lora_r)
    else:
        if restore_from == "latest" and progress:
            print(f"no saved run {run_name!r} yet: starting fresh")
        base = _base_name(model)
        _forget_gguf(model)
        if method == "lora" and not hasattr(model, "peft_config"):
            model = add_lora(model, r=lora_r, targets=lora_targets, trainable_tokens=train_tokens)
    if method == "full":
        model.requires_grad_(True)
    device = next(model.parameters()).device
    context = getattr(model.config, "max_position_embeddings", block_size)
    if block_size > context:
        raise ValueError(f"block_size={block_size} is longer than the model's context ({context}): lower it")
    cfg = train_config(steps, batch_size, block_size, learning_rate, warmup, method, dtype=dtype or "auto", seed=seed)
    precision = cfg.precision(device)
    scaler = precision.grad_scaler()  # float16 only
    history.device, history.precision = str(device), precision.name
    ids = encode_dataset(tokenizer, dataset)
    batches = torch.Generator().manual_seed(seed + start)  # a continued run draws new windows
    optimizer = configure_optimizer(model, cfg)
    if hasattr(model, "peft_config"):  # the rank the adapters really have, if the model came wrapped
        lora_r = next(iter(model.peft_config.values())).r
    info = {"base_model": base, "method": method, "lora_r": lora_r if method == "lora" else None,
            "train_tokens": [int(i) for i in train_tokens] if train_tokens else None}

    def save(step: int) -> None:
        save_run(model, tokenizer, folder, {**info, "step": step, "history": asdict(history)})

    bar = tqdm(range(steps), desc=run_name, unit="step", disable=not progress, mininterval=1.0)
    model.train()
    for i in bar:
        t0 = time.perf_counter()
        lr = scheduled_lr(i, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(ids, batch_size, block_size, batches, device)  # (B, T) each
        with precision.autocast():
            logits = logits_of(model, x)  # (B, T, vocab)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)  # clip the true gradients
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        step = start + i + 1
        history.step.append(step)
        history.loss.append(loss.item())
        history.lr.append(lr)
        history.tokens_per_s.append(batch_size * block_size / (time.perf_counter() - t0))
        bar.set_postfix(loss=f"{history.loss[-1]:.3f}", refresh=False)
        if sample_every and step % sample_every == 0:
            sample = generate(model, tokenizer, prefix=sample_prefix, length=sample_length, seed=seed,
                              return_as_list=True)[0]
            bar.write(f"step {step} sample: {sample!r}")
            model.train()
        if save_every and step % save_every == 0 and i + 1 < steps:
            save(step)
    bar.close()
    save(start + steps)
    return model.eval(), history



# --- memorization ----------------------------------------------------------------------------------

def words_of(text: str) -> list[str]:
    """Return the lower-cased words of ``text`` (letters and apostrophes), punctuation dropped."""
    return re.findall(r"[a-z']+", text.lower())


def longest_shared_ngram(text: str, corpus) -> tuple[int, str]:
    """Return (n, phrase): the longest run of n words of ``text`` that also occurs in ``corpus``.

    ``corpus`` is a list of texts (each searched on its own, so no n-gram spans two of them).
    """
    documents = [words_of(doc) for doc in ([corpus] if isinstance(corpus, str) else corpus)]
    words = words_of(text)
    best, phrase = 0, ""
    while best < len(words):
        n = best + 1  # a shared (n+1)-gram contains a shared n-gram, so lengths can grow one at a time
        seen = {tuple(doc[i:i + n]) for doc in documents for i in range(len(doc) - n + 1)}
        found = next((words[i:i + n] for i in range(len(words) - n + 1) if tuple(words[i:i + n]) in seen), None)
        if found is None:
            break
        best, phrase = n, " ".join(found)
    return best, phrase
