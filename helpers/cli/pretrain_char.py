"""Notebook 04's character-level pretraining from the command line: the GPT trained on the plays
(``helpers.data.corpora.split_plays``: the last 10% of every play held out).

    python -m helpers.cli.pretrain_char --steps 2000 --out out/char
    python -m torch.distributed.run --standalone --nproc_per_node=2 -m helpers.cli.pretrain_char --steps 20

The second line runs this same file in two processes; helpers.training.loop sees torchrun's environment
and wraps the model in DistributedDataParallel (gloo on CPU, nccl on GPU). Nothing here changes.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number (e.g. 20)")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number (e.g. 1e-3)")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line's settings; exits with a one-line usage error on a bad flag."""
    p = argparse.ArgumentParser(prog="python -m helpers.cli.pretrain_char",
                                description="Train a character-level GPT on Shakespeare's plays (the last 10%% of "
                                            "each play held out).")
    p.add_argument("--steps", type=_positive_int, default=2000, help="optimizer steps (default 2000)")
    p.add_argument("--out", default="out/pretrain_char", help="folder for ckpt.pt (default out/pretrain_char)")
    p.add_argument("--n-layer", type=_positive_int, default=4)
    p.add_argument("--n-head", type=_positive_int, default=4)
    p.add_argument("--n-embd", type=_positive_int, default=128)
    p.add_argument("--block-size", type=_positive_int, default=64, help="context length in characters")
    p.add_argument("--batch-size", type=_positive_int, default=12, help="sequences per step and process")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="peak learning rate")
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"), default="auto",
                   help="matmul precision (default auto: chosen for the device, see helpers.course.precision)")
    p.add_argument("--eval-every", type=_positive_int, default=250)
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    args = p.parse_args(argv)
    if args.n_embd % args.n_head:
        p.error(f"--n-embd {args.n_embd} is not a multiple of --n-head {args.n_head}: each head gets "
                f"n_embd // n_head channels")
    return args


def main(argv: list[str] | None = None) -> float | None:
    """Train, save out/ckpt.pt and return the final val loss (None on processes other than rank 0)."""
    args = parse_args(argv)  # before importing torch (and the helpers that import it): a bad flag fails fast
    import torch

    from helpers.course.runtime import get_device
    from helpers.data.corpora import split_plays
    from helpers.models import GPT, GPTConfig
    from helpers.tokenizers import CharTokenizer
    from helpers.training.loop import TrainConfig, end_distributed, train

    train_text, val_text = split_plays()
    tok = CharTokenizer.from_text(train_text + val_text)
    train_ids, val_ids = (torch.tensor(tok.encode(t), dtype=torch.long) for t in (train_text, val_text))
    torch.manual_seed(1337)  # every process builds the same initial model (DDP would sync it anyway)
    model = GPT(GPTConfig(vocab_size=len(tok), block_size=args.block_size, n_layer=args.n_layer,
                          n_head=args.n_head, n_embd=args.n_embd))
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, block_size=args.block_size, lr=args.lr,
                      min_lr=args.lr / 10, warmup=min(100, args.steps // 10), eval_every=args.eval_every,
                      dtype=args.dtype, progress=sys.stderr.isatty())  # no progress bar in a log or a notebook
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if rank == 0:
        print(f"{model.num_params():,} parameters; {world} process(es) x {cfg.batch_size} x {cfg.block_size} "
              f"= {world * cfg.batch_size * cfg.block_size:,} tokens per step; "
              f"precision {cfg.precision(get_device()).name}", flush=True)
    checkpoint = Path(args.out) / "ckpt.pt"
    history = train(model, train_ids, val_ids, cfg, checkpoint=checkpoint, resume=args.resume)
    val = None
    if rank == 0:
        tokens_per_s = sorted(history.tokens_per_s)[len(history.tokens_per_s) // 2]
        print(f"val loss {history.val[-1]:.4f} after {history.eval_step[-1]} steps; "
              f"median {tokens_per_s:,.0f} tokens/s; checkpoint {checkpoint}", flush=True)
        val = history.val[-1]
    end_distributed()
    return val


if __name__ == "__main__":
    main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # a torchrun replica whose work is done and whose group is gone: skip the interpreter's teardown,
        # where gloo's threads have been seen to abort a replica (SIGABRT) after a run that succeeded
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
