"""helpers.analysis.scaling: power-law fits recover known laws, N as Kaplan counts it, the continuation task
agrees with greedy generation, bad input is refused; and the notebook 06 exercise checkers."""
import math

import numpy as np
import pytest
import torch

import helpers
from helpers.analysis.scaling import (
    PF_DAY,
    PowerLaw,
    continuation_scores,
    fit_line,
    fit_power_law,
    fit_power_law_offset,
    frontier,
    non_embedding_params,
    training_hours,
    training_pf_days,
)
from helpers.analysis.sizing import param_breakdown, training_flops
from helpers.course.checks import scaling_laws as checks
from helpers.generation.sampling import generate
from helpers.models.gpt import GPT, GPTConfig
from helpers.tokenizers import CharTokenizer
from tests.checker_asserts import assert_checker_behaves, rejects

N = np.geomspace(3e3, 1e6, 6)


@pytest.mark.parametrize("alpha, n_c", [(0.076, 8.8e13), (0.3, 2e4), (1.0, 50.0)])
def test_pure_power_law_is_recovered(alpha, n_c):
    fit = fit_power_law(N, (n_c / N) ** alpha)
    assert math.isclose(fit.alpha, alpha, rel_tol=1e-6) and math.isclose(fit.n_c, n_c, rel_tol=1e-5)
    assert fit.e == 0 and fit.rmse < 1e-9
    assert np.allclose(fit(N), (n_c / N) ** alpha)


@pytest.mark.parametrize("e, alpha, n_c", [(1.2, 0.35, 5e4), (0.5, 0.1, 1e6), (2.0, 0.6, 1e3)])
def test_offset_law_is_recovered_and_beats_the_pure_fit(e, alpha, n_c):
    loss = e + (n_c / N) ** alpha
    fit = fit_power_law_offset(N, loss)
    assert abs(fit.e - e) < 2e-3 and abs(fit.alpha - alpha) / alpha < 1e-2
    assert abs(math.log(fit.n_c / n_c)) < 0.05
    pure = fit_power_law(N, loss)
    assert fit.rmse < 1e-4 < pure.rmse  # without the offset the curve bends away from a line


def test_offset_fit_with_noise_and_without_an_offset():
    rng = np.random.default_rng(0)
    loss = (1.2 + (5e4 / N) ** 0.35) * np.exp(rng.normal(0, 0.005, N.size))
    fit = fit_power_law_offset(N, loss)
    assert abs(fit.e - 1.2) < 0.1 and abs(fit.alpha - 0.35) < 0.1
    pure = (8.8e13 / N) ** 0.076  # no offset in the data: the search keeps e near 0
    assert fit_power_law_offset(N, pure).e < 0.05 * pure.min()
    assert fit_power_law_offset(N, pure).rmse <= fit_power_law(N, pure).rmse + 1e-12


def test_str_and_call():
    law = PowerLaw(alpha=0.5, n_c=100.0, e=1.0)
    assert law(100.0) == 2.0 and np.allclose(law([25.0, 400.0]), [3.0, 1.5])
    assert str(law) == "L(N) = 1.000 + (100 / N)^0.500"
    assert str(PowerLaw(0.076, 8.8e13)) == "L(N) = (8.8e+13 / N)^0.076"


