"""gpt-2-simple's workflow on the real SmolLM2-135M: generate's options, fine-tuning runs saved by
name, reloading and continuing them, added special tokens; LoRA helpers and the 08 checkers."""
import json
import re
import shutil

import pytest
import torch

import helpers
from helpers.course.checks import finetune_poetry as checks
from helpers.generation.likelihood import logits_of, perplexity
from helpers.generation.sampling import CausalLMAdapter, as_course_model
from helpers.generation.sampling import generate as sample_ids
from helpers.models.lora import add_lora, trainable_parameters
from helpers.training.finetuning import (
    SEPARATOR,
    add_tokens,
    encode_dataset,
    finetune,
    generate,
    generate_to_file,
    longest_shared_ngram,
)
from helpers.training.runs import load_run
from tests.checker_asserts import assert_checker_behaves

PREFIX = "Shall I compare thee"
FAST = dict(length=6, temperature=0.7, top_k=0, top_p=0.0)
GREEDY = dict(length=6, top_k=1)  # top-k of one is the argmax: the same text whatever the batch


@pytest.fixture(scope="module")
def base():
    model, tokenizer = helpers.load_pretrained(device="cpu")
    return model, tokenizer


@pytest.fixture(scope="module")
def sonnet():
    return helpers.load_sonnets()[17]  # 'Shall I compare thee to a summer's day?'


# --- the adapter and generate ----------------------------------------------------------------------

@pytest.mark.download
def test_adapter_gives_transformers_logits_and_a_working_cache(base):
    model, tokenizer = base
    net = as_course_model(model)
    assert isinstance(net, CausalLMAdapter) and net.config.block_size == model.config.max_position_embeddings
    idx = torch.tensor([tokenizer.encode(PREFIX)])
    logits, loss = net(idx)
    assert loss is None and torch.allclose(logits, logits_of(model, idx))
    cached = sample_ids(net, idx, 5, greedy=True)
    plain = sample_ids(net, idx, 5, greedy=True, use_cache=False)
    assert torch.equal(cached, plain)
    cache = net.new_cache()
    net(idx, cache=cache)
    assert cache.length == idx.size(1)


@pytest.mark.download
def test_prefix_and_include_prefix(base):
    model, tokenizer = base
    with_prefix = generate(model, tokenizer, prefix=PREFIX, seed=1, return_as_list=True, **FAST)
    without = generate(model, tokenizer, prefix=PREFIX, include_prefix=False, seed=1, return_as_list=True, **FAST)
    assert with_prefix[0].startswith(PREFIX) and with_prefix[0] == PREFIX + without[0]
    assert len(tokenizer.encode(without[0])) <= 6 + 1  # `length` new tokens (decode/encode may merge one)


@pytest.mark.download
def test_nsamples_not_a_multiple_of_batch_size_gives_exactly_nsamples(base):
    model, tokenizer = base
    texts = generate(model, tokenizer, prefix=PREFIX, nsamples=5, batch_size=2, seed=0, return_as_list=True, **FAST)
    assert len(texts) == 5 and all(t.startswith(PREFIX) for t in texts)
    assert len(set(texts)) > 1  # sampled, not copies


@pytest.mark.download
def test_seed_reproduces_and_batched_rows_equal_unbatched(base):
    model, tokenizer = base

    def run(**kw):
        return generate(model, tokenizer, prefix=PREFIX, return_as_list=True, **kw)

    assert run(seed=3, nsamples=2, batch_size=2, **FAST) == run(seed=3, nsamples=2, batch_size=2, **FAST)
    assert run(nsamples=3, batch_size=3, **GREEDY) == run(nsamples=3, batch_size=1, **GREEDY)


