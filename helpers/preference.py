"""Instruction tuning (SFT) and preference tuning (DPO) of a chat model (Part V).

An example is a user prompt and an assistant response in the tokenizer's chat template. SFT
trains on the response tokens only (``encode_example`` returns that mask). DPO (Rafailov et al.
2023) compares the log-probability of a preferred (chosen) and a dispreferred (rejected) response
under the model being trained and under a frozen reference; with LoRA the reference is the same
model with its adapter switched off, so it costs no second copy of the weights.
"""
from __future__ import annotations

import inspect
import math
import random
import re
import unicodedata
from pathlib import Path

import torch
import torch.nn.functional as F

from .assets import asset_path
from .sentiment import load_movie_reviews as load_reviews  # noqa: F401  (notebook 10's reader, re-exported)
from .settings import REPO_ROOT

TRIVIA_MEMBER = "chatterbot_corpus/data/english/trivia.yml"
WORD_PAIRS = REPO_ROOT / "data" / "english_french_words.tsv"

INSTRUCTION = 'Reply with one line: "Answer: " followed by the short answer, nothing else.'
ANSWER_FORMAT = re.compile(r"Answer: [^\n]{1,60}")  # the whole response, one line


# ----------------------------------------------------------------------------- the three data sets

def load_trivia() -> list[tuple[str, str]]:
    """Return chatterbot-corpus's trivia as (question, answer) pairs, the malformed entry repaired."""
    import yaml  # PyYAML comes with transformers

    conversations = yaml.safe_load(asset_path("chatterbot", TRIVIA_MEMBER).read_text(encoding="utf-8"))["conversations"]
    pairs = []
    for entry in conversations:
        if isinstance(entry, str):  # one entry lost its "- " nesting: 'Question? - '22''
            question, _, answer = entry.rpartition(" - ")
            entry = [question, answer.strip("'\"")]
        question, answer = (str(x).strip() for x in entry)
        pairs.append((question, answer.rstrip(".").strip()))
    return pairs


