"""Checkers for the exercises of notebook 06_scaling_laws (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


@exercise(fallback="helpers.analysis.scaling.fit_line")
def check_fit_power_law(fit_fn) -> None:
    """Check fit_fn(n, loss) -> (alpha, n_c) of loss = (n_c / n)^alpha, fitted as a line in log-log space."""
    import numpy as np

    from helpers.analysis.scaling import fit_line

    n = np.geomspace(2e3, 2e6, 6)
    noise = np.exp(np.array([0.03, -0.04, 0.035, 0.0, -0.03, 0.02]))
    for alpha, n_c, wobble, noisy in ((0.3, 4e4, 1.0, False), (0.076, 8.8e13, 1.0, False), (0.2, 1e5, noise, True)):
        loss = (n_c / n) ** alpha * wobble
        got = fit_fn(n.copy(), loss.copy())
        if not_done(got, "take logs of both sides of loss = (n_c / n)^alpha: which straight line in "
                         "(log n, log loss) do you get?"):
            return
        assert isinstance(got, (tuple, list)) and len(got) == 2, f"return two numbers (alpha, n_c), got {got!r}"
        a_got, c_got = (float(v) for v in got)
        want_a, want_c = fit_line(n, loss)
        case = f"data from alpha={alpha}, n_c={n_c:g} with noise" if noisy else f"data from alpha={alpha}, n_c={n_c:g}"
        assert np.isfinite(a_got) and np.isfinite(c_got), \
            f"{case}: got alpha={a_got}, n_c={c_got}: take logs of both n and loss"
        assert not np.isclose(a_got, -want_a, rtol=1e-3), f"{case}: got alpha={a_got:.3f}: alpha is MINUS the slope"
        assert np.isclose(a_got, want_a, rtol=1e-3), \
            f"{case}: got alpha={a_got:.4g}, want {want_a:.4g}: fit the least-squares line to (log n, log loss), " \
            f"in log space for both (a fit to the raw losses weighs the points differently); alpha = -slope"
        intercept = want_a * np.log(want_c)
        assert not np.isclose(c_got, np.exp(intercept), rtol=1e-3), \
            f"{case}: got n_c = exp(intercept), but the intercept is alpha·log(n_c), not log(n_c)"
        assert np.isclose(c_got, want_c, rtol=1e-2), \
            f"{case}: got n_c={c_got:.4g}, want {want_c:.4g}: solve intercept = alpha·log(n_c) for n_c, with the " \
            f"same log base throughout"
    passed("your log-log line fit recovers alpha and N_c, with and without noise")


@exercise(fallback="helpers.analysis.scaling.training_pf_days")
def check_training_pf_days(fn) -> None:
    """Check fn(n_params, steps, batch_size, block_size) -> 6·N·D in PF-days, D = steps·batch·block tokens."""
    for n, steps, batch, block in ((800_000, 3000, 16, 64), (124e6, 10, 8, 1024), (175e9, 146_484, 1_000, 2048)):
        got = fn(n, steps, batch, block)
        if not_done(got, "three steps: how many tokens the run sees, what they cost in FLOPs (notebook 02's rule), "
                         "and how many FLOPs one PF-day is"):
            return
        want = 6 * n * steps * batch * block / 8.64e19
        case = f"N={n:g}, {steps} steps of {batch} x {block} tokens: got {float(got):.4g}, want {want:.4g} PF-days"
        ratio = float(got) / want
        if abs(ratio - 1) < 1e-6:
            continue
        assert abs(ratio - 1 / 3) > 1e-6, f"{case}: 2·N·D is the forward pass only; backward ≈ 2× forward, so 6·N·D"
        assert abs(ratio - 1 / block) > 1e-9, \
            f"{case}: every step trains on batch_size × block_size tokens, not batch_size"
        assert abs(ratio - 8.64e19) > 1e9, f"{case}: that is in FLOPs; divide by 8.64e19 FLOPs per PF-day"
        assert abs(ratio - 86_400) > 1e-3, f"{case}: that is in petaflop/s-seconds; a PF-day is 86,400 of them"
        assert abs(ratio - 24) > 1e-6, f"{case}: that is in petaflop/s-hours; a day has 24 hours"
        raise AssertionError(f"{case}: check the tokens per step, the 6 FLOPs per parameter per token, and the "
                             f"FLOPs in a PF-day (10^15 FLOP/s for one day)")
    passed("C = 6·N·D in PF-days, from a laptop run to GPT-3's 3.6 thousand")