@pytest.mark.download
def test_a_document_start_prefix_is_read_after_an_end_of_text():
    model, tokenizer = helpers.load_pretrained(device="cpu")  # a copy of its own: we add a token
    add_tokens(model, tokenizer, ["<|startoftext|>"], like="<|im_start|>")
    net, eot = as_course_model(model), tokenizer.convert_tokens_to_ids("<|endoftext|>")

    def greedy_after(context):
        ids = sample_ids(net, torch.tensor([context]), GREEDY["length"], greedy=True)
        return tokenizer.decode(ids[0, len(context):].tolist())

    start = "<|startoftext|> The"
    got = generate(model, tokenizer, prefix=start, include_prefix=False, return_as_list=True, **GREEDY)[0]
    assert got == greedy_after([eot] + tokenizer.encode(start, add_special_tokens=False))
    plain = generate(model, tokenizer, prefix=PREFIX, include_prefix=False, return_as_list=True, **GREEDY)[0]
    assert plain == greedy_after(tokenizer.encode(PREFIX, add_special_tokens=False))  # any other prefix: as given


@pytest.mark.download
def test_truncate_cuts_at_the_first_occurrence_after_the_prefix(base):
    model, tokenizer = base
    full = generate(model, tokenizer, prefix=PREFIX, include_prefix=False, return_as_list=True, **GREEDY)[0]
    mark = full.split()[1]  # a word the greedy continuation surely contains
    cut = generate(model, tokenizer, prefix=PREFIX, include_prefix=False, truncate=mark, return_as_list=True,
                   **GREEDY)[0]
    assert cut == full[:full.index(mark)] and mark not in cut
    # a truncate string that never comes leaves the text whole
    assert generate(model, tokenizer, prefix=PREFIX, include_prefix=False, truncate="@@@", return_as_list=True,
                    **GREEDY)[0] == full


@pytest.mark.download
def test_no_prefix_starts_from_end_of_text_and_printing_separates_samples(base, capsys):
    model, tokenizer = base
    assert generate(model, tokenizer, nsamples=2, batch_size=2, seed=0, top_k=40, top_p=0.9, length=4) is None
    out = capsys.readouterr().out
    assert out.count(SEPARATOR + "\n") == 2 and out.endswith(SEPARATOR + "\n")


@pytest.mark.download
def test_generate_to_file_writes_separated_samples(base, tmp_path):
    model, tokenizer = base
    path = generate_to_file(model, tokenizer, tmp_path / "out" / "samples.txt", prefix=PREFIX, nsamples=3,
                            batch_size=3, seed=0, **FAST)
    texts = path.read_text(encoding="utf-8").split(f"\n{SEPARATOR}\n")
    assert path.name == "samples.txt" and texts[-1] == "" and len(texts) == 4
    assert texts[:3] == generate(model, tokenizer, prefix=PREFIX, nsamples=3, batch_size=3, seed=0,
                                 return_as_list=True, **FAST)


@pytest.mark.download
def test_bad_generate_arguments_are_one_line_errors(base):
    model, tokenizer = base
    with pytest.raises(ValueError, match=r"the prefix has \d+ tokens but the model's context is 8192"):
        generate(model, tokenizer, prefix="la " * 9000, length=1)
    with pytest.raises(ValueError, match="nsamples=0"):
        generate(model, tokenizer, nsamples=0)


def test_course_models_still_generate():
    from helpers.models.gpt import GPT, GPTConfig
    from helpers.tokenizers import BPETokenizer

    tokenizer = BPETokenizer().train("to be or not to be, that is the question " * 20, 270, progress=False)
    helpers.seed_everything(0)
    model = GPT(GPTConfig(vocab_size=len(tokenizer), block_size=16, n_layer=1, n_head=2, n_embd=16)).eval()
    assert as_course_model(model) is model
    texts = generate(model, tokenizer, prefix="to be", nsamples=3, batch_size=2, length=20, seed=0,
                     return_as_list=True)
    assert len(texts) == 3 and all(t.startswith("to be") for t in texts)
    with pytest.raises(ValueError, match="context is 16"):
        generate(model, tokenizer, prefix="to be or not " * 10, length=1)


