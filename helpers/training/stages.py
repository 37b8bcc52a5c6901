"""InstructGPT's first two stages as notebook 11 runs them, saved so that notebook 12 starts where 11 ended.

Notebook 11 builds the SFT model and the reward model step by step, then saves them as two named
runs: ``checkpoint/11_sft`` (the SFT LoRA adapter, a few MB) and ``checkpoint/11_reward_model``
(the reward head, and the held-out answers of notebook 11's stages for notebook 12's table).
Notebook 12 calls ``load_stages``: it loads them when they were saved with the same settings, and
otherwise rebuilds them with the same calls notebook 11 makes (a few minutes on a laptop).

    stages = load_stages(notebook_11_settings())   # .model (SFT adapter merged), .tokenizer, .reward_model, .answers
    test, dpo_prompts, sft_data = split_tasks(T.make_tasks(n_reviews=400, seed=0), n_test=20, n_dpo=20)
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from helpers.course.runtime import is_quick
from helpers.data import tasks as T
from helpers.data.pretrained import load_pretrained
from helpers.generation.chat import sample_answers
from helpers.models.lora import add_lora

from . import preference as P
from . import reward as R
from .runs import RUN_INFO, _swap_in, base_name, building, load_run_files, save_run

SFT_RUN = "11_sft"
REWARD_RUN = "11_reward_model"
REWARD_HEAD = "reward_head.pt"
TASK_SEED, N_REVIEWS = 0, 400  # notebook 11's make_tasks(n_reviews=400, seed=0)
# notebook 11's settings (its helpers.settings call; a test keeps the two equal), full and quick mode
NOTEBOOK_11 = dict(n_test=20, n_dpo=20, sft_steps=24, dpo_steps=16, n_samples=4, max_new_tokens=12)
NOTEBOOK_11_QUICK = dict(n_test=2, n_dpo=2, sft_steps=3, dpo_steps=2, n_samples=2, max_new_tokens=8)


def notebook_11_settings() -> dict:
    """Return the settings notebook 11 runs with in this mode (quick mode: COURSE_QUICK=1)."""
    return dict(NOTEBOOK_11_QUICK if is_quick() else NOTEBOOK_11)


def split_tasks(tasks: dict[str, list[dict]], n_test: int, n_dpo: int):
    """Return notebook 11's split (test, dpo_prompts, sft_data): per task, the first ``n_test`` examples are
    held out, the next ``n_dpo`` are the preference stage's prompts, the rest is SFT data."""
    test = [e for rows in tasks.values() for e in rows[:n_test]]
    dpo_prompts = [e for rows in tasks.values() for e in rows[n_test:n_test + n_dpo]]
    sft_data = [e for rows in tasks.values() for e in rows[n_test + n_dpo:]]
    return test, dpo_prompts, sft_data


def preference_pairs(tokenizer, examples: list[dict], samples: list[list[str]]):
    """Return (pairs, shown): per prompt, the right answer (chosen) against its first sample that is wrong
    or ill-formed (rejected), as encode_example results; ``shown`` holds (prompt, sample) indices."""
    pairs, shown = [], []
    for i, (e, answers) in enumerate(zip(examples, samples)):
        bad = [j for j, a in enumerate(answers) if not (T.parse_answer(a) is not None and T.is_correct(a, e))]
        if bad:
            reply = answers[bad[0]]
            pairs.append((P.encode_example(tokenizer, e["prompt"], e["response"]),
                          P.encode_example(tokenizer, e["prompt"], reply if reply.strip() else "…")))
            shown.append((i, bad[0]))
    return pairs, shown


def save_sft(model, tokenizer, settings: dict, checkpoint_dir: str | Path = "checkpoint") -> Path:
    """Save the SFT model's LoRA adapter as the run ``11_sft``, with the settings it was trained with."""
    info = {"base_model": base_name(model), "method": "lora", "settings": dict(settings)}
    return save_run(model, tokenizer, Path(checkpoint_dir) / SFT_RUN, info)


