"""Checkers for the exercises of notebook 12_rl_from_feedback (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


def _close(a, b, atol: float = 1e-6) -> bool:
    """True when a and b (tensors or numbers) have the same shape and values, NaN nowhere."""
    import torch

    a, b = (torch.as_tensor(x).detach().to(torch.float64) for x in (a, b))
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-5, atol=atol))


def _rewards():
    """Return rewards (3, 4) float64: 3 prompts, 4 answers each; the second prompt's answers all scored the same."""
    import torch

    return torch.tensor([[1.0, 0.0, 0.5, 0.0],
                         [0.5, 0.5, 0.5, 0.5],
                         [1.0, 1.0, 0.0, 0.5]], dtype=torch.float64)


@exercise(fallback="helpers.training.rl.group_advantages")
def check_group_advantages(advantages_fn) -> None:
    """Check advantages_fn(rewards (P, k), baseline, normalize) against helpers.training.rl.group_advantages."""
    import torch

    from helpers.training.rl import group_advantages

    r = _rewards()
    k = r.shape[1]
    got = advantages_fn(r.clone(), baseline="rloo", normalize=False)
    if not_done(got, "work on one row first, the k answers to one prompt: start with the 'mean' baseline, "
                     "then RLOO's mean of the other k − 1"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == r.shape, \
        f"return one advantage per answer, a tensor of the rewards' shape {tuple(r.shape)}, got {described(got)}"
    assert not _close(got, r - r.mean(1, keepdim=True)), \
        "that is the 'mean' baseline: RLOO leaves the answer itself out, its baseline is the mean of the OTHER k − 1"
    assert not _close(got, r - (r.sum(1, keepdim=True) - r) / k), \
        "divide the other answers' sum by their number, k − 1, not by k"
    assert not _close(got, r - (r.sum(0, keepdim=True) - r) / (r.shape[0] - 1)), \
        "the baseline comes from the same prompt's answers, a row (dim=1), not from a column of other prompts"
    assert _close(got, group_advantages(r, "rloo")), \
        "RLOO: the baseline of answer i is the mean of the other k − 1 rewards of its row"

    got = advantages_fn(r.clone(), baseline="mean", normalize=False)
    assert not _close(got, r - r.mean()), "the baseline is each prompt's own mean (a row's), not the whole batch's"
    assert not _close(got, r - r.mean(0, keepdim=True)), \
        "average over the k answers of a prompt (dim=1), not over prompts"
    assert _close(got, group_advantages(r, "mean")), "baseline 'mean': each reward minus the mean of its row (GRPO)"

    got = advantages_fn(r.clone(), baseline="none", normalize=False)
    assert _close(got, r), "baseline 'none' is plain REINFORCE: the advantage is the reward itself"

    for baseline in ("mean", "rloo"):
        got = advantages_fn(r.clone(), baseline=baseline, normalize=True)
        assert isinstance(got, torch.Tensor) and not torch.isnan(got).any(), \
            "NaN: the second prompt's rewards are all equal, so their std is 0; divide by (std + 1e-6)"
        want = group_advantages(r, baseline, normalize=True)
        centred = group_advantages(r, baseline)
        assert not _close(got, centred / (r.std(dim=1, correction=0, keepdim=True) + 1e-6), atol=1e-4), \
            "use torch's default std (Bessel's correction, dividing by k − 1), one per row"
        assert not _close(got, centred / (r.std() + 1e-6), atol=1e-4), \
            "divide by each prompt's own std (a row's), not by the std of the whole batch"
        assert not _close(got, centred), "normalize=True divides the advantages by the group's std (+ 1e-6)"
        assert _close(got, want, atol=1e-4), \
            f"baseline {baseline!r} with normalize=True: the advantages above, divided by their row's std + 1e-6"
    passed("group advantages: RLOO leaves each answer out of its baseline, GRPO's mean and std are per prompt")


def _ppo_batch():
    """Return logp, old_logp (3, 5) float64, advantages (3,) of both signs, mask (3, 5):
    ratios on both sides of the clip."""
    import torch

    g = torch.Generator().manual_seed(12)
    old = -4 * torch.rand(3, 5, generator=g, dtype=torch.float64)
    logp = old + torch.tensor([[0.4, -0.4, 0.05, 0.3, -0.1],
                               [0.4, -0.4, 0.05, -0.3, 0.1],
                               [0.15, -0.15, 0.3, 0.0, 0.0]], dtype=torch.float64)  # log r, some past log(1 ± 0.2)
    mask = torch.tensor([[0, 1, 1, 1, 1],
                         [0, 0, 1, 1, 1],
                         [1, 1, 1, 0, 0]], dtype=torch.bool)
    logp, old = logp * mask, old * mask  # 0 outside the answers, as response_logprobs gives them
    return logp, old, torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64), mask