class PieceTokenizer:
    """A tokenizer of whole pieces (markers, words with their space): the ids a scripted model writes."""

    def __init__(self, pieces):
        self.pieces = list(pieces)
        self.pattern = re.compile("|".join(re.escape(p) for p in sorted(self.pieces, key=len, reverse=True)))

    def encode(self, text):
        return [self.pieces.index(piece) for piece in self.pattern.findall(text)]

    def decode(self, ids):
        return "".join(self.pieces[i] for i in ids)


class ScriptedModel(torch.nn.Module):
    """A course model that writes ``script`` after a prompt of ``prompt_length`` tokens, then end-of-text."""

    def __init__(self, script, prompt_length, vocab_size):
        super().__init__()
        self.config = type("Config", (), {"block_size": 64})()
        self.script, self.prompt_length, self.vocab_size = script, prompt_length, vocab_size
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # generate reads the device from a parameter

    def new_cache(self):
        return None  # no cache: every step sees the whole text, so its length says what comes next

    def forward(self, idx, cache=None):
        written = idx.size(1) - self.prompt_length
        token = self.script[written] if written < len(self.script) else 0
        logits = torch.full((idx.size(0), idx.size(1), self.vocab_size), -1e4)
        logits[:, -1, token] = 0.0
        return logits, None


def test_a_start_marker_the_model_repeats_is_not_returned():
    tokenizer = PieceTokenizer(["<|endoftext|>", "<|startoftext|>", "[a]", " cat", " sat"])
    start, label, cat = 1, 2, 3

    def sample(script, prefix, **options):
        prompt_length = 1 + len(tokenizer.encode(prefix))  # generate reads a <|startoftext|> prefix after <|endoftext|>
        model = ScriptedModel(script, prompt_length, len(tokenizer.pieces))
        return generate(model, tokenizer, prefix=prefix, truncate="<|endoftext|>", length=8, seed=0,
                        return_as_list=True, **options)[0]

    assert sample([label, cat], "<|startoftext|>", include_prefix=False) == "[a] cat"  # as written
    assert sample([start, label, cat], "<|startoftext|>", include_prefix=False) == "[a] cat"
    assert sample([start, start, label, cat], "<|startoftext|>", include_prefix=False) == "[a] cat"
    assert sample([start, label, cat], "<|startoftext|>") == "<|startoftext|>[a] cat"  # one marker, not two
    # after a longer prefix a marker is the model beginning another document: it stays, for you to see
    assert sample([start, label, cat], "<|startoftext|>[a]", include_prefix=False) == "<|startoftext|>[a] cat"


# --- fine-tuning runs ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run(sonnet, tmp_path_factory):
    """A LoRA run of a few steps on one sonnet, saved under a temporary checkpoint folder."""
    model, tokenizer = helpers.load_pretrained(device="cpu")
    before = perplexity(model, tokenizer, [sonnet])
    checkpoint = tmp_path_factory.mktemp("checkpoint")
    model, history = finetune(model, tokenizer, [sonnet], run_name="sonnet", checkpoint_dir=checkpoint, steps=4,
                              batch_size=2, block_size=32, learning_rate=3e-3, warmup=1, progress=False)
    return dict(model=model, tokenizer=tokenizer, history=history, checkpoint=checkpoint, before=before)


@pytest.mark.download
def test_finetune_lowers_the_loss_and_trains_only_lora(run, sonnet):
    assert run["history"].step == [1, 2, 3, 4] and len(run["history"].loss) == 4
    assert perplexity(run["model"], run["tokenizer"], [sonnet]) < 0.9 * run["before"]
    trainable, total = trainable_parameters(run["model"])
    assert trainable == 460_800 and total > 134_000_000


@pytest.mark.download
def test_saved_run_reloads_with_the_same_logits(run):
    folder = run["checkpoint"] / "sonnet"
    info = json.loads((folder / "run.json").read_text())
    assert info["base_model"] == "smollm2-135m" and info["method"] == "lora" and info["step"] == 4
    assert info["history"]["loss"] == run["history"].loss
    assert not any(p.name.endswith((".part", ".old")) for p in run["checkpoint"].iterdir())  # nothing half-written
    model, tokenizer = load_run("sonnet", run["checkpoint"])
    idx = torch.tensor([tokenizer.encode(PREFIX)])
    assert torch.allclose(logits_of(model, idx), logits_of(run["model"], idx), atol=1e-5)