def load_word_pairs(path: str | Path = WORD_PAIRS) -> list[tuple[str, list[str]]]:
    """Return (English word, accepted French translations) from the course's word list."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, french = line.split("\t")
            pairs.append((english, french.split("|")))
    return pairs


def make_tasks(n_reviews: int = 400, seed: int = 0) -> dict[str, list[dict]]:
    """Return the three tasks as lists of dicts: task, prompt, answers (accepted), others, response."""
    rng = random.Random(seed)
    trivia = [dict(task="trivia", prompt=f"{q}\n{INSTRUCTION}", answers=[a], others=[], response=f"Answer: {a}")
              for q, a in load_trivia() if len(a) <= 40]  # two answers are whole sentences, not short answers
    clear = [(s, v) for s, v in load_reviews() if abs(v) >= 1.5 and len(s.split()) <= 20]  # clear-cut, short
    pos = [s for s, v in clear if v > 0]
    neg = [s for s, v in clear if v < 0]
    rng.shuffle(pos)
    rng.shuffle(neg)
    reviews = [(s, "positive") for s in pos[:n_reviews // 2]] + [(s, "negative") for s in neg[:n_reviews // 2]]
    sentiment = [dict(task="sentiment", prompt=f"Is this movie review positive or negative?\nReview: {s}\n{INSTRUCTION}",
                      answers=[label], others=[{"positive": "negative", "negative": "positive"}[label]],
                      response=f"Answer: {label}") for s, label in reviews]
    translation = [dict(task="translation", prompt=f'Translate the English word "{w}" into French.\n{INSTRUCTION}',
                        answers=fr, others=[], response=f"Answer: {fr[0]}") for w, fr in load_word_pairs()]
    tasks = {"trivia": trivia, "sentiment": sentiment, "translation": translation}
    for rows in tasks.values():
        rng.shuffle(rows)
    return tasks


# ----------------------------------------------------------------------------- scoring answers

def _normal(text: str) -> str:
    """Lowercase, accents and punctuation off, leading articles dropped: 'The Pacific.' -> 'pacific'."""
    text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = re.sub(r"^(the|a|an|le|la|les|l|un|une) ", "", " ".join(text.split()))
    return text.strip()


def parse_answer(response: str) -> str | None:
    """Return the short answer if ``response`` is exactly one line 'Answer: ...', else None."""
    return response[len("Answer: "):].strip() if ANSWER_FORMAT.fullmatch(response) else None


def is_correct(response: str, example: dict) -> bool:
    """Return True when an accepted answer appears in ``response`` (whole words) and no wrong label does."""
    said = f" {_normal(response)} "
    found = lambda answer: f" {_normal(answer)} " in said  # noqa: E731
    return any(map(found, example["answers"])) and not any(map(found, example["others"]))


def score(responses: list[str], examples: list[dict]) -> dict[str, float]:
    """Return the shares of responses in the format, correct, and both (correct and in the format)."""
    fmt = [parse_answer(r) is not None for r in responses]
    right = [is_correct(r, e) for r, e in zip(responses, examples)]
    n = max(1, len(responses))
    return {"format": sum(fmt) / n, "correct": sum(right) / n, "both": sum(f and c for f, c in zip(fmt, right)) / n}


# ----------------------------------------------------------------------------- chat template and mask

def encode_example(tokenizer, prompt: str, response: str) -> tuple[list[int], list[bool]]:
    """Return (ids, mask) of prompt + response in the chat template; mask is True on the response tokens.

    The response tokens are the assistant's text and the end-of-turn token that closes it (the model
    must learn to stop); the system prompt, the user turn and the template's markers are not trained on.
    """
    if not response.strip():
        raise ValueError("empty response: an SFT example needs the assistant's answer to train on")
    if not prompt.strip():
        raise ValueError("empty prompt: give the user's instruction")
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("this tokenizer has no chat template, so a prompt cannot be put in chat form: "
                         "use an instruct model's tokenizer (e.g. helpers.load_tokenizer())")
    if any(marker in prompt for marker in tokenizer.all_special_tokens if marker in tokenizer.chat_template):
        raise ValueError("the prompt already contains chat-template markers: pass the plain user text, "
                         "encode_example applies the template itself")
    user = [{"role": "user", "content": prompt}]
    head = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    whole = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=False)
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    ids = tokenizer(whole, add_special_tokens=False)["input_ids"]
    if ids[:len(head_ids)] != head_ids:
        raise ValueError("the prompt's tokens change when the response follows them: end the prompt with a newline")
    end = len(ids) - 1 - ids[::-1].index(tokenizer.eos_token_id)  # the end-of-turn token after the response
    mask = [len(head_ids) <= i <= end for i in range(len(ids))]
    return ids, mask


def collate(examples: list[tuple[list[int], list[bool]]], pad_id: int):
    """Return right-padded tensors ids (B, T) long, mask (B, T) bool (response tokens), attention (B, T) bool."""
    T = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(examples), T, dtype=torch.bool)
    attention = torch.zeros(len(examples), T, dtype=torch.bool)
    for row, (x, m) in enumerate(examples):
        ids[row, :len(x)] = torch.tensor(x)
        mask[row, :len(m)] = torch.tensor(m)
        attention[row, :len(x)] = True
    return ids, mask, attention


# ----------------------------------------------------------------------------- losses

def response_labels(ids, mask):
    """Return transformers-style labels (B, T): the ids on the response, -100 (ignored) everywhere else.

    ``model(input_ids=ids, labels=labels).loss`` is then the SFT loss (transformers shifts them itself).
    """
    return ids.masked_fill(~mask, -100)


def response_loss(logits, ids, mask):
    """Return the SFT loss from logits (B, T, vocab): the mean cross-entropy over the response tokens.

    The logits at position t predict token t + 1, so the targets are ids[:, 1:] and their mask mask[:, 1:].
    """
    per_token = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), ids[:, 1:], reduction="none")  # (B, T-1)
    targets = mask[:, 1:]
    return (per_token * targets).sum() / targets.sum()


def response_logprobs(model, ids, mask, attention):
    """Return log p(ids[:, t+1] | ids[:, :t+1]) on the response tokens, 0 elsewhere: (B, T-1), float32.

    The output layer (576 x 49,152 for SmolLM2, a fifth of the model's multiply-adds per token) runs
    only at the positions the loss reads, so training and scoring skip most of its cost.
    """
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft: LoRA layers stay in place
    targets = mask[:, 1:]  # (B, T-1): position t predicts token t + 1
    if not hasattr(lm, "get_decoder") or lm.get_output_embeddings() is None:  # not a transformers causal LM
        logits = model(input_ids=ids, attention_mask=attention.long()).logits[:, :-1]  # (B, T-1, vocab)
        logp = -F.cross_entropy(logits.float().transpose(1, 2), ids[:, 1:], reduction="none")
        return logp * targets
    hidden = lm.get_decoder()(input_ids=ids, attention_mask=attention.long()).last_hidden_state[:, :-1]  # (B, T-1, C)
    logits = lm.get_output_embeddings()(hidden[targets]).float()  # (n response tokens, vocab)
    logp = torch.zeros(targets.shape, dtype=torch.float32, device=ids.device)
    logp[targets] = -F.cross_entropy(logits, ids[:, 1:][targets], reduction="none")
    return logp


def sequence_logprob(model, ids, mask, attention):
    """Return log π(response | prompt) per row (B,): the sum of the response tokens' log-probabilities."""
    return response_logprobs(model, ids, mask, attention).sum(dim=1)


def sft_loss(model, ids, mask, attention):
    """Return the mean next-token cross-entropy over the response tokens only (a scalar)."""
    return -response_logprobs(model, ids, mask, attention).sum() / mask[:, 1:].sum()


def dpo_rewards(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float = 0.1):
    """Return DPO's implicit rewards (chosen (B,), rejected (B,)): β · (log π(y|x) − log π_ref(y|x))."""
    return beta * (policy_chosen - ref_chosen), beta * (policy_rejected - ref_rejected)


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float = 0.1):
    """Return the mean DPO loss (Rafailov et al. 2023, eq. 7) from four (B,) log-probs: −log σ(r_chosen − r_rejected)."""
    chosen, rejected = dpo_rewards(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
    return -F.logsigmoid(chosen - rejected).mean()


def ipo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float = 0.1):
    """Return the mean IPO loss (Azar et al. 2023): (h − 1/(2β))², h the difference of the two log-ratios."""
    h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return ((h - 1 / (2 * beta)) ** 2).mean()