def save_reward_model(reward_model: R.RewardModel, settings: dict, answers: dict[str, list[str]] | None = None,
                      checkpoint_dir: str | Path = "checkpoint") -> Path:
    """Save the reward head (not the frozen LM) as the run ``11_reward_model``, with notebook 11's held-out
    answers by stage (``answers``: {"SFT": [...], "DPO": [...], ...}) for notebook 12's table."""
    folder = Path(checkpoint_dir) / REWARD_RUN
    tmp = building(folder)
    head = {k: v for k, v in reward_model.state_dict().items() if not k.startswith("lm.")}
    torch.save(head, tmp / REWARD_HEAD)
    info = {"base_model": base_name(reward_model.lm), "method": "reward head", "settings": dict(settings),
            "answers": answers or {}}
    (tmp / RUN_INFO).write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    _swap_in(tmp, folder)
    return folder


@dataclass
class Stages:
    """Where stage 3 starts: the SFT model (adapter merged into the weights), its tokenizer, the reward model,
    and notebook 11's held-out answers by stage (empty when the stages were rebuilt here)."""
    model: object
    tokenizer: object
    reward_model: R.RewardModel
    answers: dict[str, list[str]] = field(default_factory=dict)
    rebuilt: bool = False


def _saved_settings(folder: Path) -> dict | None:
    path = folder / RUN_INFO
    return json.loads(path.read_text(encoding="utf-8")).get("settings") if path.exists() else None


def load_stages(settings: dict, checkpoint_dir: str | Path = "checkpoint", progress: bool = True) -> Stages:
    """Return the Stages notebook 11 saved with these ``settings``; rebuild (and save) them when there are none.

    ``settings``: notebook 11's n_test, n_dpo, sft_steps, n_samples and max_new_tokens (more keys are
    compared too). A run saved with other settings (quick mode, say) is rebuilt, not used.
    """
    checkpoint_dir = Path(checkpoint_dir)
    settings = dict(settings)
    sft, head = checkpoint_dir / SFT_RUN, checkpoint_dir / REWARD_RUN
    try:
        if _saved_settings(sft) == settings and _saved_settings(head) == settings:
            model, tokenizer, _ = load_run_files(sft, trainable=False)
            reward_model = R.RewardModel(load_pretrained(base_name(model))[0])
            reward_model.load_state_dict(torch.load(head / REWARD_HEAD, map_location="cpu"), strict=False)
            answers = json.loads((head / RUN_INFO).read_text(encoding="utf-8"))["answers"]
            return Stages(model.merge_and_unload().eval(), tokenizer, reward_model, answers)
    except (OSError, ValueError, KeyError, RuntimeError):  # a run half-written by another process right now
        pass
    start = time.perf_counter()
    print("notebook 11's SFT and reward models are not saved with these settings: rebuilding them as it does")
    model, tokenizer = load_pretrained()
    _, dpo_prompts, sft_data = split_tasks(T.make_tasks(n_reviews=N_REVIEWS, seed=TASK_SEED), settings["n_test"],
                                           settings["n_dpo"])
    model = add_lora(model, r=8, alpha=16)
    examples = [P.encode_example(tokenizer, e["prompt"], e["response"]) for e in sft_data]
    P.train_sft(model, examples, steps=settings["sft_steps"], batch_size=4, lr=1e-3, warmup=5, progress=progress)
    save_sft(model, tokenizer, settings, checkpoint_dir)
    samples = sample_answers(model, tokenizer, [e["prompt"] for e in dpo_prompts], n=settings["n_samples"],
                             max_new_tokens=settings["max_new_tokens"], batch_size=128, seed=0)
    pairs, _ = preference_pairs(tokenizer, dpo_prompts, samples)
    reward_model = R.RewardModel(load_pretrained()[0])
    R.train_reward_model(reward_model, pairs, steps=200, progress=progress)
    save_reward_model(reward_model, settings, {}, checkpoint_dir)
    print(f"rebuilt in {time.perf_counter() - start:.0f} s and saved under {checkpoint_dir.as_posix()}/")
    return Stages(model.merge_and_unload().eval(), tokenizer, reward_model, {}, rebuilt=True)