@exercise(fallback="helpers.training.rl.ppo_clipped_loss")
def check_ppo_clipped_loss(ppo_fn) -> None:
    """Check ppo_fn(logp, old_logp, advantages, mask, clip) → (loss, clip_fraction) against
    helpers.training.rl.ppo_clipped_loss."""
    import torch

    from helpers.training.rl import ppo_clipped_loss

    logp, old, adv, mask = _ppo_batch()
    for clip in (0.2, 0.1):
        moving = logp.clone().requires_grad_(True)
        got = ppo_fn(moving, old.clone(), adv.clone(), mask.clone(), clip)
        if not_done(got, "start with the ratio r of each token (from its two log-probabilities) and the advantage "
                         "of its answer, both (B, T)"):
            return
        assert isinstance(got, (tuple, list)) and len(got) == 2, \
            f"return two things, (loss, clip_fraction), got {described(got)}"
        loss, fraction = got
        assert isinstance(loss, torch.Tensor) and loss.numel() == 1, \
            f"the loss is one number (a scalar tensor), got {described(loss)}"
        r, A = torch.exp(logp - old), adv[:, None]
        clipped = r.clamp(1 - clip, 1 + clip) * A
        m = mask

        def mean(x, m=m):  # over the answer tokens
            return x[m].mean()

        assert not _close(loss, -mean(torch.minimum(logp / old * A, (logp / old).clamp(1 - clip, 1 + clip) * A))), \
            "the ratio of probabilities is exp(logp − old_logp), not a ratio of log-probabilities"
        assert not _close(loss, -mean(torch.minimum(A / r, (1 / r).clamp(1 - clip, 1 + clip) * A))), \
            "the ratio is upside down: r = π/π_old = exp(logp − old_logp)"
        assert not _close(loss, mean(torch.minimum(r * A, clipped))), \
            "the sign: PPO maximises the objective, so the loss to minimise is minus it"
        assert not _close(loss, -mean(torch.maximum(r * A, clipped))), \
            "take the min of the two terms (the pessimistic one), not the max"
        assert not _close(loss, -mean(r * A)), "no clipping: the objective is min(r·A, clamp(r, 1 − ε, 1 + ε)·A)"
        assert not _close(loss, -mean(clipped)), \
            "the clipped term alone is not PPO's objective: take the min of it and the unclipped r·A"
        assert not _close(loss, -mean((r * A).clamp(1 - clip, 1 + clip))), \
            "clip the ratio r, then multiply by A: clamp(r, 1 − ε, 1 + ε)·A, not clamp(r·A, ...)"
        assert not _close(loss, -torch.minimum(r * A, clipped).mean()), \
            "average over the answer tokens only (where mask is True), not over every position"
        per_answer = (torch.minimum(r * A, clipped) * m).sum(1) / m.sum(1)
        assert not _close(loss, -per_answer.mean()), \
            "one mean over all the batch's answer tokens, not a mean per answer first"
        assert not _close(loss, -(torch.minimum(r * A, clipped) * m).sum()), \
            "take the mean over the answer tokens, not the sum"
        want, want_fraction = ppo_clipped_loss(logp, old, adv, mask, clip)
        assert _close(loss, want), f"got {loss.item():.4f}, expected {want.item():.4f} (ε = {clip})"
        assert loss.requires_grad, \
            "no gradient reaches logp: build the loss from logp with torch operations (no .item(), no .detach())"
        (grad,) = torch.autograd.grad(loss, moving)
        expected = torch.where((clipped < r * A) | ~m, 0.0, -r * A / m.sum())
        assert _close(grad, expected), \
            "the loss has the right value but not the right gradient: keep logp − old_logp differentiable in logp"
        assert not _close(fraction, (torch.abs(r - 1) > clip)[m].float().mean()), \
            "count a token as clipped only where the clipped term is the smaller one (its gradient is 0); " \
            "|r − 1| > ε also counts tokens whose ratio moved the way A disfavours, which the clip lets through"
        assert not _close(fraction, (clipped < r * A).float().mean()), \
            "the clip fraction is a share of the answer tokens (where mask is True), not of every position"
        assert _close(fraction, want_fraction), \
            f"clip fraction {float(fraction):.3f}, expected {want_fraction.item():.3f}: " \
            "the share of answer tokens where clamp(r)·A < r·A"
    passed("PPO's clipped loss and clip fraction are right for ε = 0.2 and 0.1, gradients included")


