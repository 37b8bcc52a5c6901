"""helpers.cli.pretrain_char (notebook 04's data split,
bigram baseline and command line) and notebook 04's exercise checkers."""
import math
import os
import re
import subprocess
import sys

import pytest
import torch

from helpers.cli.pretrain_char import main, parse_args
from helpers.course.checks import pretraining as checks
from helpers.data.corpora import split_plays
from helpers.models.bigram import bigram_loss
from helpers.models.gpt import GPT, GPTConfig
from helpers.training.loop import load_checkpoint, warmup_cosine
from tests.checker_asserts import assert_checker_behaves, rejects

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "32", "--batch-size", "4"]


def run_cli(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "helpers.cli.pretrain_char", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.download
def test_cli_trains_writes_a_checkpoint_and_prints_the_val_loss(tmp_path):
    result = run_cli("--steps", "4", "--eval-every", "2", "--out", "out/run", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r"val loss (\d+\.\d+) after 4 steps", result.stdout)
    assert match, result.stdout
    assert 2.0 < float(match.group(1)) < math.log(70)  # below uniform over ~63 characters + noise
    assert "checkpoint out/run/ckpt.pt" in result.stdout  # the path as given: relative
    model = GPT(GPTConfig(vocab_size=63, block_size=32, n_layer=1, n_head=2, n_embd=32))
    state = load_checkpoint(tmp_path / "out" / "run" / "ckpt.pt", model)
    assert state["step"] == 4 and state["history"]["eval_step"] == [2, 4]


@pytest.mark.download
def test_resume_continues_to_the_new_step_count(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["--steps", "2", "--out", "run", *TINY])
    val = main(["--steps", "4", "--out", "run", "--resume", *TINY])
    state = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)
    assert state["step"] == 4 and len(state["history"]["loss"]) == 4
    assert math.isclose(val, state["history"]["val"][-1])
    assert "after 4 steps" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--steps", "-3"], "--steps: '-3' is not a positive whole number"),
    (["--steps", "ten"], "--steps: 'ten' is not a positive whole number"),
    (["--lr", "0"], "--lr: '0' is not a positive number"),
    (["--dtype", "fp16"], "invalid choice: 'fp16'"),
    (["--n-embd", "30", "--n-head", "4"], "--n-embd 30 is not a multiple of --n-head 4"),
    (["--stpes", "3"], "unrecognized arguments: --stpes"),
])
def test_bad_flags_give_a_one_line_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_flag_fails_fast_from_the_command_line(tmp_path):
    result = run_cli("--steps", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: argument --steps: '0' is not a positive whole number" in result.stderr
    assert not (tmp_path / "out").exists()


# --- the split and the bigram baseline ---------------------------------------------------------

@pytest.mark.download
def test_split_holds_out_the_end_of_every_play_between_speeches():
    from helpers.data.corpora import PLAYS, load_plays

    train_text, val_text = split_plays()
    plays = [load_plays((p,)) for p in PLAYS]
    # val: plays joined by a newline
    assert len(train_text) + len(val_text) == sum(len(t) for t in plays) + len(PLAYS) - 1
    assert 0.09 < len(val_text) / (len(train_text) + len(val_text)) < 0.11
    for play in plays:  # each play: its start in train, its end in val, cut where a speech begins
        head, tail = play[:5000], play[-5000:]
        assert head in train_text and tail in val_text and head not in val_text and tail not in train_text
    assert train_text.endswith("\n\n") and re.match(r"[A-Z][^\n]*:\n", val_text)
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_plays(1.5)


@pytest.mark.download
def test_bigram_loss_equals_a_trained_tables_optimum_on_real_text():
    train_text, val_text = split_plays()
    chars = sorted(set(train_text + val_text))
    train_ids = torch.tensor([chars.index(c) for c in train_text[:50_000]])
    val_ids = torch.tensor([chars.index(c) for c in val_text[:5_000]])
    counted = bigram_loss(train_ids, val_ids, len(chars))
    assert math.log(len(chars)) > counted > 2.0  # far below uniform, above what context could give
    pairs = torch.zeros(len(chars), len(chars))
    for a, b in zip(train_ids.tolist(), train_ids[1:].tolist()):
        pairs[a, b] += 1
    probs = (pairs + 1) / (pairs + 1).sum(dim=1, keepdim=True)
    assert counted == pytest.approx(-probs[val_ids[:-1], val_ids[1:]].log().mean().item(), abs=1e-5)


# --- the exercise checkers ---------------------------------------------------------------------
# Each test lists the typical wrong answers its checker must reject; every one must print ✗.

def none(*args):
    return None


def bigram_counted(train_ids, val_ids, vocab_size):
    counts = torch.ones(vocab_size, vocab_size)
    for a, b in zip(train_ids.tolist(), train_ids[1:].tolist()):
        counts[a, b] += 1
    probs = counts / counts.sum(dim=1, keepdim=True)
    return -probs[val_ids[:-1], val_ids[1:]].log().mean().item()


def bigram_unsmoothed(train_ids, val_ids, vocab_size):
    counts = torch.zeros(vocab_size, vocab_size)
    for a, b in zip(train_ids.tolist(), train_ids[1:].tolist()):
        counts[a, b] += 1
    probs = counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
    return -probs[val_ids[:-1], val_ids[1:]].log().mean().item()


def bigram_columns(train_ids, val_ids, vocab_size):  # normalised over the wrong axis
    counts = torch.ones(vocab_size, vocab_size)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1), accumulate=True)
    probs = counts / counts.sum(dim=0, keepdim=True)
    return -probs[val_ids[:-1], val_ids[1:]].log().mean().item()


