"""The playground's Generate (helpers.api.playground.run) on a real small GPT,
and OpenAI's penalties by their definition."""
import pytest
import torch

import helpers
from helpers.api import playground
from helpers.generation.sampling import apply_penalties, generate, generate_text, token_counts
from helpers.models.gpt import GPT, GPTConfig

ALPHABET = "abcdefghijklmnopqrstuvwxyz .,;:!?\n"


def encode(s):
    return [ALPHABET.index(c) for c in s]


def decode(ids):
    return "".join(ALPHABET[i] for i in ids)


@pytest.fixture(scope="module")
def model():
    helpers.seed_everything(0)
    return GPT(GPTConfig(vocab_size=len(ALPHABET), block_size=32, n_layer=2, n_head=2, n_embd=32)).eval()


def test_penalties_follow_openais_definition_token_by_token():
    torch.manual_seed(0)
    logits, generated = torch.randn(2, 9), torch.tensor([[3, 3, 5, 3], [0, 1, 1, 8]])
    got = apply_penalties(logits, generated, frequency_penalty=0.7, presence_penalty=0.3)
    for b in range(2):
        for j in range(9):
            count = generated[b].tolist().count(j)
            want = logits[b, j] - count * 0.7 - (count > 0) * 0.3  # mu[j] - c[j]*alpha_freq - (c[j] > 0)*alpha_pres
            assert got[b, j].item() == pytest.approx(want.item())
    assert torch.equal(token_counts(generated, 9)[0, 3], torch.tensor(3))
    assert torch.equal(apply_penalties(logits, generated[:, :0], 1.0, 1.0), logits)  # nothing generated yet
    with pytest.raises(ValueError, match=r"frequency_penalty=2.5 is outside \[-2, 2\]"):
        apply_penalties(logits, generated, frequency_penalty=2.5)


def test_generate_penalises_only_the_generated_tokens_at_every_step(model):
    prompt = torch.tensor([encode("the cat sat")])
    got = generate(model, prompt, 12, greedy=True, frequency_penalty=1.2, presence_penalty=0.5)
    idx = prompt
    for _ in range(12):  # the definition, step by step: counts over what was generated so far, not the prompt
        logits = model(idx)[0][:, -1].float()
        counts = torch.zeros(1, len(ALPHABET))
        for t in idx[0, prompt.size(1):].tolist():
            counts[0, t] += 1
        logits = logits - counts * 1.2 - (counts > 0).float() * 0.5
        idx = torch.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(got, idx)
    plain = generate(model, prompt, 12, greedy=True)
    assert len(set(got[0, 11:].tolist())) > len(set(plain[0, 11:].tolist()))  # the penalties spread the choices


def test_run_appends_start_continuation_and_restart_and_cuts_at_stop(model):
    backend = playground.CourseBackend(model, encode, decode)
    free = generate_text(model, encode, decode, "the cat", 20, greedy=True)[0]
    result = playground.run(backend, "the cat", playground.Settings(temperature=0, max_tokens=20))
    assert result.continuation == free and result.prompt == "the cat" + free and result.tokens is None
    stop = free[4]
    result = playground.run(backend, "the", playground.Settings(temperature=0, max_tokens=20, stop=(stop,),
                                                                start_text=" cat", restart_text="\nq:"))
    assert result.prompt == "the cat" + free[:free.index(stop)] + "\nq:"


def test_token_probabilities_are_the_models_own(model):
    backend = playground.CourseBackend(model, encode, decode)
    settings = playground.Settings(temperature=0.9, top_k=8, max_tokens=10, show_probabilities=True, seed=3)
    result = playground.run(backend, "a dog", settings)
    assert len(result.tokens) == 10 and "".join(t.text for t in result.tokens) == result.continuation
    ids = encode("a dog" + result.continuation)
    probs = model(torch.tensor([ids]))[0][0].softmax(-1)  # (T, vocab): row i predicts token i + 1
    for k, token in enumerate(result.tokens):
        row = probs[len("a dog") - 1 + k]
        assert token.prob == pytest.approx(row[ids[len("a dog") + k]].item(), abs=1e-5)
        best = row.topk(5)
        assert [a for a, _ in token.alternatives] == [decode([i]) for i in best.indices.tolist()]
    html = playground.tokens_html(result.tokens)
    assert html.count("<span") == 10 and "most likely" in html


def test_settings_out_of_range_are_one_line_errors():
    for bad, match in ((dict(temperature=3), "temperature=3"), (dict(top_p=0), "top_p=0"),
                       (dict(presence_penalty=-2.5), "presence_penalty=-2.5"), (dict(max_tokens=0), "max_tokens=0")):
        with pytest.raises(ValueError, match=match):
            playground.Settings(**bad)


def test_the_widget_button_appends_to_the_prompt_box(model):
    pg = playground.Playground(playground.CourseBackend(model, encode, decode), prompt="to be ",
                               settings=playground.Settings(max_tokens=15, show_probabilities=True))
    pg.controls["stop"].value = "\\n,;"
    assert pg.settings().stop == ("\n", ";")
    pg.button.click()
    assert pg.prompt.value.startswith("to be ") and pg.prompt.value == "to be " + pg.last.continuation
    assert pg.probabilities.value.count("<span") == len(pg.last.tokens) > 0
    first = pg.prompt.value
    pg.button.click()
    assert pg.prompt.value.startswith(first) and len(pg.prompt.value) > len(first)
