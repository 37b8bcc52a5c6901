"""Chat answers from a transformers chat model: greedy replies, or n samples per prompt (Part V).

The prompt goes through the tokenizer's chat template; each answer is cut at the model's end-of-turn
token. ``sample_answers`` runs each prompt once and shares its keys and values among its n samples.
"""
from __future__ import annotations

import inspect

import torch

from helpers.course.precision import model_precision


@torch.no_grad()
def _generate(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int, precision,
              n: int = 1, **sampling) -> list[str]:
    """Return ``n`` chat responses per prompt (prompt-major order), each cut at its end-of-turn token."""
    model.eval()
    device = next(model.parameters()).device
    responses = []
    for i in range(0, len(prompts), batch_size):
        heads = [tokenizer(tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                         add_generation_prompt=True),
                           add_special_tokens=False)["input_ids"] for p in prompts[i:i + batch_size]]
        T = max(map(len, heads))
        ids = torch.full((len(heads), T), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros(len(heads), T, dtype=torch.long)
        for row, h in enumerate(heads):  # left-padded, so every prompt ends where generation starts
            ids[row, T - len(h):] = torch.tensor(h)
            attention[row, T - len(h):] = 1
        ids, attention, cache = ids.to(device), attention.to(device), None
        with precision.autocast():
            if n > 1:  # the n answers share their prompt: run it once and copy its keys and values n times
                positions = (attention.cumsum(-1) - 1).clamp_min(0)  # as generate counts them under left padding
                cache = model(input_ids=ids[:, :-1], attention_mask=attention[:, :-1], position_ids=positions[:, :-1],
                              use_cache=True).past_key_values
                cache.batch_repeat_interleave(n)
                ids, attention = ids.repeat_interleave(n, dim=0), attention.repeat_interleave(n, dim=0)
            if cache is not None:  # transformers 5.24 renamed past_key_values to cache (the old name warns)
                base = model.get_base_model() if hasattr(model, "get_base_model") else model
                keyword = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
                sampling = {**sampling, keyword: cache}
            out = model.generate(input_ids=ids, attention_mask=attention, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **sampling)
        for row in out[:, T:].tolist():
            if tokenizer.eos_token_id in row:
                row = row[:row.index(tokenizer.eos_token_id)]
            responses.append(tokenizer.decode(row))
    return responses


def generate_answers(model, tokenizer, prompts: list[str], max_new_tokens: int = 24, batch_size: int = 16,
                     dtype: str = "auto") -> list[str]:
    """Return the model's greedy chat responses to ``prompts`` (text up to its end-of-turn token)."""
    precision = model_precision(model, dtype)
    return _generate(model, tokenizer, prompts, max_new_tokens, batch_size, precision, do_sample=False)


def sample_answers(model, tokenizer, prompts: list[str], n: int, temperature: float = 1.0, max_new_tokens: int = 24,
                   batch_size: int = 16, seed: int = 0, dtype: str = "auto") -> list[list[str]]:
    """Return ``n`` sampled chat responses for each prompt: a list (one per prompt) of ``n`` strings.

    Sampling uses its own seeded random stream, so the caller's random state is left as it was.
    """
    if n < 1 or temperature <= 0:
        raise ValueError(f"n={n}, temperature={temperature}: sample at least one answer at a temperature above 0 "
                         "(for the single most likely answer use generate_answers)")
    with torch.random.fork_rng():
        precision = model_precision(model, dtype)  # before seeding: choosing it may time a matmul of random numbers
        torch.manual_seed(seed)
        flat = _generate(model, tokenizer, prompts, max_new_tokens, max(1, batch_size // n), precision, n=n,
                         do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
    return [flat[i * n:(i + 1) * n] for i in range(len(prompts))]