BIGRAM_WRONGS = {
    "no add-one": (bigram_unsmoothed, "add 1 to every count"),
    "bits": (lambda t, v, n: bigram_counted(t, v, n) / math.log(2), "in bits"),
    "counted on val": (lambda t, v, n: bigram_counted(v, v, n), "train_ids only"),
    "scored on train": (lambda t, v, n: bigram_counted(t, t, n), "loss on train"),
    "columns normalised": (bigram_columns, "normalise each row"),
}


def test_bigram_checker(capsys):
    wrongs = [w for w, _ in BIGRAM_WRONGS.values()]
    assert_checker_behaves(checks.check_bigram_loss, none, bigram_counted, wrongs, capsys)
    for wrong, says in BIGRAM_WRONGS.values():
        with rejects(capsys, says):
            checks.check_bigram_loss(wrong)


def lr_schedule(step, steps, lr, min_lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / (steps - warmup))
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)


SCHEDULE_WRONGS = {
    "warm-up from 0 (off by one)": (lambda s, n, lr, m, w: lr * s / w if s < w else lr_schedule(s, n, lr, m, w),
                                    "rate 0 is wasted"),
    "warm-up one step too long": (lambda s, n, lr, m, w: lr * (s + 1) / w if s <= w else lr_schedule(s, n, lr, m, w),
                                  "one step too long"),
    "no warm-up": (lambda s, n, lr, m, w: lr_schedule(s + w, n + w, lr, m, w), "warm up linearly"),
    "cosine to 0": (lambda s, n, lr, m, w: lr_schedule(s, n, lr, 0.0, w), "ends at min_lr"),
    "progress not capped": (lambda s, n, lr, m, w: lr_schedule(min(s, 2 * n - s), n, lr, m, w)
                            if s > n else lr_schedule(s, n, lr, m, w), "stay at min_lr"),
    "decay over all steps": (lambda s, n, lr, m, w: lr * (s + 1) / w if s < w
                             else m + 0.5 * (1 + math.cos(math.pi * min(1, s / n))) * (lr - m), "decay starts after"),
    "linear decay": (lambda s, n, lr, m, w: lr * (s + 1) / w if s < w
                     else lr - (lr - m) * min(1.0, (s - w) / (n - w)), "cosine's two ends"),
}


def test_schedule_checker(capsys):
    wrongs = [w for w, _ in SCHEDULE_WRONGS.values()]
    assert_checker_behaves(checks.check_lr_schedule, none, lr_schedule, wrongs, capsys)
    for wrong, says in SCHEDULE_WRONGS.values():
        with rejects(capsys, says):
            checks.check_lr_schedule(wrong)


def step_solution(model, optimizer, x, y, lr, grad_clip):
    for group in optimizer.param_groups:
        group["lr"] = lr
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss.item()


