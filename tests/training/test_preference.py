"""Tests of helpers.training.preference: data, chat mask, log-probs, SFT and DPO losses and loops, checkers."""
import contextlib
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from helpers.course.checks import instruction_tuning as checks
from helpers.data import sentiment
from helpers.data import tasks as T
from helpers.generation import chat
from helpers.models.lora import add_lora
from helpers.training import preference as P
from tests.checker_asserts import assert_checker_behaves


@pytest.fixture(scope="module")
def tasks():
    return T.make_tasks(n_reviews=40)


pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...


# ----------------------------------------------------------------------------- data

@pytest.mark.download
def test_loaders_read_the_real_sets():
    trivia = T.load_trivia()
    assert len(trivia) == 261  # 260 well-formed entries and the repaired one
    assert ('In a game of bingo, which number is represented by the phrase "two little ducks"?', "22") in trivia
    assert all(q and a and not a.endswith(".") for q, a in trivia)
    reviews = sentiment.load_movie_reviews()
    assert len(reviews) == 10605 and all(-4 <= v <= 4 for _, v in reviews)
    words = T.load_word_pairs()
    assert len(words) == 121 and ("cat", ["chat"]) in words


@pytest.mark.download
def test_make_tasks_is_balanced_and_in_the_format(tasks):
    labels = [e["answers"][0] for e in tasks["sentiment"]]
    assert labels.count("positive") == labels.count("negative") == 20
    for rows in tasks.values():
        for e in rows:
            assert T.INSTRUCTION in e["prompt"] and T.parse_answer(e["response"]) is not None
            assert T.is_correct(e["response"], e)


def test_parse_and_score():
    e = dict(answers=["The Pacific Ocean"], others=[])
    assert T.parse_answer("Answer: Pacific") == "Pacific"
    assert T.parse_answer("The answer is Pacific.") is None
    assert T.parse_answer("Answer: Pacific\nIt is big.") is None  # one line only
    assert T.is_correct("Answer: the pacific ocean.", e) and T.is_correct("It is the Pacific Ocean!", e)
    assert not T.is_correct("Answer: Atlantic", e)
    s = dict(answers=["positive"], others=["negative"])
    assert T.is_correct("Answer: positive", s) and not T.is_correct("positive or negative?", s)
    assert T.is_correct("Answer: œuf", dict(answers=["œuf"], others=[]))
    assert T.score(["Answer: positive", "It is positive.", "Answer: negative"], [s] * 3) == \
        {"format": 2 / 3, "correct": 2 / 3, "both": 1 / 3}


# ----------------------------------------------------------------------------- chat template and mask

def test_mask_covers_exactly_the_response(tok, tasks):
    for e in (tasks["trivia"][0], tasks["sentiment"][0], tasks["translation"][0]):
        ids, mask = P.encode_example(tok, e["prompt"], e["response"])
        assert len(ids) == len(mask)
        first = mask.index(True)
        last = len(mask) - 1 - mask[::-1].index(True)
        assert all(mask[first:last + 1]) and sum(mask) == last - first + 1  # one contiguous run
        assert tok.decode(ids[first:last + 1]) == e["response"] + tok.eos_token  # the answer and its end-of-turn
        assert tok.decode(ids[:first]) == tok.apply_chat_template(
            [{"role": "user", "content": e["prompt"]}], tokenize=False, add_generation_prompt=True)
        assert tok.decode(ids[last + 1:]) == "\n"  # the template's newline after the turn is not trained on


def test_collate_pads_right_and_masks_padding(tok):
    a = P.encode_example(tok, "Say yes.", "Answer: yes")
    b = P.encode_example(tok, "Say no, please, and be quick about it.", "Answer: no")
    ids, mask, attention = P.collate([a, b], pad_id=0)
    assert ids.shape == mask.shape == attention.shape == (2, max(len(a[0]), len(b[0])))
    assert attention.sum(1).tolist() == [len(a[0]), len(b[0])]
    assert mask.sum(1).tolist() == [sum(a[1]), sum(b[1])] and not (mask & ~attention).any()


