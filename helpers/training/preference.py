"""Instruction tuning (SFT) and preference tuning (DPO) of a chat model (Part V).

An example is a user prompt and an assistant response in the tokenizer's chat template. SFT
trains on the response tokens only (``encode_example`` returns that mask). DPO (Rafailov et al.
2023) compares the log-probability of a preferred (chosen) and a dispreferred (rejected) response
under the model being trained and under a frozen reference; with LoRA the reference is the same
model with its adapter switched off, so it costs no second copy of the weights.

Both train with helpers.training.loop.fit, the loop every training in the course uses: only the
loss differs (``sft_loss``, ``dpo_loss``), the settings become a TrainConfig (``train_config``).
The tasks and their scoring are in ``helpers.data.tasks``; answering prompts (greedy or sampled) in
``helpers.generation.chat``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from helpers.course.precision import NAMES, model_precision

from .config import check_positive, merged
from .loop import TrainConfig, fit

# ----------------------------------------------------------------------------- chat template and mask

def encode_example(tokenizer, prompt: str, response: str) -> tuple[list[int], list[bool]]:
    """Return (ids, mask) of prompt + response in the chat template; mask is True on the response tokens.

    The response tokens are the assistant's text and the end-of-turn token that closes it (the model
    must learn to stop); the system prompt, the user turn and the template's markers are not trained on.
    """
    if not response.strip():
        raise ValueError("empty response: an SFT example needs the assistant's answer to train on")
    if not prompt.strip():
        raise ValueError("empty prompt: give the user's instruction")
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("this tokenizer has no chat template, so a prompt cannot be put in chat form: "
                         "use an instruct model's tokenizer (e.g. helpers.load_tokenizer())")
    if any(marker in prompt for marker in tokenizer.all_special_tokens if marker in tokenizer.chat_template):
        raise ValueError("the prompt already contains chat-template markers: pass the plain user text, "
                         "encode_example applies the template itself")
    user = [{"role": "user", "content": prompt}]
    head = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    whole = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=False)
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    ids = tokenizer(whole, add_special_tokens=False)["input_ids"]
    if ids[:len(head_ids)] != head_ids:
        raise ValueError("the prompt's tokens change when the response follows them: end the prompt with a newline")
    end = len(ids) - 1 - ids[::-1].index(tokenizer.eos_token_id)  # the end-of-turn token after the response
    mask = [len(head_ids) <= i <= end for i in range(len(ids))]
    return ids, mask


def collate(examples: list[tuple[list[int], list[bool]]], pad_id: int):
    """Return right-padded tensors ids (B, T) long, mask (B, T) bool (response tokens), attention (B, T) bool."""
    T = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(examples), T, dtype=torch.bool)
    attention = torch.zeros(len(examples), T, dtype=torch.bool)
    for row, (x, m) in enumerate(examples):
        ids[row, :len(x)] = torch.tensor(x)
        mask[row, :len(m)] = torch.tensor(m)
        attention[row, :len(x)] = True
    return ids, mask, attention


# ----------------------------------------------------------------------------- losses

def response_labels(ids, mask):
    """Return transformers-style labels (B, T): the ids on the response, -100 (ignored) everywhere else.

    ``model(input_ids=ids, labels=labels).loss`` is then the SFT loss (transformers shifts them itself).
    """
    return ids.masked_fill(~mask, -100)


def response_loss(logits, ids, mask):
    """Return the SFT loss from logits (B, T, vocab): the mean cross-entropy over the response tokens.

    The logits at position t predict token t + 1, so the targets are ids[:, 1:] and their mask mask[:, 1:].
    """
    per_token = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), ids[:, 1:], reduction="none")  # (B, T-1)
    targets = mask[:, 1:]
    return (per_token * targets).sum() / targets.sum()


def response_logprobs(model, ids, mask, attention):
    """Return log p(ids[:, t+1] | ids[:, :t+1]) on the response tokens, 0 elsewhere: (B, T-1), float32.

    The output layer (576 x 49,152 for SmolLM2, a fifth of the model's multiply-adds per token) runs
    only at the positions the loss reads, so training and scoring skip most of its cost.
    """
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft: LoRA layers stay in place
    targets = mask[:, 1:]  # (B, T-1): position t predicts token t + 1
    if not hasattr(lm, "get_decoder") or lm.get_output_embeddings() is None:  # not a transformers causal LM
        logits = model(input_ids=ids, attention_mask=attention.long()).logits[:, :-1]  # (B, T-1, vocab)
        logp = -F.cross_entropy(logits.float().transpose(1, 2), ids[:, 1:], reduction="none")
        return logp * targets
    hidden = lm.get_decoder()(input_ids=ids, attention_mask=attention.long()).last_hidden_state[:, :-1]  # (B, T-1, C)
    logits = lm.get_output_embeddings()(hidden[targets]).float()  # (n response tokens, vocab)
    logp = torch.zeros(targets.shape, dtype=torch.float32, device=ids.device)
    logp[targets] = -F.cross_entropy(logits, ids[:, 1:][targets], reduction="none")
    return logp


def sequence_logprob(model, ids, mask, attention):
    """Return log π(response | prompt) per row (B,): the sum of the response tokens' log-probabilities."""
    return response_logprobs(model, ids, mask, attention).sum(dim=1)


def sft_loss(model, ids, mask, attention):
    """Return the mean next-token cross-entropy over the response tokens only (a scalar)."""
    return -response_logprobs(model, ids, mask, attention).sum() / mask[:, 1:].sum()


def dpo_rewards(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float = 0.1):
    """Return DPO's implicit rewards (chosen (B,), rejected (B,)): β · (log π(y|x) − log π_ref(y|x))."""
    return beta * (policy_chosen - ref_chosen), beta * (policy_rejected - ref_rejected)


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float = 0.1):
    """Return the mean DPO loss (Rafailov et al. 2023, eq. 7) from four (B,) log-probs:
    −log σ(r_chosen − r_rejected)."""
    chosen, rejected = dpo_rewards(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
    return -F.logsigmoid(chosen - rejected).mean()


def ipo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float = 0.1):
    """Return the mean IPO loss (Azar et al. 2023): (h − 1/(2β))², h the difference of the two log-ratios."""
    h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return ((h - 1 / (2 * beta)) ** 2).mean()


