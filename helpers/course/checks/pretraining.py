"""Checkers for the exercises of notebook 04_pretraining (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


@exercise(fallback="helpers.models.bigram.bigram_loss")
def check_bigram_loss(fn) -> None:
    """Check fn(train_ids, val_ids, vocab_size) -> the add-one bigram model's mean val loss in nats."""
    import math

    import torch

    from helpers.models.bigram import bigram_loss

    g = torch.Generator().manual_seed(4)
    cases = [(torch.tensor([0, 1, 0, 1, 2, 0, 1]), torch.tensor([0, 1, 2, 2]), 3),  # (2, 2) never seen in train
             (torch.randint(0, 6, (400,), generator=g), torch.randint(0, 6, (60,), generator=g), 6),
             (torch.randint(0, 4, (200,), generator=g), torch.randint(0, 5, (40,), generator=g), 5)]
    for train_ids, val_ids, vocab in cases:
        got = fn(train_ids.clone(), val_ids.clone(), vocab)
        if not_done(got, "picture a (vocab_size, vocab_size) table, one row per current id and one column per "
                         "next id: which pairs of train_ids fill it?"):
            return
        got = float(got)
        want = bigram_loss(train_ids, val_ids, vocab)
        if abs(got - want) < 1e-4:
            continue
        where = (f"on a {len(train_ids)}-token train and {len(val_ids)}-token val split (vocab {vocab}) "
                 f"you got {got:.4f}")
        assert math.isfinite(got), f"{where}: a pair never seen in train gets probability 0: add 1 to every count first"
        assert abs(got - want / math.log(2)) > 1e-4, \
            f"{where}: that is in bits; use the natural log, as cross_entropy does"
        assert abs(got - bigram_loss(val_ids, val_ids, vocab)) > 1e-4, \
            f"{where}: count the pairs of train_ids only; val is what the table is tested on"
        assert abs(got - bigram_loss(train_ids, train_ids, vocab)) > 1e-4, \
            f"{where}: that is the loss on train; average over the pairs of val_ids"
        raise AssertionError(f"{where}, expected {want:.4f}: normalise each row (the current character) so that "
                             f"the next character's probabilities sum to 1, and average over all len(val) - 1 pairs")
    passed("your bigram loss matches, unseen pairs included")


@exercise(fallback="helpers.training.loop.warmup_cosine")
def check_lr_schedule(fn) -> None:
    """Check fn(step, steps, lr, min_lr, warmup) against helpers.training.loop.warmup_cosine (warm-up + cosine)."""
    import math

    from helpers.training.loop import warmup_cosine

    for steps, lr, min_lr, warmup in ((100, 1e-3, 1e-4, 10), (50, 6e-4, 0.0, 5), (30, 1.0, 0.5, 1)):
        for step in range(steps + 10):
            got = fn(step, steps, lr, min_lr, warmup)
            if not_done(got, "the schedule has two parts split at step warmup; write the warm-up part first and "
                             "check its values at step 0 and at step warmup − 1"):
                return
            want = warmup_cosine(step, steps, lr, min_lr, warmup)
            if math.isclose(float(got), want, rel_tol=1e-6, abs_tol=1e-12):
                continue
            got = float(got)
            where = (f"step {step} of {steps} (lr={lr}, min_lr={min_lr}, warmup={warmup}): "
                     f"got {got:.6g}, expected {want:.6g}")
            assert not (step == 0 and got == 0), \
                f"{where}: a step at rate 0 is wasted; warm up with (step + 1) / warmup"
            assert step >= warmup, \
                f"{where}: warm up linearly, from lr / warmup at step 0 to lr at step warmup − 1"
            assert not (step == warmup and math.isclose(got, lr * (step + 1) / warmup)), \
                f"{where}: the warm-up is one step too long; it reaches lr at step warmup − 1, then the cosine starts"
            assert step < steps, f"{where}: after the last step stay at min_lr (cap progress at 1)"
            cosine = 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))
            assert min_lr == 0 or not math.isclose(got, lr * cosine, rel_tol=1e-6), \
                f"{where}: the cosine ends at min_lr, not at 0: it runs between lr and min_lr"
            over_all = 0.5 * (1 + math.cos(math.pi * step / steps))
            assert not math.isclose(got, min_lr + over_all * (lr - min_lr), rel_tol=1e-6), \
                f"{where}: the decay starts after the warm-up: progress = (step − warmup) / (steps − warmup)"
            raise AssertionError(f"{where}: after the warm-up, check progress (0 at step warmup, 1 at the last step) "
                                 f"and the cosine's two ends (lr at progress 0, min_lr at 1)")
    passed("warm-up + cosine matches helpers.training.loop.warmup_cosine, ends included")