def test_bad_input_gives_one_line_errors(tok):
    bad = [lambda: P.encode_example(tok, "What is 2 + 2?", "  "),
           lambda: P.encode_example(tok, "", "Answer: 4")]
    plain = copy.deepcopy(tok)
    plain.chat_template = None  # e.g. a base model's tokenizer
    bad.append(lambda: P.encode_example(plain, "What is 2 + 2?", "Answer: 4"))
    templated = tok.apply_chat_template([{"role": "user", "content": "What is 2 + 2?"}], tokenize=False)
    bad.append(lambda: P.encode_example(tok, templated, "Answer: 4"))
    bad.append(lambda: P.train_dpo(torch.nn.Linear(2, 2), [(([1, 2], [False, True]),) * 2], steps=1))
    bad.append(lambda: P.train_sft(torch.nn.Linear(2, 2), [], steps=1))
    for call in bad:
        with pytest.raises(ValueError) as info:
            call()
        assert "\n" not in str(info.value) and len(str(info.value)) < 200


# ----------------------------------------------------------------------------- log-probs and losses

def published_dpo_loss(pc, pr, rc, rr, beta):
    """Rafailov et al. 2023, eq. 7, in float64 with the sigmoid written out: −log 1/(1 + e^(−z))."""
    z = beta * ((pc.double() - rc.double()) - (pr.double() - rr.double()))
    return (-torch.log(1 / (1 + torch.exp(-z)))).mean()


def bradley_terry_loss(pc, pr, rc, rr, beta):
    """The same loss as a two-way softmax: P(chosen ≻ rejected) = e^r_w / (e^r_w + e^r_l), cross-entropy to 'chosen'."""
    rewards = torch.stack([beta * (pc - rc), beta * (pr - rr)], dim=1)  # (B, 2)
    return F.cross_entropy(rewards, torch.zeros(len(pc), dtype=torch.long))


def test_dpo_loss_equals_the_published_formula_on_random_tensors():
    g = torch.Generator().manual_seed(0)
    pc, pr, rc, rr = (-30 * torch.rand(16, generator=g) for _ in range(4))
    for beta in (0.1, 0.5):
        loss = P.dpo_loss(pc, pr, rc, rr, beta)
        chosen, rejected = P.dpo_rewards(pc, pr, rc, rr, beta)
        assert math.isclose(loss.item(), published_dpo_loss(pc, pr, rc, rr, beta).item(), rel_tol=1e-5)
        assert math.isclose(loss.item(), bradley_terry_loss(pc, pr, rc, rr, beta).item(), rel_tol=1e-5)
        assert torch.allclose(chosen, beta * (pc - rc)) and torch.allclose(rejected, beta * (pr - rr))


def test_dpo_loss_is_log2_when_policy_is_reference_and_falls_toward_chosen():
    pc, pr = torch.tensor([-12.0, -5.0]), torch.tensor([-9.0, -20.0])
    loss = P.dpo_loss(pc, pr, pc.clone(), pr.clone())
    assert math.isclose(loss.item(), math.log(2), rel_tol=1e-6)
    moved = pc.clone().requires_grad_(True)
    loss = P.dpo_loss(moved, pr, pc, pr)
    loss.backward()
    assert (moved.grad < 0).all()  # raising log π(chosen) lowers the loss
    losses = [P.dpo_loss(pc + d, pr - d, pc, pr).item() for d in (0.0, 1.0, 5.0, 20.0)]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.2


def test_sequence_logprob_equals_transformers_logits(tok, tasks, load_chat_model):
    model = load_chat_model()
    examples = [P.encode_example(tok, e["prompt"], e["response"]) for e in tasks["trivia"][:2]]
    ids, mask, attention = P.collate(examples, pad_id=0)
    with torch.no_grad():
        ours = P.sequence_logprob(model, ids, mask, attention)
        for row, (x, m) in enumerate(examples):  # one sequence at a time, no padding, float64 log-softmax
            logits = model(torch.tensor([x])).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)
            direct = sum(logp[t - 1, x[t]].item() for t in range(1, len(x)) if m[t])
            assert math.isclose(ours[row].item(), direct, rel_tol=1e-4)
            labels = torch.tensor([[t if keep else -100 for t, keep in zip(x, m)]])  # transformers' own masked loss
            mean_loss = model(torch.tensor([x]), labels=labels).loss.item()
            assert math.isclose(-mean_loss * sum(m[1:]), direct, rel_tol=1e-4)
        sft = P.sft_loss(model, ids, mask, attention)
    assert math.isclose(sft.item(), -ours.sum().item() / mask[:, 1:].sum().item(), rel_tol=1e-5)


