"""Tests of helpers.training.reward: the Bradley–Terry loss, the reward model on SmolLM2,
best-of-n, rank correlation."""
import math

import pytest
import torch

from helpers.data import tasks as T
from helpers.training import preference as P
from helpers.training import reward as R

pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...


@pytest.fixture(scope="module")
def reward_model(load_chat_model):
    return R.RewardModel(load_chat_model())


def test_bradley_terry_loss_is_the_dpo_loss_of_explicit_rewards():
    chosen, rejected = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.5])
    p_chosen_wins = torch.exp(chosen) / (torch.exp(chosen) + torch.exp(rejected))  # the Bradley–Terry model
    assert R.bradley_terry_loss(chosen, rejected).item() == pytest.approx(-torch.log(p_chosen_wins).mean().item())
    assert R.bradley_terry_loss(rejected, rejected).item() == pytest.approx(math.log(2))
    # DPO's loss is this loss with the rewards β · log π/π_ref
    pc, pr = torch.tensor([-3.0, -9.0]), torch.tensor([-4.0, -2.0])
    rc, rr = torch.tensor([-5.0, -6.0]), torch.tensor([-1.0, -3.0])
    assert P.dpo_loss(pc, pr, rc, rr, 0.3).item() == pytest.approx(
        R.bradley_terry_loss(*P.dpo_rewards(pc, pr, rc, rr, 0.3)).item())


def test_rank_correlation():
    x = torch.tensor([0.1, 0.5, 0.2, 0.9])
    assert R.rank_correlation(x, x ** 3) == pytest.approx(1.0)  # any increasing function: 1
    assert R.rank_correlation(x, -x) == pytest.approx(-1.0)
    # ranks (0, 2, 1, 3) against (0, 1, 2, 3): 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60
    assert R.rank_correlation(x, torch.arange(4.0)) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        R.rank_correlation(x, x[:2])


def test_features_are_the_hidden_state_at_the_end_of_the_response(tok, reward_model, drift):
    examples = [P.encode_example(tok, "Say yes.", "Answer: yes"),
                P.encode_example(tok, "Is this review positive or negative? A long, slow and dull film.",
                                 "Answer: negative")]
    # compared with one unpadded float32 forward below, so computed in float32 here too
    batched = reward_model.features(examples + examples[:1], dtype="float32")  # right-padded; a repeat is run once
    assert torch.equal(batched[2], batched[0])
    batched = batched[:2]
    assert batched.shape == (2, reward_model.lm.config.hidden_size) and batched.dtype == torch.float32
    decoder = reward_model.lm.get_decoder()
    for row, (ids, mask) in enumerate(examples):
        end = max(i for i, m in enumerate(mask) if m)
        assert ids[end] == tok.eos_token_id  # the end-of-turn token that closes the answer
        with torch.no_grad():
            alone = decoder(input_ids=torch.tensor([ids])).last_hidden_state[0, end]
        assert torch.allclose(batched[row], alone, atol=1e-3)
    assert not torch.allclose(batched[0], batched[1], atol=1e-2)
    # the precision in force (dtype="auto") drifts from float32 by no more than its rounding allows
    auto = reward_model.features(examples)
    assert auto.dtype == torch.float32 and (auto - batched).abs().mean() < drift, (auto - batched).abs().mean()
    assert (reward_model.score(examples) == 0).all()  # an untrained head scores everything 0
    assert not any(p.requires_grad for p in reward_model.lm.parameters())


def test_reward_model_learns_the_answer_format_from_real_pairs(tok, reward_model):
    """Trained on 12 pairs (the right answer in the format vs. a chatty sentence), it ranks 12 held-out pairs."""
    tasks = T.make_tasks(n_reviews=20)
    chatty = ["I am not sure, but I think the answer is {}.", "Well, it is {}, I believe. Let me explain why.",
              "The answer: {}? It could be something else."]
    examples = [e for rows in tasks.values() for e in rows[:8]]
    pairs = [(P.encode_example(tok, e["prompt"], e["response"]),
              P.encode_example(tok, e["prompt"], chatty[i % 3].format(e["answers"][0])))
             for i, e in enumerate(examples)]
    train, held = pairs[::2], pairs[1::2]
    features = (reward_model.features([c for c, _ in train]), reward_model.features([r for _, r in train]))
    history = R.train_reward_model(reward_model, train, steps=100, features=features)
    assert history["loss"][0] == pytest.approx(math.log(2), abs=1e-5) and history["loss"][-1] < 0.3
    chosen, rejected = reward_model.score([c for c, _ in held]), reward_model.score([r for _, r in held])
    assert (chosen > rejected).float().mean().item() >= 0.9
    with pytest.raises(ValueError):
        R.train_reward_model(reward_model, [])


def test_best_of_keeps_the_highest_reward_among_the_first_k():
    candidates = [["a", "b", "c"], ["d", "e", "f"]]
    rewards = torch.tensor([[0.1, 0.7, 0.9], [0.5, 0.2, 0.4]])
    assert R.best_of(candidates, rewards, 1) == ["a", "d"]
    assert R.best_of(candidates, rewards, 2) == ["b", "d"]
    assert R.best_of(candidates, rewards, 3) == ["c", "d"]
    for bad in (0, 4):
        with pytest.raises(ValueError):
            R.best_of(candidates, rewards, bad)
    with pytest.raises(ValueError):
        R.best_of(candidates, rewards[:, :2], 1)
