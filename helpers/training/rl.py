"""Reinforcement learning from a reward, InstructGPT's stage 3 (Ouyang et al. 2022), at laptop scale.

One step: sample k answers to each prompt from the policy (the SFT model with a fresh LoRA adapter),
score them with a reward, turn each reward into an advantage (how much better the answer did than
the other answers to the same prompt), then raise the log-probability of the answers that did
better and lower the others', with a KL penalty that keeps the policy near the reference (the SFT
model itself: the same model with its adapter switched off).

    rollout = sample_rollouts(model, tok, prompts, k=4)                     # rows: P·k answers
    rewards = format_and_label_rewards(rollout.answers, examples)           # (P, k)
    advantages = group_advantages(rewards, "rloo").flatten()                # (P·k,)
    logp = response_logprobs(model, rollout.ids, rollout.mask, rollout.attention)   # (P·k, T-1), with gradients
    loss, stats = policy_gradient_loss(logp, advantages, rollout.token_mask, rollout.ref_logp, beta=0.05)

Baselines: plain REINFORCE (Williams 1992) uses the raw reward; RLOO (Ahmadian et al. 2024)
subtracts the mean reward of the prompt's other answers; GRPO (Shao et al. 2024) subtracts the
group's mean and divides by its standard deviation. PPO (Schulman et al. 2017) takes several steps
on one batch of samples and clips the probability ratio, so the policy cannot move far from the one
that sampled them. The KL estimators k1, k2, k3 are those of Schulman's note "Approximating KL
Divergence" (2020).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from helpers.course.precision import model_precision
from helpers.data.tasks import is_correct, parse_answer
from helpers.generation.chat import sample_answers

from .preference import collate, response_logprobs

BASELINES = ("rloo", "mean", "none")
KL_ESTIMATORS = ("k1", "k2", "k3")


# ----------------------------------------------------------------------------- a verifiable reward

def format_and_label_reward(response: str, example: dict) -> float:
    """Return 1.0 for the right answer as one line "Answer: <label>", 0.5 for a wrong one in that format, else 0.

    Anything not exactly in the format scores 0, even when it names the right label: the format is
    what a program reading the replies needs. The half point ranks a well-formed wrong answer above
    an ill-formed one. Written for the sentiment task; any ``make_tasks`` example works.
    """
    if not isinstance(example, dict) or not {"answers", "others"} <= example.keys():
        raise ValueError("example must be a dict with 'answers' and 'others', as helpers.data.tasks.make_tasks builds")
    if parse_answer(response) is None:
        return 0.0
    return 1.0 if is_correct(response, example) else 0.5


def format_and_label_rewards(answers: list[list[str]], examples: list[dict]) -> torch.Tensor:
    """Return the rewards (P, k) float32 of k answers to each of P prompts: ``format_and_label_reward`` of each."""
    if not answers or len(answers) != len(examples) or len({len(group) for group in answers}) != 1:
        raise ValueError(f"give k answers for each prompt and one example per prompt: got {len(answers)} groups of "
                         f"sizes {sorted({len(g) for g in answers})} for {len(examples)} examples")
    return torch.tensor([[format_and_label_reward(a, e) for a in group] for group, e in zip(answers, examples)])


# ----------------------------------------------------------------------------- advantages

def group_advantages(rewards, baseline: str = "rloo", normalize: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """Return the advantages (P, k) of k answers to each of P prompts: each reward minus its baseline.

    baseline "rloo": the mean reward of the prompt's other k − 1 answers (RLOO); "mean": the mean of
    all k (GRPO); "none": no baseline, the advantage is the reward (plain REINFORCE). ``normalize``
    then divides by the group's standard deviation (GRPO; torch's std, with Bessel's correction) plus
    ``eps``, so a group whose rewards are all equal gets advantages 0, not NaN.
    """
    r = torch.as_tensor(rewards)
    r = r if r.is_floating_point() else r.float()  # (P, k)
    if r.ndim != 2:
        raise ValueError(f"rewards must be (prompts, k answers each), got shape {tuple(r.shape)}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline={baseline!r}: use one of {', '.join(BASELINES)}")
    k = r.shape[1]
    if (baseline == "rloo" or normalize) and k < 2:
        raise ValueError(f"k={k}: a baseline from the other answers, or their spread, needs k >= 2 answers per prompt")
    if normalize and baseline == "none":
        raise ValueError("normalize=True scales a centred advantage: use baseline='mean' (GRPO) or 'rloo'")
    if baseline == "rloo":
        advantages = r - (r.sum(dim=1, keepdim=True) - r) / (k - 1)  # minus the mean of the other k − 1
    elif baseline == "mean":
        advantages = r - r.mean(dim=1, keepdim=True)
    else:
        advantages = r.clone()
    if normalize:
        advantages = advantages / (r.std(dim=1, keepdim=True) + eps)
    return advantages


# ----------------------------------------------------------------------------- the KL leash

def kl_per_token(logp, ref_logp, estimator: str = "k3"):
    """Return per-token estimates (same shape) of KL(π‖π_ref) from sampled tokens' log-probs under π and π_ref.

    With log r = ref_logp − logp, for tokens sampled from π: k1 = −log r (unbiased, but often
    negative), k2 = ½·(log r)² (never negative, biased), k3 = (r − 1) − log r (never negative and
    unbiased). Where both log-probs are 0 (outside the answer) all three are 0; the caller masks.
    """
    if logp.shape != ref_logp.shape:
        raise ValueError(f"logp {tuple(logp.shape)} and ref_logp {tuple(ref_logp.shape)} must have the same shape")
    if estimator not in KL_ESTIMATORS:
        raise ValueError(f"estimator={estimator!r}: use one of {', '.join(KL_ESTIMATORS)}")
    log_ratio = ref_logp - logp  # log π_ref(token) / π(token)
    if estimator == "k1":
        return -log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio ** 2
    return torch.expm1(log_ratio) - log_ratio  # expm1(x) = e^x − 1, accurate for small x


def sequence_kl(logp, ref_logp, mask, estimator: str = "k3"):
    """Return each answer's KL estimate (B,): ``kl_per_token`` summed over its tokens (where mask is True)."""
    return (kl_per_token(logp, ref_logp, estimator) * mask).sum(dim=1)


