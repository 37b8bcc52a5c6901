"""Fine-tuning runs: batches that see document starts, exact continuation of a saved run, Drive copies.

A tiny Llama with SmolLM2's tokenizer, saved as a local model folder, keeps these fast; the real
SmolLM2-135M runs are in test_finetuning.py and tests/cli/test_finetune.py.
"""
import json

import pytest
import torch

import helpers
from helpers.data import titles
from helpers.training.finetuning import document_starts, encode_dataset, finetune, get_batch, train_config
from helpers.training.loop import learning_rate
from helpers.training.runs import TRAINING_STATE, copy_run_from_drive, copy_run_to_drive, load_run, run_info

pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...


def tiny(folder):
    return helpers.load_pretrained(str(folder), device="cpu")


@pytest.fixture(scope="module")
def texts():
    return helpers.load_sonnets()[:12]


def trained(run):
    """The trainable weights of a run's model, by name."""
    return {n: p.detach().clone() for n, p in run.named_parameters() if p.requires_grad}


# --- document starts ---------------------------------------------------------------------------------

def test_document_starts_and_batches_that_begin_there(tiny_folder):
    _, tokenizer = tiny(tiny_folder)
    docs = titles.to_documents(["Senate passes the bill", "A good boy", "Rain again today"], ["politics", "dogs", "x"])
    ids = encode_dataset(tokenizer, docs)
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    starts = document_starts(ids, eot, block_size=4)
    assert starts[0] == 0 and all(ids[s - 1] == eot for s in starts[1:].tolist())
    assert len(starts) == 3 and (starts <= len(ids) - 5).all()
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(ids, starts, batch_size=8, block_size=4, doc_start_share=3 / 8, generator=g, device="cpu")
    first = tokenizer.encode("<|startoftext|>", add_special_tokens=False)[0]  # "<" of the spelled-out marker
    assert x.shape == y.shape == (8, 4) and torch.equal(x[:, 1:], y[:, :-1])
    assert all(row[0] == first for row in x[:3].tolist())  # the first rows begin at a document start
    rows = [get_batch(ids, starts, 1, 4, 0.25, g, "cpu")[0][0, 0] == first for _ in range(400)]
    assert 0.15 < sum(rows) / 400 < 0.4  # a quarter of single-window batches, on average
    with pytest.raises(ValueError, match="fewer than one window"):
        get_batch(ids[:4], starts, 2, 4, 0.5, g, "cpu")


def test_bad_doc_start_share_is_a_one_line_error(tiny_folder, texts, tmp_path):
    model, tokenizer = tiny(tiny_folder)
    with pytest.raises(ValueError, match="doc_start_share=1.5: give a share between 0 and 1"):
        finetune(model, tokenizer, texts, checkpoint_dir=tmp_path, steps=1, doc_start_share=1.5, progress=False)


# --- exact continuation ------------------------------------------------------------------------------

def run_in_parts(folder, texts, checkpoint, parts, **kwargs):
    """Fine-tune the tiny model in calls of ``parts`` steps, each after the first a restore; return (model, history)."""
    model, tokenizer = tiny(folder)
    options = dict(run_name="r", checkpoint_dir=checkpoint, batch_size=2, block_size=16, progress=False, **kwargs)
    model, history = finetune(model, tokenizer, texts, steps=parts[0], total_steps=sum(parts), learning_rate=3e-3,
                              **options)
    for steps in parts[1:]:
        model, history = finetune(model, tokenizer, texts, steps=steps, restore_from="latest", **options)
    return model, history


def test_n_steps_then_n_more_after_a_restore_equal_2n_in_one_go(tiny_folder, texts, tmp_path):
    whole, whole_history = run_in_parts(tiny_folder, texts, tmp_path / "whole", [6])
    split, split_history = run_in_parts(tiny_folder, texts, tmp_path / "split", [3, 3])
    a, b = trained(whole), trained(split)
    assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)  # bit for bit
    assert split_history.loss == whole_history.loss and split_history.lr == whole_history.lr
    assert split_history.step == list(range(1, 7))
    info = run_info("r", tmp_path / "split")
    assert info["step"] == 6 and info["settings"]["total_steps"] == 6
    assert (tmp_path / "split" / "r" / TRAINING_STATE).exists()
    # the first call's schedule already spanned all 6 steps: warmup, then one cosine over the total
    cfg = train_config(6, learning_rate=3e-3)
    assert split_history.lr == [learning_rate(step, cfg) for step in range(6)]


