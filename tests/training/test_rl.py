"""Tests of helpers.training.rl: rewards, group advantages, KL estimators, the policy-gradient and PPO losses,
rollouts, checkers.

The losses are checked against numbers worked out by hand in the comments; the rollouts on a tiny random
Llama with SmolLM2's tokenizer and a LoRA adapter, so they take seconds (COURSE_DTYPE=bfloat16 included).
"""
import math

import pytest
import torch

from helpers.course.checks import rl_from_feedback as checks
from helpers.course.precision import model_precision
from helpers.generation import chat
from helpers.models.lora import add_lora
from helpers.training import preference as P
from helpers.training import rl
from tests.checker_asserts import assert_checker_behaves

pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...

POSITIVE = dict(task="sentiment", answers=["positive"], others=["negative"])
NEGATIVE = dict(task="sentiment", answers=["negative"], others=["positive"])
E, E1 = math.e, math.exp(-1)


def one_line_error(call):
    with pytest.raises(ValueError) as info:
        call()
    assert "\n" not in str(info.value) and len(str(info.value)) < 200, str(info.value)


# ----------------------------------------------------------------------------- the reward

def test_format_and_label_reward():
    assert rl.format_and_label_reward("Answer: positive", POSITIVE) == 1.0
    assert rl.format_and_label_reward("Answer: Positive.", POSITIVE) == 1.0  # case and punctuation ignored
    assert rl.format_and_label_reward("Answer: negative", POSITIVE) == 0.5  # the format, the wrong label
    assert rl.format_and_label_reward("Answer: positive or negative", POSITIVE) == 0.5  # both labels: not correct
    assert rl.format_and_label_reward("It is positive.", POSITIVE) == 0.0  # right label, not in the format
    assert rl.format_and_label_reward("Answer: positive\nIt is a nice film.", POSITIVE) == 0.0  # two lines
    assert rl.format_and_label_reward("", POSITIVE) == 0.0
    rewards = rl.format_and_label_rewards([["Answer: positive", "Answer: negative", "positive"],
                                           ["Answer: negative", "Answer: positive", "Answer:"]], [POSITIVE, NEGATIVE])
    assert rewards.dtype == torch.float32 and rewards.tolist() == [[1.0, 0.5, 0.0], [1.0, 0.5, 0.0]]
    one_line_error(lambda: rl.format_and_label_reward("Answer: positive", {"answers": ["positive"]}))
    one_line_error(lambda: rl.format_and_label_rewards([["a", "b"], ["c"]], [POSITIVE, NEGATIVE]))  # ragged
    one_line_error(lambda: rl.format_and_label_rewards([["a", "b"]], [POSITIVE, NEGATIVE]))  # 1 group, 2 examples
    one_line_error(lambda: rl.format_and_label_rewards([], []))


# ----------------------------------------------------------------------------- advantages

REWARDS = [[1.0, 0.0, 0.0, 0.0],
           [1.0, 1.0, 0.0, 0.0]]


def test_rloo_subtracts_the_mean_of_the_other_answers():
    # row 0: the 1 is compared with (0+0+0)/3 = 0 → 1; each 0 with (1+0+0)/3 → −1/3
    # row 1: each 1 with (1+0+0)/3 → 2/3; each 0 with (1+1+0)/3 → −2/3
    want = torch.tensor([[1, -1 / 3, -1 / 3, -1 / 3],
                         [2 / 3, 2 / 3, -2 / 3, -2 / 3]])
    got = rl.group_advantages(REWARDS, "rloo")
    assert got.shape == (2, 4) and torch.allclose(got, want)
    assert torch.allclose(got, 4 / 3 * rl.group_advantages(REWARDS, "mean"))  # RLOO = k/(k−1) · (r − mean)
    assert rl.group_advantages([[1.0, 0.0]], "rloo").tolist() == [[1.0, -1.0]]  # k = 2: r_i − r_other


def test_mean_baseline_normalized_and_none():
    # row 0: mean 1/4 → [3/4, −1/4, −1/4, −1/4]; row 1: mean 1/2 → [1/2, 1/2, −1/2, −1/2]
    assert torch.allclose(rl.group_advantages(REWARDS, "mean"),
                          torch.tensor([[0.75, -0.25, -0.25, -0.25], [0.5, 0.5, -0.5, -0.5]]))
    # std with Bessel's correction: row 0: (0.75² + 3·0.25²)/3 = 0.75/3 = 0.25 → std 1/2, so [1.5, −0.5, −0.5, −0.5]
    #                               row 1: 4·0.5²/3 = 1/3 → std 1/√3, so ±0.5·√3 = ±√3/2
    s = math.sqrt(3) / 2
    assert torch.allclose(rl.group_advantages(REWARDS, "mean", normalize=True),
                          torch.tensor([[1.5, -0.5, -0.5, -0.5], [s, s, -s, -s]]), atol=1e-5)
    assert torch.equal(rl.group_advantages(REWARDS, "none"), torch.tensor(REWARDS))  # plain REINFORCE: the reward