@pytest.mark.download
def test_restore_latest_continues_the_step_count(run, sonnet, tmp_path):
    shutil.copytree(run["checkpoint"] / "sonnet", tmp_path / "sonnet")
    model, tokenizer = helpers.load_pretrained(device="cpu")
    _, history = finetune(model, tokenizer, [sonnet], run_name="sonnet", checkpoint_dir=tmp_path, steps=1,
                          batch_size=1, block_size=16, restore_from="latest", progress=False)
    assert history.step == [1, 2, 3, 4, 5] and history.loss[:4] == run["history"].loss
    assert json.loads((tmp_path / "sonnet" / "run.json").read_text())["step"] == 5
    with pytest.raises(ValueError, match="method='lora'"):
        finetune(model, tokenizer, [sonnet], run_name="sonnet", checkpoint_dir=tmp_path, steps=1,
                 method="full", restore_from="latest", progress=False)


@pytest.mark.download
def test_unknown_run_name_lists_the_runs_that_exist(run):
    with pytest.raises(FileNotFoundError, match=r"no run 'sonet' .*runs there: 'sonnet'"):
        load_run("sonet", run["checkpoint"])


@pytest.mark.download
def test_bad_finetune_arguments_are_one_line_errors(base, tmp_path):
    model, tokenizer = base
    with pytest.raises(ValueError, match="method='qlora'"):
        finetune(model, tokenizer, ["a b"], method="qlora")
    with pytest.raises(FileNotFoundError, match="not a file"):
        encode_dataset(tokenizer, "no such file.txt")
    with pytest.raises(ValueError, match="non-empty list"):
        encode_dataset(tokenizer, [])


@pytest.mark.download
def test_dataset_documents_are_joined_by_end_of_text(base, tmp_path):
    _, tokenizer = base
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    ids = encode_dataset(tokenizer, ["one", "two<|endoftext|>"]).tolist()
    assert ids == tokenizer.encode("one") + [eot] + tokenizer.encode("two") + [eot]
    (tmp_path / "t.txt").write_text("one\ntwo", encoding="utf-8")
    assert encode_dataset(tokenizer, tmp_path / "t.txt").tolist() == tokenizer.encode("one\ntwo") + [eot]


@pytest.mark.download
def test_added_tokens_train_and_survive_a_round_trip(sonnet, tmp_path):
    model, tokenizer = helpers.load_pretrained(device="cpu")
    like = model.get_input_embeddings().weight[tokenizer.convert_tokens_to_ids("<|im_start|>")].clone()
    [new] = add_tokens(model, tokenizer, ["<|startoftext|>"], like="<|im_start|>")
    assert new == 49152 and tokenizer.encode("<|startoftext|>Shall")[0] == new
    assert torch.equal(model.get_input_embeddings().weight[new], like)
    text = f"<|startoftext|>{sonnet}"
    model, _ = finetune(model, tokenizer, [text], run_name="titles", checkpoint_dir=tmp_path, steps=2,
                        batch_size=2, block_size=16, learning_rate=1e-2, train_tokens=[new], progress=False)
    assert trainable_parameters(model)[0] == 460_800 + 576  # the adapters and the new token's row
    reloaded, tokenizer2 = load_run("titles", tmp_path)
    assert len(tokenizer2) == 49153 and tokenizer2.encode("<|startoftext|>Shall")[0] == new
    idx = torch.tensor([tokenizer2.encode(text)[:20]])
    assert torch.allclose(logits_of(reloaded, idx), logits_of(model, idx), atol=1e-5)
    row = reloaded.get_input_embeddings()(torch.tensor([new]))[0]
    assert not torch.allclose(row, like)  # the new row was trained


