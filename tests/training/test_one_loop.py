"""One loop: every training in the course runs helpers.training.loop.fit, and only its loss changes.

The spy below counts fit's calls and every optimizer step taken anywhere (a global step hook), so a
trainer that grows its own loop again, even one that still calls fit for part of its work, fails here.
"""
import math

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import helpers
from helpers.course.precision import model_precision
from helpers.models.gpt import GPT, GPTConfig
from helpers.models.lora import add_lora
from helpers.training import finetuning, loop, rl
from helpers.training import preference as P
from helpers.training import reward as R
from helpers.training.loop import TrainConfig, configure_optimizer, fit, learning_rate
from tests.conftest import tiny_llama

pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...


@pytest.fixture
def steps_taken(monkeypatch):
    """Return a dict counting fit's calls and the optimizer steps taken inside and outside it."""
    seen = {"fit": 0, "inside": 0, "outside": 0}
    real, depth = loop.fit, []

    def spy(*args, **kwargs):
        seen["fit"] += 1
        depth.append(1)
        try:
            return real(*args, **kwargs)
        finally:
            depth.pop()

    def count(optimizer, args, kwargs):
        seen["inside" if depth else "outside"] += 1

    for module in (loop, finetuning, P, R, rl):  # wherever a trainer looks fit up
        if hasattr(module, "fit"):
            monkeypatch.setattr(module, "fit", spy)
    handle = register_optimizer_step_post_hook(count)
    yield seen
    handle.remove()


def chat_examples(tok):
    return [P.encode_example(tok, f"Say {word}.", f"Answer: {word}") for word in ("yes", "no", "maybe", "never")]


def test_fit_logs_metrics_numbers_steps_and_calls_back():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(16, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    done = []

    def loss_fn(step):
        error = model(x) - y
        return (error ** 2).mean(), {"max_error": error.abs().max()}

    cfg = TrainConfig(steps=30, lr=0.1, warmup=1, schedule="constant", dtype="float32", progress=False)
    history = fit(model, loss_fn, cfg, start=10, step_offset=1, on_step=done.append)
    assert history.step == list(range(11, 31)) and done == list(range(11, 31))
    assert history.lr == [0.1] * 20 and history.loss[-1] < history.loss[0] / 4
    assert len(history.metrics["max_error"]) == 20 and history.tokens_per_s == []


def test_a_model_with_nothing_to_train_is_a_one_line_error(tok):
    frozen = torch.nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters: add LoRA adapters first") as error:
        configure_optimizer(frozen, TrainConfig())
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="no trainable parameters"):
        P.train_sft(tiny_llama(tok).requires_grad_(False), chat_examples(tok), steps=1, progress=False)


def test_pretraining_runs_fit(steps_taken):
    ids = torch.randint(0, 20, (2000,), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=16, n_layer=1, n_head=2, n_embd=16))
    cfg = TrainConfig(steps=4, batch_size=2, block_size=16, warmup=1, eval_every=2, eval_batches=1, progress=False)
    history = loop.train(model, ids, ids, cfg)
    assert steps_taken == {"fit": 1, "inside": 4, "outside": 0}
    assert history.step == [0, 1, 2, 3] and history.eval_step == [2, 4] and len(history.tokens_per_s) == 4


def test_finetune_runs_fit(steps_taken, tiny_folder, tmp_path):
    model, tokenizer = helpers.load_pretrained(str(tiny_folder), device="cpu")
    _, history = finetuning.finetune(model, tokenizer, helpers.load_sonnets()[:4], checkpoint_dir=tmp_path, steps=3,
                                     batch_size=2, block_size=16, save_every=2, progress=False)
    assert steps_taken == {"fit": 1, "inside": 3, "outside": 0}
    assert history.step == [1, 2, 3]  # finetune counts from 1, as gpt-2-simple did


