"""Benchmark: decoding speed of helpers.generation.sampling.generate with and without the KV cache.

    python benchmarks/decode_kv.py                      # GPT 6 x 384, block 512, batch 1, 16 + 256 tokens
    python benchmarks/decode_kv.py --new-tokens 480 --repeats 5 --device cuda

The model has random weights: the time per step depends on the shapes, not on what was learned.
Decoding is greedy so both runs do the same work, and the script checks they give the same ids.
Prints tokens per second (median of --repeats runs, after one warm-up) for each, and their ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.generation.sampling import generate
from helpers.models.gpt import GPT, GPTConfig


def tokens_per_second(model, prompt: torch.Tensor, new_tokens: int, use_cache: bool, repeats: int):
    """Return (median tokens/s over ``repeats`` timed runs, the ids the last run produced)."""
    def run():
        start = time.perf_counter()
        out = generate(model, prompt, new_tokens, greedy=True, use_cache=use_cache)
        if prompt.device.type == "cuda":
            torch.cuda.synchronize()
        return new_tokens * prompt.size(0) / (time.perf_counter() - start), out

    run()  # warm-up: first calls allocate and pick kernels
    rates, out = zip(*(run() for _ in range(repeats)))
    return statistics.median(rates), out[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-layer", type=int, default=6)
    parser.add_argument("--n-embd", type=int, default=384)
    parser.add_argument("--n-head", type=int, default=6)
    parser.add_argument("--block-size", type=int, default=512)
    parser.add_argument("--vocab-size", type=int, default=65, help="65: a character vocabulary")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    args = parser.parse_args()
    if args.prompt_tokens + args.new_tokens > args.block_size:
        parser.error(f"--prompt-tokens + --new-tokens = {args.prompt_tokens + args.new_tokens} exceeds "
                     f"--block-size {args.block_size}: past the context every step recomputes either way")

    torch.manual_seed(0)
    config = GPTConfig(vocab_size=args.vocab_size, block_size=args.block_size, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd)
    device = torch.device(args.device)
    model = GPT(config).to(device).eval()
    prompt = torch.randint(0, args.vocab_size, (args.batch_size, args.prompt_tokens), device=device)
    print(f"GPT {args.n_layer} layers x {args.n_embd} dims, {args.n_head} heads, block_size {args.block_size}, "
          f"{model.num_params() / 1e6:.1f}M parameters (random weights), float32 on {device}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"batch {args.batch_size}, prompt {args.prompt_tokens} tokens, {args.new_tokens} new tokens (greedy), "
          f"median of {args.repeats} runs\n")

    rows = {}
    for use_cache in (False, True):
        rows[use_cache] = tokens_per_second(model, prompt, args.new_tokens, use_cache, args.repeats)
    same = torch.equal(rows[False][1], rows[True][1])
    print(f"{'':<18}{'tokens/s':>10}{'ms/token':>10}")
    for use_cache, name in ((False, "without cache"), (True, "with KV cache")):
        rate = rows[use_cache][0]
        print(f"{name:<18}{rate:>10.1f}{1000 / rate:>10.2f}")
    print(f"\nspeed-up with the KV cache: {rows[True][0] / rows[False][0]:.1f}x (goal >= 5x); "
          f"same ids with and without: {same}")


if __name__ == "__main__":
    main()
