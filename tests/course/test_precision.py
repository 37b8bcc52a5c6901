"""The precision chooser on faked machines, and the float16 + gradient-scaler path of every training loop."""
import pytest
import torch

import helpers
from helpers.course import precision as P
from helpers.models.gpt import GPT, GPTConfig
from helpers.training.loop import TrainConfig, load_checkpoint, train

pytestmark = pytest.mark.numerics  # run again under each precision: python3 course.py test --dtype ...


# --- the decision, from a device's facts ---------------------------------------------------------------

@pytest.mark.parametrize("facts, name", [
    (dict(device_type="cpu", cpu_bf16_speedup=6.5), "bfloat16"),  # AMX: bf16 matmuls several times faster
    (dict(device_type="cpu", cpu_bf16_speedup=0.02), "float32"),  # no bf16 units: a reference kernel, 50x slower
    (dict(device_type="cpu", cpu_bf16_speedup=1.1), "float32"),  # a little faster is not worth the rounding
    (dict(device_type="cpu"), "float32"),  # nothing measured
    (dict(device_type="cuda", cuda_capability=(7, 5)), "float16"),  # Colab's T4
    (dict(device_type="cuda", cuda_capability=(7, 0)), "float16"),  # V100
    (dict(device_type="cuda", cuda_capability=(8, 0)), "bfloat16"),  # A100
    (dict(device_type="cuda", cuda_capability=(9, 0)), "bfloat16"),  # H100
    (dict(device_type="cuda", cuda_capability=(6, 1)), "float32"),  # Pascal
    (dict(device_type="mps"), "float32"),
])
def test_decide_on_faked_devices(facts, name):
    chosen = P.decide(**facts)
    assert chosen.name == name and chosen.device_type == facts["device_type"]
    assert chosen.needs_scaler == (name == "float16")
    assert chosen.why  # a reason to print


@pytest.mark.parametrize("value, name", [("float32", "float32"), ("bf16", "bfloat16"), ("FP16", "float16"),
                                         (" bfloat16 ", "bfloat16")])
def test_override_wins_over_the_facts(value, name):
    chosen = P.decide("cuda", cuda_capability=(9, 0), override=value)
    assert chosen.name == name and "COURSE_DTYPE" in chosen.why


def test_override_auto_decides():
    assert P.decide("cuda", cuda_capability=(7, 5), override="auto").name == "float16"


def test_bad_override_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("COURSE_DTYPE", "fp8")
    with pytest.raises(ValueError, match=r"COURSE_DTYPE='fp8' is not a precision: use auto, float32") as error:
        helpers.choose_precision("cpu")
    assert "\n" not in str(error.value)


# --- choose_precision gathers the facts itself -----------------------------------------------------------

def test_cpu_probe_decides(monkeypatch):
    monkeypatch.delenv("COURSE_DTYPE", raising=False)
    monkeypatch.setattr(P, "cpu_bf16_speedup", lambda: 4.0)
    assert helpers.choose_precision("cpu").name == "bfloat16"
    monkeypatch.setattr(P, "cpu_bf16_speedup", lambda: 0.02)
    assert helpers.choose_precision("cpu").name == "float32"


def test_real_cpu_probe_is_fast_cached_and_consistent():
    import time

    P.cpu_bf16_speedup.cache_clear()
    t0 = time.perf_counter()
    speedup = P.cpu_bf16_speedup()
    assert time.perf_counter() - t0 < 1.0 and speedup > 0
    assert P.cpu_bf16_speedup() == speedup  # measured once per process
    expected = "bfloat16" if speedup >= P.BF16_MIN_SPEEDUP else "float32"
    assert P.decide("cpu", cpu_bf16_speedup=speedup).name == expected


def test_cuda_capability_is_read_from_the_device(monkeypatch):
    monkeypatch.delenv("COURSE_DTYPE", raising=False)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert helpers.choose_precision("cuda").name == "float16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 6))
    assert helpers.choose_precision("cuda").name == "bfloat16"


def test_environment_override_skips_the_probe(monkeypatch):
    monkeypatch.setenv("COURSE_DTYPE", "float16")
    monkeypatch.setattr(P, "cpu_bf16_speedup", lambda: pytest.fail("probed although overridden"))
    assert helpers.choose_precision("cpu").name == "float16"


def test_helpers_dtype_arguments_resolve(monkeypatch):
    monkeypatch.setenv("COURSE_DTYPE", "bfloat16")
    assert P.resolve("auto", "cpu").name == "bfloat16" and P.resolve(None, "cpu").name == "bfloat16"
    assert P.resolve("float32", "cpu").name == "float32"  # an explicit argument is not overridden
    with pytest.raises(ValueError, match="dtype='int8' is not a precision"):
        P.resolve("int8", "cpu")
    with pytest.raises(ValueError, match="dtype='half-ish'"):
        TrainConfig(dtype="half-ish")


@pytest.mark.parametrize("name, dtype", [("float16", torch.float16), ("bfloat16", torch.bfloat16),
                                         ("float32", torch.float32)])
def test_autocast_runs_matmuls_in_the_chosen_dtype(name, dtype):
    layer = torch.nn.Linear(8, 8)
    with P.Precision(name, "cpu", "test").autocast():
        assert layer(torch.randn(2, 8)).dtype == dtype
    assert P.Precision(name, "cpu", "test").grad_scaler().is_enabled() == (name == "float16")


