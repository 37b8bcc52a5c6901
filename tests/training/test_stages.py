"""Notebook 11's stages saved for notebook 12: the split, the pairs, the settings, a save/load round trip, a rebuild."""
import ast
import json

import pytest
import torch

import helpers
from helpers.data import tasks as T
from helpers.models.lora import add_lora
from helpers.training import preference as P
from helpers.training import stages as S
from helpers.training.reward import RewardModel
from tests.notebooks.cells import ROOT, load_cells, source


def settings_call(notebook: str) -> tuple[dict, dict]:
    """Return (full, quick) keyword settings of the notebook's ``helpers.settings(...)`` call."""
    for cell in load_cells(ROOT / "notebooks" / f"{notebook}.ipynb"):
        if cell["cell_type"] == "code" and "helpers.settings(" in source(cell):
            for node in ast.walk(ast.parse(source(cell))):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "settings":
                    full = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg != "quick"}
                    quick = next((k.value for k in node.keywords if k.arg == "quick"), None)  # dict(...)
                    return full, {k.arg: ast.literal_eval(k.value) for k in getattr(quick, "keywords", [])}
    raise AssertionError(f"{notebook} has no helpers.settings call")


def test_notebook_11_runs_with_the_settings_notebook_12_looks_for():
    full, quick = settings_call("11_instruction_tuning")
    assert full == S.NOTEBOOK_11 and quick == S.NOTEBOOK_11_QUICK


def test_split_tasks_is_notebook_11s_and_shares_no_prompt():
    tasks = T.make_tasks(n_reviews=40, seed=0)
    test, dpo, sft = S.split_tasks(tasks, n_test=3, n_dpo=2)
    assert len(test) == 3 * len(tasks) and len(dpo) == 2 * len(tasks)
    assert len(test) + len(dpo) + len(sft) == sum(map(len, tasks.values()))
    prompts = [{e["prompt"] for e in part} for part in (test, dpo, sft)]
    assert not (prompts[0] & prompts[1] or prompts[0] & prompts[2] or prompts[1] & prompts[2])
    assert test[0] == tasks["trivia"][0] and dpo[0] == tasks["trivia"][3]


def test_preference_pairs_choose_the_right_answer_and_reject_the_first_bad_sample(tok):
    example = {"prompt": "Is it good?", "answers": ["positive"], "others": ["negative"], "response": "Answer: positive"}
    examples = [example] * 3
    samples = [["Answer: positive", "Answer: negative", "nope"],  # the first bad one is the wrong answer
               ["Answer: positive", "Answer: positive", "Answer: positive"],  # all right: no pair
               ["", "Answer: negative", "Answer: positive"]]  # an empty reply is rejected as "…"
    pairs, shown = S.preference_pairs(tok, examples, samples)
    assert shown == [(0, 1), (2, 0)]
    assert pairs[0] == (P.encode_example(tok, "Is it good?", "Answer: positive"),
                        P.encode_example(tok, "Is it good?", "Answer: negative"))
    assert pairs[1][1] == P.encode_example(tok, "Is it good?", "…")


def test_saved_stages_load_back_as_they_were(tmp_path, tiny_folder):
    settings = dict(S.NOTEBOOK_11_QUICK)
    model, tok = helpers.load_pretrained(str(tiny_folder), device="cpu")
    sft = add_lora(model)
    with torch.no_grad():
        for name, p in sft.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.3, generator=torch.Generator().manual_seed(1))
    ids = torch.tensor([tok("Answer: positive")["input_ids"]])
    with torch.no_grad():
        want = sft(input_ids=ids).logits
    reward_model = RewardModel(helpers.load_pretrained(str(tiny_folder), device="cpu")[0])
    with torch.no_grad():
        reward_model.head.weight.normal_(0, 1, generator=torch.Generator().manual_seed(2))
        reward_model.mean.fill_(0.5)
    example = P.encode_example(tok, "Is it good?", "Answer: positive")
    want_reward = reward_model.score([example])
    S.save_sft(sft, tok, settings, tmp_path)
    S.save_reward_model(reward_model, settings, {"SFT": ["Answer: positive"]}, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {S.SFT_RUN, S.REWARD_RUN}
    assert not any(k.startswith("lm.") for k in torch.load(tmp_path / S.REWARD_RUN / S.REWARD_HEAD))  # the head only
    stages = S.load_stages(settings, tmp_path)
    assert not stages.rebuilt and stages.answers == {"SFT": ["Answer: positive"]}
    assert not hasattr(stages.model, "disable_adapter")  # the SFT adapter merged into plain weights
    with torch.no_grad():
        assert torch.allclose(stages.model(input_ids=ids).logits, want, atol=1e-4)
    assert torch.allclose(stages.reward_model.score([example]), want_reward, atol=1e-5)
    info = json.loads((tmp_path / S.SFT_RUN / "run.json").read_text())
    assert info["settings"] == settings and info["method"] == "lora"


@pytest.mark.real_weights
def test_stages_saved_with_other_settings_are_rebuilt_and_saved(tmp_path, smollm2, capsys):
    small = dict(n_test=1, n_dpo=2, sft_steps=1, dpo_steps=1, n_samples=2, max_new_tokens=4)
    (tmp_path / S.SFT_RUN).mkdir()
    (tmp_path / S.SFT_RUN / "run.json").write_text(json.dumps({"settings": {**small, "sft_steps": 9}}))
    stages = S.load_stages(small, tmp_path, progress=False)
    assert stages.rebuilt and stages.answers == {}
    assert "rebuilding" in capsys.readouterr().out
    again = S.load_stages(small, tmp_path, progress=False)  # now saved with these settings: loaded
    assert not again.rebuilt
    prompt = [e["prompt"] for e in S.split_tasks(T.make_tasks(n_reviews=40, seed=0), 1, 2)[0]][:1]
    from helpers.generation.chat import generate_answers
    assert generate_answers(again.model, again.tokenizer, prompt, max_new_tokens=4) == \
        generate_answers(stages.model, stages.tokenizer, prompt, max_new_tokens=4)
