"""Benchmark: decoding speed of our Llama (helpers.models.llama) vs transformers' generate, same weights.

    python benchmarks/decode_llama.py                  # SmolLM2-135M, fp32, batch 1, 128 new tokens
    python benchmarks/decode_llama.py --new-tokens 256 --repeats 5 --device cuda

Both decode greedily with a KV cache from the same prompt, so they do the same work; the script
checks that they produce the same ids. Ours is helpers.generation.sampling.generate on helpers.models.llama.Llama;
theirs is LlamaForCausalLM.generate (end-of-text does not stop it, as it does not stop ours).
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
import helpers
from helpers.generation.sampling import generate
from helpers.models.llama import Llama

PROMPT = "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"


def tokens_per_second(run, new_tokens: int, repeats: int, device: torch.device):
    """Return (median tokens/s over ``repeats`` timed calls of run(), the ids the last call produced)."""
    def timed():
        start = time.perf_counter()
        out = run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return new_tokens / (time.perf_counter() - start), out

    timed()  # warm-up: first calls allocate and pick kernels
    rates, outs = zip(*(timed() for _ in range(repeats)))
    return statistics.median(rates), outs[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="the offline default or a hub id of a Llama model")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    args = parser.parse_args()

    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    hf_model, tokenizer = helpers.load_pretrained(args.model, device=device, dtype=dtype)
    ours = Llama.from_transformers(hf_model).eval()
    prompt = torch.tensor([tokenizer.encode(PROMPT)], device=device)  # (1, T)
    print(f"{args.model}: {ours.num_params() / 1e6:.1f}M parameters, {args.dtype} on {device}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"batch 1, prompt {prompt.size(1)} tokens, {args.new_tokens} new tokens (greedy, KV cache), "
          f"median of {args.repeats} runs\n")

    runs = {
        "ours (helpers.generation.sampling.generate)": lambda: generate(ours, prompt, args.new_tokens, greedy=True),
        "transformers generate": lambda: hf_model.generate(
            prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=args.new_tokens,
            min_new_tokens=args.new_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id),
    }
    rows = {}
    with torch.inference_mode():
        for name, run in runs.items():
            rows[name] = tokens_per_second(run, args.new_tokens, args.repeats, device)
    (ours_rate, ours_ids), (theirs_rate, theirs_ids) = rows.values()
    print(f"{'':<34}{'tokens/s':>10}{'ms/token':>10}")
    for name, (rate, _) in rows.items():
        print(f"{name:<34}{rate:>10.1f}{1000 / rate:>10.1f}")
    print(f"\nours / transformers: {ours_rate / theirs_rate:.2f}x (goal >= 1.0x); "
          f"same ids: {torch.equal(ours_ids, theirs_ids)}")


if __name__ == "__main__":
    main()