def test_equal_rewards_give_zero_advantages_even_normalized():
    same = torch.full((3, 4), 0.5)
    for baseline in ("rloo", "mean"):
        for normalize in (False, True):
            got = rl.group_advantages(same, baseline, normalize=normalize)
            assert torch.equal(got, torch.zeros(3, 4)), (baseline, normalize, got)  # no NaN from std = 0
    ints = rl.group_advantages(torch.tensor([[1, 0]]), "mean")  # integer rewards come back as floats
    assert ints.dtype == torch.float32 and ints.tolist() == [[0.5, -0.5]]
    assert rl.group_advantages(torch.tensor(REWARDS, dtype=torch.float64)).dtype == torch.float64


def test_group_advantages_errors():
    one_line_error(lambda: rl.group_advantages([1.0, 0.0, 1.0]))  # (k,) not (P, k)
    one_line_error(lambda: rl.group_advantages([[1.0], [0.0]], "rloo"))  # k = 1: no other answers
    one_line_error(lambda: rl.group_advantages([[1.0], [0.0]], "mean", normalize=True))  # no spread with k = 1
    one_line_error(lambda: rl.group_advantages(REWARDS, "grpo"))
    one_line_error(lambda: rl.group_advantages(REWARDS, "none", normalize=True))
    assert rl.group_advantages([[1.0], [0.0]], "none").tolist() == [[1.0], [0.0]]  # k = 1 is fine without a baseline


# ----------------------------------------------------------------------------- KL estimators

def test_kl_estimators_by_hand():
    logp = torch.tensor([[-1.0, -2.0, 0.0]])
    ref = torch.tensor([[-2.0, -1.0, 0.0]])  # the last position is outside the answer: both 0
    # log r = ref − logp = [−1, +1, 0]
    assert torch.allclose(rl.kl_per_token(logp, ref, "k1"), torch.tensor([[1.0, -1.0, 0.0]]))  # −log r
    assert torch.allclose(rl.kl_per_token(logp, ref, "k2"), torch.tensor([[0.5, 0.5, 0.0]]))  # ½ (log r)²
    # k3 = (r − 1) − log r: (e⁻¹ − 1) + 1 = e⁻¹ = 0.3679; (e − 1) − 1 = e − 2 = 0.7183; (1 − 1) − 0 = 0
    assert torch.allclose(rl.kl_per_token(logp, ref, "k3"), torch.tensor([[E1, E - 2, 0.0]]))
    assert torch.equal(rl.kl_per_token(logp, ref), rl.kl_per_token(logp, ref, "k3"))  # k3 is the default
    mask = torch.tensor([[True, True, False]])
    assert torch.allclose(rl.sequence_kl(logp, ref, mask), torch.tensor([E1 + E - 2]))  # 1.0862, summed
    tiny = torch.tensor([1e-6])
    # ≈ (log r)²/2, no round-off
    assert rl.kl_per_token(torch.zeros(1), tiny).item() == pytest.approx(0.5e-12, rel=1e-3)
    one_line_error(lambda: rl.kl_per_token(logp, ref[:, :2]))
    one_line_error(lambda: rl.kl_per_token(logp, ref, "k4"))


def test_k1_and_k3_are_unbiased_and_k2_is_not():
    pi, ref = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64), torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    # KL(π‖π_ref) = 0.5·ln(0.5/0.2) + 0.3·ln 1 + 0.2·ln(0.2/0.5) = 0.5·ln 2.5 − 0.2·ln 2.5 = 0.3·ln 2.5 = 0.27489
    kl = 0.3 * math.log(2.5)
    expected = {name: (pi * rl.kl_per_token(pi.log(), ref.log(), name)).sum().item() for name in ("k1", "k2", "k3")}
    assert expected["k1"] == pytest.approx(kl) and expected["k3"] == pytest.approx(kl)
    assert expected["k2"] == pytest.approx(0.5 * 0.7 * math.log(2.5) ** 2)  # ½·(0.5 + 0.2)·ln²2.5 = 0.29386 > KL
    assert (rl.kl_per_token(pi.log(), ref.log(), "k3") >= 0).all()
    assert (rl.kl_per_token(pi.log(), ref.log(), "k1") < 0).any()