# ----------------------------------------------------------------------------- losses

def _as_batch(logp, advantages, mask):
    """Return advantages as a (B,) tensor like logp's; raise when the shapes do not fit (B, T), (B,), (B, T)."""
    advantages = torch.as_tensor(advantages).to(logp)
    if logp.ndim != 2 or mask.shape != logp.shape:
        raise ValueError(f"logp and mask must both be (B, T), got {tuple(logp.shape)} and {tuple(mask.shape)}")
    if advantages.shape != logp.shape[:1]:
        raise ValueError(f"advantages must be ({logp.shape[0]},), one per answer, got {tuple(advantages.shape)}")
    return advantages.detach()  # a weight on the gradient: no gradient flows into it


def policy_gradient_loss(logp, advantages, mask, ref_logp=None, beta: float = 0.0, estimator: str = "k3"):
    """Return (loss, stats): the mean over answers of −A·Σ_t log π(y_t) + β·Σ_t KL_t, and floats to log.

    ``logp`` (B, T): the sampled answer tokens' log-probs under the policy, with gradients, 0 outside
    ``mask`` (B, T); ``advantages`` (B,), one per answer. The KL term is ``kl_per_token`` (k3 unless
    ``estimator`` says otherwise) summed over each answer's tokens, and differentiated: GRPO puts k3
    in its loss the same way (averaged over the tokens there). Per token, in expectation over the
    sampled token, k3's gradient is that of KL(π_ref‖π), k2's that of KL(π‖π_ref), and k1's is zero.
    InstructGPT instead subtracts β·Σ_t k1 from each reward, before the baseline.
    stats: "pg", the policy-gradient term; "logp", the mean Σ_t log π(y_t); "kl", the mean Σ_t KL_t
    (only with ``ref_logp``).
    """
    advantages = _as_batch(logp, advantages, mask)
    if beta and ref_logp is None:
        raise ValueError("beta > 0 needs ref_logp: the answer tokens' log-probs under the reference")
    mask = mask.to(logp.dtype)
    seq_logp = (logp * mask).sum(dim=1)  # (B,) log π(answer | prompt)
    pg = -advantages * seq_logp  # (B,)
    loss = pg.mean()
    stats = {"pg": loss.item(), "logp": seq_logp.mean().item()}
    if ref_logp is not None:
        kl = sequence_kl(logp, ref_logp.detach(), mask, estimator)  # (B,)
        loss = loss + beta * kl.mean()
        stats["kl"] = kl.mean().item()
    return loss, stats


def ppo_clipped_loss(logp, old_logp, advantages, mask, clip: float = 0.2):
    """Return (loss, clip_fraction): PPO's clipped objective, negated and averaged over the batch's answer tokens.

    Per token, r = π(y_t)/π_old(y_t) = exp(logp − old_logp), and the objective is
    min(r·A, clip(r, 1 − ε, 1 + ε)·A), A the answer's advantage. The min keeps the smaller term: once
    r has moved past 1 ± ε in the direction A favours, the token's gradient is 0. One mean over all
    answer tokens of the batch. clip_fraction: the share of answer tokens where the clipped term is
    the smaller one, i.e. whose gradient the clip switched off.
    """
    advantages = _as_batch(logp, advantages, mask)
    if old_logp.shape != logp.shape:
        raise ValueError(f"old_logp {tuple(old_logp.shape)} must have logp's shape {tuple(logp.shape)}")
    if not 0 < clip < 1:
        raise ValueError(f"clip={clip}: ε is a small positive number below 1, e.g. 0.2")
    mask = mask.bool()
    if not mask.any():
        raise ValueError("mask has no answer tokens: nothing to average over")
    ratio = torch.exp(logp - old_logp.detach())  # (B, T) π/π_old of each token
    A = advantages[:, None]  # (B, 1): every token of an answer shares its advantage
    unclipped = ratio * A  # (B, T)
    clipped = ratio.clamp(1 - clip, 1 + clip) * A  # (B, T)
    loss = -torch.minimum(unclipped, clipped)[mask].mean()
    clip_fraction = (clipped < unclipped)[mask].float().mean()
    return loss, clip_fraction