def test_response_only_output_layer_equals_the_full_logits(tok, tasks, load_chat_model):
    """response_logprobs runs the output layer on response positions only: same numbers as the full logits."""
    model = add_lora(load_chat_model())
    for name, p in model.named_parameters():  # a non-zero adapter, so switching it off changes the numbers
        if "lora_B" in name:
            p.data.normal_(0, 0.02, generator=torch.Generator().manual_seed(2))
    examples = [P.encode_example(tok, e["prompt"], e["response"]) for e in tasks["sentiment"][:2] + tasks["trivia"][:1]]
    ids, mask, attention = P.collate(examples, pad_id=0)
    with torch.no_grad():
        for adapter_on in (True, False):
            with (contextlib.nullcontext() if adapter_on else model.disable_adapter()):
                fast = P.response_logprobs(model, ids, mask, attention)
                logits = model(input_ids=ids, attention_mask=attention.long()).logits
                full = -F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none") * mask[:, 1:]
                assert fast.shape == full.shape and (fast - full).abs().max() < 2e-3, (fast - full).abs().max()
                # float32: the output layer on fewer rows rounds differently
                assert math.isclose(P.response_loss(logits, ids, mask).item(),
                                    P.sft_loss(model, ids, mask, attention).item(), rel_tol=3e-4)
                labels = P.response_labels(ids, mask)  # transformers' own masked loss agrees
                theirs = model(input_ids=ids, attention_mask=attention.long(), labels=labels).loss.item()
                assert math.isclose(theirs, P.response_loss(logits, ids, mask).item(), rel_tol=1e-4)
            if adapter_on:
                on = fast
        assert not torch.allclose(on, fast, atol=1e-3)  # the adapter was really switched off


def test_response_only_output_layer_has_the_same_gradients(tok, tasks, load_chat_model):
    model = add_lora(load_chat_model())
    examples = [P.encode_example(tok, e["prompt"], e["response"]) for e in tasks["translation"][:2]]
    batch = P.collate(examples, pad_id=0)
    grads = []
    for loss_of in (lambda: P.sft_loss(model, *batch),
                    lambda: P.response_loss(model(input_ids=batch[0], attention_mask=batch[2].long()).logits,
                                            batch[0], batch[1])):
        model.zero_grad()
        loss_of().backward()
        grads.append(torch.cat([p.grad.flatten() for n, p in model.named_parameters() if "lora_B" in n]))
    assert grads[0].abs().sum() > 0 and (grads[0] - grads[1]).norm() < 1e-3 * grads[1].norm()


def test_ipo_loss_is_zero_at_its_target_and_quadratic_around_it():
    pc, pr = torch.tensor([-3.0, -8.0]), torch.tensor([-6.0, -2.0])
    for beta in (0.1, 0.5):
        target = 1 / (2 * beta)
        assert P.ipo_loss(pc + target, pr, pc, pr, beta).item() == pytest.approx(0.0, abs=1e-6)
        assert P.ipo_loss(pc + target + 2, pr, pc, pr, beta).item() == pytest.approx(4.0)
        assert P.ipo_loss(pc, pr, pc, pr, beta).item() == pytest.approx(target ** 2)