@pytest.mark.download
def test_add_lora_counts_match_the_formula(base):
    model, _ = helpers.load_pretrained(device="cpu")
    wrapped = add_lora(model, r=4, targets=("q_proj", "k_proj"))
    assert trainable_parameters(wrapped)[0] == 30 * (4 * (576 + 576) + 4 * (576 + 192))
    with pytest.raises(ValueError, match="r=0"):
        add_lora(model, r=0)


# --- memorization and the 08 checkers ---------------------------------------------------------------

def test_longest_shared_ngram():
    corpus = ["Shall I compare thee to a summer's day?", "Thou art more lovely"]
    assert longest_shared_ngram("and shall I compare THEE, to a winter", corpus) == (6, "shall i compare thee to a")
    assert longest_shared_ngram("day thou art", corpus) == (2, "thou art")  # no n-gram across two texts
    assert longest_shared_ngram("nothing here", corpus) == (0, "")


def lora_count(shapes, r):
    return sum(r * (out_dim + in_dim) for out_dim, in_dim in shapes)


def merge_lora(W, A, B, alpha):
    return W + (alpha / A.shape[0]) * (B @ A)


class LoRA(torch.nn.Module):
    """The exercise's solution, and (by its options) the typical mistakes."""

    def __init__(self, base, r, alpha, scale=None, B_init=torch.zeros, A_init=None, freeze=True, keep_base=True):
        super().__init__()
        self.base, self.keep_base = base, keep_base
        self.base.requires_grad_(not freeze)
        self.A = torch.nn.Parameter(A_init(r, base.in_features) if A_init else torch.randn(r, base.in_features) / r)
        self.B = torch.nn.Parameter(B_init(base.out_features, r))
        self.scale = alpha / r if scale is None else scale(r, alpha)

    def forward(self, x):
        change = self.scale * (x @ self.A.T @ self.B.T)
        return self.base(x) + change if self.keep_base else change


class LoRAStub(torch.nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()

    def forward(self, x):
        return None


def variant(**options):
    return lambda base, r, alpha: LoRA(base, r, alpha, **options)


def test_check_lora_linear_against_peft(capsys):
    wrongs = [variant(scale=lambda r, alpha: 1.0),  # the alpha / r scale missing
              variant(scale=lambda r, alpha: r / alpha),  # upside down
              variant(B_init=torch.randn),  # B not zero: the model no longer starts as the pretrained one
              variant(A_init=torch.zeros),  # A and B both zero: no gradient reaches either
              variant(freeze=False),  # the pretrained weight trains too
              variant(keep_base=False),  # the frozen layer's output forgotten
              lambda base, r, alpha: LoRA(base, r, alpha, A_init=lambda r_, n: torch.randn(n, r_))]  # A transposed
    assert_checker_behaves(checks.check_lora_linear, LoRAStub, LoRA, wrongs, capsys)
    from helpers.models.lora import LoRALinear

    assert checks.check_lora_linear(LoRALinear) is LoRALinear


@pytest.mark.parametrize("check, stub, solution, wrongs", [
    (checks.check_lora_parameter_count, lambda shapes, r: None, lora_count, [
        lambda shapes, r: sum(o * i for o, i in shapes),
        lambda shapes, r: sum(r * o * i for o, i in shapes),
        lambda shapes, r: sum(2 * r * i for _, i in shapes),
    ]),
    (checks.check_merge_lora, lambda W, A, B, alpha: None, merge_lora, [
        lambda W, A, B, alpha: W + B @ A,
        lambda W, A, B, alpha: (alpha / A.shape[0]) * (B @ A),
        lambda W, A, B, alpha: W + (A.shape[0] / alpha) * (B @ A),
        lambda W, A, B, alpha: W - (alpha / A.shape[0]) * (B @ A),
    ]),
])
def test_checkers(check, stub, solution, wrongs, capsys):
    assert_checker_behaves(check, stub, solution, wrongs, capsys)