# ----------------------------------------------------------------------------- sampling answers to learn from

class _KeepIds:
    """A tokenizer stand-in for ``sample_answers`` whose ``decode`` returns the sampled token ids themselves.

    The loss must score the very tokens the policy sampled; decoding them to text and encoding the
    text again can give other tokens (two sampled "\\n" come back as one "\\n\\n" token).
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)

    def __call__(self, *args, **kwargs):
        return self.tokenizer(*args, **kwargs)

    def decode(self, ids):
        return list(ids)


@dataclass
class Rollout:
    """k sampled answers to each of P prompts, as a training step needs them; rows i·k … i·k + k − 1 answer prompt i."""
    answers: list[list[str]]  # P lists of k answer texts (without the end-of-turn token)
    ids: torch.Tensor  # (P·k, T) long: the prompt in the chat template, then the sampled answer; right-padded
    mask: torch.Tensor  # (P·k, T) bool: True on the sampled answer tokens (and the end-of-turn, when sampled)
    attention: torch.Tensor  # (P·k, T) bool: False on padding
    logp: torch.Tensor  # (P·k, T-1) float32: log π of each answer token when sampled (π_old for PPO), 0 elsewhere
    ref_logp: torch.Tensor  # (P·k, T-1) float32: the same under the reference (the adapter switched off)

    @property
    def token_mask(self) -> torch.Tensor:
        """Return (P·k, T-1) bool: where logp holds an answer token (``mask`` shifted by one, like the targets)."""
        return self.mask[:, 1:]


@torch.no_grad()
def sample_rollouts(model, tokenizer, prompts: list[str], k: int, temperature: float = 1.0, max_new_tokens: int = 24,
                    batch_size: int = 16, seed: int = 0, dtype: str = "auto") -> Rollout:
    """Return a Rollout: k sampled answers to each prompt, their tokens, and their log-probs under policy and reference.

    Sampling is ``helpers.generation.chat.sample_answers`` (each prompt runs once, its keys and values shared
    by its k answers; seeded; the caller's random state untouched). The log-probs are
    ``response_logprobs`` of the sampled tokens in eval mode, the reference's with the adapter off. An
    answer cut at ``max_new_tokens`` has no end-of-turn token. Sample at temperature 1 to train on
    the policy's own distribution (the log-probs are those of π, not of π sharpened by a temperature).
    """
    if not hasattr(model, "disable_adapter"):
        raise ValueError("sample_rollouts needs a peft model (its adapter off is the reference): "
                         "wrap it with add_lora first")
    if not prompts or k < 1:
        raise ValueError(f"{len(prompts)} prompts, k={k}: give at least one prompt and one answer per prompt")
    with torch.random.fork_rng():  # choosing the precision may time a matmul of random numbers
        precision = model_precision(model, dtype)
    sampled = sample_answers(model, _KeepIds(tokenizer), prompts, n=k, temperature=temperature,
                             max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed, dtype=precision.name)
    rows = []
    for prompt, group in zip(prompts, sampled):
        templated = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                  add_generation_prompt=True)
        head = tokenizer(templated, add_special_tokens=False)["input_ids"]
        for answer in group:  # cut before its end-of-turn token, if it sampled one before max_new_tokens
            answer = answer + [tokenizer.eos_token_id] * (len(answer) < max_new_tokens)
            rows.append((head + answer, [False] * len(head) + [True] * len(answer)))
    device = next(model.parameters()).device
    ids, mask, attention = (t.to(device) for t in collate(rows, tokenizer.pad_token_id or 0))  # (P·k, T) each

    def logprobs():  # (P·k, T-1), in batches of batch_size rows
        with precision.autocast():
            return torch.cat([response_logprobs(model, ids[i:i + batch_size], mask[i:i + batch_size],
                                                attention[i:i + batch_size]) for i in range(0, len(ids), batch_size)])

    model.eval()
    logp = logprobs()
    with model.disable_adapter():  # peft: the base weights alone, the model before this adapter
        ref_logp = logprobs()
    answers = [[tokenizer.decode(a) for a in group] for group in sampled]
    return Rollout(answers, ids, mask, attention, logp, ref_logp)