# ----------------------------------------------------------------------------- training loops

@dataclass
class SFTConfig:
    """The settings of ``train_sft``, checked when made: a bad value fails before any work."""
    steps: int  # optimizer steps (no default: say how long to train)
    batch_size: int = 8
    lr: float = 1e-3  # peak learning rate, after a linear warm-up; a cosine then takes it to a tenth
    warmup: int = 10
    seed: int = 0  # the order of the examples
    dtype: str = "auto"  # the matmuls' precision: "auto" (chosen for the device), "float32", "bfloat16", "float16"
    progress: bool = True

    def __post_init__(self):
        _check(self)


@dataclass
class DPOConfig:
    """The settings of ``train_dpo``, checked when made: a bad value fails before any work."""
    steps: int  # optimizer steps (no default: say how long to train)
    batch_size: int = 4
    lr: float = 5e-4
    beta: float = 0.1  # how far from the reference the policy may move: larger keeps it closer
    warmup: int = 5
    seed: int = 0
    dtype: str = "auto"
    progress: bool = True

    def __post_init__(self):
        _check(self)
        if not self.beta > 0:
            raise ValueError(f"beta={self.beta!r}: give a positive number, e.g. 0.1")


def _check(config) -> None:
    check_positive(config, "steps", "batch_size")
    if not config.lr > 0:
        raise ValueError(f"lr={config.lr!r}: give a positive learning rate, e.g. 1e-3")
    if isinstance(config.warmup, bool) or not isinstance(config.warmup, int) or config.warmup < 0:
        raise ValueError(f"warmup={config.warmup!r}: give a whole number of steps, 0 or more")
    if config.dtype not in ("auto", None, *NAMES):
        raise ValueError(f"dtype={config.dtype!r}: use 'auto', 'float32', 'bfloat16' or 'float16'")


def train_config(config: SFTConfig | DPOConfig) -> TrainConfig:
    """Return the loop's settings for SFT or DPO: AdamW without weight decay and with torch's default
    betas, a linear warm-up then a cosine down to a tenth of lr, no gradient clipping."""
    return TrainConfig(steps=config.steps, batch_size=config.batch_size, lr=config.lr, min_lr=config.lr / 10,
                       warmup=config.warmup, schedule="cosine", weight_decay=0.0, betas=(0.9, 0.999), grad_clip=0.0,
                       seed=config.seed, dtype=config.dtype or "auto", progress=config.progress)


