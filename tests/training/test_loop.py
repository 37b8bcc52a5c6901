"""The training loop on real text: reproducible, resumable, and clear about bad input."""
import math
import os
import subprocess
import sys
import textwrap

import pytest

import helpers
from helpers.models.gpt import GPT, GPTConfig
from helpers.training.loop import TrainConfig, learning_rate, train

pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...


@pytest.fixture(scope="module")
def ids(sonnet_char_ids):
    return sonnet_char_ids(80_000)


def tiny(vocab):
    helpers.seed_everything(0)
    return GPT(GPTConfig(vocab_size=vocab, block_size=32, n_layer=1, n_head=2, n_embd=32))


def quick(**kw):
    base = dict(steps=20, batch_size=4, block_size=32, warmup=5, eval_every=10, eval_batches=2, progress=False)
    return TrainConfig(**{**base, **kw})


@pytest.mark.download
def test_loss_falls_and_same_seed_gives_same_losses(ids):
    train_ids, val_ids, vocab = ids
    h1 = train(tiny(vocab), train_ids, val_ids, quick(steps=60, lr=3e-3, eval_every=30))
    h2 = train(tiny(vocab), train_ids, val_ids, quick(steps=60, lr=3e-3, eval_every=30))
    assert h1.loss == h2.loss and h1.val == h2.val
    assert h1.loss[0] > math.log(vocab) - 0.5 and h1.val[-1] < h1.loss[0] - 0.5


@pytest.mark.download
def test_resume_continues_the_same_loss_curve(ids, tmp_path):
    train_ids, val_ids, vocab = ids
    full = train(tiny(vocab), train_ids, val_ids, quick())
    ckpt = tmp_path / "run" / "ckpt.pt"
    train(tiny(vocab), train_ids, val_ids, quick(), checkpoint=ckpt, until=10)  # "interrupted" at step 10
    assert ckpt.exists() and not ckpt.with_name("ckpt.pt.tmp").exists()
    resumed = train(GPT(tiny(vocab).config), train_ids, val_ids, quick(), checkpoint=ckpt, resume=True)
    assert resumed.step == list(range(20))
    assert resumed.loss == pytest.approx(full.loss, abs=1e-6)
    assert resumed.val == pytest.approx(full.val, abs=1e-6)


def test_schedules_warm_up_then_decay():
    cfg = TrainConfig(steps=1000, lr=1e-3, min_lr=1e-4, warmup=100)
    lrs = [learning_rate(s, cfg) for s in range(1000)]
    assert lrs[0] == pytest.approx(1e-5) and lrs[99] == pytest.approx(1e-3)
    assert lrs[-1] == pytest.approx(1e-4, rel=1e-3) and all(a >= b for a, b in zip(lrs[99:], lrs[100:]))
    noam = TrainConfig(lr=1e-3, warmup=100, schedule="noam")
    peak = max(range(1000), key=lambda s: learning_rate(s, noam))
    assert peak == 99 and learning_rate(peak, noam) == pytest.approx(1e-3)
    assert learning_rate(399, noam) == pytest.approx(1e-3 * 0.5)  # falls as 1/sqrt(step)


@pytest.mark.download
def test_bad_input_gives_one_line_errors(ids, tmp_path):
    train_ids, val_ids, vocab = ids
    with pytest.raises(ValueError, match="fewer than one block"):
        train(tiny(vocab), train_ids[:20], val_ids, quick())
    with pytest.raises(ValueError, match="longer than the model's context"):
        train(tiny(vocab), train_ids, val_ids, quick(block_size=64))
    ckpt = tmp_path / "ckpt.pt"
    train(tiny(vocab), train_ids, val_ids, quick(steps=10), checkpoint=ckpt)
    other = GPT(GPTConfig(vocab_size=vocab, block_size=32, n_layer=2, n_head=2, n_embd=32))
    with pytest.raises(ValueError, match="another model config.*n_layer"):
        train(other, train_ids, val_ids, quick(), checkpoint=ckpt, resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(tiny(vocab), train_ids, val_ids, quick(), checkpoint=tmp_path / "none.pt", resume=True)
    with pytest.raises(ValueError, match="schedule='linear'"):
        TrainConfig(schedule="linear")


DDP_SCRIPT = textwrap.dedent("""
    import os, torch, torch.distributed as dist
    import helpers
    from helpers.models.gpt import GPT, GPTConfig
    from helpers.training.loop import TrainConfig, end_distributed, train
    text = "\\n\\n".join(helpers.load_sonnets())
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text])
    torch.manual_seed(int(os.environ["RANK"]))  # replicas start different: DDP must sync them
    model = GPT(GPTConfig(vocab_size=len(chars), block_size=32, n_layer=1, n_head=2, n_embd=32))
    history = train(model, ids[:80000], ids[80000:], TrainConfig(steps=5, batch_size=4, block_size=32,
                    eval_every=5, eval_batches=1, progress=False))
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    if dist.get_rank() == 0:
        print("replicas equal:", all(torch.equal(gathered[0], g) for g in gathered))
        print("steps:", len(history.loss))
    end_distributed()
    # as helpers.cli.pretrain_char does under torchrun: skip the interpreter's teardown, where gloo's threads
    # once aborted replica 1 (SIGABRT, "terminate called without an active exception") after this script's
    # replicas had matched (CI, 2026-12-03); what this test checks is done by then
    import sys
    sys.stdout.flush()
    os._exit(0)
""")


@pytest.mark.download  # the script reads the sonnets
def test_torchrun_two_processes_keep_replicas_equal(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                             "--standalone", str(script)], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-6000:]  # each worker's own error too
    assert "replicas equal: True" in result.stdout and "steps: 5" in result.stdout