# ----------------------------------------------------------------------------- training loops

def _precision(model, dtype: str | None):
    """Return the Precision ``dtype`` means on the device of ``model``'s weights ("auto": chosen for it)."""
    from .precision import resolve

    return resolve(dtype, next(model.parameters()).device)


def _optimizer(model, lr: float) -> torch.optim.AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: add LoRA adapters first (helpers.finetune.add_lora)")
    return torch.optim.AdamW(params, lr=lr, weight_decay=0.0)


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of lr."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def _batches(n: int, batch_size: int, steps: int, seed: int):
    """Yield ``steps`` lists of indices: shuffled epochs over range(n)."""
    rng = random.Random(seed)
    order: list[int] = []
    for _ in range(steps):
        while len(order) < batch_size:
            epoch = list(range(n))
            rng.shuffle(epoch)
            order += epoch
        yield order[:batch_size]
        order = order[batch_size:]


def train_sft(model, examples, steps: int, batch_size: int = 8, lr: float = 1e-3, warmup: int = 10,
              seed: int = 0, dtype: str = "auto", progress: bool = True) -> list[float]:
    """Fine-tune ``model``'s trainable parameters on (ids, mask) examples; return the loss of each step."""
    from tqdm import tqdm

    if not examples:
        raise ValueError("no SFT examples: build some with encode_example(tokenizer, prompt, response)")
    pad_id = 0
    optimizer = _optimizer(model, lr)
    precision = _precision(model, dtype)
    scaler = precision.grad_scaler()  # float16 only
    model.train()
    losses = []
    for step, batch in enumerate(tqdm(_batches(len(examples), batch_size, steps, seed), total=steps,
                                      desc="SFT", disable=not progress, mininterval=1.0)):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, steps, lr, warmup)
        ids, mask, attention = collate([examples[i] for i in batch], pad_id)
        with precision.autocast():
            loss = sft_loss(model, ids, mask, attention)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    model.eval()
    return losses


def pair_logprobs(model, pairs, dtype: str = "auto"):
    """Return (chosen, rejected) log-probs (B,) of (chosen example, rejected example) pairs, in one forward."""
    ids, mask, attention = collate([c for c, _ in pairs] + [r for _, r in pairs], 0)  # (2B, T)
    with _precision(model, dtype).autocast():
        logps = sequence_logprob(model, ids, mask, attention)
    return logps[:len(pairs)], logps[len(pairs):]


@torch.no_grad()
def reference_logprobs(model, pairs, batch_size: int = 8, dtype: str = "auto"):
    """Return (chosen, rejected) log-probs (N,) of every pair under the reference: the adapter switched off."""
    model.eval()
    chosen, rejected = [], []
    with model.disable_adapter():  # peft: the base weights alone, i.e. the model before this adapter
        for i in range(0, len(pairs), batch_size):
            c, r = pair_logprobs(model, pairs[i:i + batch_size], dtype)
            chosen.append(c)
            rejected.append(r)
    return torch.cat(chosen), torch.cat(rejected)


