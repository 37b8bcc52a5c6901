"""Checkers for the exercises of notebook 06_scaling_laws (see helpers.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


@exercise()
def check_fit_power_law(fit_fn) -> None:
    """Check fit_fn(n, loss) -> (alpha, n_c) of loss = (n_c / n)^alpha, fitted as a line in log-log space."""
    import numpy as np

    n = np.geomspace(2e3, 2e6, 6)
    noise = np.exp(np.array([0.01, -0.02, 0.015, 0.0, -0.01, 0.005]))
    for alpha, n_c, wobble in ((0.3, 4e4, 1.0), (0.076, 8.8e13, 1.0), (0.2, 1e5, noise)):
        loss = (n_c / n) ** alpha * wobble
        got = fit_fn(n.copy(), loss.copy())
        if not_done(got, "fit a line to (log n, log loss) with np.polyfit(x, y, 1): alpha is minus its slope, "
                               "and its intercept is alpha·log(n_c)"):
            return
        assert isinstance(got, (tuple, list)) and len(got) == 2, f"return two numbers (alpha, n_c), got {got!r}"
        a_got, c_got = (float(v) for v in got)
        slope, intercept = np.polyfit(np.log(n), np.log(loss), 1)
        want_a, want_c = -slope, np.exp(intercept / -slope)
        case = f"data from alpha={alpha}, n_c={n_c:g}"
        assert not np.isclose(a_got, slope, rtol=1e-3), f"{case}: got alpha={a_got:.3f}: alpha is MINUS the slope"
        assert np.isclose(a_got, want_a, rtol=1e-3), \
            f"{case}: got alpha={a_got:.4g}, want {want_a:.4g}: fit a line to (log n, log loss); alpha = -slope"
        assert not np.isclose(c_got, np.exp(intercept), rtol=1e-3), \
            f"{case}: got n_c=exp(intercept): the intercept is alpha·log(n_c), so n_c = exp(intercept / alpha)"
        assert np.isclose(c_got, want_c, rtol=1e-2), \
            f"{case}: got n_c={c_got:.4g}, want {want_c:.4g}: n_c = exp(intercept / alpha) (same log base throughout)"
    passed("your log-log line fit recovers alpha and N_c, with and without noise")


@exercise()
def check_predict_10x(predict_fn) -> None:
    """Check predict_fn(alpha, n_c, e, n) -> the loss e + (n_c / (10 n))^alpha of a model 10x bigger than n."""
    for alpha, n_c, e, n in ((0.076, 8.8e13, 0.0, 1e9), (0.35, 5e4, 1.2, 8e5), (0.5, 1e3, 0.5, 1e3)):
        got = predict_fn(alpha, n_c, e, n)
        if not_done(got, "plug N = 10 * n into L(N) = e + (n_c / N)^alpha"):
            return
        want = e + (n_c / (10 * n)) ** alpha
        case = f"alpha={alpha}, n_c={n_c:g}, e={e}, n={n:g}"
        assert got is not None and abs(float(got) - (e + (n_c / n) ** alpha)) > 1e-9, \
            f"{case}: that is the loss at n itself: the model is 10 times bigger, N = 10 * n"
        assert e == 0 or abs(float(got) - (want - e)) > 1e-9, f"{case}: add the irreducible loss e"
        assert abs(float(got) - want) < 1e-9 * max(1.0, want), f"{case}: got {got}, want {want:.6g}"
    passed("predicted losses of 10x larger models are right")


@exercise()
def check_training_flops(flops_fn) -> None:
    """Check flops_fn(n_params, steps, batch_size, block_size) -> C = 6·N·D with D = steps·batch·block tokens."""
    for n, steps, batch, block in ((800_000, 3000, 16, 64), (124e6, 10, 8, 1024), (10, 1, 1, 1)):
        got = flops_fn(n, steps, batch, block)
        if not_done(got, "D = steps * batch_size * block_size tokens, then C = 6 * N * D"):
            return
        want = 6 * n * steps * batch * block
        case = f"N={n:g}, {steps} steps of {batch} x {block} tokens"
        assert abs(float(got) - want / 3) > 1e-6 * want, f"{case}: 2·N·D is the forward pass only; backward ≈ 2× forward"
        assert abs(float(got) - 6 * n * steps * batch) > 1e-6 * want or block == 1, \
            f"{case}: every step trains on batch_size × block_size tokens, not batch_size"
        assert abs(float(got) - want) <= 1e-6 * want, f"{case}: got {got:g}, want 6·N·D = {want:g}"
    passed("C = 6·N·D, counted right")