@exercise(fallback="helpers.training.rl.kl_per_token")
def check_kl_estimate(kl_fn) -> None:
    """Check kl_fn(logp, ref_logp) against Schulman's k3 estimator,
    helpers.training.rl.kl_per_token(logp, ref_logp, "k3")."""
    import torch

    from helpers.training.rl import kl_per_token

    g = torch.Generator().manual_seed(13)
    logp = -3 * torch.rand(3, 6, generator=g, dtype=torch.float64)
    ref_logp = logp + torch.randn(3, 6, generator=g, dtype=torch.float64)  # log r = ref − logp of both signs
    ref_logp[:, -1] = logp[:, -1] = 0.0  # outside the answer: both 0
    ref_logp[0, 0] = logp[0, 0]  # a token where the policy is the reference
    got = kl_fn(logp.clone(), ref_logp.clone())
    if not_done(got, "compute log r from the two log-probabilities first (which one is on top of the ratio?), "
                     "then the paragraph's k3"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == logp.shape, \
        f"return one estimate per token, the shape of logp {tuple(logp.shape)}, got {described(got)}"
    lr = ref_logp - logp
    assert not _close(got, -lr), "that is k1, logp − ref_logp: unbiased, but often negative; k3 = (r − 1) − log r"
    assert not _close(got, 0.5 * lr ** 2), "that is k2, ½·(log r)²: never negative but biased; k3 = (r − 1) − log r"
    assert not _close(got, torch.exp(-lr) - 1 + lr), \
        "the ratio is upside down: log r = ref_logp − logp, the reference's log-prob over the policy's"
    assert not _close(got, torch.exp(lr) - lr), "the −1 is missing: k3 = (r − 1) − log r, which is 0 where π = π_ref"
    assert not _close(got, torch.exp(lr) - 1), "the − log r is missing: k3 = (r − 1) − log r, never negative"
    assert not _close(got, torch.exp(lr) - 1 + lr), "subtract log r: k3 = (r − 1) − log r"
    assert not _close(got, ref_logp / logp - 1 - torch.log(ref_logp / logp)), \
        "r = π_ref/π is a ratio of probabilities: exp(ref_logp − logp), not ref_logp / logp"
    assert (got >= -1e-12).all(), "k3 is never negative: (r − 1) − log r ≥ 0 for every r > 0"
    assert _close(got, kl_per_token(logp, ref_logp, "k3")), \
        "not k3: check log r (the reference's log-prob minus the policy's) and each term of the paragraph's k3"
    passed("Schulman's k3: (r − 1) − log r per token, never negative, 0 where the policy is the reference")
