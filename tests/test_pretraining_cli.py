"""helpers.pretrain_char (notebook 04's command line) and notebook 04's exercise checkers."""
import math
import os
import re
import subprocess
import sys

import pytest
import torch

from helpers.checks import pretraining as checks
from tests.checker_asserts import rejects
from helpers.model import GPT, GPTConfig
from helpers.pretrain_char import main, parse_args
from helpers.train import load_checkpoint

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "32", "--batch-size", "4"]


def run_cli(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "helpers.pretrain_char", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


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


# --- the exercise checkers ---------------------------------------------------------------------

def bigram_loss(train_ids, val_ids, vocab_size):
    counts = torch.ones(vocab_size, vocab_size)
    for a, b in zip(train_ids.tolist(), train_ids[1:].tolist()):
        counts[a, b] += 1
    probs = counts / counts.sum(dim=1, keepdim=True)
    return -probs[val_ids[:-1], val_ids[1:]].log().mean().item()


def lr_schedule(step, steps, lr, min_lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / (steps - warmup))
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)


def training_hours(n_params, n_tokens, peak_flops, mfu):
    return 6 * n_params * n_tokens / (peak_flops * mfu) / 3600


def test_checkers_accept_the_solutions(capsys):
    checks.check_bigram_loss(bigram_loss)
    checks.check_lr_schedule(lr_schedule)
    checks.check_training_hours(training_hours)
    assert capsys.readouterr().out.count("✓") == 3


def test_checkers_say_not_done_for_none(capsys):
    for check in (checks.check_bigram_loss, checks.check_lr_schedule, checks.check_training_hours):
        check(lambda *args: None)
    assert capsys.readouterr().out.count("not done yet") == 3


def test_bigram_checker_rejects_wrong_answers(capsys):
    def unsmoothed(train_ids, val_ids, vocab_size):
        counts = torch.zeros(vocab_size, vocab_size)
        for a, b in zip(train_ids.tolist(), train_ids[1:].tolist()):
            counts[a, b] += 1
        probs = counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
        return -probs[val_ids[:-1], val_ids[1:]].log().mean().item()

    with rejects(capsys, "add 1 to every count"):
        checks.check_bigram_loss(unsmoothed)
    with rejects(capsys, "in bits"):
        checks.check_bigram_loss(lambda t, v, n: bigram_loss(t, v, n) / math.log(2))
    with rejects(capsys, "train_ids only"):
        checks.check_bigram_loss(lambda t, v, n: bigram_loss(v, v, n))
    with rejects(capsys, "loss on train"):
        checks.check_bigram_loss(lambda t, v, n: bigram_loss(t, t, n))


def test_schedule_checker_rejects_wrong_answers(capsys):
    with rejects(capsys, "rate 0 is wasted"):
        checks.check_lr_schedule(lambda s, n, lr, m, w: lr * s / w if s < w else lr_schedule(s, n, lr, m, w))
    with rejects(capsys, "ends at min_lr"):
        checks.check_lr_schedule(lambda s, n, lr, m, w: lr_schedule(s, n, lr, 0.0, w))
    with rejects(capsys, "stay at min_lr"):
        checks.check_lr_schedule(lambda s, n, lr, m, w: lr_schedule(min(s, 2 * n - s), n, lr, m, w)
                                 if s > n else lr_schedule(s, n, lr, m, w))


def test_hours_checker_rejects_wrong_answers(capsys):
    with rejects(capsys, "forward pass only"):
        checks.check_training_hours(lambda n, d, p, m: 2 * n * d / (p * m) / 3600)
    with rejects(capsys, "in seconds"):
        checks.check_training_hours(lambda n, d, p, m: 6 * n * d / (p * m))
    with rejects(capsys, "divide by mfu"):
        checks.check_training_hours(lambda n, d, p, m: 6 * n * d / p / 3600)
