"""helpers.generation.probes on the real SmolLM2: label log-probabilities equal a plain forward pass;
gap statistics see planted gaps."""
import pytest
import torch

import helpers
from helpers.api.prompts import few_shot_prompt
from helpers.generation import probes
from helpers.models.gpt import GPT, GPTConfig


def plain_logprob(model, tokenizer, prompt, label):
    ids = tokenizer.encode(prompt, add_special_tokens=False)
    label_ids = tokenizer.encode(label, add_special_tokens=False)
    with torch.no_grad():
        logps = model(input_ids=torch.tensor([ids + label_ids])).logits[0].float().log_softmax(-1)
    return sum(logps[len(ids) - 1 + k, t].item() for k, t in enumerate(label_ids))


def test_label_logprobs_equal_one_forward_pass_per_prompt(smollm2):
    model, tokenizer = smollm2
    examples = [("A joy from start to end.", "positive"), ("Dull and slow.", "negative")]
    prompts = [few_shot_prompt("Classify each review.", examples, q)
               for q in ("I loved it.", "Boring.", "Fine acting, weak plot", "What a mess")]  # a long shared prefix
    prompts.append("Completely different text =>")  # and one that shares nothing
    for labels in ([" positive", " negative"], [" very good", " bad"]):  # one token each; several tokens
        got = probes.label_logprobs(model, tokenizer, prompts, labels, batch_size=2)
        want = torch.tensor([[plain_logprob(model, tokenizer, p, label) for label in labels] for p in prompts])
        assert torch.allclose(got, want, atol=1e-3), (labels, got, want)
    sure = probes.continuation_logprobs(model, tokenizer, "The capital of France is", " Paris")
    assert sure.shape == (len(tokenizer.encode(" Paris", add_special_tokens=False)),)
    plain = plain_logprob(model, tokenizer, "The capital of France is", " Paris")
    assert sure.sum().item() == pytest.approx(plain, abs=1e-3)


def test_label_logprobs_on_a_course_gpt():
    class Chars:
        def encode(self, text, add_special_tokens=False):
            return [ord(c) % 32 for c in text]

    helpers.seed_everything(0)
    model = GPT(GPTConfig(vocab_size=32, block_size=32, n_layer=1, n_head=2, n_embd=16)).eval()
    got = probes.label_logprobs(model, Chars(), ["ab", "abc"], ["d", "ef"])
    with torch.no_grad():
        logps = model(torch.tensor([[1, 2, 3, 5]]))[0][0].log_softmax(-1)  # "abc" then "e": log p(e) + log p(f)
    assert got[1, 1].item() == pytest.approx((logps[2, 5] + logps[3, 6]).item(), abs=1e-5)
    with pytest.raises(ValueError, match="at least one prompt"):
        probes.label_logprobs(model, Chars(), [], ["a"])


def test_group_gaps_find_a_planted_gap_and_nothing_where_there_is_none():
    g = torch.Generator().manual_seed(0)
    base = 0.3 + 0.4 * torch.rand(12, 1, generator=g)  # each template its own level
    p = (base + 0.02 * torch.randn(12, 5, generator=g)).clamp(0, 1)
    p[:, 2] += 0.1  # group "c" reads as more positive in every template
    rows = {r["group"]: r for r in probes.group_gaps(p, list("abcde"), permutations=2000)}
    assert rows["c"]["low"] > 0.05 and rows["c"]["p_value"] < 0.01
    assert rows["c"]["gap"] == pytest.approx((p[:, 2] - (p.sum(1) - p[:, 2]) / 4).mean().item())
    largest = probes.largest_gap(p, list("abcde"), permutations=2000)
    assert largest["high_group"] == "c" and largest["low"] > 0 and largest["p_value"] < 0.01
    flat = base.expand(12, 5).clone()  # every group the same within each template
    rows = probes.group_gaps(flat, list("abcde"), permutations=500)
    assert all(r["p_value"] == 1.0 and abs(r["gap"]) < 1e-6 for r in rows)
    with pytest.raises(ValueError, match="one column per group"):
        probes.group_gaps(p, list("abc"))