def epoch_batches(n: int, batch_size: int, steps: int, seed: int):
    """Yield ``steps`` lists of indices: shuffled epochs over range(n)."""
    rng = random.Random(seed)
    order: list[int] = []
    for _ in range(steps):
        while len(order) < batch_size:
            epoch = list(range(n))
            rng.shuffle(epoch)
            order += epoch
        yield order[:batch_size]
        order = order[batch_size:]


def train_sft(model, examples, *, config: SFTConfig | None = None, **settings) -> list[float]:
    """Fine-tune ``model``'s trainable parameters on (ids, mask) examples; return the loss of each step.

    Settings: ``SFTConfig``'s fields as keywords (``steps=24, lr=1e-3``), or ``config``.
    """
    cfg = merged(SFTConfig, config, settings, "train_sft")
    if not examples:
        raise ValueError("no SFT examples: build some with encode_example(tokenizer, prompt, response)")
    batches = epoch_batches(len(examples), cfg.batch_size, cfg.steps, cfg.seed)

    def loss_fn(step: int):
        ids, mask, attention = collate([examples[i] for i in next(batches)], pad_id=0)
        return sft_loss(model, ids, mask, attention)

    model.train()
    history = fit(model, loss_fn, train_config(cfg), desc="SFT")
    model.eval()
    return history.loss


def pair_logprobs(model, pairs, dtype: str = "auto"):
    """Return (chosen, rejected) log-probs (B,) of (chosen example, rejected example) pairs, in one forward."""
    ids, mask, attention = collate([c for c, _ in pairs] + [r for _, r in pairs], 0)  # (2B, T)
    with model_precision(model, dtype).autocast():
        logps = sequence_logprob(model, ids, mask, attention)
    return logps[:len(pairs)], logps[len(pairs):]


@torch.no_grad()
def reference_logprobs(model, pairs, batch_size: int = 8, dtype: str = "auto"):
    """Return (chosen, rejected) log-probs (N,) of every pair under the reference: the adapter switched off."""
    model.eval()
    chosen, rejected = [], []
    with model.disable_adapter():  # peft: the base weights alone, i.e. the model before this adapter
        for i in range(0, len(pairs), batch_size):
            c, r = pair_logprobs(model, pairs[i:i + batch_size], dtype)
            chosen.append(c)
            rejected.append(r)
    return torch.cat(chosen), torch.cat(rejected)


def train_dpo(model, pairs, *, config: DPOConfig | None = None, **settings) -> dict[str, list[float]]:
    """Train a LoRA-wrapped ``model`` with DPO on (chosen, rejected) example pairs; return per-step history.

    The reference never changes, so its log-probs are computed once, up front, with the adapter off.
    History: loss, margin (mean reward_chosen − reward_rejected) and accuracy (share of pairs with margin > 0).
    Settings: ``DPOConfig``'s fields as keywords (``steps=16, beta=0.1``), or ``config``.
    """
    cfg = merged(DPOConfig, config, settings, "train_dpo")
    if not pairs:
        raise ValueError("no preference pairs: give (chosen, rejected) tuples of encode_example results")
    if not hasattr(model, "disable_adapter"):
        raise ValueError("DPO here needs a peft model (its adapter off is the reference): wrap it with add_lora first")
    ref_chosen, ref_rejected = reference_logprobs(model, pairs, dtype=cfg.dtype)
    batches = epoch_batches(len(pairs), cfg.batch_size, cfg.steps, cfg.seed)

    def loss_fn(step: int):
        batch = next(batches)
        chosen, rejected = pair_logprobs(model, [pairs[i] for i in batch], cfg.dtype)
        refs = ref_chosen[batch], ref_rejected[batch]
        r_chosen, r_rejected = dpo_rewards(chosen.detach(), rejected.detach(), *refs, cfg.beta)
        margin = r_chosen - r_rejected  # logged with the loss, not trained on
        metrics = {"margin": margin.mean(), "accuracy": (margin > 0).float().mean()}
        return dpo_loss(chosen, rejected, *refs, cfg.beta), metrics

    model.train()
    history = fit(model, loss_fn, train_config(cfg), desc="DPO")
    model.eval()
    return {"loss": history.loss, "margin": history.metrics["margin"], "accuracy": history.metrics["accuracy"]}
