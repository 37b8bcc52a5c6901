"""From logits to text: temperature, top-k, top-p (nucleus), min-p, greedy, repetition penalties,
stop sequences, a KV cache.

One loop, ``generate``, serves every model in the course. A model takes token ids (B, T) and an
optional cache and returns logits (B, T, vocab); with a cache it is fed only the new tokens.
``as_course_model`` gives a ``transformers`` model (or a ``peft`` one) that same interface.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import torch
import torch.nn.functional as F


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Return logits / temperature: below 1 sharpens the distribution, above 1 flattens it."""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: use a value > 0, or greedy=True for the argmax")
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Return logits with all but the k largest of each row set to -inf (k=0 keeps all)."""
    if k < 0:
        raise ValueError(f"top_k={k}: use 0 (off) or a positive count of tokens to keep")
    if k == 0 or k >= logits.size(-1):
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1) the k-th largest
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Return logits keeping, per row, the smallest set of most likely tokens whose mass reaches p."""
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p={p} is outside (0, 1]: use e.g. 0.9 (1.0 turns it off)")
    if p == 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    # drop a token when the mass before it already reaches p; the most likely token always stays
    drop_sorted = (cumulative - sorted_logits.softmax(dim=-1)) >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Return logits keeping the tokens whose probability is at least min_p times the top token's."""
    if not 0.0 <= min_p <= 1.0:
        raise ValueError(f"min_p={min_p} is outside [0, 1]: use e.g. 0.05 (0 turns it off)")
    probs = logits.softmax(dim=-1)
    return logits.masked_fill(probs < min_p * probs.amax(dim=-1, keepdim=True), float("-inf"))


def repetition_penalty(logits: torch.Tensor, ids: torch.Tensor, penalty: float) -> torch.Tensor:
    """Return logits (B, V) with each token of ``ids`` (B, T) penalised once, as CTRL does (Keskar et al. 2019).

    A positive logit is divided by ``penalty``, a negative one multiplied, so both become less likely.
    """
    seen = logits.gather(1, ids)  # (B, T)
    return logits.scatter(1, ids, torch.where(seen > 0, seen / penalty, seen * penalty))


