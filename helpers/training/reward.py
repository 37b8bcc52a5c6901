"""A reward model, InstructGPT's stage 2 (Ouyang et al. 2022), at laptop scale, and what it is used for.

The reward model reads a prompt and a response and returns one number: how good the response is.
It is a pretrained causal LM with its output layer replaced by a scalar head, trained on preference
pairs with the Bradley–Terry loss ``−log σ(r(x, y_chosen) − r(x, y_rejected))``, the same model of
preferences that DPO's loss is built on. Here the language model stays frozen and only the head
trains (InstructGPT fine-tuned all 6B weights): the features are computed once, without gradients,
and the head trains on them in a second, so the whole stage costs a few forward passes on a CPU.
It trains with helpers.training.loop.fit, the loop every training uses, on the Bradley–Terry loss.

Uses: score ``n`` sampled answers per prompt and keep the best (best-of-n, ``best_of``), or serve
as the reward of a policy-gradient loop; and compare with DPO's implicit reward β·log π/π_ref.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from tqdm import tqdm

from helpers.course.precision import model_precision

from .loop import TrainConfig, fit
from .preference import collate


def bradley_terry_loss(reward_chosen, reward_rejected):
    """Return the mean −log σ(r_chosen − r_rejected) over (B,) rewards: the reward model's training loss."""
    return -F.logsigmoid(reward_chosen - reward_rejected).mean()


def rank_correlation(x, y) -> float:
    """Return Spearman's rank correlation of two (N,) tensors (ties broken by position)."""
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"rank_correlation needs two sequences of the same length >= 2, got {len(x)} and {len(y)}")
    ranks = [torch.argsort(torch.argsort(torch.as_tensor(v, dtype=torch.float64))).double() for v in (x, y)]
    return torch.corrcoef(torch.stack(ranks))[0, 1].item()


class RewardModel(torch.nn.Module):
    """A causal LM's last hidden state at the end of the response → one scalar, the reward.

    The LM (any transformers causal LM, e.g. ``helpers.load_pretrained()[0]``) is frozen; ``head``,
    a linear layer on the standardised hidden state, is what ``train_reward_model`` fits.
    """

    def __init__(self, lm):
        super().__init__()
        self.lm = lm.eval().requires_grad_(False)
        width = lm.config.hidden_size
        self.head = torch.nn.Linear(width, 1)
        torch.nn.init.zeros_(self.head.weight)  # every response scores 0 before training
        torch.nn.init.zeros_(self.head.bias)
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("scale", torch.ones(width))

    @torch.no_grad()
    def features(self, examples, batch_size: int = 16, dtype: str = "auto", progress: bool = False):
        """Return (N, C) float32: the LM's final hidden state at each response's last token.

        ``examples`` are ``encode_example`` results; the last response token is the end-of-turn token
        that closes the answer, the one position that has read the prompt and the whole answer.
        """
        if not examples:
            raise ValueError("no examples to score: give encode_example(tokenizer, prompt, response) results")
        keys = [(tuple(ids), tuple(mask)) for ids, mask in examples]
        unique = list(dict.fromkeys(keys))  # a repeated answer (sampling repeats itself) is run once
        decoder, precision = self.lm.get_decoder(), model_precision(self.lm, dtype)
        out = []
        for i in tqdm(range(0, len(unique), batch_size), desc="reward features", disable=not progress,
                      mininterval=1.0):
            ids, mask, attention = collate([(list(x), list(m)) for x, m in unique[i:i + batch_size]], 0)
            last = mask.shape[1] - 1 - mask.flip(1).int().argmax(dim=1)  # (B,) index of the last response token
            with precision.autocast():
                hidden = decoder(input_ids=ids, attention_mask=attention.long()).last_hidden_state  # (B, T, C)
            out.append(hidden[torch.arange(len(ids)), last].float())
        row = {key: i for i, key in enumerate(unique)}
        return torch.cat(out)[[row[key] for key in keys]]

    def forward(self, features):
        """Return the rewards (N,) of (N, C) features."""
        return self.head((features - self.mean) / self.scale).squeeze(-1)

    @torch.no_grad()
    def score(self, examples, batch_size: int = 16, dtype: str = "auto", progress: bool = False):
        """Return the rewards (N,) of ``encode_example`` results."""
        return self(self.features(examples, batch_size, dtype, progress))


def train_reward_model(reward_model: RewardModel, pairs, steps: int = 200, lr: float = 0.01,
                       weight_decay: float = 1.0, features=None, progress: bool = False) -> dict[str, list[float]]:
    """Fit ``reward_model``'s head on (chosen, rejected) example pairs; return the loss and accuracy per step.

    Full-batch AdamW on the Bradley–Terry loss. The features are standardised with the training
    pairs' mean and spread, and ``weight_decay`` keeps the head small: with a few dozen pairs and
    hundreds of features, an unregularised head memorises the pairs. ``features`` (chosen (N, C),
    rejected (N, C)) skips computing them again.
    """
    if not pairs:
        raise ValueError("no preference pairs: give (chosen, rejected) tuples of encode_example results")
    if features is None:
        features = (reward_model.features([c for c, _ in pairs], progress=progress),
                    reward_model.features([r for _, r in pairs], progress=progress))
    chosen, rejected = features
    both = torch.cat([chosen, rejected])
    reward_model.mean.copy_(both.mean(0))
    reward_model.scale.copy_(both.std(0).clamp_min(1e-4))
    # full-batch AdamW at a constant rate, in float32 (the features already are)
    cfg = TrainConfig(steps=steps, lr=lr, schedule="constant", weight_decay=weight_decay, betas=(0.9, 0.999),
                      grad_clip=0.0, dtype="float32", progress=progress)

    def loss_fn(step: int):
        r_chosen, r_rejected = reward_model(chosen), reward_model(rejected)
        return bradley_terry_loss(r_chosen, r_rejected), {"accuracy": (r_chosen > r_rejected).float().mean()}

    # only the head trains; weight decay on its weight alone (the bias gets no gradient: it cancels in r_c − r_r)
    history = fit(reward_model.head, loss_fn, cfg, desc="reward model")
    return {"loss": history.loss, "accuracy": history.metrics.get("accuracy", [])}


def best_of(candidates: list[list[str]], rewards, k: int) -> list[str]:
    """Return, per prompt, the candidate with the highest reward among its first ``k`` (ties: the first).

    ``candidates``: n answers per prompt; ``rewards``: (prompts, n), their rewards.
    """
    rewards = torch.as_tensor(rewards)
    if rewards.shape != (len(candidates), len(candidates[0]) if candidates else 0) or not 1 <= k <= rewards.shape[1]:
        raise ValueError(f"best_of: rewards of shape {tuple(rewards.shape)} for {len(candidates)} prompts and k={k}: "
                         "give one reward per candidate, (prompts, n), and 1 <= k <= n")
    pick = rewards[:, :k].argmax(dim=1).tolist()
    return [answers[j] for answers, j in zip(candidates, pick)]
