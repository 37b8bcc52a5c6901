"""The training loop, readable in one screen, and the one every training in the course runs.

``fit(model, loss_fn, cfg)`` is the loop: each step sets the scheduled rate (warmup + cosine, Noam,
or constant), computes ``loss_fn(step)`` under the precision's autocast, clears the old gradients,
backpropagates (through a gradient scaler in float16), clips, steps AdamW and records the History.
The loss is the only thing that changes from one training to the next: ``train`` below (notebook 04)
gives it next-token prediction on random windows and adds evals, checkpoints that resume the same
curve, and DistributedDataParallel under torchrun; finetune, SFT, DPO and the reward model give it
theirs (helpers.training.finetuning, .preference, .reward).

    history = train(model, train_ids, val_ids, TrainConfig(steps=2000), checkpoint="out/ckpt.pt")

Under ``torchrun --nproc_per_node=N script.py`` the same call trains N replicas (gloo on CPU, nccl
on GPU): each rank draws its own batches, gradients are averaged, only rank 0 prints and saves.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from helpers.course.precision import NAMES, Precision, resolve
from helpers.course.runtime import get_device


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 12
    block_size: int = 64
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup: int = 100
    schedule: str = "cosine"  # "cosine" (warmup then cosine to min_lr), "noam", or "constant"
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0  # 0 turns clipping off
    eval_every: int = 250
    eval_batches: int = 20
    seed: int = 1337
    dtype: str = "auto"  # the matmuls' precision: "auto" picks per device (helpers.course.precision), or "float32",
    progress: bool = True  # "bfloat16", "float16" (the last with a gradient scaler)

    def __post_init__(self):
        if self.schedule not in ("cosine", "noam", "constant"):
            raise ValueError(f"schedule={self.schedule!r}: use 'cosine', 'noam' or 'constant'")
        if self.dtype not in ("auto", *NAMES):
            raise ValueError(f"dtype={self.dtype!r}: use 'auto', 'float32', 'bfloat16' or 'float16'")

    def precision(self, device) -> Precision:
        """Return the Precision this config's dtype means on ``device`` ("auto": chosen for it)."""
        return resolve(self.dtype, device)

    def autocast(self, device):
        """Return the autocast context for this config's precision on ``device`` (a no-op for float32)."""
        return self.precision(device).autocast()


@dataclass
class History:
    """Losses as training went: train loss every step, train/val estimates every eval."""
    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    device: str = ""  # where it trained, and in which precision: a loss curve depends on both
    precision: str = ""
    metrics: dict[str, list[float]] = field(default_factory=dict)  # what else a loss reports each step (DPO's margin)


def warmup_cosine(step: int, steps: int, lr: float, min_lr: float, warmup: int) -> float:
    """Return the rate at ``step`` (0-based): linear warm-up to lr, then a cosine down to min_lr at ``steps``."""
    if step < warmup:
        return lr * (step + 1) / warmup  # step 0 already moves: a rate of 0 would waste it
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)


def noam(step: int, lr: float, warmup: int) -> float:
    """Return the rate of 'Attention Is All You Need' (eq. 3) at ``step``, scaled to peak at lr after warmup.

    The paper's d_model^-0.5 · min(s^-0.5, s · warmup^-1.5) peaks at (d_model · warmup)^-0.5; here
    the peak is lr itself, so that it compares with warmup_cosine at the same peak.
    """
    s = step + 1
    return lr * math.sqrt(warmup) * min(s ** -0.5, s * warmup ** -1.5)


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Return the learning rate at ``step`` (0-based) under cfg's schedule."""
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "noam":
        return noam(step, cfg.lr, cfg.warmup)
    return warmup_cosine(step, cfg.steps, cfg.lr, cfg.min_lr, cfg.warmup)


def get_batch(ids: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator, device):
    """Return (x, y), each (B, T): random windows of ``ids`` and the same windows shifted by one."""
    if len(ids) <= block_size:
        raise ValueError(f"the corpus has {len(ids)} tokens, fewer than one block of {block_size} + 1: "
                         f"use more text or a smaller block_size")
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    x = torch.stack([ids[s:s + block_size] for s in starts.tolist()])
    y = torch.stack([ids[s + 1:s + block_size + 1] for s in starts.tolist()])
    return x.to(device), y.to(device)


@torch.no_grad()
def estimate_loss(model, ids: torch.Tensor, cfg: TrainConfig, generator: torch.Generator, device,
                  precision: Precision | None = None) -> float:
    """Return the mean loss over cfg.eval_batches random batches of ``ids`` (model in eval mode)."""
    was_training = model.training
    model.eval()
    with (precision or cfg.precision(device)).autocast():
        losses = [model(*get_batch(ids, cfg.batch_size, cfg.block_size, generator, device))[1].item()
                  for _ in range(cfg.eval_batches)]
    model.train(was_training)
    return sum(losses) / len(losses)