def token_counts(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Return how often each token of the vocabulary occurs in each row of ``ids`` (B, T), as (B, vocab)."""
    counts = torch.zeros(ids.size(0), vocab_size, dtype=torch.long, device=ids.device)
    return counts.scatter_add_(1, ids, torch.ones_like(ids))


def apply_penalties(logits: torch.Tensor, generated: torch.Tensor, frequency_penalty: float = 0.0,
                    presence_penalty: float = 0.0) -> torch.Tensor:
    """Return logits (B, V) lowered by OpenAI's frequency and presence penalties.

    ``logit[j] -= count[j] * frequency_penalty + (count[j] > 0) * presence_penalty``, where ``count[j]``
    is how often token j occurs in ``generated`` (B, T), the tokens sampled so far (not the prompt).
    OpenAI accepts values from -2 to 2; negative values make repeats more likely.
    """
    for name, value in (("frequency_penalty", frequency_penalty), ("presence_penalty", presence_penalty)):
        if not -2.0 <= value <= 2.0:
            raise ValueError(f"{name}={value} is outside [-2, 2], OpenAI's range: use e.g. 0.5 (0 turns it off)")
    if generated.size(1) == 0 or (frequency_penalty == 0 and presence_penalty == 0):
        return logits
    counts = token_counts(generated, logits.size(-1)).to(logits.dtype)  # (B, V)
    return logits - counts * frequency_penalty - (counts > 0).to(logits.dtype) * presence_penalty


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                greedy: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return the next token ids (B,) drawn from last-position logits (B, vocab)."""
    if greedy:
        return logits.argmax(dim=-1)
    logits = top_p_filter(top_k_filter(apply_temperature(logits, temperature), top_k), top_p)
    probs = F.softmax(logits.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, greedy: bool = False, use_cache: bool = True,
             stop: Sequence[str] | None = None, decode: Callable[[list[int]], str] | None = None,
             stop_ids: Sequence[int] = (), generator: torch.Generator | None = None,
             frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
             record_logits: list | None = None) -> torch.Tensor:
    """Return idx (B, T) extended by up to max_new_tokens sampled tokens, (B, T + new).

    A row stops at a token in ``stop_ids`` or when its new text (``decode``) contains a string of
    ``stop``; finished rows are padded with their last token (``generate_text`` trims them). With
    ``use_cache`` the model sees each token once (KV cache) while the text fits in the context; past
    it, every step recomputes the last block_size tokens either way. The penalties (``apply_penalties``)
    count the tokens generated so far, and apply before the temperature, greedy included.
    ``record_logits``, a list, receives each step's last-position logits (B, vocab) as the model gave them.
    """
    if idx.dim() != 2:
        raise ValueError(f"idx has shape {tuple(idx.shape)}: give (batch, time) ids, e.g. ids[None]")
    if stop and decode is None:
        raise ValueError("stop sequences need decode=..., a function from token ids to text")
    context = model.config.block_size
    if idx.size(1) > context:
        raise ValueError(f"the prompt has {idx.size(1)} tokens but the model's context is {context}: "
                         f"shorten it (e.g. keep the last {context} tokens)")
    model.eval()
    start = idx.size(1)
    done = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    cache = model.new_cache() if use_cache else None
    for _ in range(max_new_tokens):
        if cache is not None and 0 < cache.length < context:
            logits, _ = model(idx[:, -1:], cache=cache)  # only the newest token: the rest is cached
        else:
            if cache is not None:  # first step, or the text outgrew the context: positions are absolute,
                cache = model.new_cache()  # so the window is recomputed from scratch (as without a cache)
            logits, _ = model(idx[:, -context:], cache=cache)  # (B, T, vocab)
        last = logits[:, -1, :].float()  # (B, vocab)
        if record_logits is not None:
            record_logits.append(last.cpu())
        last = apply_penalties(last, idx[:, start:], frequency_penalty, presence_penalty)
        next_id = sample_next(last, temperature, top_k, top_p, greedy, generator)  # (B,)
        next_id = torch.where(done, idx[:, -1], next_id)
        idx = torch.cat([idx, next_id[:, None]], dim=1)
        if stop_ids:
            done |= torch.isin(next_id, torch.tensor(list(stop_ids), device=idx.device))
        if stop:
            for row in range(idx.size(0)):
                if not done[row] and any(s in decode(idx[row, start:].tolist()) for s in stop):
                    done[row] = True
        if done.all():
            break
    return idx


def token_probabilities(step_logits: Sequence[torch.Tensor], new_ids: Sequence[int], row: int = 0,
                        top: int = 5) -> list[tuple[float, list[tuple[int, float]]]]:
    """Return, for each generated token, (its probability, the ``top`` most likely tokens with theirs).

    ``step_logits`` are what ``generate(record_logits=...)`` recorded; the probabilities are the
    model's own (softmax of its logits), before penalties, temperature and filters changed them.
    """
    out = []
    for logits, token in zip(step_logits, new_ids):
        probs = logits[row].float().softmax(dim=-1)
        best = probs.topk(min(top, probs.numel()))
        out.append((probs[token].item(), list(zip(best.indices.tolist(), best.values.tolist()))))
    return out


def trim_at_stop(text: str, stop: str | Sequence[str] | None) -> str:
    """Return text cut before the first stop sequence it contains (unchanged if none; empty ones ignored)."""
    stops = [stop] if isinstance(stop, str) else list(stop or ())
    cut = min((text.find(s) for s in stops if s and s in text), default=len(text))
    return text[:cut]


def generate_text(model, encode: Callable[[str], list[int]], decode: Callable[[list[int]], str], prompt: str,
                  max_new_tokens: int, num_samples: int = 1, stop: Sequence[str] | None = None,
                  seed: int | None = None, **sampling) -> list[str]:
    """Return ``num_samples`` continuations of ``prompt`` as text (prompt excluded, cut at ``stop``)."""
    ids = encode(prompt)
    if not ids:
        raise ValueError("the prompt encodes to no tokens: give at least one character the model knows")
    device = next(model.parameters()).device
    idx = torch.tensor([ids] * num_samples, dtype=torch.long, device=device)
    generator = None if seed is None else torch.Generator(device=device).manual_seed(seed)
    out = generate(model, idx, max_new_tokens, stop=stop, decode=decode, generator=generator, **sampling)
    return [trim_at_stop(decode(row[len(ids):].tolist()), stop) for row in out]


class _TransformersCache:
    """A ``transformers`` DynamicCache seen through the course's cache interface (``.length``)."""

    def __init__(self):
        from transformers import DynamicCache

        self.inner = DynamicCache()

    @property
    def length(self) -> int:
        """Return how many tokens the cache holds."""
        return self.inner.get_seq_length()


class CausalLMAdapter:
    """A ``transformers`` causal LM (or a ``peft``-wrapped one) with the course model's interface.

    ``generate`` above needs ``config.block_size``, ``new_cache()`` and ``model(idx, cache) -> (logits, loss)``;
    this wrapper gives exactly those, so one sampling loop serves every model.
    """

    def __init__(self, model):
        context = getattr(model.config, "max_position_embeddings", None)
        if context is None:
            raise ValueError(f"{type(model).__name__} has no config.max_position_embeddings: "
                             f"give a transformers causal LM (AutoModelForCausalLM)")
        self.model = model
        self.config = SimpleNamespace(block_size=context)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model  # under a peft wrapper
        # transformers 5.24 renamed forward's past_key_values to cache (the old name warns): use what this version takes
        self._cache_keyword = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"

    def new_cache(self) -> _TransformersCache:
        """Return an empty KV cache (a transformers DynamicCache inside)."""
        return _TransformersCache()

    def parameters(self):
        """Return the wrapped model's parameters."""
        return self.model.parameters()

    def eval(self) -> CausalLMAdapter:
        """Put the wrapped model in eval mode; return self."""
        self.model.eval()
        return self

    def __call__(self, idx: torch.Tensor, cache: _TransformersCache | None = None):
        """Return (logits (B, T, vocab), None); with a cache, idx are the tokens after those cached."""
        out = self.model(input_ids=idx, use_cache=cache is not None,
                         **{self._cache_keyword: None if cache is None else cache.inner})
        return out.logits, None


def as_course_model(model):
    """Return ``model`` itself if it is a course model, else a ``CausalLMAdapter`` around it."""
    return model if hasattr(model, "new_cache") else CausalLMAdapter(model)
