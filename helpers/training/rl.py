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

from collections.abc import Callable
from dataclasses import dataclass

import torch

from helpers.course.precision import NAMES, model_precision
from helpers.data.tasks import is_correct, parse_answer
from helpers.generation.chat import sample_answers

from .config import check_positive, merged
from .loop import TrainConfig, fit
from .preference import collate, encode_example, epoch_batches, response_logprobs

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
    logp: torch.Tensor | None  # (P·k, T-1) float32: log π of each answer token when sampled (π_old), 0 elsewhere
    ref_logp: torch.Tensor  # (P·k, T-1) float32: the same under the reference (the adapter switched off)

    @property
    def token_mask(self) -> torch.Tensor:
        """Return (P·k, T-1) bool: where logp holds an answer token (``mask`` shifted by one, like the targets)."""
        return self.mask[:, 1:]


@torch.no_grad()
def sample_rollouts(model, tokenizer, prompts: list[str], k: int, temperature: float = 1.0, max_new_tokens: int = 24,
                    batch_size: int = 16, seed: int = 0, dtype: str = "auto", policy_logp: bool = True) -> Rollout:
    """Return a Rollout: k sampled answers to each prompt, their tokens, and their log-probs under policy and reference.

    Sampling is ``helpers.generation.chat.sample_answers`` (each prompt runs once, its keys and values shared
    by its k answers; seeded; the caller's random state untouched). The log-probs are
    ``response_logprobs`` of the sampled tokens in eval mode, the reference's with the adapter off. An
    answer cut at ``max_new_tokens`` has no end-of-turn token. Sample at temperature 1 to train on
    the policy's own distribution (the log-probs are those of π, not of π sharpened by a temperature).
    ``policy_logp=False`` leaves ``logp`` None: ``train_rl`` takes π_old from its first update's forward.
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
    logp = logprobs() if policy_logp else None
    with model.disable_adapter():  # peft: the base weights alone, the model before this adapter
        ref_logp = logprobs()
    answers = [[tokenizer.decode(a) for a in group] for group in sampled]
    return Rollout(answers, ids, mask, attention, logp, ref_logp)


# ----------------------------------------------------------------------------- rewards as functions of answers

def reward_model_rewards(reward_model, tokenizer) -> Callable:
    """Return rewards(answers, examples) -> (P, k): each answer scored by ``reward_model`` after its prompt.

    An empty answer is scored as "…", as notebook 11 scored its samples.
    """
    def rewards(answers: list[list[str]], examples: list[dict]) -> torch.Tensor:
        encoded = [encode_example(tokenizer, e["prompt"], a if a.strip() else "…")
                   for group, e in zip(answers, examples) for a in group]
        return reward_model.score(encoded, batch_size=32).view(len(answers), -1).float()

    return rewards


# ----------------------------------------------------------------------------- the training: fit with an RL loss

@dataclass
class RLConfig:
    """The settings of ``train_rl``, checked when made: a bad value fails before any work."""
    steps: int  # optimizer steps (no default: say how long to train)
    prompts: int = 4  # prompts per batch of samples
    k: int = 4  # answers sampled per prompt: the group each answer's baseline comes from
    lr: float = 3e-4  # constant after a linear warm-up
    warmup: int = 2
    beta: float = 0.05  # weight of the KL penalty to the reference; 0 lets the policy go where the reward leads
    baseline: str = "rloo"  # group_advantages' baseline: "rloo", "mean" (GRPO) or "none" (REINFORCE)
    normalize: bool = False  # divide advantages by the group's spread (GRPO)
    updates: int = 2  # optimizer steps on each batch of samples: 1 is the plain policy gradient, more is PPO
    clip: float = 0.2  # PPO's ε
    max_new_tokens: int = 12
    temperature: float = 1.0
    seed: int = 0  # the order of the prompts and the samples
    dtype: str = "auto"
    progress: bool = True

    def __post_init__(self):
        check_positive(self, "steps", "prompts", "k", "updates", "max_new_tokens")
        if not self.lr > 0 or self.beta < 0:
            raise ValueError(f"lr={self.lr!r}, beta={self.beta!r}: give a positive learning rate and a beta >= 0")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline={self.baseline!r}: use one of {', '.join(BASELINES)}")
        if self.dtype not in ("auto", *NAMES):
            raise ValueError(f"dtype={self.dtype!r}: use 'auto', 'float32', 'bfloat16' or 'float16'")


def train_rl(model, tokenizer, examples: list[dict], reward_fn: Callable, *, config: RLConfig | None = None,
             on_step: Callable[[int], None] | None = None, **settings) -> dict[str, list[float]]:
    """Train a LoRA-wrapped chat ``model`` to raise ``reward_fn``'s rewards; return per-step history.

    Every ``updates`` steps: sample k answers to each of ``prompts`` prompts (``sample_rollouts``),
    score them with ``reward_fn(answers, examples) -> (P, k)``, and turn the scores into group
    advantages. Each step then runs the policy on those answers and takes an AdamW step, through
    ``helpers.training.loop.fit``, on ``policy_gradient_loss`` (``updates=1``) or PPO's
    ``ppo_clipped_loss`` plus β·KL (``updates>1``; π_old is the first update's forward). The model
    stays in eval mode: no dropout, so π at the first update is exactly the π that sampled.
    History per step: loss, reward (mean of the batch), correct (share right and in format),
    format, kl (mean Σ_t k3 to the reference), length (answer tokens), clip (PPO's clip fraction).
    ``on_step(done)`` runs after each step (fit's hook: measure the policy as it trains).
    Settings: ``RLConfig``'s fields as keywords, or ``config``.
    """
    cfg = merged(RLConfig, config, settings, "train_rl")
    if not examples:
        raise ValueError("no prompts to learn from: give make_tasks examples (dicts with 'prompt', 'answers', ...)")
    if not hasattr(model, "disable_adapter"):
        raise ValueError("train_rl needs a peft model (its adapter off is the reference): wrap it with add_lora first")
    batches = epoch_batches(len(examples), cfg.prompts, -(-cfg.steps // cfg.updates), cfg.seed)
    batch: dict = {}

    def loss_fn(step: int):
        if step % cfg.updates == 0:  # a fresh batch of samples from the current policy
            chosen = [examples[i] for i in next(batches)]
            rollout = sample_rollouts(model, tokenizer, [e["prompt"] for e in chosen], cfg.k, cfg.temperature,
                                      cfg.max_new_tokens, batch_size=32, seed=cfg.seed * 100_003 + step,
                                      dtype=cfg.dtype, policy_logp=False)
            rewards = reward_fn(rollout.answers, chosen).float()  # (P, k)
            truth = format_and_label_rewards(rollout.answers, chosen)  # (P, k), whatever the reward trained on
            batch.update(rollout=rollout, old_logp=None, advantages=group_advantages(rewards, cfg.baseline,
                                                                                      cfg.normalize).flatten(),
                         metrics={"reward": rewards.mean(), "correct": (truth == 1).float().mean(),
                                  "format": (truth > 0).float().mean(),
                                  "length": rollout.token_mask.sum(dim=1).float().mean()})
        rollout = batch["rollout"]
        logp = response_logprobs(model, rollout.ids, rollout.mask, rollout.attention)  # (P·k, T-1), with gradients
        mask = rollout.token_mask
        kl = sequence_kl(logp, rollout.ref_logp, mask.to(logp.dtype)).mean()  # mean Σ_t k3 over answers
        if cfg.updates == 1:
            loss, _ = policy_gradient_loss(logp, batch["advantages"], mask, rollout.ref_logp, cfg.beta)
            clip_fraction = torch.zeros(())
        else:
            if batch["old_logp"] is None:
                batch["old_logp"] = logp.detach()  # π_old: the policy that sampled, before this batch's first step
            loss, clip_fraction = ppo_clipped_loss(logp, batch["old_logp"], batch["advantages"], mask, cfg.clip)
            loss = loss + cfg.beta * kl
        return loss, {**batch["metrics"], "kl": kl.detach(), "clip": clip_fraction}

    model.eval()  # no dropout: the first update's π is the sampling π
    loop = TrainConfig(steps=cfg.steps, lr=cfg.lr, min_lr=cfg.lr, warmup=cfg.warmup, schedule="cosine",
                       weight_decay=0.0, betas=(0.9, 0.999), grad_clip=1.0, seed=cfg.seed, dtype=cfg.dtype,
                       progress=cfg.progress)
    history = fit(model, loss_fn, loop, on_step=on_step, desc=f"RL (β={cfg.beta:g})")
    return {"loss": history.loss, **history.metrics}


# ----------------------------------------------------------------------------- measuring a policy

def _next_token_logprobs(lm, ids, attention, targets):
    """Return log p(· | prefix) over the vocabulary (n, vocab) at the n positions where ``targets`` is True."""
    hidden = lm.get_decoder()(input_ids=ids, attention_mask=attention.long()).last_hidden_state[:, :-1]  # (B, T-1, C)
    return torch.log_softmax(lm.get_output_embeddings()(hidden[targets]).float(), dim=-1)


@torch.no_grad()
def answer_kl(model, tokenizer, prompts: list[str], answers: list[str], batch_size: int = 16) -> torch.Tensor:
    """Return KL(π‖π_ref) of each answer (N,): at each of its tokens the exact KL between the two next-token
    distributions (over the whole vocabulary), summed over the answer's tokens; π_ref is the adapter off.
    An empty answer is measured as "…", as ``reward_model_rewards`` scores it."""
    if len(prompts) != len(answers):
        raise ValueError(f"{len(prompts)} prompts and {len(answers)} answers: give one answer per prompt")
    model.eval()
    lm = model.get_base_model()
    out = []
    for i in range(0, len(prompts), batch_size):
        rows = [encode_example(tokenizer, p, a if a.strip() else "…")
                for p, a in zip(prompts[i:i + batch_size], answers[i:i + batch_size])]
        ids, mask, attention = collate(rows, tokenizer.pad_token_id or 0)
        targets = mask[:, 1:]  # (B, T-1): positions that predict an answer token
        logp = _next_token_logprobs(lm, ids, attention, targets)  # (n answer positions, vocab)
        with model.disable_adapter():
            ref = _next_token_logprobs(lm, ids, attention, targets)
        per_position = (logp.exp() * (logp - ref)).sum(dim=-1)  # (n,) exact KL at each answer position
        kl = torch.zeros(targets.shape)
        kl[targets] = per_position
        out.append(kl.sum(dim=1))
    return torch.cat(out)
