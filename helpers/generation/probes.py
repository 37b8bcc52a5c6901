"""Reading a model's answer as probabilities instead of sampling it: label scores and group gaps.

``label_logprobs`` gives log p(label | prompt) for every prompt and label from one forward pass
per prompt (the prompts' shared beginning is computed once and reused through the KV cache).
Classification by likelihood takes the likeliest label; a bias probe compares the probabilities
of a label across sentences that differ in one word. ``group_gaps`` and ``largest_gap`` put
confidence intervals and permutation tests on such comparisons.

    logps = label_logprobs(model, tokenizer, prompts, [" positive", " negative"])   # (N, 2)
    p_positive = logps.softmax(-1)[:, 0]                                           # over the two labels
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from .sampling import as_course_model


def _common_prefix(rows: list[list[int]]) -> int:
    """Return the length of the longest list of ids that every row starts with."""
    n = min(map(len, rows))
    for i in range(n):
        if any(r[i] != rows[0][i] for r in rows):
            return i
    return n


def _expanded(cache, batch: int):
    """Return a copy of a one-row cache repeated to ``batch`` rows (the shared prefix's keys and values)."""
    inner = copy.deepcopy(cache.inner)
    inner.batch_repeat_interleave(batch)
    out = copy.copy(cache)
    out.inner = inner
    return out


@torch.no_grad()
def label_logprobs(model, tokenizer, prompts: list[str], labels: list[str], batch_size: int = 16) -> torch.Tensor:
    """Return log p(label | prompt), (len(prompts), len(labels)), summed over each label's tokens.

    Labels are the exact text that follows the prompt, usually with a leading space (" positive").
    The result is exact, not sampled: the same numbers on every run.
    """
    if not prompts or not labels:
        raise ValueError("give at least one prompt and one label")
    net = as_course_model(model)
    device = next(net.parameters()).device
    label_ids = [tokenizer.encode(label, add_special_tokens=False) for label in labels]
    if any(not ids for ids in label_ids):
        raise ValueError(f"a label encodes to no tokens: {labels}")
    prompt_ids = [tokenizer.encode(p, add_special_tokens=False) for p in prompts]
    if any(not ids for ids in prompt_ids):
        raise ValueError("a prompt encodes to no tokens: give text the model can continue")
    one_pass = all(len(ids) == 1 for ids in label_ids)  # one token per label: one row per prompt suffices
    rows = [(i, None, ids) for i, ids in enumerate(prompt_ids)] if one_pass else \
        [(i, j, ids + label_ids[j][:-1]) for i, ids in enumerate(prompt_ids) for j in range(len(labels))]
    # the shared beginning runs once; every row keeps at least its last prompt token to predict from
    shared = min(_common_prefix([r[2] for r in rows]), min(map(len, prompt_ids)) - 1)
    shared = shared if hasattr(net, "model") else 0  # a course GPT: no prefix reuse, plain batches
    prefix_cache = None
    if shared:
        prefix_cache = net.new_cache()
        net(torch.tensor([rows[0][2][:shared]], device=device), cache=prefix_cache)
    out = torch.empty(len(prompts), len(labels))
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        tails = [ids[shared:] for _, _, ids in batch]
        width = max(map(len, tails))
        idx = torch.tensor([t + [t[-1]] * (width - len(t)) for t in tails], device=device)  # right padding: causal,
        cache = _expanded(prefix_cache, len(batch)) if prefix_cache is not None else None  # so never attended to
        logps = F.log_softmax(net(idx, cache=cache)[0].float(), dim=-1).cpu()  # (b, width, vocab)
        for row, (i, j, _) in enumerate(batch):
            first = len(prompt_ids[i]) - shared - 1  # the position that predicts the label's first token
            for jj in (range(len(labels)) if j is None else [j]):
                out[i, jj] = sum(logps[row, first + k, t] for k, t in enumerate(label_ids[jj])).item()
    return out


@torch.no_grad()
def continuation_logprobs(model, tokenizer, prompt: str, continuation: str) -> torch.Tensor:
    """Return log p of each token of ``continuation`` after ``prompt``, (n_tokens,): how sure the model was."""
    net = as_course_model(model)
    device = next(net.parameters()).device
    head = tokenizer.encode(prompt, add_special_tokens=False)
    tail = tokenizer.encode(continuation, add_special_tokens=False)
    if not head or not tail:
        raise ValueError("both the prompt and the continuation must encode to at least one token")
    idx = torch.tensor([head + tail], device=device)
    logps = F.log_softmax(net(idx)[0][0, len(head) - 1:-1].float(), dim=-1).cpu()  # (n_tail, vocab)
    return logps.gather(1, torch.tensor(tail)[:, None])[:, 0]


def bootstrap_interval(d: torch.Tensor, level: float = 0.95, resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, float]:
    """Return the percentile bootstrap interval of the mean of ``d``: templates drawn again with replacement."""
    g = torch.Generator().manual_seed(seed)
    means = d[torch.randint(len(d), (resamples, len(d)), generator=g)].mean(1)
    tail = (1 - level) / 2
    return means.quantile(tail).item(), means.quantile(1 - tail).item()


def group_gaps(p: torch.Tensor, groups: list[str], permutations: int = 10_000, seed: int = 0) -> list[dict]:
    """Return, per group, how far its probability sits from the other groups' mean, template by template.

    ``p`` is (templates, groups). For group g the gap is the mean over templates of
    p[t, g] - mean of p[t, others]; its 95% interval a bootstrap over the templates, and its
    p-value a permutation test that shuffles the group names within each template.
    """
    T, G = p.shape
    if T < 2 or G < 2 or G != len(groups):
        raise ValueError(f"p has shape {tuple(p.shape)}: give (templates >= 2, one column per group of {len(groups)})")
    def gaps(x):  # (..., T, G) -> (..., G)
        others = (x.sum(-1, keepdim=True) - x) / (G - 1)
        return (x - others).mean(-2)
    observed = gaps(p)
    g = torch.Generator().manual_seed(seed)
    order = torch.rand(permutations, T, G, generator=g).argsort(-1)
    shuffled = gaps(p.expand(permutations, T, G).gather(-1, order))  # (permutations, G)
    p_values = ((shuffled.abs() >= observed.abs() - 1e-6).float().mean(0) * permutations + 1) / (permutations + 1)
    rows = []
    for k, name in enumerate(groups):
        d = p[:, k] - (p.sum(1) - p[:, k]) / (G - 1)
        low, high = bootstrap_interval(d.float(), seed=seed)
        rows.append(dict(group=name, gap=observed[k].item(), low=low, high=high, p_value=p_values[k].item()))
    return rows


def largest_gap(p: torch.Tensor, groups: list[str], permutations: int = 10_000, seed: int = 0) -> dict:
    """Return the pair of groups whose probabilities differ most on average, with a 95% interval and a p-value.

    The p-value compares the largest pairwise gap with the largest one in data whose group names were
    shuffled within each template, so it accounts for having picked the largest of all pairs.
    """
    T, G = p.shape
    def max_gap(x):  # (..., T, G) -> (...,), the largest |mean difference| over all pairs
        means = x.mean(-2)
        return (means[..., :, None] - means[..., None, :]).abs().flatten(-2).amax(-1)
    means = p.mean(0)
    a, b = int(means.argmax()), int(means.argmin())
    d = p[:, a] - p[:, b]
    low, high = bootstrap_interval(d.float(), seed=seed)
    g = torch.Generator().manual_seed(seed)
    order = torch.rand(permutations, T, G, generator=g).argsort(-1)
    null = max_gap(p.expand(permutations, T, G).gather(-1, order))
    p_value = ((null >= max_gap(p) - 1e-6).float().sum().item() + 1) / (permutations + 1)
    return dict(high_group=groups[a], low_group=groups[b], gap=d.mean().item(), low=low, high=high, p_value=p_value)