def train_dpo(model, pairs, steps: int, batch_size: int = 4, lr: float = 5e-4, beta: float = 0.1,
              warmup: int = 5, seed: int = 0, dtype: str = "auto", progress: bool = True) -> dict[str, list[float]]:
    """Train a LoRA-wrapped ``model`` with DPO on (chosen, rejected) example pairs; return per-step history.

    The reference never changes, so its log-probs are computed once, up front, with the adapter off.
    History: loss, margin (mean reward_chosen − reward_rejected) and accuracy (share of pairs with margin > 0).
    """
    from tqdm import tqdm

    if not pairs:
        raise ValueError("no preference pairs: give (chosen, rejected) tuples of encode_example results")
    if not hasattr(model, "disable_adapter"):
        raise ValueError("DPO here needs a peft model (its adapter off is the reference): wrap it with add_lora first")
    ref_chosen, ref_rejected = reference_logprobs(model, pairs, dtype=dtype)
    optimizer = _optimizer(model, lr)
    scaler = _precision(model, dtype).grad_scaler()  # float16 only
    model.train()
    history: dict[str, list[float]] = {"loss": [], "margin": [], "accuracy": []}
    for step, batch in enumerate(tqdm(_batches(len(pairs), batch_size, steps, seed), total=steps,
                                      desc="DPO", disable=not progress, mininterval=1.0)):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, steps, lr, warmup)
        chosen, rejected = pair_logprobs(model, [pairs[i] for i in batch], dtype)
        loss = dpo_loss(chosen, rejected, ref_chosen[batch], ref_rejected[batch], beta)
        r_chosen, r_rejected = dpo_rewards(chosen.detach(), rejected.detach(), ref_chosen[batch], ref_rejected[batch], beta)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        margin = r_chosen - r_rejected
        history["loss"].append(loss.item())
        history["margin"].append(margin.mean().item())
        history["accuracy"].append((margin > 0).float().mean().item())
    model.eval()
    return history


# ----------------------------------------------------------------------------- answering

@torch.no_grad()
def _generate(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int, precision,
              n: int = 1, **sampling) -> list[str]:
    """Return ``n`` chat responses per prompt (prompt-major order), each cut at its end-of-turn token."""
    model.eval()
    device = next(model.parameters()).device
    responses = []
    for i in range(0, len(prompts), batch_size):
        heads = [tokenizer(tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                         add_generation_prompt=True),
                           add_special_tokens=False)["input_ids"] for p in prompts[i:i + batch_size]]
        T = max(map(len, heads))
        ids = torch.full((len(heads), T), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros(len(heads), T, dtype=torch.long)
        for row, h in enumerate(heads):  # left-padded, so every prompt ends where generation starts
            ids[row, T - len(h):] = torch.tensor(h)
            attention[row, T - len(h):] = 1
        ids, attention, cache = ids.to(device), attention.to(device), None
        with precision.autocast():
            if n > 1:  # the n answers share their prompt: run it once and copy its keys and values n times
                positions = (attention.cumsum(-1) - 1).clamp_min(0)  # as generate counts them under left padding
                cache = model(input_ids=ids[:, :-1], attention_mask=attention[:, :-1], position_ids=positions[:, :-1],
                              use_cache=True).past_key_values
                cache.batch_repeat_interleave(n)
                ids, attention = ids.repeat_interleave(n, dim=0), attention.repeat_interleave(n, dim=0)
            if cache is not None:  # transformers 5.24 renamed past_key_values to cache (the old name warns)
                base = model.get_base_model() if hasattr(model, "get_base_model") else model
                keyword = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
                sampling = {**sampling, keyword: cache}
            out = model.generate(input_ids=ids, attention_mask=attention, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id, **sampling)
        for row in out[:, T:].tolist():
            if tokenizer.eos_token_id in row:
                row = row[:row.index(tokenizer.eos_token_id)]
            responses.append(tokenizer.decode(row))
    return responses


def generate_answers(model, tokenizer, prompts: list[str], max_new_tokens: int = 24, batch_size: int = 16,
                     dtype: str = "auto") -> list[str]:
    """Return the model's greedy chat responses to ``prompts`` (text up to its end-of-turn token)."""
    return _generate(model, tokenizer, prompts, max_new_tokens, batch_size, _precision(model, dtype), do_sample=False)


def sample_answers(model, tokenizer, prompts: list[str], n: int, temperature: float = 1.0, max_new_tokens: int = 24,
                   batch_size: int = 16, seed: int = 0, dtype: str = "auto") -> list[list[str]]:
    """Return ``n`` sampled chat responses for each prompt: a list (one per prompt) of ``n`` strings.

    Sampling uses its own seeded random stream, so the caller's random state is left as it was.
    """
    if n < 1 or temperature <= 0:
        raise ValueError(f"n={n}, temperature={temperature}: sample at least one answer at a temperature above 0 "
                         "(for the single most likely answer use generate_answers)")
    with torch.random.fork_rng():
        precision = _precision(model, dtype)  # before seeding: choosing it may time a matmul of random numbers
        torch.manual_seed(seed)
        flat = _generate(model, tokenizer, prompts, max_new_tokens, max(1, batch_size // n), precision, n=n,
                         do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
    return [flat[i * n:(i + 1) * n] for i in range(len(prompts))]