def test_what_each_estimator_does_as_a_loss_term():
    """E_{y~π}[∇ k(y)]: k3's is ∇KL(π_ref‖π), k2's is ∇KL(π‖π_ref), k1's is 0 (policy_gradient_loss's docstring)."""
    ref = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    logits = torch.tensor([0.4, -0.3, 0.1], dtype=torch.float64, requires_grad=True)

    def expected_gradient(estimator):  # Σ_y π(y) ∇ k(y), π(y) held fixed as the sampling weight
        logp = torch.log_softmax(logits, 0)
        term = (logp.exp().detach() * rl.kl_per_token(logp, ref.log(), estimator)).sum()
        return torch.autograd.grad(term, logits)[0]

    def gradient(kl_of):
        return torch.autograd.grad(kl_of(torch.softmax(logits, 0)), logits)[0]

    forward = gradient(lambda pi: (pi * (pi.log() - ref.log())).sum())  # ∇ KL(π‖π_ref)
    reverse = gradient(lambda pi: (ref * (ref.log() - pi.log())).sum())  # ∇ KL(π_ref‖π)
    assert torch.allclose(expected_gradient("k1"), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(expected_gradient("k2"), forward)
    assert torch.allclose(expected_gradient("k3"), reverse)


# ----------------------------------------------------------------------------- the policy-gradient loss

def pg_batch():
    """Two answers: the first 2 tokens long (then padding), the second 3 tokens; advantages +1 and −2."""
    logp = torch.tensor([[-1.0, -2.0, 0.0],
                         [-0.5, -0.5, -1.0]], requires_grad=True)
    mask = torch.tensor([[True, True, False],
                         [True, True, True]])
    return logp, torch.tensor([1.0, -2.0]), mask


def test_policy_gradient_loss_by_hand():
    logp, advantages, mask = pg_batch()
    # Σ_t logp: row 0 −1 − 2 = −3, row 1 −0.5 − 0.5 − 1 = −2
    # −A·Σ logp: row 0 −(1)(−3) = 3, row 1 −(−2)(−2) = −4; mean (3 − 4)/2 = −0.5
    loss, stats = rl.policy_gradient_loss(logp, advantages, mask)
    assert loss.item() == pytest.approx(-0.5) and stats == {"pg": pytest.approx(-0.5), "logp": pytest.approx(-2.5)}
    # with the reference: row 0 ref [−2, −1] → k3 per token [e⁻¹, e − 2] (see test_kl_estimators_by_hand),
    # row 1 ref = policy → 0; mean Σ KL = (e⁻¹ + e − 2)/2 = 0.54308; loss = −0.5 + 0.1·0.54308 = −0.44569
    ref = torch.tensor([[-2.0, -1.0, 0.0], [-0.5, -0.5, -1.0]])
    loss, stats = rl.policy_gradient_loss(logp, advantages, mask, ref, beta=0.1)
    assert stats["kl"] == pytest.approx((E1 + E - 2) / 2, rel=1e-5)
    assert loss.item() == pytest.approx(-0.5 + 0.1 * (E1 + E - 2) / 2, rel=1e-5)
    # k1 instead: row 0 Σ (logp − ref) = (−1 + 2) + (−2 + 1) = 0, row 1 0 → the loss is the pg term alone
    loss, stats = rl.policy_gradient_loss(logp, advantages, mask, ref, beta=0.1, estimator="k1")
    assert loss.item() == pytest.approx(-0.5) and stats["kl"] == pytest.approx(0.0)
    # β = 0 with a reference: the KL is reported, not trained on
    loss, stats = rl.policy_gradient_loss(logp, advantages, mask, ref)
    assert loss.item() == pytest.approx(-0.5) and stats["kl"] == pytest.approx((E1 + E - 2) / 2, rel=1e-5)


def test_policy_gradient_raises_positive_advantage_answers():
    logp, advantages, mask = pg_batch()
    loss, _ = rl.policy_gradient_loss(logp, advantages.clone().requires_grad_(True), mask)
    loss.backward()
    # ∂loss/∂logp_{b,t} = −A_b / B on answer tokens: row 0 −1/2 (a step down the gradient raises it), row 1 +1
    assert torch.equal(logp.grad, torch.tensor([[-0.5, -0.5, 0.0], [1.0, 1.0, 1.0]]))
    logp.grad = None
    loss, _ = rl.policy_gradient_loss(logp, torch.zeros(2), mask)  # no advantage, no KL: nothing to learn
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(logp.grad, torch.zeros(2, 3))


def test_the_kl_term_pulls_toward_the_reference():
    logp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    ref = torch.tensor([[-2.0, -1.0]])  # token 0 likelier under π than π_ref, token 1 less likely
    loss, _ = rl.policy_gradient_loss(logp, torch.zeros(1), torch.ones(1, 2, dtype=torch.bool), ref, beta=1.0)
    loss.backward()
    # ∂k3/∂logp = 1 − exp(ref − logp): token 0 1 − e⁻¹ = 0.632 > 0 (lowered), token 1 1 − e = −1.718 < 0 (raised)
    assert torch.allclose(logp.grad, torch.tensor([[1 - E1, 1 - E]]))


def test_policy_gradient_loss_errors():
    logp, advantages, mask = pg_batch()
    one_line_error(lambda: rl.policy_gradient_loss(logp, advantages, mask, beta=0.1))  # β without a reference
    one_line_error(lambda: rl.policy_gradient_loss(logp, advantages[:1], mask))
    one_line_error(lambda: rl.policy_gradient_loss(logp, advantages, mask[:, :2]))
    one_line_error(lambda: rl.policy_gradient_loss(logp[0], advantages, mask[0]))
    one_line_error(lambda: rl.policy_gradient_loss(logp, advantages, mask, logp[:, :2].detach(), beta=0.1))


# ----------------------------------------------------------------------------- PPO's clipped loss

def ppo_batch():
    """Ratios r = π/π_old chosen per token: logp = old_logp + log r (old_logp made up);
    the last token of row 1 is padding."""
    ratios = torch.tensor([[1.5, 0.5, 0.9], [0.5, 1.5, 1.0]])
    old = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -1.5, 0.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    return (old + ratios.log()).requires_grad_(True), old, torch.tensor([1.0, -1.0]), mask


def test_ppo_clipped_loss_by_hand():
    logp, old, advantages, mask = ppo_batch()
    # ε = 0.2, so clip(r) lies in [0.8, 1.2]; per token min(r·A, clip(r)·A):
    #   row 0, A = +1: r 1.5 → min(1.5, 1.2) = 1.2 (clipped); r 0.5 → min(0.5, 0.8) = 0.5; r 0.9 → 0.9
    #   row 1, A = −1: r 0.5 → min(−0.5, −0.8) = −0.8 (clipped); r 1.5 → min(−1.5, −1.2) = −1.5
    # mean over the 5 answer tokens: (1.2 + 0.5 + 0.9 − 0.8 − 1.5)/5 = 0.3/5 = 0.06 → loss −0.06; 2 of 5 clipped
    loss, clip_fraction = rl.ppo_clipped_loss(logp, old, advantages, mask, clip=0.2)
    assert loss.item() == pytest.approx(-0.06, abs=1e-6) and clip_fraction.item() == pytest.approx(0.4)
    loss.backward()
    # ∂/∂logp of −r·A/5 is −r·A/5 (dr/dlogp = r) where the unclipped term is the min, 0 where the clip bit:
    #   row 0: [0, −0.5/5, −0.9/5] = [0, −0.1, −0.18]; row 1: [0, +1.5/5, 0 (padding)] = [0, 0.3, 0]
    assert torch.allclose(logp.grad, torch.tensor([[0.0, -0.1, -0.18], [0.0, 0.3, 0.0]]))
    # a wider clip, ε = 0.6 ([0.4, 1.6]): nothing clipped, the loss is −mean(r·A) = −(1.5 + 0.5 + 0.9 − 0.5 − 1.5)/5
    loss, clip_fraction = rl.ppo_clipped_loss(logp, old, advantages, mask, clip=0.6)
    assert loss.item() == pytest.approx(-0.18) and clip_fraction.item() == 0.0


def test_ppo_at_ratio_one_is_the_token_mean_policy_gradient():
    logp, _, advantages, mask = ppo_batch()
    old = logp.detach().clone()  # first step on fresh samples: π = π_old, r = 1 everywhere
    loss, clip_fraction = rl.ppo_clipped_loss(logp, old, advantages, mask)
    # −mean over tokens of A: −(3·1 + 2·(−1))/5 = −0.2; gradient −A/5: row 0 −0.2 (raised), row 1 +0.2 (lowered)
    assert loss.item() == pytest.approx(-0.2) and clip_fraction.item() == 0.0
    loss.backward()
    assert torch.allclose(logp.grad, torch.tensor([[-0.2, -0.2, -0.2], [0.2, 0.2, 0.0]]))


def test_ppo_errors():
    logp, old, advantages, mask = ppo_batch()
    one_line_error(lambda: rl.ppo_clipped_loss(logp, old, advantages, mask, clip=0.0))
    one_line_error(lambda: rl.ppo_clipped_loss(logp, old, advantages, mask, clip=1.5))
    one_line_error(lambda: rl.ppo_clipped_loss(logp, old[:, :2], advantages, mask))
    one_line_error(lambda: rl.ppo_clipped_loss(logp, old, advantages, torch.zeros_like(mask)))
    one_line_error(lambda: rl.ppo_clipped_loss(logp, old, torch.ones(3), mask))


# ----------------------------------------------------------------------------- the pieces together

@pytest.mark.parametrize("method", ["reinforce", "rloo", "grpo", "ppo"])
def test_a_bandit_learns_the_best_answer(method):
    """Four possible answers to one prompt, rewards [1, 0, 0.5, 0]: the policy should come to prefer answer 0."""
    reward_of = torch.tensor([1.0, 0.0, 0.5, 0.0])
    logits = torch.zeros(4, requires_grad=True)
    optimizer = torch.optim.SGD([logits], lr=0.5)
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        picks = torch.multinomial(torch.softmax(logits, 0).detach(), 8, replacement=True, generator=g)  # k = 8 answers
        baseline = {"reinforce": "none", "rloo": "rloo"}.get(method, "mean")
        advantages = rl.group_advantages(reward_of[picks][None], baseline, normalize=method == "grpo").flatten()  # (8,)
        old = torch.log_softmax(logits, 0)[picks].detach()[:, None]  # (8, 1): one-token answers
        for _ in range(2 if method == "ppo" else 1):  # PPO: two steps on the same samples
            logp = torch.log_softmax(logits, 0)[picks][:, None]  # (8, 1)
            mask = torch.ones(8, 1, dtype=torch.bool)
            loss = (rl.ppo_clipped_loss(logp, old, advantages, mask)[0] if method == "ppo"
                    else rl.policy_gradient_loss(logp, advantages, mask)[0])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert torch.softmax(logits, 0)[0] > 0.8, (method, torch.softmax(logits, 0))


def test_a_strong_kl_leash_keeps_the_bandit_near_its_reference():
    reward_of = torch.tensor([1.0, 0.0, 0.5, 0.0])
    ref = torch.log_softmax(torch.tensor([0.0, 1.0, 0.0, 0.0]), 0)  # the reference prefers answer 1
    final = {}
    for beta in (0.0, 2.0):
        logits = ref.clone().requires_grad_(True)
        optimizer = torch.optim.SGD([logits], lr=0.3)
        g = torch.Generator().manual_seed(0)
        for _ in range(60):
            picks = torch.multinomial(torch.softmax(logits, 0).detach(), 8, replacement=True, generator=g)
            logp = torch.log_softmax(logits, 0)[picks][:, None]
            advantages = rl.group_advantages(reward_of[picks][None], "rloo").flatten()
            mask = torch.ones(8, 1, dtype=torch.bool)
            loss, _ = rl.policy_gradient_loss(logp, advantages, mask, ref[picks][:, None], beta)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        pi = torch.softmax(logits.detach(), 0)
        final[beta] = (pi * (pi.log() - ref)).sum().item()  # the exact KL(π‖π_ref) at the end
    assert final[2.0] < 0.5 * final[0.0], final


# ----------------------------------------------------------------------------- rollouts from a tiny chat model

def tiny_policy(tok, seed=0):
    """A 2-layer random Llama (hidden 32) with a LoRA adapter; its end-of-turn logit is raised so some answers end."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                         tie_word_embeddings=True)
    lm = LlamaForCausalLM(config)
    lm.lm_head.register_forward_hook(lambda module, inputs, out: out.index_add(
        -1, torch.tensor([tok.eos_token_id]), torch.full((*out.shape[:-1], 1), 9.0, dtype=out.dtype)))  # p(end) ≈ 1/7
    return add_lora(lm)


PROMPTS = ["Is this movie review positive or negative?\nReview: A delight.", "Say hi."]


def tolerance(model):
    return 0.1 if model_precision(model, "auto").name != "float32" else 1e-4  # bf16 autocast rounds the logits


def test_rollout_holds_the_sampled_tokens_and_their_logprobs(tok):
    model = tiny_policy(tok)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    r = rl.sample_rollouts(model, tok, PROMPTS, k=3, max_new_tokens=6, seed=1)
    assert torch.equal(torch.rand(1), before)  # the caller's random stream did not move
    assert len(r.answers) == 2 and all(len(group) == 3 for group in r.answers)
    B, T = r.ids.shape
    assert B == 6 and r.mask.shape == r.attention.shape == (6, T) and r.logp.shape == r.ref_logp.shape == (6, T - 1)
    assert r.token_mask.shape == (6, T - 1) and torch.equal(r.token_mask, r.mask[:, 1:])
    # the same text as sample_answers with the same seed: the same sampling, one prompt pass shared by its k answers
    assert r.answers == chat.sample_answers(model, tok, PROMPTS, n=3, max_new_tokens=6, seed=1)
    ended = 0
    for row in range(6):
        answer = r.ids[row][r.mask[row]].tolist()
        ends = answer[-1] == tok.eos_token_id
        ended += ends
        assert tok.decode(answer[:-1] if ends else answer) == r.answers[row // 3][row % 3]
        assert (len(answer) <= 6) if ends else (len(answer) == 6)  # cut at max_new_tokens, or ended by its end-of-turn
        head = r.ids[row][:r.mask[row].int().argmax()].tolist()
        assert tok.decode(head) == tok.apply_chat_template([{"role": "user", "content": PROMPTS[row // 3]}],
                                                            tokenize=False, add_generation_prompt=True)
    assert 0 < ended < 6  # both kinds present (the raised end-of-turn logit makes this so for these seeds)
    # log-probs: those of the full logits, one row at a time, on the answer tokens only
    with torch.no_grad(), model_precision(model, "auto").autocast():
        for row in range(6):
            n = int(r.attention[row].sum())
            logits = model(input_ids=r.ids[row:row + 1, :n]).logits[0, :-1].float()
            direct = torch.log_softmax(logits, -1).gather(-1, r.ids[row, 1:n, None]).squeeze(-1)
            keep = r.token_mask[row, :n - 1]
            assert torch.allclose(r.logp[row, :n - 1][keep], direct[keep], atol=tolerance(model))
    assert (r.logp[~r.token_mask] == 0).all() and (r.ref_logp[~r.token_mask] == 0).all()
    again = rl.sample_rollouts(model, tok, PROMPTS, k=3, max_new_tokens=6, seed=1)
    assert torch.equal(again.ids, r.ids) and torch.equal(again.logp, r.logp)
    other = rl.sample_rollouts(model, tok, PROMPTS, k=3, max_new_tokens=6, seed=2)
    assert other.answers != r.answers


def test_rollout_reference_is_the_adapter_switched_off_and_the_loss_trains_the_adapter(tok):
    model = tiny_policy(tok)
    r = rl.sample_rollouts(model, tok, PROMPTS, k=2, max_new_tokens=5)
    assert torch.equal(r.logp, r.ref_logp)  # a fresh adapter (B = 0): policy = reference
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(3))
    r = rl.sample_rollouts(model, tok, PROMPTS, k=2, max_new_tokens=5)
    assert not torch.allclose(r.logp, r.ref_logp, atol=1e-3)
    precision = model_precision(model, "auto")
    with torch.no_grad(), precision.autocast(), model.disable_adapter():
        ref = P.response_logprobs(model, r.ids, r.mask, r.attention)
    assert torch.allclose(ref, r.ref_logp, atol=tolerance(model))
    kl = rl.sequence_kl(r.logp, r.ref_logp, r.token_mask)
    assert kl.shape == (4,) and (kl > 0).all()
    # one training step: recompute the log-probs with gradients; only the adapter receives them
    model.train()
    advantages = rl.group_advantages(torch.tensor([[1.0, 0.0], [0.0, 1.0]])).flatten()  # RLOO: [1, −1, −1, 1]
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)

    def loss_now():
        with precision.autocast():
            logp = P.response_logprobs(model, r.ids, r.mask, r.attention)
        return rl.policy_gradient_loss(logp, advantages, r.token_mask, r.ref_logp, beta=0.1)

    loss, stats = loss_now()
    assert stats["kl"] == pytest.approx(kl.mean().item(), rel=1e-2, abs=1e-3)  # the policy has not moved yet
    optimizer.zero_grad()
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert grads and all("lora_" in n for n in grads) and any(g.abs().sum() > 0 for g in grads.values())
    optimizer.step()
    with torch.no_grad():
        # a step down the gradient lowers the loss (beyond bf16 rounding)
        assert loss_now()[0].item() < loss.item() - 0.01


def test_rollout_errors(tok):
    from transformers import LlamaConfig, LlamaForCausalLM

    plain = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    one_line_error(lambda: rl.sample_rollouts(plain, tok, PROMPTS, k=2))  # no adapter, no reference
    model = tiny_policy(tok)
    one_line_error(lambda: rl.sample_rollouts(model, tok, [], k=2))
    one_line_error(lambda: rl.sample_rollouts(model, tok, PROMPTS, k=0))
    one_line_error(lambda: rl.sample_rollouts(model, tok, PROMPTS, k=2, temperature=0.0))


# ----------------------------------------------------------------------------- checkers

def test_check_group_advantages(capsys):
    def solution(rewards, baseline="rloo", normalize=False):
        k = rewards.shape[1]
        if baseline == "rloo":
            advantages = rewards - (rewards.sum(1, keepdim=True) - rewards) / (k - 1)
        elif baseline == "mean":
            advantages = rewards - rewards.mean(1, keepdim=True)
        else:
            advantages = rewards
        return advantages / (rewards.std(1, keepdim=True) + 1e-6) if normalize else advantages

    def centred(rewards, baseline):
        return solution(rewards, baseline)

    wrongs = [lambda r, baseline="rloo", normalize=False: r - r.mean(1, keepdim=True),  # RLOO keeps the answer in
              lambda r, baseline="rloo", normalize=False: r - (r.sum(1, keepdim=True) - r) / r.shape[1],  # / k
              # the other answers' mean taken down the columns, over prompts
              lambda r, baseline="rloo", normalize=False: r - (r.sum(0, keepdim=True) - r) / (r.shape[0] - 1),
              lambda r, baseline="rloo", normalize=False: (centred(r, baseline) if baseline == "rloo"
                                                            else r - r.mean()),  # a batch-wide mean
              lambda r, baseline="rloo", normalize=False: (centred(r, "rloo") if baseline == "none"
                                                            else solution(r, baseline, normalize)),  # 'none' centred
              lambda r, baseline="rloo", normalize=False: (centred(r, baseline) / r.std(1, keepdim=True)
                                                            if normalize else centred(r, baseline)),  # no eps: NaN
              lambda r, baseline="rloo", normalize=False: (  # population std
                  centred(r, baseline) / (r.std(1, correction=0, keepdim=True) + 1e-6)
                  if normalize else centred(r, baseline)),
              lambda r, baseline="rloo", normalize=False: (centred(r, baseline) / (r.std() + 1e-6)
                                                            if normalize else centred(r, baseline)),  # the batch's std
              lambda r, baseline="rloo", normalize=False: centred(r, baseline),  # normalize ignored
              lambda r, baseline="rloo", normalize=False: solution(r, baseline, normalize).flatten()]  # not (P, k)
    assert_checker_behaves(checks.check_group_advantages, lambda r, baseline="rloo", normalize=False: None,
                           solution, wrongs, capsys)
    assert checks.check_group_advantages(lambda r, baseline="rloo", normalize=False: None) is rl.group_advantages
    assert checks.check_group_advantages(rl.group_advantages) is rl.group_advantages


def test_check_ppo_clipped_loss(capsys):
    def objective(logp, old_logp, advantages, clip):
        ratio = torch.exp(logp - old_logp)
        A = advantages[:, None]
        return ratio * A, ratio.clamp(1 - clip, 1 + clip) * A

    def solution(logp, old_logp, advantages, mask, clip=0.2):
        unclipped, clipped = objective(logp, old_logp, advantages, clip)
        return -torch.minimum(unclipped, clipped)[mask].mean(), (clipped < unclipped)[mask].float().mean()

    def with_loss(loss_of):  # a wrong loss, the right clip fraction
        return lambda p, o, a, m, c=0.2: (loss_of(p, o, a, m, c), solution(p, o, a, m, c)[1])

    def with_fraction(fraction_of):  # the right loss, a wrong clip fraction
        return lambda p, o, a, m, c=0.2: (solution(p, o, a, m, c)[0], fraction_of(p, o, a, m, c))

    def ratio(logp, old):
        return torch.exp(logp - old)

    def with_ratio(wrong_ratio):  # PPO's loss around a wrong ratio
        def loss(p, o, a, m, c):
            r = wrong_ratio(p, o)
            return -torch.minimum(r * a[:, None], r.clamp(1 - c, 1 + c) * a[:, None])[m].mean()
        return with_loss(loss)

    wrongs = [with_ratio(lambda p, o: p / o),  # a ratio of log-probs
              with_ratio(lambda p, o: 1 / ratio(p, o)),  # upside down
              with_loss(lambda p, o, a, m, c: torch.minimum(*objective(p, o, a, c))[m].mean()),  # not negated
              with_loss(lambda p, o, a, m, c: -torch.maximum(*objective(p, o, a, c))[m].mean()),  # max
              with_loss(lambda p, o, a, m, c: -objective(p, o, a, c)[0][m].mean()),  # no clip
              with_loss(lambda p, o, a, m, c: -objective(p, o, a, c)[1][m].mean()),  # clipped term only
              with_loss(lambda p, o, a, m, c: -objective(p, o, a, c)[0].clamp(1 - c, 1 + c)[m].mean()),  # clamp(r·A)
              with_loss(lambda p, o, a, m, c: -torch.minimum(*objective(p, o, a, c)).mean()),  # padding averaged in
              with_loss(lambda p, o, a, m, c: -((torch.minimum(*objective(p, o, a, c)) * m).sum(1) / m.sum(1)).mean()),
              with_loss(lambda p, o, a, m, c: -torch.minimum(*objective(p, o, a, c))[m].sum()),  # sum
              with_loss(lambda p, o, a, m, c: -torch.minimum(*objective(p, o, a, 0.2))[m].mean()),  # ε fixed at 0.2
              with_loss(lambda p, o, a, m, c: solution(p, o, a, m, c)[0].detach()),  # no gradient
              with_loss(lambda p, o, a, m, c: solution(p.detach() + 0 * p, o, a, m, c)[0]),  # value right, gradient 0
              with_fraction(lambda p, o, a, m, c: (torch.abs(ratio(p, o) - 1) > c)[m].float().mean()),
              with_fraction(lambda p, o, a, m, c: (objective(p, o, a, c)[1] < objective(p, o, a, c)[0]).float().mean()),
              lambda p, o, a, m, c=0.2: solution(p, o, a, m, c)[0]]  # the loss alone
    assert_checker_behaves(checks.check_ppo_clipped_loss, lambda p, o, a, m, c=0.2: None, solution, wrongs, capsys)
    assert checks.check_ppo_clipped_loss(rl.ppo_clipped_loss) is rl.ppo_clipped_loss


def test_check_kl_estimate(capsys):
    def solution(logp, ref_logp):
        log_r = ref_logp - logp
        return torch.exp(log_r) - 1 - log_r

    wrongs = [lambda lp, rp: lp - rp,  # k1
              lambda lp, rp: 0.5 * (rp - lp) ** 2,  # k2
              lambda lp, rp: torch.exp(lp - rp) - 1 - (lp - rp),  # ratio upside down
              lambda lp, rp: torch.exp(rp - lp) - (rp - lp),  # no −1
              lambda lp, rp: torch.exp(rp - lp) - 1,  # no − log r
              lambda lp, rp: torch.exp(rp - lp) - 1 + (rp - lp),  # + log r
              lambda lp, rp: rp / lp - 1 - torch.log(rp / lp),  # a ratio of log-probs
              lambda lp, rp: solution(lp, rp).sum(),  # reduced
              lambda lp, rp: solution(lp, rp).mean(1)]  # one per row
    assert_checker_behaves(checks.check_kl_estimate, lambda lp, rp: None, solution, wrongs, capsys)
    assert checks.check_kl_estimate(lambda lp, rp: None) is rl.kl_per_token
    assert checks.check_kl_estimate(rl.kl_per_token) is rl.kl_per_token


# ----------------------------------------------------------------------------- train_rl: fit with an RL loss

def empty_is_best(answers, examples):
    """A reward a tiny random model can learn: 1 for an answer that ends at once (its first token is <|im_end|>)."""
    return torch.tensor([[float(a == "") for a in group] for group in answers])


def p_end_at_once(model, tok, prompt):
    """Return π(<|im_end|> | prompt): the probability of the empty answer."""
    text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])).logits[0, -1]
    return torch.softmax(logits.float(), -1)[tok.eos_token_id].item()


EXAMPLES = [{"prompt": p, "answers": ["positive"], "others": ["negative"]} for p in PROMPTS]


@pytest.mark.parametrize("updates", [1, 2])
def test_train_rl_raises_the_reward(tok, updates):
    model = tiny_policy(tok)
    before = [p_end_at_once(model, tok, p) for p in PROMPTS]  # about 1/7 (tiny_policy's raised end-of-turn)
    history = rl.train_rl(model, tok, EXAMPLES, empty_is_best, steps=16, prompts=2, k=8, lr=0.2, warmup=0,
                          beta=0.0, updates=updates, max_new_tokens=6, progress=False)
    assert set(history) >= {"loss", "reward", "correct", "format", "kl", "length", "clip"}
    assert all(len(values) == 16 for values in history.values())
    after = [p_end_at_once(model, tok, p) for p in PROMPTS]
    assert all(a > 1.4 * b for a, b in zip(after, before)), (before, after)  # the rewarded answer got likelier
    assert history["kl"][0] == pytest.approx(0.0, abs=1e-6) and history["kl"][-1] > 0  # it left the reference
    if updates == 2:  # PPO: the first update of each batch is at ratio 1, nothing clipped
        assert all(c == 0 for c in history["clip"][::2])
        assert history["reward"][::2] == history["reward"][1::2]  # two updates on each batch of samples


def test_train_rl_kl_leash_keeps_the_policy_closer(tok):
    kls = {}
    for beta in (0.0, 2.0):
        model = tiny_policy(tok)
        rl.train_rl(model, tok, EXAMPLES, empty_is_best, steps=10, prompts=2, k=8, lr=0.2, warmup=0,
                    beta=beta, updates=1, max_new_tokens=6, progress=False, seed=3)
        answers = [a for group in rl.sample_rollouts(model, tok, PROMPTS, k=4, max_new_tokens=6, seed=9).answers
                   for a in group]
        kls[beta] = rl.answer_kl(model, tok, [p for p in PROMPTS for _ in range(4)], answers).mean().item()
    assert kls[2.0] < kls[0.0], kls


def test_train_rl_errors(tok):
    model = tiny_policy(tok)
    one_line_error(lambda: rl.train_rl(model, tok, [], empty_is_best, steps=2))
    one_line_error(lambda: rl.train_rl(model.get_base_model(), tok, EXAMPLES, empty_is_best, steps=2))
    for bad in (dict(steps=0), dict(steps=2, beta=-1.0), dict(steps=2, lr=0.0), dict(steps=2, baseline="median"),
                dict(steps=2, k=0), dict(steps=2, dtype="float8")):
        one_line_error(lambda bad=bad: rl.RLConfig(**bad))
    with pytest.raises(TypeError, match="unknown settings"):
        rl.train_rl(model, tok, EXAMPLES, empty_is_best, steps=2, epochs=3)


def test_answer_kl_is_the_exact_kl_of_the_next_token_distributions(tok):
    model = tiny_policy(tok)
    answers = ["Answer: positive", "hi"]
    assert torch.allclose(rl.answer_kl(model, tok, PROMPTS, answers), torch.zeros(2))  # fresh adapter: π = π_ref
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(3))
    kl = rl.answer_kl(model, tok, PROMPTS, answers, batch_size=1)
    for row, (prompt, answer) in enumerate(zip(PROMPTS, answers)):  # by hand, from the full logits, in float64
        ids, mask = P.encode_example(tok, prompt, answer)
        ids = torch.tensor([ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].double(), -1)
            with model.disable_adapter():
                ref = torch.log_softmax(model(input_ids=ids).logits[0, :-1].double(), -1)
        at = torch.tensor(mask[1:])  # positions that predict an answer token
        direct = (logp.exp() * (logp - ref)).sum(-1)[at].sum()
        assert kl[row].item() == pytest.approx(direct.item(), rel=1e-3, abs=1e-6)
    assert (kl > 0).all()
    one_line_error(lambda: rl.answer_kl(model, tok, PROMPTS, answers[:1]))


def test_reward_model_rewards_scores_each_answer_after_its_prompt(tok):
    from helpers.training.reward import RewardModel
    from tests.conftest import tiny_llama

    reward_model = RewardModel(tiny_llama(tok))
    with torch.no_grad():
        reward_model.head.weight.normal_(0, 1, generator=torch.Generator().manual_seed(0))
    answers = [["Answer: positive", ""], ["Answer: negative", "no"]]
    rewards = rl.reward_model_rewards(reward_model, tok)(answers, EXAMPLES)
    assert rewards.shape == (2, 2) and rewards.dtype == torch.float32
    direct = reward_model.score([P.encode_example(tok, e["prompt"], a if a else "…")
                                 for group, e in zip(answers, EXAMPLES) for a in group])
    assert torch.allclose(rewards.flatten(), direct)
    assert rewards[0, 0] != rewards[1, 0]  # the prompt is read: the same kind of answer, another score