def _step_trajectory(step_fn, lrs, clip: float):
    """Return (losses, flat weights after each step) of step_fn on a tiny GPT over fixed random batches."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small runs faster on one thread, and never waits for a busy core
    try:
        return _trajectory(step_fn, lrs, clip)
    finally:
        torch.set_num_threads(threads)


def _trajectory(step_fn, lrs, clip: float):
    import torch

    from helpers.models.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, block_size=8, n_layer=1, n_head=2, n_embd=16))
    # SGD, not AdamW: its update is proportional to the gradient, so a missing clip or a leftover
    # gradient shows at once (Adam's first steps barely depend on the gradient's scale).
    # Its lr=0.5 is a decoy: the step must set the rate it is given.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=0.01)
    batches = torch.Generator().manual_seed(1)
    losses, weights = [], [torch.cat([p.detach().flatten() for p in model.parameters()])]
    for lr in lrs:
        x, y = torch.randint(0, 13, (4, 8), generator=batches), torch.randint(0, 13, (4, 8), generator=batches)
        losses.append(step_fn(model, optimizer, x, y, lr, clip))
        if losses[-1] is None:
            return None, None
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return losses, weights


@exercise(fallback="helpers.training.loop.training_step")
def check_training_step(fn) -> None:
    """Check fn(model, optimizer, x, y, lr, grad_clip) -> loss: one step,
    weight for weight like helpers.training.loop's."""
    import torch

    from helpers.training.loop import training_step

    def unclipped(model, optimizer, x, y, lr, clip):
        return training_step(model, optimizer, x, y, lr, 0.0)

    def accumulating(model, optimizer, x, y, lr, clip):  # no zero_grad: gradients pile up
        for group in optimizer.param_groups:
            group["lr"] = lr
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss.item()

    def own_lr(model, optimizer, x, y, lr, clip):  # the optimizer's built-in rate
        return training_step(model, optimizer, x, y, optimizer.param_groups[0]["lr"], clip)

    lrs, clip = (0.05, 0.1, 0.02), 0.05  # a clip well below the gradient norm, so that clipping matters
    losses, weights = _step_trajectory(fn, lrs, clip)
    if not_done(losses, "follow the six parts listed above, in their order; the model gives back the logits and "
                        "the loss together"):
        return
    want_losses, want = _step_trajectory(training_step, lrs, clip)
    variants = {name: _step_trajectory(f, lrs, clip)[1] for name, f in
                (("unclipped", unclipped), ("accumulating", accumulating), ("own_lr", own_lr))}
    for i in range(len(lrs)):
        after = f"after step {i + 1}"
        if not torch.allclose(weights[i + 1], want[i + 1], rtol=1e-5, atol=1e-7):
            def same(a, mine=weights[i + 1]):
                return torch.allclose(mine, a, rtol=1e-5, atol=1e-7)
            assert not torch.equal(weights[i + 1], weights[i]), \
                f"{after} the weights did not change: call optimizer.step() after loss.backward(), and zero the " \
                f"gradients before backward (zeroing them between backward and step throws them away)"
            assert not same(variants["own_lr"][i + 1]), \
                f"{after} the optimizer still used the rate it was built with: set group['lr'] = lr in every " \
                f"optimizer.param_groups before the step"
            assert not same(variants["unclipped"][i + 1]), \
                f"{after} the gradients were not clipped: clip their global norm to grad_clip after backward, on " \
                f"the fresh gradients, and before the optimizer's step"
            assert not (i > 0 and same(variants["accumulating"][i + 1])), \
                f"{after} the last step's gradients were added to the new ones: zero the gradients before backward"
            raise AssertionError(f"{after} the weights differ from one correct step: check the six parts and "
                                 f"their order against the list above")
        got = float(losses[i])
        assert abs(got - want_losses[i]) < 1e-5, \
            f"step {i + 1} returned {got:.5f}, but the batch's loss before the step was {want_losses[i]:.5f}: " \
            f"return this batch's loss from the forward pass, as a float"
    passed("three steps, weight for weight the same as helpers.training.loop.training_step")


@exercise(fallback="helpers.analysis.scaling.training_hours")
def check_training_hours(fn) -> None:
    """Check fn(n_params, n_tokens, peak_flops, mfu) -> hours to train at 6·N FLOPs per token."""
    cases = ((1.8e6, 1e7, 1e12, 0.2), (124e6, 1e10, 4e11, 0.1), (175e9, 300e9, 312e12, 0.4))
    for n, d, peak, mfu in cases:
        got = fn(n, d, peak, mfu)
        if not_done(got, "three quantities: the FLOPs the whole training takes, the FLOPs per second the machine "
                         "really does, and the seconds in an hour"):
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
        raise AssertionError(f"{where}: check each factor: the FLOPs per token of training, the rate the machine "
                             f"achieves, and the unit (hours)")
    passed("hours = 6·N·D / (peak · MFU) / 3600, from a 1.8M model to GPT-3")