def step_in_order(*order):
    """A training step doing its parts in ``order`` (a typical mistake leaves one out or swaps two)."""
    def step(model, optimizer, x, y, lr, grad_clip):
        loss = None
        for part in order:
            if part == "lr":
                for group in optimizer.param_groups:
                    group["lr"] = lr
            elif part == "forward":
                loss = model(x, y)[1]
            elif part == "zero_grad":
                optimizer.zero_grad()
            elif part == "backward":
                loss.backward()
            elif part == "clip":
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            elif part == "step":
                optimizer.step()
        return loss.item()
    return step


STEP_WRONGS = {
    "no zero_grad": (step_in_order("lr", "forward", "backward", "clip", "step"), "zero the gradients before"),
    "clip before backward": (step_in_order("lr", "forward", "zero_grad", "clip", "backward", "step"), "not clipped"),
    "no clipping": (step_in_order("lr", "forward", "zero_grad", "backward", "step"), "not clipped"),
    "zero_grad between backward and step": (step_in_order("lr", "forward", "backward", "clip", "zero_grad", "step"),
                                            "did not change"),
    "no optimizer step": (step_in_order("lr", "forward", "zero_grad", "backward", "clip"), "did not change"),
    "rate never set": (step_in_order("forward", "zero_grad", "backward", "clip", "step"), "rate it was built with"),
    "returns the loss after the step": (lambda m, o, x, y, lr, c: (step_solution(m, o, x, y, lr, c),
                                                                   m(x, y)[1].item())[1],
                                        "loss before the step"),
}


def test_training_step_checker(capsys):
    wrongs = [w for w, _ in STEP_WRONGS.values()]
    assert_checker_behaves(checks.check_training_step, none, step_solution, wrongs, capsys)
    for wrong, says in STEP_WRONGS.values():
        with rejects(capsys, says):
            checks.check_training_step(wrong)
    checks.check_training_step(step_in_order("lr", "forward", "backward", "clip", "step", "zero_grad"))
    assert capsys.readouterr().out.startswith("✓")  # zeroing at the end of the step is as good as before backward


def test_training_step_is_what_train_runs(capsys):
    """helpers.training.loop.train's steps are helpers.training.loop.training_step's:
    the notebook's hand-written loop equals it."""
    from helpers.models.gpt import GPT, GPTConfig
    from helpers.training.loop import TrainConfig, configure_optimizer, get_batch, train

    ids = torch.randint(0, 20, (5000,), generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(steps=6, batch_size=4, block_size=16, warmup=2, eval_every=6, eval_batches=1, progress=False,
                      lr=3e-3, dtype="float32")
    torch.manual_seed(0)
    history = train(GPT(GPTConfig(vocab_size=20, block_size=16, n_layer=1, n_head=2, n_embd=16)), ids, ids, cfg)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=16, n_layer=1, n_head=2, n_embd=16))
    optimizer, batches = configure_optimizer(model, cfg), torch.Generator().manual_seed(cfg.seed)
    losses = []
    for step in range(cfg.steps):
        x, y = get_batch(ids, cfg.batch_size, cfg.block_size, batches, "cpu")
        lr = warmup_cosine(step, cfg.steps, cfg.lr, cfg.min_lr, cfg.warmup)
        losses.append(step_solution(model, optimizer, x, y, lr, cfg.grad_clip))
    assert losses == history.loss


def training_hours(n_params, n_tokens, peak_flops, mfu):
    return 6 * n_params * n_tokens / (peak_flops * mfu) / 3600


HOURS_WRONGS = {
    "2N (forward only)": (lambda n, d, p, m: 2 * n * d / (p * m) / 3600, "forward pass only"),
    "seconds": (lambda n, d, p, m: 6 * n * d / (p * m), "in seconds"),
    "days": (lambda n, d, p, m: 6 * n * d / (p * m) / 86400, "in days"),
    "MFU ignored": (lambda n, d, p, m: 6 * n * d / p / 3600, "divide by mfu"),
    "MFU multiplied": (lambda n, d, p, m: 6 * n * d * m / p / 3600, "divide by mfu"),
}


def test_hours_checker(capsys):
    wrongs = [w for w, _ in HOURS_WRONGS.values()]
    assert_checker_behaves(checks.check_training_hours, none, training_hours, wrongs, capsys)
    for wrong, says in HOURS_WRONGS.values():
        with rejects(capsys, says):
            checks.check_training_hours(wrong)