def test_bad_input_is_a_one_line_error():
    with pytest.raises(ValueError, match="same length"):
        fit_power_law([1e3, 1e4, 1e5], [3.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        fit_power_law([1e3, 1e3], [3.0, 2.9])
    with pytest.raises(ValueError, match="at least 3"):
        fit_power_law_offset([1e3, 1e4], [3.0, 2.0])
    with pytest.raises(ValueError, match="> 0"):
        fit_power_law([1e3, 1e4, 1e5], [3.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="> 0"):
        fit_power_law([0, 1e4, 1e5], [3.0, 2.5, 2.0])
    with pytest.raises(ValueError, match="does not change"):
        fit_power_law([1e3, 1e4, 1e5], [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="one loss per compute"):
        frontier([1.0, 2.0], [3.0])


def test_frontier_is_the_running_minimum_over_compute():
    c, best = frontier([4.0, 1.0, 3.0, 2.0], [2.5, 4.0, 2.0, 3.0])
    assert c.tolist() == [1.0, 2.0, 3.0, 4.0] and best.tolist() == [4.0, 3.0, 2.0, 2.0]


@pytest.mark.parametrize("tie", [True, False])
def test_non_embedding_params_counts_blocks_and_final_norm(tie):
    config = GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=48, tie_weights=tie)
    model = GPT(config)
    parts = param_breakdown(2, 48, 65, 32, tied=tie)
    assert non_embedding_params(model) == parts["blocks"] + parts["final norm"]
    assert model.num_params() - non_embedding_params(model) == 65 * 48 * (1 if tie else 2) + 32 * 48


@pytest.fixture(scope="module")
def plays():
    text = helpers.load_plays()
    tok = CharTokenizer.from_text(text)
    return tok, torch.tensor(tok.encode(text[-20_000:]))


@pytest.mark.download
def test_continuation_scores_agree_with_greedy_generation(plays):
    tok, ids = plays
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(tok), block_size=32, n_layer=1, n_head=2, n_embd=32))
    with torch.no_grad():  # spread the weights so that predictions vary from position to position
        for p in model.parameters():
            p.mul_(20)
    context, k = 24, 6
    starts = torch.arange(100, 10_000, 827)
    scores = continuation_scores(model, ids, starts, context, k, batch_size=7)
    assert scores.correct.shape == scores.nll.shape == (len(starts), k)
    for i, s in enumerate(starts.tolist()):
        out = generate(model, ids[s - context:s][None], k, greedy=True)[0, context:]
        assert bool((out == ids[s:s + k]).all()) == bool(scores.correct[i].all())
        first_miss = int((out != ids[s:s + k]).nonzero()[0]) if not scores.correct[i].all() else k
        assert scores.correct[i, :first_miss].all()  # greedy and teacher forcing agree up to the first miss
    assert scores.exact_match(1) == scores.token_accuracy(1)
    assert scores.exact_match() <= scores.exact_match(3) <= scores.exact_match(1)  # longer targets: harder
    logits, _ = model(ids[starts[0] - context:starts[0] + k - 1][None])
    want = torch.nn.functional.cross_entropy(logits[0, context - 1:], ids[starts[0]:starts[0] + k])
    assert torch.isclose(scores.nll[0].mean(), want, atol=1e-5)


@pytest.mark.download
def test_continuation_scores_refuses_bad_windows(plays):
    tok, ids = plays
    model = GPT(GPTConfig(vocab_size=len(tok), block_size=16, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="block_size"):
        continuation_scores(model, ids, [100], context=16, k=4)
    with pytest.raises(ValueError, match="pick starts"):
        continuation_scores(model, ids, [3], context=8, k=4)
    with pytest.raises(ValueError, match="pick starts"):
        continuation_scores(model, ids, [len(ids) - 2], context=8, k=4)


def test_compute_arithmetic():
    assert PF_DAY == 8.64e19
    assert training_flops(175e9, 300e9) == pytest.approx(3.15e23)  # GPT-3: Brown et al. 2020 give 3.14e23
    assert training_pf_days(175e9, 146_484, 1_000, 2048) == pytest.approx(3646, rel=1e-3)  # their Table D.1: 3.64e3
    assert training_hours(1e6, 3.6e6, 1e12, 0.5) == pytest.approx(6 * 3.6e12 / 5e11 / 3600)
    assert fit_line(N, (4e4 / N) ** 0.3) == pytest.approx((0.3, 4e4))


# --- checkers: None -> "not done yet", each typical wrong answer -> ✗ with its hint, the solution -> ✓ ------------

def none(*args):
    return None


def fit_solution(n, loss):
    slope, intercept = np.polyfit(np.log(n), np.log(loss), 1)
    return -slope, float(np.exp(intercept / -slope))


def fit_in_linear_space(n, loss):
    """Least squares on the losses themselves (Gauss-Newton from the log fit): other weights, other answer."""
    alpha, log_c = fit_solution(n, loss)[0], math.log(fit_solution(n, loss)[1])
    for _ in range(50):
        pred = np.exp(alpha * (log_c - np.log(n)))
        jac = np.stack([pred * (log_c - np.log(n)), pred * alpha], axis=1)
        delta = np.linalg.lstsq(jac, loss - pred, rcond=None)[0]
        alpha, log_c = alpha + delta[0], log_c + delta[1]
    return alpha, math.exp(log_c)


FIT_WRONGS = {
    "slope as alpha": (lambda n, L: (np.polyfit(np.log(n), np.log(L), 1)[0], fit_solution(n, L)[1]), "MINUS the slope"),
    "n_c = exp(intercept)": (lambda n, L: (fit_solution(n, L)[0],
                                           float(np.exp(np.polyfit(np.log(n), np.log(L), 1)[1]))),
                             "n_c = exp\\(intercept\\)"),
    "mixed log bases": (lambda n, L: (fit_solution(n, L)[0],
                                      10 ** (np.polyfit(np.log(n), np.log(L), 1)[1] / fit_solution(n, L)[0])),
                        "same log base"),
    "line in linear space": (lambda n, L: (-np.polyfit(n, L, 1)[0], 1.0), "log space"),
    "log n only (semi-log)": (lambda n, L: (-np.polyfit(np.log(n), L, 1)[0], 1.0), "log space"),
    "curve fit on raw losses": (fit_in_linear_space, "log space"),
}


def test_fit_checker(capsys):
    assert_checker_behaves(checks.check_fit_power_law, none, fit_solution, [w for w, _ in FIT_WRONGS.values()], capsys)
    for wrong, says in FIT_WRONGS.values():
        with rejects(capsys, says):
            checks.check_fit_power_law(wrong)


def pf_days(n_params, steps, batch_size, block_size):
    return 6 * n_params * steps * batch_size * block_size / (1e15 * 86_400)


PF_WRONGS = {
    "2ND (forward only)": (lambda n, s, b, t: pf_days(n, s, b, t) / 3, "forward pass only"),
    "tokens = steps x batch": (lambda n, s, b, t: pf_days(n, s, b, 1), "not batch_size"),
    "FLOPs, not PF-days": (lambda n, s, b, t: 6 * n * s * b * t, "in FLOPs"),
    "PF-seconds": (lambda n, s, b, t: 6 * n * s * b * t / 1e15, "petaflop/s-seconds"),
    "PF-hours": (lambda n, s, b, t: 6 * n * s * b * t / 3.6e18, "petaflop/s-hours"),
}


def test_pf_days_checker(capsys):
    assert_checker_behaves(checks.check_training_pf_days, none, pf_days, [w for w, _ in PF_WRONGS.values()], capsys)
    for wrong, says in PF_WRONGS.values():
        with rejects(capsys, says):
            checks.check_training_pf_days(wrong)
