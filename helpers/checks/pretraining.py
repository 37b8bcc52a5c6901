"""Checkers for the exercises of notebook 04_pretraining (see helpers.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


def _bigram_loss(train_ids, val_ids, vocab_size: int) -> float:
    """Return the mean val loss (nats) of the add-one bigram table counted on train_ids."""
    import torch

    counts = torch.ones(vocab_size, vocab_size)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1), accumulate=True)
    log_probs = (counts / counts.sum(dim=1, keepdim=True)).log()  # row = current char, column = next
    return -log_probs[val_ids[:-1], val_ids[1:]].mean().item()


@exercise()
def check_bigram_loss(fn) -> None:
    """Check fn(train_ids, val_ids, vocab_size) -> the add-one bigram model's mean val loss in nats."""
    import math

    import torch

    g = torch.Generator().manual_seed(4)
    cases = [(torch.tensor([0, 1, 0, 1, 2, 0, 1]), torch.tensor([0, 1, 2, 2]), 3),  # (2, 2) never seen in train
             (torch.randint(0, 6, (400,), generator=g), torch.randint(0, 6, (60,), generator=g), 6),
             (torch.randint(0, 4, (200,), generator=g), torch.randint(0, 5, (40,), generator=g), 5)]
    for train_ids, val_ids, vocab in cases:
        got = fn(train_ids.clone(), val_ids.clone(), vocab)
        if not_done(got, "counts = 1 + how often each (current, next) pair occurs in train; normalise rows; "
                         "average -log p(next | current) over val's pairs"):
            return
        got = float(got)
        want = _bigram_loss(train_ids, val_ids, vocab)
        if abs(got - want) < 1e-4:
            continue
        where = f"on a {len(train_ids)}-token train and {len(val_ids)}-token val split (vocab {vocab}) you got {got:.4f}"
        assert math.isfinite(got), f"{where}: a pair never seen in train gets probability 0: add 1 to every count first"
        assert abs(got - want / math.log(2)) > 1e-4, f"{where}: that is in bits; use the natural log, as cross_entropy does"
        assert abs(got - _bigram_loss(val_ids, val_ids, vocab)) > 1e-4, \
            f"{where}: count the pairs of train_ids only; val is what the table is tested on"
        assert abs(got - _bigram_loss(train_ids, train_ids, vocab)) > 1e-4, \
            f"{where}: that is the loss on train; average over the pairs of val_ids"
        raise AssertionError(f"{where}, expected {want:.4f}: normalise each row (the current character) so that "
                             f"the next character's probabilities sum to 1, and average over all len(val) - 1 pairs")
    passed("your bigram loss matches, unseen pairs included")


@exercise()
def check_lr_schedule(fn) -> None:
    """Check fn(step, steps, lr, min_lr, warmup) against helpers.train.learning_rate (warmup + cosine)."""
    import math

    from helpers.train import TrainConfig, learning_rate

    for steps, lr, min_lr, warmup in ((100, 1e-3, 1e-4, 10), (50, 6e-4, 0.0, 5), (30, 1.0, 0.5, 1)):
        cfg = TrainConfig(steps=steps, lr=lr, min_lr=min_lr, warmup=warmup)
        for step in range(steps + 10):
            got = fn(step, steps, lr, min_lr, warmup)
            if not_done(got, "step < warmup: lr · (step + 1) / warmup; then min_lr + ½(1 + cos(π·progress))·(lr − min_lr)"):
                return
            want = learning_rate(step, cfg)
            if math.isclose(float(got), want, rel_tol=1e-6, abs_tol=1e-12):
                continue
            where = f"step {step} of {steps} (lr={lr}, min_lr={min_lr}, warmup={warmup}): got {got}, expected {want:.6g}"
            assert not (step == 0 and got == 0), f"{where}: a step at rate 0 is wasted; warm up with (step + 1) / warmup"
            assert step >= warmup, f"{where}: warm up linearly, lr · (step + 1) / warmup while step < warmup"
            assert step < steps, f"{where}: after the last step stay at min_lr (progress stops at 1)"
            to_zero = lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))
            assert min_lr == 0 or not math.isclose(float(got), to_zero, rel_tol=1e-6), \
                f"{where}: the cosine ends at min_lr, not at 0: min_lr + ½(1 + cos(π·progress))·(lr − min_lr)"
            raise AssertionError(f"{where}: after warm-up, progress = (step − warmup) / (steps − warmup) runs from 0 "
                                 f"to 1 and the rate is min_lr + ½(1 + cos(π·progress))·(lr − min_lr)")
    passed("warm-up + cosine matches helpers.train.learning_rate, ends included")


@exercise()
def check_training_hours(fn) -> None:
    """Check fn(n_params, n_tokens, peak_flops, mfu) -> hours to train at 6·N FLOPs per token."""
    cases = ((1.8e6, 1e7, 1e12, 0.2), (124e6, 1e10, 4e11, 0.1), (175e9, 300e9, 312e12, 0.4))
    for n, d, peak, mfu in cases:
        got = fn(n, d, peak, mfu)
        if not_done(got, "FLOPs = 6 · n_params · n_tokens; the machine does peak_flops · mfu per second; "
                         "seconds / 3600"):
            return
        want = 6 * n * d / (peak * mfu) / 3600
        where = f"n_params={n:g}, n_tokens={d:g}, peak={peak:g}, mfu={mfu}: got {got:g} h, expected {want:g} h"
        ratio = float(got) / want
        if abs(ratio - 1) < 1e-6:
            continue
        assert abs(ratio - 1 / 3) > 1e-6, f"{where}: 2N per token is the forward pass only; training is ≈ 6N"
        assert abs(ratio - 3600) > 1e-3, f"{where}: that is in seconds; divide by 3600 for hours"
        assert abs(ratio - 1 / 24) > 1e-6, f"{where}: that is in days; give hours"
        assert abs(ratio - mfu) > 1e-6 and abs(ratio - mfu * mfu) > 1e-6, \
            f"{where}: the machine achieves peak_flops · mfu, so divide by mfu (the time gets longer, not shorter)"
        raise AssertionError(f"{where}: hours = 6 · n_params · n_tokens / (peak_flops · mfu) / 3600")
    passed("hours = 6·N·D / (peak · MFU) / 3600, from a 1.8M model to GPT-3")
