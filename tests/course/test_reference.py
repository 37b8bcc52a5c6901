"""'Is my run normal?' on real short training runs, and the key-figure records the runner collects."""
import json

import pytest
import torch

from helpers.course import reference as R
from helpers.course.figures import FIGURE_MIME, figures_of, record
from helpers.models.gpt import GPT, GPTConfig
from helpers.training.loop import TrainConfig, train

SETTINGS = dict(steps=120, lr=3e-3, n_embd=32)


def run(char_ids, lr=3e-3, seed=1337, steps=120):
    train_ids, val_ids, vocab = char_ids
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=vocab, block_size=32, n_layer=1, n_head=2, n_embd=32))
    cfg = TrainConfig(steps=steps, batch_size=8, block_size=32, lr=lr, min_lr=lr / 10, warmup=10, eval_every=steps,
                      eval_batches=2, seed=seed, progress=False, dtype="float32")
    return train(model, train_ids, val_ids, cfg)


@pytest.fixture(scope="module")
def stored(char_ids, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    R.save_reference("tiny", run(char_ids), SETTINGS, folder=folder)
    return folder


def test_reference_file_holds_the_curve_and_where_it_came_from(stored):
    saved = json.loads((stored / "tiny.json").read_text())
    assert saved["settings"] == SETTINGS and saved["device"] == "cpu" and saved["precision"] == "float32"
    assert len(saved["steps"]) == len(saved["loss"]) and saved["steps"][-1] == 120
    assert saved["loss"][-1] < saved["loss"][0] - 0.5


def test_a_normal_run_with_another_seed_is_within_the_band(char_ids, stored, capsys):
    kind = R.check_run("tiny", run(char_ids, seed=7), SETTINGS, plot=False, folder=stored)
    out = capsys.readouterr().out
    assert kind == "normal", out
    assert "✓ is this run normal? within the expected band" in out


def test_a_learning_rate_far_too_high_is_called_off(char_ids, stored, capsys):
    kind = R.check_run("tiny", run(char_ids, lr=5.0), SETTINGS, plot=False, folder=stored)
    out = capsys.readouterr().out
    assert kind == "off", out
    assert "learning rate" in out


def test_a_learning_rate_of_zero_is_stuck(char_ids, stored, capsys):
    kind = R.check_run("tiny", run(char_ids, lr=0.0), SETTINGS, plot=False, folder=stored)
    assert kind == "off" and "barely moved" in capsys.readouterr().out


def test_nan_and_divergence_are_off_whatever_the_reference():
    steps = list(range(1, 101))
    kind, sentence = R.verdict(steps, [3.0] * 50 + [float("nan")] * 50, None, {})
    assert kind == "off" and "step 51" in sentence
    falling_then_rising = [3.0 - i * 0.02 for i in range(50)] + [2.0 + i * 0.1 for i in range(50)]
    kind, sentence = R.verdict(steps, falling_then_rising, None, {})
    assert kind == "off" and "climbed" in sentence


def test_other_settings_only_get_the_sanity_checks(char_ids, stored, capsys):
    kind = R.check_run("tiny", run(char_ids, steps=60), dict(SETTINGS, steps=60), plot=False, folder=stored)
    out = capsys.readouterr().out
    assert kind == "unchecked" and "your settings (steps 60) differ from the reference's (steps 120)" in out


def test_quick_mode_never_writes_the_reference(char_ids, tmp_path, monkeypatch):
    monkeypatch.setenv(R.WRITE_ENV, "1")
    monkeypatch.setenv("COURSE_QUICK", "1")
    R.check_run("tiny", [3.0, 2.0, 1.5] * 5, {}, plot=False, folder=tmp_path)
    assert not (tmp_path / "tiny.json").exists()
    monkeypatch.delenv("COURSE_QUICK")
    R.check_run("tiny", [3.0 - 0.1 * i for i in range(15)], {}, plot=False, folder=tmp_path)
    assert (tmp_path / "tiny.json").exists()


def test_record_prints_a_key_figure_and_returns_nothing(capsys):
    # nothing returned: a cell ending with record(...) shows no stray value under the figure's line
    assert record("val_loss", torch.tensor(1.23456), "nats") is None
    assert capsys.readouterr().out.strip() == "key figure · val_loss = 1.235 nats"
    with pytest.raises(ValueError, match="use letters, digits and underscores"):
        record("val loss!", 1.0)


def test_figures_are_read_back_from_a_notebook():
    notebook = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data",
         "data": {"text/plain": "key figure · a = 1", FIGURE_MIME: {"name": "a", "value": 1}}},
        {"output_type": "stream", "text": "x"}]}, {"cell_type": "markdown"}]}
    assert figures_of(notebook) == {"a": {"name": "a", "value": 1}}


def test_a_plain_list_of_losses_records_the_device_and_precision_it_ran_in(tmp_path):
    from helpers.course.precision import choose_precision

    R.save_reference("short", [3.0 - 0.1 * i for i in range(12)], {}, folder=tmp_path)
    saved = json.loads((tmp_path / "short.json").read_text())
    assert saved["device"] == "cpu" and saved["precision"] == choose_precision().name


def test_a_short_noisy_run_gets_a_wider_band_and_the_words_say_so(tmp_path, capsys):
    noisy = [2.0 - 0.05 * i + (0.4 if i % 2 else -0.4) for i in range(24)]  # 24 steps scattering by ±0.4
    R.save_reference("noisy", noisy, {"steps": 24}, folder=tmp_path)
    reference = R.load_reference("noisy", tmp_path)
    half = R.band(reference, 1.0, n_last=5)
    assert half > R.TOLERANCE * 1.0  # wider than 5%: three standard errors of a 6-loss mean
    assert R.band(reference, 1.0, n_last=5000) == pytest.approx(R.TOLERANCE)  # many steps: 5% again
    assert R.check_run("noisy", noisy, {"steps": 24}, plot=False, folder=tmp_path) == "normal"
    out = capsys.readouterr().out
    assert "a short run's losses scatter" in out and "%" in out
    smooth = [3.0 - 0.005 * i for i in range(200)]
    R.save_reference("smooth", smooth, {"steps": 200}, folder=tmp_path)
    R.check_run("smooth", smooth, {"steps": 200}, plot=False, folder=tmp_path)
    assert "scatter" not in capsys.readouterr().out  # the 5% band needs no excuse


def test_the_plot_shows_the_verdicts_band_and_names_the_curve(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda: None)
    noisy = [2.0 - 0.05 * i + (0.4 if i % 2 else -0.4) for i in range(24)]
    R.save_reference("noisy", noisy, {}, folder=tmp_path)
    R.check_run("noisy", noisy, {}, folder=tmp_path, label="1 − reward")
    ax = plt.gcf().axes[0]
    assert ax.get_ylabel() == "1 − reward" and "normal" in ax.get_title()
    reference = R.load_reference("noisy", tmp_path)
    n_last = sum(s >= 0.8 * reference["steps"][-1] for s in range(1, reference["steps"][-1] + 1))
    lowest = min(r - R.band(reference, r, n_last) for r in reference["loss"])
    assert ax.get_ylim()[0] <= lowest  # the whole band is in view
    plt.close("all")