def test_sft_and_dpo_run_fit(steps_taken, tok):
    model = add_lora(tiny_llama(tok))
    examples = chat_examples(tok)
    losses = P.train_sft(model, examples, steps=3, batch_size=2, lr=1e-2, warmup=1, progress=False)
    pairs = [(examples[0], examples[1]), (examples[2], examples[3])]
    history = P.train_dpo(model, pairs, steps=2, batch_size=2, lr=1e-2, warmup=1, progress=False)
    assert steps_taken == {"fit": 2, "inside": 5, "outside": 0}
    assert len(losses) == 3 and list(history) == ["loss", "margin", "accuracy"]
    assert all(len(values) == 2 for values in history.values())


def test_reward_model_runs_fit(steps_taken, tok):
    examples = chat_examples(tok)
    reward_model = R.RewardModel(tiny_llama(tok))
    history = R.train_reward_model(reward_model, [(examples[0], examples[1]), (examples[2], examples[3])], steps=4)
    assert steps_taken == {"fit": 1, "inside": 4, "outside": 0}
    assert list(history) == ["loss", "accuracy"] and len(history["accuracy"]) == 4
    assert history["loss"][0] == pytest.approx(math.log(2))  # the head starts at 0: every reward is 0
    assert reward_model.head.bias.item() == 0  # it cancels in r_chosen − r_rejected: decay or not, it stays 0


def test_rl_runs_fit(steps_taken, tok):
    model = add_lora(tiny_llama(tok))
    examples = [{"prompt": "Say yes.", "answers": ["yes"], "others": ["no"]}]

    def reward(answers, chosen):  # (P, k): a reward that depends on the answer
        return torch.tensor([[float(len(a)) for a in group] for group in answers])

    history = rl.train_rl(model, tok, examples, reward, steps=3, prompts=1, k=2, updates=2, max_new_tokens=3,
                          progress=False)
    assert steps_taken == {"fit": 1, "inside": 3, "outside": 0}
    assert all(len(values) == 3 for values in history.values())


def test_sft_is_still_adamw_without_decay_and_a_cosine_to_a_tenth(tok):
    """train_sft on fit takes the steps train_sft took before it, written out here by hand."""
    steps, batch_size, lr, warmup = 6, 2, 2e-2, 2
    examples = chat_examples(tok)
    model = add_lora(tiny_llama(tok))  # tiny_llama seeds itself, and so LoRA's random start
    losses = P.train_sft(model, examples, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, progress=False)

    by_hand = add_lora(tiny_llama(tok))
    # fused, as configure_optimizer makes it on a CPU or CUDA: the same AdamW in one kernel (its roundings differ
    # from the per-tensor loop's in the last bits, which this bit-for-bit comparison would see)
    optimizer = torch.optim.AdamW([p for p in by_hand.parameters() if p.requires_grad], lr=lr, weight_decay=0.0,
                                  fused=True)
    precision = model_precision(by_hand)
    scaler = precision.grad_scaler()  # float16 only
    cfg = P.train_config(P.SFTConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=warmup))
    by_hand.train()
    want = []
    for step, batch in enumerate(P.epoch_batches(len(examples), batch_size, steps, seed=0)):  # the same batches
        if step < warmup:
            rate = lr * (step + 1) / warmup
        else:
            rate = lr * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup))))
        assert learning_rate(step, cfg) == pytest.approx(rate, rel=1e-12)
        for group in optimizer.param_groups:
            group["lr"] = rate
        ids, mask, attention = P.collate([examples[i] for i in batch], pad_id=0)
        with precision.autocast():
            loss = P.sft_loss(by_hand, ids, mask, attention)
        optimizer.zero_grad()
        scaler.scale(loss).backward()  # no clipping
        scaler.step(optimizer)
        scaler.update()
        want.append(loss.item())
    # bit for bit where it was tried (float32, bfloat16, float16); the schedule's two formulas can differ in
    # the last bit of a float64 rate, so float32 rounding is allowed for
    assert losses == pytest.approx(want, rel=1e-6, abs=0)
    trained = [p for p in model.parameters() if p.requires_grad]
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-8) for a, b in zip(trained, optimizer.param_groups[0]["params"]))
    assert any(p.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)  # the steps were taken
