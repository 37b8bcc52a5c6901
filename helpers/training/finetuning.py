"""Fine-tuning a pretrained model on your texts: gpt-2-simple's workflow with LoRA (Part III).

The workflow follows gpt-2-simple (Max Woolf's package for fine-tuning GPT-2), rewritten for any
causal LM and our sampling loop:

    model, tokenizer = helpers.load_pretrained()
    model, history = finetune(model, tokenizer, texts, run_name="sonnets", steps=200)
    generate(model, tokenizer, prefix="Shall I", nsamples=4, batch_size=2, length=64)
    model, tokenizer = load_run("sonnets")          # later, in another session
    model, history = finetune(model, tokenizer, texts, run_name="sonnets", steps=100, restore_from="latest")

From a shell: ``python -m helpers.cli.finetune finetune texts.txt --run-name sonnets --steps 200`` and
``python -m helpers.cli.finetune generate --run-name sonnets --prefix "Shall I"``.
LoRA itself is in helpers.models.lora; run folders and their Google Drive copies in helpers.training.runs.
The steps are helpers.training.loop.fit's, the loop every training uses; finetune gives it the
next-token loss on its own windows (a share of them at document starts), and saves and samples between steps.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from helpers.data.corpora import read_text
from helpers.generation import sampling
from helpers.generation.likelihood import logits_of
from helpers.models.lora import add_lora

from . import loop
from .config import check_positive, merged
from .loop import History, TrainConfig, configure_optimizer
from .runs import RUN_INFO, base_name, forget_gguf, load_run_files, load_training_state, save_run

END_OF_TEXT = "<|endoftext|>"
SEPARATOR = "=" * 20  # printed after each sample, as gpt-2-simple did
DOC_START_SHARE = 0.25  # share of each batch's windows that begin at a document start (a choice, not tuned)
START_OF_TEXT = "<|startoftext|>"  # gpt-2-simple's document-start marker for short texts


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
    ``include_prefix=False`` drops the prefix; ``prefix=None`` starts from the end-of-text token,
    and a prefix that begins with ``<|startoftext|>`` is read right after one, as documents are in training.
    After a prefix that ends with ``<|startoftext|>``, a sample whose first tokens repeat the marker
    comes back without the repeats: the document the model wrote after them, so each text begins as
    one document does (gpt-2-simple returned the repeated marker as part of the text).
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
    if prefix and prefix.startswith(START_OF_TEXT):
        # In the training stream every document start follows an end-of-text, so read the prefix
        # there. Alone at position 0 the marker is drowned out: a pretrained model's first position
        # is its attention sink, whose output barely depends on the token (measured in notebook 09).
        prefix_ids = [end_of_text_id(tokenizer)] + prefix_ids
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
            text = tokenizer.decode(row[len(prefix_ids):].tolist())
            if prefix and prefix.endswith(START_OF_TEXT):
                text = strip_repeated_start(text)
            text = sampling.trim_at_stop(text, stop)
            texts.append(prefix + text if prefix and include_prefix else text)
    if return_as_list:
        return texts
    for text in texts:
        print(f"{text}\n{SEPARATOR}")
    return None


def strip_repeated_start(text: str) -> str:
    """Return ``text`` without the ``<|startoftext|>`` markers it begins with (a marker the model repeated)."""
    while text.startswith(START_OF_TEXT):
        text = text[len(START_OF_TEXT):]
    return text


def generate_to_file(model, tokenizer, destination_path: str | Path = "generated_texts.txt", **kwargs) -> Path:
    """Write ``generate``'s samples to ``destination_path``, each followed by a ==== line; return the path."""
    kwargs["return_as_list"] = True
    texts = generate(model, tokenizer, **kwargs)
    path = Path(destination_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{text}\n{SEPARATOR}\n" for text in texts), encoding="utf-8")
    return path


# --- the training data: one token stream, windows, document starts ----------------------------------

def encode_dataset(tokenizer, dataset) -> torch.Tensor:
    """Return the token ids (N,) of a list of texts (end-of-text between them) or a text file's path."""
    if isinstance(dataset, (str, Path)):
        path = Path(dataset)
        if not path.is_file():
            raise FileNotFoundError(f"dataset {str(dataset)[:60]!r} is not a file: give a text file's path "
                                    f"or a list of texts")
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


def document_starts(ids: torch.Tensor, eot: int, block_size: int) -> torch.Tensor:
    """Return the positions where a document begins (0 and after each end-of-text) and a window fits."""
    starts = torch.cat([torch.zeros(1, dtype=torch.long), (ids[:-1] == eot).nonzero().flatten() + 1])
    return starts[starts <= len(ids) - block_size - 1]


def get_batch(ids: torch.Tensor, starts: torch.Tensor, batch_size: int, block_size: int, doc_start_share: float,
              generator: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (x, y), each (B, T): a ``doc_start_share`` of the windows begin at a document start.

    Random windows alone almost never put a document's first token at position 0; the first rows
    put it there. (They do not teach a pretrained model to read a start marker at position 0, its
    attention sink: notebook 09 measures that, and ``generate`` reads the marker after an
    end-of-text instead.) The share is exact when share × B is whole (2 of 8 for 0.25), else right
    on average.
    """
    if len(ids) <= block_size:
        raise ValueError(f"the dataset has {len(ids)} tokens, fewer than one window of {block_size} + 1: "
                         f"use more text or a smaller block_size")
    wanted = doc_start_share * batch_size
    at_starts = int(wanted) + int(torch.rand((), generator=generator) < wanted - int(wanted))
    at_doc = starts[torch.randint(len(starts), (at_starts,), generator=generator)]
    anywhere = torch.randint(len(ids) - block_size, (batch_size - len(at_doc),), generator=generator)
    offsets = torch.cat([at_doc, anywhere]).tolist()
    x = torch.stack([ids[s:s + block_size] for s in offsets])
    y = torch.stack([ids[s + 1:s + block_size + 1] for s in offsets])
    return x.to(device), y.to(device)


# --- fine-tuning ---------------------------------------------------------------------------------

def train_config(steps: int, batch_size: int = 4, block_size: int = 128, learning_rate: float | None = None,
                 warmup: int | None = None, method: str = "lora", **kwargs) -> TrainConfig:
    """Return the TrainConfig ``finetune`` uses: its schedule is ``helpers.training.learning_rate(step, cfg)``.

    ``steps`` is where the schedule ends (finetune's ``total_steps``). Defaults: learning rate 1e-3
    for LoRA, 5e-5 for full fine-tuning; warmup a tenth of the steps; cosine down to a tenth of the
    peak; no weight decay (the pretrained weights are not pulled to 0).
    """
    lr = learning_rate or (1e-3 if method == "lora" else 5e-5)
    return TrainConfig(steps=steps, batch_size=batch_size, block_size=block_size, lr=lr, min_lr=lr / 10,
                       warmup=max(1, steps // 10) if warmup is None else warmup, weight_decay=0.0, **kwargs)


@dataclass
class FinetuneConfig:
    """The settings of ``finetune`` (see its docstring), checked when made: a bad value fails before any work."""
    run_name: str = "run1"
    checkpoint_dir: str | Path = "checkpoint"
    steps: int = 1000  # optimizer steps this call takes
    total_steps: int | None = None  # where the schedule ends (None: the end of this call, or the saved plan)
    batch_size: int = 4
    block_size: int = 128
    learning_rate: float | None = None  # None: 1e-3 for LoRA, 5e-5 for full fine-tuning
    warmup: int | None = None  # None: a tenth of the steps
    method: str = "lora"  # "lora" (adapters only) or "full" (every weight)
    lora_r: int = 8
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    train_tokens: list[int] | None = None  # ids whose embedding rows train too (from add_tokens)
    doc_start_share: float = DOC_START_SHARE
    restore_from: str = "fresh"  # "fresh" or "latest"
    dtype: str | None = None  # None/"auto": the device's precision; or "float32", "bfloat16", "float16"
    save_every: int = 500
    sample_every: int = 0
    sample_prefix: str | None = None
    sample_length: int = 64
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.method not in ("lora", "full"):
            raise ValueError(f"method={self.method!r}: use 'lora' (adapters only) or 'full' (every weight)")
        if self.restore_from not in ("fresh", "latest"):
            raise ValueError(f"restore_from={self.restore_from!r}: use 'fresh' or 'latest'")
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps={self.steps!r}: give a positive number of optimizer steps")
        if not 0 <= self.doc_start_share <= 1:
            raise ValueError(f"doc_start_share={self.doc_start_share}: give a share between 0 and 1, "
                             f"e.g. {DOC_START_SHARE}")
        check_positive(self, "batch_size", "block_size")


def _restore(folder: Path, method: str, steps: int, total_steps: int | None, progress: bool):
    """Return (model, tokenizer, info, state, total_steps) of a saved run to continue."""
    saved = json.loads((folder / RUN_INFO).read_text(encoding="utf-8"))
    if saved["method"] != method:
        raise ValueError(f"run {folder.name!r} was trained with method={saved['method']!r}: "
                         f"continue it with the same method, or use restore_from='fresh'")
    model, tokenizer, info = load_run_files(folder, trainable=True)
    state = load_training_state(folder)
    start, planned = info["step"], info.get("settings", {}).get("total_steps", info["step"])
    if total_steps is None:
        total_steps = max(planned, start + steps)
        if start + steps > planned and progress:
            print(f"run {folder.name!r} planned its schedule for {planned} steps; this call goes to step "
                  f"{start + steps}, so the cosine is stretched to end there (the rate rises again)")
    if state is None and progress:
        print(f"run {folder.name!r} was saved without its optimizer state: AdamW starts afresh")
    return model, tokenizer, info, state, total_steps


def finetune(model, tokenizer, dataset, config: FinetuneConfig | None = None, **settings):
    """Fine-tune ``model`` on ``dataset`` for ``steps`` optimizer steps; return (model, history).

    ``dataset``: a list of texts (joined with the end-of-text token) or a text file's path. Each
    step trains on ``batch_size`` windows of ``block_size`` + 1 tokens: a ``doc_start_share`` of
    them begin where a document begins, the rest anywhere. ``method="lora"`` wraps the model with
    ``add_lora`` on ``lora_targets`` (``train_tokens``: ids whose embedding rows train too, e.g.
    from ``add_tokens``); ``"full"`` trains every weight (meant for a GPU). The loop is
    ``helpers.training.loop.fit``: AdamW, warmup then cosine to a tenth of the peak, gradients
    clipped at 1; ``dtype`` None/"auto" picks the device's precision (``helpers.course.precision``),
    or give "float32", "bfloat16", "float16".

    The run is saved to ``checkpoint_dir/run_name/`` every ``save_every`` steps and at the end,
    with the optimizer's and the batch sampler's state. ``restore_from="latest"`` continues it:
    ``steps`` more steps (gpt-2-simple's meaning), from the saved weights, optimizer moments, step
    count, history and place in the schedule. The schedule ends at ``total_steps``: by default at
    the end of this call on a fresh run, and where the saved run planned it on a restore (stretched
    if this call goes further). To split one run into several calls exactly, give the first call
    ``total_steps`` (e.g. steps=100, total_steps=300, then steps=200 with restore_from="latest").
    ``model`` itself is trained in place (LoRA wraps it); use the returned model.

    The settings are ``FinetuneConfig``'s fields, given as keywords (``steps=200``) or as ``config``
    (keywords given with it replace its values); either way they are checked before any work.
    """
    cfg = merged(FinetuneConfig, config, settings, "finetune")
    run_name, checkpoint_dir, steps, total_steps = cfg.run_name, cfg.checkpoint_dir, cfg.steps, cfg.total_steps
    batch_size, block_size, learning_rate, warmup = cfg.batch_size, cfg.block_size, cfg.learning_rate, cfg.warmup
    method, lora_r, lora_targets, train_tokens = cfg.method, cfg.lora_r, cfg.lora_targets, cfg.train_tokens
    doc_start_share, restore_from, dtype, seed, progress = (cfg.doc_start_share, cfg.restore_from, cfg.dtype,
                                                            cfg.seed, cfg.progress)
    save_every, sample_every, sample_prefix, sample_length = (cfg.save_every, cfg.sample_every, cfg.sample_prefix,
                                                              cfg.sample_length)
    if hasattr(model, "new_cache"):
        raise ValueError("finetune trains a transformers model (helpers.load_pretrained); "
                         "course models train with helpers.training.train")
    folder = Path(checkpoint_dir) / run_name
    history, start, state = History(), 0, None
    if restore_from == "latest" and (folder / RUN_INFO).exists():
        model, tokenizer, info, state, total_steps = _restore(folder, method, steps, total_steps, progress)
        history, start, base = History(**info["history"]), info["step"], info["base_model"]
        train_tokens = info.get("train_tokens") or train_tokens
        saved = info.get("settings", {})
        learning_rate = learning_rate or saved.get("learning_rate")
        warmup = saved.get("warmup") if warmup is None else warmup
    else:
        if restore_from == "latest" and progress:
            print(f"no saved run {run_name!r} yet: starting fresh")
        base = base_name(model)
        forget_gguf(model)
        if method == "lora" and not hasattr(model, "peft_config"):
            with torch.random.fork_rng(devices=[]):  # A's random start depends on `seed` only
                torch.manual_seed(seed)
                model = add_lora(model, r=lora_r, targets=lora_targets, trainable_tokens=train_tokens)
    total_steps = start + steps if total_steps is None else total_steps
    if total_steps < start + steps:
        raise ValueError(f"total_steps={total_steps} ends before this call does (step {start + steps}): "
                         f"give at least {start + steps}, or leave it out")
    if method == "full":
        model.requires_grad_(True)
    device = next(model.parameters()).device
    context = getattr(model.config, "max_position_embeddings", block_size)
    if block_size > context:
        raise ValueError(f"block_size={block_size} is longer than the model's context ({context}): lower it")
    schedule = train_config(total_steps, batch_size, block_size, learning_rate, warmup, method, dtype=dtype or "auto",
                            seed=seed, progress=progress)
    precision = schedule.precision(device)
    scaler = precision.grad_scaler()  # float16 only
    history.device, history.precision = str(device), precision.name
    ids = encode_dataset(tokenizer, dataset)
    starts = document_starts(ids, end_of_text_id(tokenizer), block_size)
    batches = torch.Generator().manual_seed(seed)
    optimizer = configure_optimizer(model, schedule)
    if state is not None:  # the same moments and the same next batches as if the run had never stopped
        optimizer.load_state_dict(state["optimizer"])
        batches.set_state(state["batches"])
        if state.get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(state["scaler"])
    elif start:
        batches.manual_seed(seed + start)  # no saved sampler: at least draw other windows than before
    if hasattr(model, "peft_config"):  # the rank the adapters really have, if the model came wrapped
        lora_r = next(iter(model.peft_config.values())).r
    plan = dict(total_steps=total_steps, learning_rate=schedule.lr, warmup=schedule.warmup, batch_size=batch_size,
                block_size=block_size, doc_start_share=doc_start_share, seed=seed)
    info = {"base_model": base, "method": method, "lora_r": lora_r if method == "lora" else None,
            "train_tokens": [int(i) for i in train_tokens] if train_tokens else None, "settings": plan}

    def save(step: int) -> None:
        training_state = {"optimizer": optimizer.state_dict(), "batches": batches.get_state(),
                          "scaler": scaler.state_dict() if scaler.is_enabled() else None}
        save_run(model, tokenizer, folder, {**info, "step": step, "history": asdict(history)}, training_state)

    def next_token_loss(step: int):
        x, y = get_batch(ids, starts, batch_size, block_size, doc_start_share, batches, device)  # (B, T) each
        logits = logits_of(model, x)  # (B, T, vocab)
        return F.cross_entropy(logits.float().flatten(0, 1), y.flatten())

    def sample_and_save(done: int) -> None:
        if sample_every and done % sample_every == 0:
            sample = generate(model, tokenizer, prefix=sample_prefix, length=sample_length, seed=seed,
                              return_as_list=True)[0]
            tqdm.write(f"step {done} sample: {sample!r}")
            model.train()
        if save_every and done % save_every == 0 and done < start + steps:
            save(done)

    model.train()
    # gpt-2-simple counts steps from 1: History.step is the number of steps done
    loop.fit(model, next_token_loss, schedule, start=start, end=start + steps, optimizer=optimizer, scaler=scaler,
             precision=precision, history=history, tokens_per_step=batch_size * block_size,
             on_step=sample_and_save, step_offset=1, desc=run_name)
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