def configure_optimizer(model, cfg: TrainConfig) -> torch.optim.AdamW:
    """Return AdamW over the trainable parameters, with weight decay on matrices only (not on biases, norms' gains)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: add LoRA adapters first "
                         "(helpers.models.lora.add_lora), or unfreeze some with requires_grad_(True)")
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # one fused kernel for the whole update where torch has it (CPU, CUDA): AdamW's arithmetic, in a few
    # times less time than the per-tensor loop on a small model (benchmarks/profile_step.py)
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=fused)


def take_step(model, optimizer, loss_fn: Callable, lr: float, grad_clip: float = 1.0,
              precision: Precision | None = None, scaler=None) -> tuple[torch.Tensor, dict]:
    """Take one optimizer step on ``loss_fn()``'s loss at learning rate ``lr``; return (loss, metrics).

    ``loss_fn()`` returns the loss, or (loss, metrics): a dict of numbers to log with it. The order
    matters: forward, clear the last step's gradients, backward, clip the fresh gradients' norm to
    ``grad_clip`` (0: no clipping), step. ``precision`` runs the forward pass under its autocast;
    ``scaler`` (float16) scales the loss before backward and unscales before clipping.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    with precision.autocast() if precision is not None else contextlib.nullcontext():
        out = loss_fn()
    loss, metrics = out if isinstance(out, tuple) else (out, {})
    optimizer.zero_grad(set_to_none=True)
    scaled = scaler is not None and scaler.is_enabled()
    (scaler.scale(loss) if scaled else loss).backward()
    if grad_clip > 0:
        if scaled:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], grad_clip)
    if scaled:
        scaler.step(optimizer)  # skipped if the scaled gradients overflowed (float16)
        scaler.update()
    else:
        optimizer.step()
    return loss.detach(), metrics


def training_step(model, optimizer, x, y, lr: float, grad_clip: float = 1.0, precision: Precision | None = None,
                  scaler=None) -> float:
    """Take one optimizer step on the batch (x, y) at learning rate ``lr``; return the batch's loss.

    The step of notebook 04's exercise: ``take_step`` with the next-token loss ``model(x, y)[1]``.
    """
    loss, _ = take_step(model, optimizer, lambda: model(x, y)[1], lr, grad_clip, precision, scaler)
    return loss.item()


def fit(model, loss_fn: Callable, cfg: TrainConfig, *, start: int = 0, end: int | None = None, optimizer=None,
        scaler=None, precision: Precision | None = None, history: History | None = None,
        tokens_per_step: int | None = None, on_step: Callable[[int], None] | None = None, step_offset: int = 0,
        desc: str = "training") -> History:
    """Train ``model``'s trainable parameters on ``loss_fn(step)`` from step ``start`` to ``end``; return the History.

    ``loss_fn(step)`` draws its own batch and returns the loss (or (loss, metrics), logged in
    History.metrics). Each step's rate is ``learning_rate(step, cfg)``; cfg also gives the clipping,
    the precision and, for the default optimizer (``configure_optimizer``), the weight decay and betas.
    Pass ``optimizer``, ``scaler``, ``precision`` and ``history`` to continue a run. ``on_step(done)``
    runs after each step with the number of steps done (evals, checkpoints, samples). History.step
    records ``step + step_offset``. The model's train/eval mode is the caller's to set.
    """
    if precision is None:
        precision = cfg.precision(next(model.parameters()).device)
    if scaler is None:
        scaler = precision.grad_scaler()  # float16 only: scales the loss up so small gradients survive
    if optimizer is None:
        optimizer = configure_optimizer(model, cfg)
    if history is None:
        history = History(device=str(next(model.parameters()).device), precision=precision.name)
    end = cfg.steps if end is None else end
    quiet = not cfg.progress or (dist.is_initialized() and dist.get_rank() > 0)  # one bar, rank 0's
    bar = tqdm(range(start, end), initial=start, total=cfg.steps, disable=quiet, desc=desc, unit="step",
               mininterval=1.0)  # a notebook stores every redraw: keep them few
    for step in bar:
        t0 = time.perf_counter()
        lr = learning_rate(step, cfg)
        loss, metrics = take_step(model, optimizer, functools.partial(loss_fn, step), lr, cfg.grad_clip, precision,
                                  scaler)
        history.step.append(step + step_offset)
        history.loss.append(loss.item())
        history.lr.append(lr)
        for name, value in metrics.items():  # numbers, or tensors holding one
            history.metrics.setdefault(name, []).append(value.item() if torch.is_tensor(value) else float(value))
        shown = {"loss": f"{history.loss[-1]:.3f}"}
        if tokens_per_step:
            history.tokens_per_s.append(tokens_per_step / (time.perf_counter() - t0))
            shown["tok_s"] = f"{history.tokens_per_s[-1]:,.0f}"
        bar.set_postfix(shown, refresh=False)
        if on_step is not None:
            on_step(step + 1)
    bar.close()
    return history


