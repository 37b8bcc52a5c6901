import random

import numpy as np
import pytest
import torch

import helpers
from helpers.course.runtime import cache_dir


def test_settings_full_mode_keeps_full_values(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    cfg = helpers.settings(steps=2000, batch_size=32, quick=dict(steps=20))
    assert (cfg.steps, cfg.batch_size) == (2000, 32)
    assert "Quick mode" not in capsys.readouterr().out


def test_settings_quick_mode_shrinks_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_QUICK", "1")
    cfg = helpers.settings(steps=2000, batch_size=32, quick=dict(steps=20))
    assert (cfg.steps, cfg.batch_size) == (20, 32)
    assert "steps 2000 → 20" in capsys.readouterr().out


def test_settings_rejects_quick_value_without_full_value():
    with pytest.raises(ValueError, match="no full-mode value"):
        helpers.settings(steps=10, quick=dict(stpes=2))


def test_device_is_cpu_here_and_can_be_forced(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert helpers.get_device().type == "cpu"
    monkeypatch.delenv("COURSE_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert helpers.get_device().type == expected


def test_seed_everything_repeats_all_three_generators():
    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    helpers.seed_everything(123)
    first = draw()
    helpers.seed_everything(123)
    assert draw() == first
    helpers.seed_everything(124)
    assert draw() != first


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()


def test_versions_reports_torch_and_mode(capsys):
    found = helpers.versions("numpy")
    assert found["torch"] == torch.__version__.split("+")[0] or found["torch"] == torch.__version__
    assert found["numpy"] == np.__version__
    assert "mode" in capsys.readouterr().out
