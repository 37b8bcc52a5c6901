"""Checkers for the exercises of notebook 11_instruction_tuning (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


def _close(a, b) -> bool:
    import torch

    return bool(torch.isclose(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64),
                              rtol=1e-5, atol=1e-7))


def _sft_batch():
    """Return logits (3, 9, 13), ids (3, 9) and a response mask (3, 9): prompts,
    responses and padding of different lengths."""
    import torch

    g = torch.Generator().manual_seed(11)
    logits = 3 * torch.randn(3, 9, 13, generator=g)
    ids = torch.randint(0, 13, (3, 9), generator=g)
    mask = torch.zeros(3, 9, dtype=torch.bool)
    mask[0, 5:8], mask[1, 3:9], mask[2, 7:9] = True, True, True  # row 0: 1 padding token; the others none
    return logits, ids, mask


@exercise(fallback="helpers.training.preference.response_loss")
def check_response_loss(loss_fn) -> None:
    """Check loss_fn(logits (B, T, V), ids (B, T), mask (B, T) bool) against
    helpers.training.preference.response_loss."""
    import torch
    import torch.nn.functional as F

    from helpers.training.preference import response_loss

    logits, ids, mask = _sft_batch()
    got = loss_fn(logits.clone(), ids.clone(), mask.clone())
    if not_done(got, "the logits at position t predict token t + 1: line the predictions up with their targets "
                     "first, then decide which positions count"):
        return
    assert isinstance(got, torch.Tensor) and got.numel() == 1, \
        f"return one number (a scalar tensor), got {described(got)}"
    per_token = F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")  # (B, T-1)
    targets = mask[:, 1:].float()
    unshifted = F.cross_entropy(logits.transpose(1, 2), ids, reduction="none")  # (B, T): logits at t against token t
    assert not _close(got, (unshifted * mask).sum() / mask.sum()), \
        "off by one: the logits at position t predict token t + 1, so compare logits[:, :-1] with ids[:, 1:]"
    assert not _close(got, (per_token * mask[:, :-1]).sum() / mask[:, :-1].sum()), \
        "the targets are ids[:, 1:], so their mask is mask[:, 1:] (shift the mask with the targets, the same way)"
    assert not _close(got, per_token.mean()), \
        "the loss covers the prompt too: average only over the response tokens (where mask[:, 1:] is True)"
    assert not _close(got, (per_token * targets).sum()), \
        "that is the sum: divide by the number of response tokens to get the mean"
    assert not _close(got, (per_token * targets).mean()), \
        "divide by the number of response tokens, not by every position of the batch"
    assert not _close(got, ((per_token * targets).sum(1) / targets.sum(1)).mean()), \
        "one mean over all the batch's response tokens, not a mean per row first (rows have different lengths)"
    want = response_loss(logits, ids, mask)
    assert _close(got, want), (f"got {float(got):.4f}, expected {want.item():.4f}: the mean over response tokens "
                               f"of −log softmax(logits)[next token]")
    passed("the response-only SFT loss: shifted by one, masked, one mean over the response tokens")


@exercise(fallback="helpers.training.preference.response_labels")
def check_response_labels(labels_fn) -> None:
    """Check labels_fn(ids (B, T), mask (B, T) bool) returns transformers-style labels:
    ids on the response, -100 elsewhere."""
    import torch

    from helpers.training.preference import response_labels

    g = torch.Generator().manual_seed(11)
    ids = torch.randint(5, 1000, (3, 9), generator=g)
    mask = torch.zeros(3, 9, dtype=torch.bool)
    mask[0, 4:7], mask[1, 2:9], mask[2, 6:8] = True, True, True
    got = labels_fn(ids.clone(), mask.clone())
    if not_done(got, "which positions keep their id, and which value makes the loss skip a position?"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == ids.shape, \
        f"expected a tensor of shape {tuple(ids.shape)}, got {described(got)}"
    assert not torch.equal(got, ids.masked_fill(mask, -100)), \
        "inverted: the response tokens (mask True) keep their ids, the prompt and padding become -100"
    assert not torch.equal(got, torch.roll(ids, -1, dims=1).masked_fill(~mask, -100)), \
        "do not shift the labels: transformers shifts them by one position itself"
    assert (got[~mask] == -100).all(), \
        "positions outside the response must be -100 (cross_entropy's ignore_index), not 0 or the id"
    assert torch.equal(got, response_labels(ids, mask)), \
        "on the response positions, the labels are the ids themselves, unshifted"
    passed("labels: ids on the response, -100 elsewhere; model(ids, labels=labels).loss is then the SFT loss")


def _logprobs():
    """Return four (8,) float64 tensors of log-probabilities: policy chosen/rejected, reference chosen/rejected."""
    import torch

    g = torch.Generator().manual_seed(12)
    return tuple(-20 * torch.rand(8, generator=g, dtype=torch.float64) for _ in range(4))


@exercise(fallback="helpers.training.preference.dpo_loss")
def check_dpo_loss(dpo_fn) -> None:
    """Check dpo_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) against
    helpers.training.preference.dpo_loss."""
    import torch
    import torch.nn.functional as F

    from helpers.training.preference import dpo_loss

    pc, pr, rc, rr = _logprobs()
    for beta in (0.1, 0.5):
        got = dpo_fn(pc, pr, rc, rr, beta)
        if not_done(got, "compute the implicit reward of each answer first (the section's first paragraph "
                         "defines it), one per pair and answer"):
            return
        assert isinstance(got, torch.Tensor) and got.numel() == 1, \
            f"return one number (the mean over the batch), got {described(got)}"
        h = (pc - rc) - (pr - rr)  # the difference of the two log-ratios
        assert not _close(got, -F.logsigmoid(beta * ((pc + rc) - (pr + rr))).mean()), \
            "the reference's log-probs are subtracted: reward = β · (log π(y|x) − log π_ref(y|x))"
        assert not _close(got, -F.logsigmoid(beta * (pc - pr)).mean()), \
            "the reference is missing: each reward is β times the log-ratio log π − log π_ref"
        assert not _close(got, -F.logsigmoid(h).mean()), \
            f"β is missing: the rewards are β · log-ratio (β = {beta} here)"
        assert not _close(got, -beta * F.logsigmoid(h).mean()), \
            "β goes inside the sigmoid: −log σ(β · h), not −β · log σ(h)"
        assert not _close(got, -F.logsigmoid(-beta * h).mean()), \
            "chosen and rejected are swapped: the loss falls as the chosen answer's reward rises above the rejected's"
        assert not _close(got, F.logsigmoid(beta * h).mean()), \
            "the sign: the loss is −log σ(...), a positive number (log 2 when policy = reference)"
        assert not _close(got, -torch.sigmoid(beta * h).mean()), "take the log of the sigmoid: −log σ(β · h)"
        assert not _close(got, -F.logsigmoid(beta * h).sum()), "take the mean over the batch, not the sum"
        want = dpo_loss(pc, pr, rc, rr, beta)
        assert _close(got, want), \
            f"got {float(got):.4f}, expected {want.item():.4f} (β = {beta}): mean of −log σ(β · h)"
    passed("the DPO loss (Rafailov et al. 2023, eq. 7) is right for β = 0.1 and 0.5")


@exercise(fallback="helpers.training.preference.ipo_loss")
def check_ipo_loss(ipo_fn) -> None:
    """Check ipo_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) against the IPO loss (mean)."""
    import torch

    from helpers.training.preference import ipo_loss

    pc, pr, rc, rr = _logprobs()
    for beta in (0.1, 0.5):
        got = ipo_fn(pc, pr, rc, rr, beta)
        if not_done(got, "compute h first, one number per pair, from the four log-probabilities"):
            return
        assert isinstance(got, torch.Tensor) and got.numel() == 1, \
            f"return one number (the mean over the batch), got {described(got)}"
        h = (pc - rc) - (pr - rr)
        assert not _close(got, ((beta * h - 1 / (2 * beta)) ** 2).mean()), \
            "IPO compares the plain log-ratio difference h with 1/(2β): do not multiply h by β"
        assert not _close(got, ((h - 1 / (2 * beta)) ** 2).sum()), "take the mean over the batch, not the sum"
        assert not _close(got, (((pc - pr) - 1 / (2 * beta)) ** 2).mean()), \
            "subtract the reference's log-probs: h uses both log-ratios, log π − log π_ref"
        assert not _close(got, ((((pc + rc) - (pr + rr)) - 1 / (2 * beta)) ** 2).mean()), (
            "the reference's log-probs are subtracted, not added: "
            "h = (log π − log π_ref)(y_w) − (log π − log π_ref)(y_l)")
        want = ipo_loss(pc, pr, rc, rr, beta)
        assert _close(got, want), "not the IPO loss: mean over the batch of (h − 1/(2β))²"
    passed("the IPO loss (Azar et al. 2023) is right for β = 0.1 and 0.5")