def _distributed() -> tuple[int, int]:
    """Start the process group if torchrun launched us; return (rank, world_size)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def end_distributed() -> None:
    """Leave the process group, all replicas together (a no-op without one).

    A replica that exits while another still holds a connection to it makes that one abort (gloo:
    "connection reset by peer", SIGABRT), so every replica waits at a barrier first. The DDP wrapper
    ``train`` made holds the group in reference cycles: collected here, while the group still exists,
    not during the interpreter's exit, where freeing it can abort the process.
    """
    if dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def save_checkpoint(path: str | Path, model, optimizer, step: int, history: History, cfg: TrainConfig,
                    batch_rng: torch.Generator, scaler=None) -> None:
    """Write a checkpoint atomically: to a temporary file first, then renamed over the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "history": asdict(history), "train_config": asdict(cfg),
             "model_config": asdict(model.config) if hasattr(model, "config") else None,
             # the random streams too, so that a resumed run draws what the uninterrupted one would
             "batch_rng": batch_rng.get_state(), "torch_rng": torch.get_rng_state(),
             "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, model, optimizer=None, scaler=None) -> dict:
    """Load a checkpoint into model (and optimizer, scaler); return it. One-line error on a config mismatch."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    saved = state.get("model_config")
    if saved is not None and hasattr(model, "config") and saved != asdict(model.config):
        diff = {k: (v, asdict(model.config).get(k)) for k, v in saved.items() if asdict(model.config).get(k) != v}
        raise ValueError(f"checkpoint {Path(path).name} was saved from another model config "
                         f"(saved vs this model: {diff}): build the model with the saved config")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    return state


def train(model, train_ids: torch.Tensor, val_ids: torch.Tensor, cfg: TrainConfig,
          checkpoint: str | Path | None = None, resume: bool = False, until: int | None = None,
          device=None, sample_fn=None) -> History:
    """Train ``model`` on token ids and return its History; ``resume`` continues a checkpoint's run.

    ``fit`` with the next-token loss on random windows of ``train_ids``, evaluated every cfg.eval_every
    steps on both splits (and saved to ``checkpoint``, with everything a resume needs).
    ``until`` stops early after that step (the schedule still spans cfg.steps), to resume later.
    ``sample_fn(model, step)``, if given, is called at each evaluation (e.g. to print a sample).
    """
    if hasattr(model, "config") and cfg.block_size > model.config.block_size:
        raise ValueError(f"block_size={cfg.block_size} is longer than the model's context "
                         f"({model.config.block_size}): lower TrainConfig.block_size or build a bigger model")
    rank, world = _distributed()
    if device is None:
        device = (torch.device("cuda", rank % torch.cuda.device_count()) if world > 1 and torch.cuda.is_available()
                  else get_device())
    model.to(device)
    precision = cfg.precision(device)
    if world > 1:  # replicas must round alike: rank 0's choice (it may have timed a probe) is everyone's
        shared = [precision]
        dist.broadcast_object_list(shared, src=0)
        precision = shared[0]
    scaler = precision.grad_scaler()  # float16 only: scales the loss up so small gradients survive
    optimizer = configure_optimizer(model, cfg)
    history, start = History(device=str(device), precision=precision.name), 0
    batches = torch.Generator().manual_seed(cfg.seed + 1000 * rank)  # each replica draws its own batches
    torch.manual_seed(cfg.seed)  # dropout
    if resume:
        if checkpoint is None or not Path(checkpoint).exists():
            raise FileNotFoundError(f"no checkpoint at {checkpoint} to resume from: "
                                    f"train once with checkpoint=... first")
        state = load_checkpoint(checkpoint, model, optimizer, scaler)
        history, start = History(**state["history"]), state["step"]
        batches.set_state(state["batch_rng"])
        torch.set_rng_state(state["torch_rng"])
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    end = cfg.steps if until is None else min(until, cfg.steps)

    def next_token_loss(step: int):
        x, y = get_batch(train_ids, cfg.batch_size, cfg.block_size, batches, device)  # (B, T) each
        return net(x, y)[1]

    def evaluate(done: int) -> None:
        if rank > 0 or (done % cfg.eval_every and done != end):
            return
        history.eval_step.append(done)
        evals = torch.Generator().manual_seed(cfg.seed + 1)  # the same eval batches every time
        history.train.append(estimate_loss(model, train_ids, cfg, evals, device, precision))
        history.val.append(estimate_loss(model, val_ids, cfg, evals, device, precision))
        tqdm.write(f"step {done}: train {history.train[-1]:.4f}, val {history.val[-1]:.4f}")
        if sample_fn is not None:
            sample_fn(model, done)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, done, history, cfg, batches, scaler)

    fit(model, next_token_loss, cfg, start=start, end=end, optimizer=optimizer, scaler=scaler, precision=precision,
        history=history, tokens_per_step=cfg.batch_size * cfg.block_size * world, on_step=evaluate)
    if world > 1:  # rank 0 may still be evaluating and saving: the others wait for it here
        dist.barrier()
    return history
