"""Checkers for the exercises of notebook 11_instruction_tuning (see helpers.checks for how they report)."""
from __future__ import annotations

from . import described, exercise, not_done, passed


@exercise()
def check_response_labels(labels_fn) -> None:
    """Check labels_fn(ids (B, T), mask (B, T) bool) returns transformers-style labels: ids on the response, -100 elsewhere."""
    import torch

    g = torch.Generator().manual_seed(11)
    ids = torch.randint(5, 1000, (3, 9), generator=g)
    mask = torch.zeros(3, 9, dtype=torch.bool)
    mask[0, 4:7], mask[1, 2:9], mask[2, 6:8] = True, True, True
    got = labels_fn(ids.clone(), mask.clone())
    if not_done(got, "keep ids where mask is True and put -100 (the value transformers ignores) everywhere else"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == ids.shape, \
        f"expected a tensor of shape {tuple(ids.shape)}, got {described(got)}"
    want = ids.masked_fill(~mask, -100)
    assert not torch.equal(got, ids.masked_fill(mask, -100)), \
        "inverted: the response tokens (mask True) keep their ids, the prompt and padding become -100"
    assert not torch.equal(got, torch.roll(ids, -1, dims=1).masked_fill(~mask, -100)), \
        "do not shift the labels: transformers shifts them by one position itself"
    assert (got[~mask] == -100).all(), \
        "positions outside the response must be -100 (cross_entropy's ignore_index), not 0 or the id"
    assert torch.equal(got, want), "on the response positions, the labels are the ids themselves, unshifted"
    passed("labels: ids on the response, -100 elsewhere; model(ids, labels=labels).loss is then the SFT loss")


@exercise()
def check_ipo_loss(ipo_fn) -> None:
    """Check ipo_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) against the IPO loss (mean)."""
    import torch

    g = torch.Generator().manual_seed(12)
    pc, pr, rc, rr = (-20 * torch.rand(8, generator=g, dtype=torch.float64) for _ in range(4))
    for beta in (0.1, 0.5):
        got = ipo_fn(pc, pr, rc, rr, beta)
        if not_done(got, "h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)); loss = mean((h − 1/(2β))²)"):
            return
        assert isinstance(got, torch.Tensor) and got.numel() == 1, \
            f"return one number (the mean over the batch), got {described(got)}"
        h = (pc - rc) - (pr - rr)
        want = ((h - 1 / (2 * beta)) ** 2).mean()
        assert not torch.isclose(got, ((beta * h - 1 / (2 * beta)) ** 2).mean()), \
            "IPO compares the plain log-ratio difference h with 1/(2β): do not multiply h by β"
        assert not torch.isclose(got, ((h - 1 / (2 * beta)) ** 2).sum()), "take the mean over the batch, not the sum"
        assert not torch.isclose(got, (((pc - pr) - 1 / (2 * beta)) ** 2).mean()), \
            "subtract the reference's log-probs: h uses both log-ratios, log π − log π_ref"
        assert torch.isclose(got, want), "not the IPO loss: mean over the batch of (h − 1/(2β))²"
    passed("the IPO loss (Azar et al. 2023) is right for β = 0.1 and 0.5")