def test_sample_answers_are_seeded_and_leave_the_callers_random_state(tok, tasks, load_chat_model):
    model = load_chat_model()
    prompts = [e["prompt"] for e in tasks["sentiment"][:2]]
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = chat.sample_answers(model, tok, prompts, n=3, temperature=1.0, max_new_tokens=6, seed=1)
    assert torch.equal(torch.rand(1), before)  # the caller's random stream did not move
    again = chat.sample_answers(model, tok, prompts, n=3, temperature=1.0, max_new_tokens=6, seed=1)
    other = chat.sample_answers(model, tok, prompts, n=3, temperature=1.0, max_new_tokens=6, seed=2)
    assert first == again and first != other
    assert len(first) == 2 and all(len(answers) == 3 for answers in first)
    assert len({a for answers in first for a in answers}) > 1  # sampled, not the same greedy answer six times
    # The shared prompt pass gives what transformers' own num_return_sequences gives (which runs the prompt
    # n times). transformers' generate runs in float32 here, so ours does too: under bf16 autocast the two
    # would round differently and a sampled token can flip.
    first = chat.sample_answers(model, tok, prompts, n=3, temperature=1.0, max_new_tokens=6, seed=1, dtype="float32")
    heads = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
             for p in prompts]
    tok.padding_side = "left"
    batch = tok(heads, add_special_tokens=False, return_tensors="pt", padding=True)
    tok.padding_side = "right"
    with torch.random.fork_rng():
        torch.manual_seed(1)
        out = model.generate(**batch, max_new_tokens=6, num_return_sequences=3, do_sample=True, temperature=1.0,
                             top_k=0, top_p=1.0, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    plain = [tok.decode(row[:row.index(tok.eos_token_id)] if tok.eos_token_id in row else row)
             for row in out[:, batch["input_ids"].shape[1]:].tolist()]
    assert [a for answers in first for a in answers] == plain
    greedy = chat.generate_answers(model, tok, prompts[:1], max_new_tokens=6)
    assert greedy == chat.generate_answers(model, tok, prompts[:1], max_new_tokens=6) and isinstance(greedy[0], str)
    with pytest.raises(ValueError):
        chat.sample_answers(model, tok, prompts, n=0)


def test_dpo_on_a_real_tiny_batch(tok, tasks, load_chat_model):
    model = add_lora(load_chat_model())
    es = tasks["sentiment"][:2] + tasks["translation"][:2]
    pairs = [(P.encode_example(tok, e["prompt"], e["response"]),
              P.encode_example(tok, e["prompt"], "I think it is hard to say.")) for e in es]
    ref_c, ref_r = P.reference_logprobs(model, pairs, dtype="float32")
    with torch.no_grad():
        pol_c, pol_r = P.pair_logprobs(model, pairs, dtype="float32")
        assert P.dpo_loss(pol_c, pol_r, ref_c, ref_r).item() == pytest.approx(math.log(2), abs=1e-6)  # B = 0
        for name, p in model.named_parameters():  # move the adapter away from zero
            if "lora_B" in name:
                p.normal_(0, 0.02, generator=torch.Generator().manual_seed(1))
        pol_c, pol_r = P.pair_logprobs(model, pairs, dtype="float32")
        with model.disable_adapter():
            again = P.pair_logprobs(model, pairs, dtype="float32")
    assert torch.allclose(again[0], ref_c, atol=1e-4) and not torch.allclose(pol_c, ref_c, atol=1e-3)
    loss = P.dpo_loss(pol_c, pol_r, ref_c, ref_r, 0.1)
    assert loss.item() == pytest.approx(published_dpo_loss(pol_c, pol_r, ref_c, ref_r, 0.1).item(), rel=1e-5)
    assert abs(loss.item() - math.log(2)) > 1e-3


def test_sft_raises_the_target_format_and_dpo_the_margin(tok, tasks, load_chat_model, precision_name, tiny_chat_model):
    model = add_lora(load_chat_model())
    lr, dpo_lr = (3e-2, 6e-2) if tiny_chat_model else (2e-3, 2e-3)  # a random 2-layer model starts far away
    train = [P.encode_example(tok, e["prompt"], e["response"]) for v in tasks.values() for e in v[4:8]]
    held = [P.encode_example(tok, e["prompt"], e["response"]) for v in tasks.values() for e in v[:2]]
    ids, mask, attention = P.collate(held, pad_id=0)
    with torch.no_grad():
        before = P.sequence_logprob(model, ids, mask, attention)
    losses = P.train_sft(model, train, steps=6, batch_size=4, lr=lr, warmup=1, progress=False)
    with torch.no_grad():
        after = P.sequence_logprob(model, ids, mask, attention)
    assert after.mean() > before.mean() + 1.0, (before, after)  # held-out prompts: the format became likelier
    assert losses[-1] < losses[0]
    pairs = [(c, P.encode_example(tok, e["prompt"], "Answer: I do not know"))
             for c, e in zip(held, [e for v in tasks.values() for e in v[:2]])]
    model = add_lora(model.merge_and_unload())  # reference = the SFT model, policy = it + a fresh adapter
    history = P.train_dpo(model, pairs, steps=4, batch_size=3, lr=dpo_lr, warmup=1, progress=False)
    # step 0: policy == reference, up to rounding: the reference's log-probs come from other batches (other
    # padding, so other matmul shapes), which float32 rounds alike to ~1e-5 and bf16 to ~0.3 nats a sequence
    assert history["margin"][0] == pytest.approx(0.0, abs=0.02 if precision_name == "float32" else 0.1)
    assert history["margin"][-1] > 0.1 and history["accuracy"][-1] == 1.0


# ----------------------------------------------------------------------------- checkers

def test_check_response_loss(capsys):
    def solution(logits, ids, mask):
        per_token = F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
        return (per_token * mask[:, 1:]).sum() / mask[:, 1:].sum()

    def ce(logits, ids):
        return F.cross_entropy(logits.transpose(1, 2), ids, reduction="none")

    wrongs = [lambda logits, ids, mask: (ce(logits, ids) * mask).sum() / mask.sum(),  # not shifted
              # the mask not shifted
              lambda logits, ids, mask: (ce(logits[:, :-1], ids[:, 1:]) * mask[:, :-1]).sum() / mask[:, :-1].sum(),
              lambda logits, ids, mask: ce(logits[:, :-1], ids[:, 1:]).mean(),  # the prompt in the loss
              lambda logits, ids, mask: (ce(logits[:, :-1], ids[:, 1:]) * mask[:, 1:]).sum(),  # sum
              lambda logits, ids, mask: (ce(logits[:, :-1], ids[:, 1:]) * mask[:, 1:]).mean(),  # / every position
              lambda logits, ids, mask: ((ce(logits[:, :-1], ids[:, 1:]) * mask[:, 1:]).sum(1)
                                         / mask[:, 1:].sum(1)).mean(),
              lambda logits, ids, mask: -(logits[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1) * mask[:, 1:]).sum()
              / mask[:, 1:].sum(),  # no log-softmax
              lambda logits, ids, mask: solution(logits, ids, mask)[None].repeat(2)]  # not one number
    assert_checker_behaves(checks.check_response_loss, lambda logits, ids, mask: None, solution, wrongs, capsys)
    assert checks.check_response_loss(lambda logits, ids, mask: None) is P.response_loss


def test_check_response_labels(capsys):
    def solution(ids, mask):
        return ids.masked_fill(~mask, -100)

    wrongs = [lambda ids, mask: ids.masked_fill(mask, -100),
              lambda ids, mask: ids.masked_fill(~mask, 0),
              lambda ids, mask: torch.cat([ids[:, 1:], ids[:, :1]], 1).masked_fill(~mask, -100),
              lambda ids, mask: torch.cat([ids[:, 1:], ids[:, :1]], 1).masked_fill(~torch.roll(mask, -1, 1), -100),
              lambda ids, mask: ids]
    assert_checker_behaves(checks.check_response_labels, lambda ids, mask: None, solution, wrongs, capsys)


def test_check_dpo_loss(capsys):
    def solution(pc, pr, rc, rr, beta):
        return -F.logsigmoid(beta * (pc - rc) - beta * (pr - rr)).mean()

    def h(pc, pr, rc, rr):
        return (pc - rc) - (pr - rr)

    # the reference's sign flipped
    wrongs = [lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * ((pc + rc) - (pr + rr))).mean(),
              lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * (pc - pr)).mean(),  # no reference
              lambda pc, pr, rc, rr, beta: -F.logsigmoid(h(pc, pr, rc, rr)).mean(),  # β missing
              lambda pc, pr, rc, rr, beta: -beta * F.logsigmoid(h(pc, pr, rc, rr)).mean(),  # β outside the sigmoid
              # chosen and rejected swapped
              lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * ((pr - rr) - (pc - rc))).mean(),
              lambda pc, pr, rc, rr, beta: F.logsigmoid(beta * h(pc, pr, rc, rr)).mean(),  # sign
              lambda pc, pr, rc, rr, beta: -torch.sigmoid(beta * h(pc, pr, rc, rr)).mean(),  # no log
              lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * h(pc, pr, rc, rr)).sum(),  # sum
              lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * h(pc, pr, rc, rr))]  # not reduced
    assert_checker_behaves(checks.check_dpo_loss, lambda *a: None, solution, wrongs, capsys)
    assert checks.check_dpo_loss(lambda *a: None) is P.dpo_loss


def test_check_ipo_loss(capsys):
    def solution(pc, pr, rc, rr, beta):
        h = (pc - rc) - (pr - rr)
        return ((h - 1 / (2 * beta)) ** 2).mean()

    wrongs = [lambda pc, pr, rc, rr, beta: P.dpo_loss(pc, pr, rc, rr, beta),
              lambda pc, pr, rc, rr, beta: ((beta * ((pc - rc) - (pr - rr)) - 1 / (2 * beta)) ** 2).mean(),
              lambda pc, pr, rc, rr, beta: (((pc - rc) - (pr - rr) - 1 / (2 * beta)) ** 2).sum(),
              lambda pc, pr, rc, rr, beta: (((pc - pr) - 1 / (2 * beta)) ** 2).mean(),
              lambda pc, pr, rc, rr, beta: (((pc + rc) - (pr + rr) - 1 / (2 * beta)) ** 2).mean()]
    assert_checker_behaves(checks.check_ipo_loss, lambda *a: None, solution, wrongs, capsys)