def test_a_restore_from_a_mid_run_save_is_exact_too(tiny_folder, texts, tmp_path):
    whole, _ = run_in_parts(tiny_folder, texts, tmp_path / "whole", [6])
    split, _ = run_in_parts(tiny_folder, texts, tmp_path / "split", [2, 1, 3], save_every=1)
    a, b = trained(whole), trained(split)
    assert all(torch.equal(a[n], b[n]) for n in a)


def test_continuing_past_the_planned_schedule_stretches_it(tiny_folder, texts, tmp_path, capsys):
    model, tokenizer = tiny(tiny_folder)
    options = dict(run_name="r", checkpoint_dir=tmp_path, batch_size=2, block_size=16, progress=True)
    finetune(model, tokenizer, texts, steps=4, learning_rate=3e-3, **options)
    capsys.readouterr()
    _, history = finetune(model, tokenizer, texts, steps=4, restore_from="latest", **options)
    assert "planned its schedule for 4 steps; this call goes to step 8" in capsys.readouterr().out
    assert history.step == list(range(1, 9)) and run_info("r", tmp_path)["settings"]["total_steps"] == 8
    assert history.lr[4] > history.lr[3]  # the stretched cosine: the rate rises again, no second warmup
    with pytest.raises(ValueError, match="total_steps=5 ends before this call does"):
        finetune(model, tokenizer, texts, steps=4, total_steps=5, restore_from="latest", **options)


# --- Google Drive -----------------------------------------------------------------------------------

def test_copy_run_to_and_from_a_drive_folder(tiny_folder, texts, tmp_path):
    model, tokenizer = tiny(tiny_folder)
    model, _ = finetune(model, tokenizer, texts, run_name="r", checkpoint_dir=tmp_path / "checkpoint", steps=2,
                        batch_size=2, block_size=16, progress=False)
    drive = tmp_path / "drive"  # stands in for the mounted /content/drive/MyDrive/gpt-course-runs
    copy = copy_run_to_drive("r", tmp_path / "checkpoint", drive_dir=drive)
    assert copy == drive / "r" and (copy / "run.json").exists() and (copy / TRAINING_STATE).exists()
    fresh = tmp_path / "new_session"
    back = copy_run_from_drive("r", fresh, drive_dir=drive)
    assert back == fresh / "r"
    assert json.loads((back / "run.json").read_text()) == run_info("r", tmp_path / "checkpoint")
    reloaded, _ = load_run("r", fresh)
    idx = torch.tensor([tokenizer.encode("Shall I compare")])
    assert torch.allclose(reloaded(idx).logits, model(idx).logits, atol=1e-6)
    copy_run_to_drive("r", tmp_path / "checkpoint", drive_dir=drive)  # a second copy replaces the first
    assert sorted(p.name for p in drive.iterdir()) == ["r"]
    with pytest.raises(FileNotFoundError, match=r"no run 'q' on the Drive .*runs there: 'r'"):
        copy_run_from_drive("q", fresh, drive_dir=drive)
    with pytest.raises(FileNotFoundError, match="no run 'q' in"):
        copy_run_to_drive("q", tmp_path / "checkpoint", drive_dir=drive)


def test_outside_colab_without_a_drive_folder_says_what_to_do(tiny_folder, texts, tmp_path, capsys):
    model, tokenizer = tiny(tiny_folder)
    finetune(model, tokenizer, texts, run_name="r", checkpoint_dir=tmp_path, steps=1, batch_size=2, block_size=16,
             progress=False)
    assert copy_run_to_drive("r", tmp_path) is None
    out = capsys.readouterr().out
    assert out.startswith("Not in Colab") and out.count("\n") == 1 and "copy that folder" in out
    assert copy_run_from_drive("r", tmp_path) is None
    out = capsys.readouterr().out
    assert out.startswith("Not in Colab") and out.count("\n") == 1 and "drive_dir=" in out


def _save_many(folder, tag, times):
    from helpers.training.runs import _swap_in, building

    for i in range(times):
        tmp = building(folder)
        (tmp / "a.txt").write_text(f"{tag}{i}")
        (tmp / "b.txt").write_text(f"{tag}{i}")
        _swap_in(tmp, folder)


def test_two_processes_saving_one_run_at_once_leave_one_whole_run(tmp_path):
    import multiprocessing

    folder = tmp_path / "run"
    workers = [multiprocessing.get_context("fork").Process(target=_save_many, args=(folder, tag, 30)) for tag in "xy"]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert all(w.exitcode == 0 for w in workers)
    a, b = (folder / "a.txt").read_text(), (folder / "b.txt").read_text()
    assert a == b and a in ("x29", "y29")  # one save, whole: never half of each
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no .part or .old folder left behind