def test_peak_probe_is_capped_by_time():
    import time

    t0 = time.perf_counter()
    rate, n = P.peak_matmul_flops(torch.float32, budget_s=0.3)
    assert time.perf_counter() - t0 < 1.5 and rate > 1e8 and n in (256, 512, 1024, 2048)


# --- float16 with a gradient scaler, in each training loop -------------------------------------------

def small_gpt(vocab):
    helpers.seed_everything(0)
    return GPT(GPTConfig(vocab_size=vocab, block_size=32, n_layer=1, n_head=2, n_embd=32))


def fp16_cfg(**kw):
    base = dict(steps=40, batch_size=4, block_size=32, warmup=5, eval_every=20, eval_batches=2, lr=3e-3,
                progress=False, dtype="float16")
    return TrainConfig(**{**base, **kw})


def test_float16_training_scales_the_loss_learns_and_resumes_exactly(char_ids, tmp_path):
    train_ids, val_ids, vocab = char_ids
    full = train(small_gpt(vocab), train_ids, val_ids, fp16_cfg())
    assert full.precision == "float16" and full.device == "cpu"
    assert full.val[-1] < full.loss[0] - 0.5 and all(torch.isfinite(torch.tensor(full.loss)))
    ckpt = tmp_path / "fp16.pt"
    train(small_gpt(vocab), train_ids, val_ids, fp16_cfg(), checkpoint=ckpt, until=20)
    state = torch.load(ckpt, weights_only=False)
    assert state["scaler"]["scale"] > 1  # the loss really was scaled up before backward
    model = small_gpt(vocab)
    resumed = train(model, train_ids, val_ids, fp16_cfg(), checkpoint=ckpt, resume=True)
    assert resumed.loss == pytest.approx(full.loss, abs=1e-6)
    load_checkpoint(ckpt, GPT(model.config))  # loads without the scaler too


def test_float32_checkpoints_carry_no_scaler(char_ids, tmp_path):
    train_ids, val_ids, vocab = char_ids
    ckpt = tmp_path / "fp32.pt"
    history = train(small_gpt(vocab), train_ids, val_ids, fp16_cfg(steps=4, eval_every=4, dtype="float32"),
                    checkpoint=ckpt)
    assert history.precision == "float32" and torch.load(ckpt, weights_only=False)["scaler"] is None


def test_finetune_trains_in_float16_with_a_scaler(tiny_llama_and_tokenizer, tmp_path):
    from helpers.training.finetuning import finetune

    model, tokenizer = tiny_llama_and_tokenizer
    texts = helpers.load_sonnets()[:20]
    model, history = finetune(model, tokenizer, texts, run_name="fp16", checkpoint_dir=tmp_path, steps=12,
                              batch_size=2, block_size=32, learning_rate=1e-2, dtype="float16", progress=False,
                              lora_r=4)
    assert history.precision == "float16" and all(torch.isfinite(torch.tensor(history.loss)))
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # B starts at 0: the scaled steps were taken


def test_sft_and_dpo_train_in_float16_with_a_scaler(tiny_llama_and_tokenizer):
    from helpers.models.lora import add_lora
    from helpers.training import preference as pref

    model, tokenizer = tiny_llama_and_tokenizer
    model = add_lora(model.float(), r=4)
    examples = [pref.encode_example(tokenizer, f"Say {w}.", w) for w in ("yes", "no", "maybe", "never")]
    losses = pref.train_sft(model, examples, steps=6, batch_size=2, lr=1e-2, warmup=1, dtype="float16",
                            progress=False)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert all(p.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)
    pairs = [(examples[0], examples[1]), (examples[2], examples[3])]
    history = pref.train_dpo(model, pairs, steps=4, batch_size=2, lr=1e-2, warmup=1, dtype="float16", progress=False)
    assert all(torch.isfinite(torch.tensor(history["loss"])))


def test_cpu_probe_keeps_its_verdict_when_the_machine_is_busy():
    # Two other processes multiplying matrices on every core: with all of torch's threads, the probe's
    # fp32 and bf16 rates both collapsed to ~4 GFLOP/s and its verdict flipped to bf16 on a CPU without
    # bf16 units. Measured on one thread it keeps the verdict of the quiet machine.
    import subprocess
    import sys

    P.cpu_bf16_speedup.cache_clear()
    quiet = P.cpu_bf16_speedup() >= P.BF16_MIN_SPEEDUP
    burn = "import torch\na = torch.randn(512, 512)\nwhile True:\n    a @ a\n"
    burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(2)]
    try:
        import time

        time.sleep(1.5)  # the burners have imported torch and are multiplying
        threads = torch.get_num_threads()
        verdicts = []
        for _ in range(3):
            P.cpu_bf16_speedup.cache_clear()
            verdicts.append(P.cpu_bf16_speedup() >= P.BF16_MIN_SPEEDUP)
        assert torch.get_num_threads() == threads  # the probe gives the threads back
    finally:
        for b in burners:
            b.kill()
        P.cpu_bf16_speedup.cache_clear()
    assert verdicts == [quiet] * 3
