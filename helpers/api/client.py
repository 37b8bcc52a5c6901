"""One OpenAI-compatible client for the course: OpenAI, the Hugging Face router, or a local server.

``get_client()`` picks a backend: ``OPENAI_API_KEY`` → OpenAI; else ``HF_TOKEN`` → Hugging Face's
OpenAI-compatible router; else a local ``transformers serve`` that this module starts on
127.0.0.1, serving the offline SmolLM2-135M folder (``helpers.data.pretrained.model_dir()``).
``complete`` and ``chat`` wrap the two endpoints so every backend behaves the same way: stop
sequences are cut from the text, usage (and a cost estimate on a paid backend) is printed, and the
errors a learner meets become one line that says what to do. ``completion`` also returns each
token's log-probability where the backend sends them (OpenAI does; ``transformers serve`` does not).
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field

from helpers.data.pretrained import load_tokenizer
from helpers.generation.sampling import trim_at_stop

from .local_server import LOCAL_MODEL, ApiError, LocalServer

OPENAI_CHAT_MODEL = "gpt-4o-mini"
# OpenAI's completions endpoint serves this Instruct model (tuned to follow instructions) and two base models,
# davinci-002 and babbage-002, trained only to predict the next token as GPT-3 was: name one of those as
# `model=` for the faithful stand-in for GPT-3's few-shot prompting
OPENAI_COMPLETION_MODEL = "gpt-3.5-turbo-instruct"
HF_ROUTER_URL = "https://router.huggingface.co/v1"
HF_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
LOCAL_CONTEXT = 8192  # SmolLM2's max_position_embeddings

# USD per million tokens (input, output): OpenAI's list prices as published in 2025. Prices change;
# see https://openai.com/api/pricing before trusting a figure here.
PRICES_USD_PER_M = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-3.5-turbo-instruct": (1.50, 2.00),
}


_SERVER: LocalServer | None = None  # the one get_client() started; stopped at exit


def _secret(name: str) -> str | None:
    """Return ``name`` from the environment, else from Colab's secrets, else None."""
    value = os.environ.get(name)
    if value:
        return value.strip()
    if "google.colab" in sys.modules:
        try:
            from google.colab import userdata

            return (userdata.get(name) or "").strip() or None
        except Exception:  # no such secret, or access to it not granted
            return None
    return None


def get_client(ask: bool = False):
    """Return (openai.OpenAI client, model name): OpenAI, the HF router, or a local server, in that order.

    ``ask=True`` prompts for an OpenAI key (hidden input) when none is set and Python is interactive.
    """
    import openai

    global _SERVER
    key = _secret("OPENAI_API_KEY")
    interactive = "ipykernel" in sys.modules or (sys.stdin is not None and sys.stdin.isatty())
    if not key and ask and interactive:
        import getpass

        key = getpass.getpass("OpenAI API key (empty: use another backend): ").strip() or None
    if key:
        print(f"backend: OpenAI ({OPENAI_CHAT_MODEL}; completions go to {OPENAI_COMPLETION_MODEL})")
        return openai.OpenAI(api_key=key, max_retries=0), OPENAI_CHAT_MODEL
    token = _secret("HF_TOKEN")
    if token:
        print(f"backend: Hugging Face router ({HF_MODEL})")
        return openai.OpenAI(base_url=HF_ROUTER_URL, api_key=token, max_retries=0), HF_MODEL
    if _SERVER is None or _SERVER.proc is None or _SERVER.proc.poll() is not None:
        _SERVER = LocalServer().start()
    print(f"backend: local transformers serve on 127.0.0.1 ({LOCAL_MODEL}, {_SERVER.dtype}, "
          f"ready in {_SERVER.start_seconds:.1f} s)")
    return _SERVER.client(), LOCAL_MODEL


def stop_local_server() -> None:
    """Stop the local server that get_client() started, if any."""
    if _SERVER is not None:
        _SERVER.stop()


# --- calls ---------------------------------------------------------------------------------------

def _is_local(client) -> bool:
    return str(client.base_url).startswith("http://127.0.0.1:")


def _backend(client) -> str:
    url = str(client.base_url)
    if "api.openai.com" in url:
        return "openai"
    return "hf" if "huggingface" in url else "local" if _is_local(client) else "other"


def completion_model(client, model: str) -> str | None:
    """Return the model name to send to ``client.completions.create``, or None where there is no such endpoint.

    On OpenAI that is an Instruct model; its base models (davinci-002, babbage-002) take the same call.
    """
    backend = _backend(client)
    if backend == "hf":
        return None  # the router offers only chat completions
    return OPENAI_COMPLETION_MODEL if backend == "openai" and model == OPENAI_CHAT_MODEL else model


_TOKENIZER = None


def _count_tokens(text: str) -> int:
    """Return the number of SmolLM2 tokens in ``text`` (used where a backend reports no usage)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = load_tokenizer()
    return len(_TOKENIZER.encode(text, add_special_tokens=False))


class Usage:
    """Running totals of tokens and estimated cost over many calls (pass one as ``usage=``)."""

    def __init__(self):
        self.calls = self.prompt_tokens = self.completion_tokens = 0
        self.cost = 0.0
        self.seconds = 0.0

    def add(self, prompt: int, completion: int, cost: float, seconds: float) -> None:
        self.calls += 1
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cost += cost
        self.seconds += seconds

    def __str__(self) -> str:
        cost = f", ≈ ${self.cost:.4f}" if self.cost else ""
        rate = self.calls / self.seconds if self.seconds else 0.0
        return (f"{self.calls} calls, {self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens"
                f"{cost}, {rate:.2f} calls/s")


def _cost(model: str, prompt: int, completion: int) -> float:
    price_in, price_out = PRICES_USD_PER_M.get(model, (0.0, 0.0))
    return (prompt * price_in + completion * price_out) / 1e6


def _call(client, model, create, retries: int, base_delay: float, **kwargs):
    """Call ``create(model=model, **kwargs)``; retry 429s with backoff; turn known failures into ApiError."""
    import openai

    for attempt in range(retries + 1):
        try:
            return create(model=model, **kwargs)
        except openai.RateLimitError as e:
            if attempt == retries:
                raise ApiError(f"429 from the backend after {retries + 1} tries ({_message(e)}): no credit left or "
                               f"too many requests — wait a minute, add credit or raise your limit, or unset the key "
                               f"to use the free local server") from None
            time.sleep(base_delay * 2 ** attempt)
        except openai.AuthenticationError as e:
            raise ApiError(f"401 from the backend ({_message(e)}): the key was refused — check OPENAI_API_KEY or "
                           f"HF_TOKEN (no quotes or spaces), make a new key, or unset it to use the local "
                           f"server") from None
        except (openai.NotFoundError, openai.BadRequestError) as e:
            text = _message(e)
            low = text.lower()
            if "context" in low or "maximum" in low and "token" in low:
                raise ApiError(f"the prompt is longer than the model's context ({text}): shorten it, use fewer "
                               f"examples, or lower max_tokens") from None
            if "model" in low or "pinned" in low:
                raise ApiError(f"the backend does not know the model {model!r} ({text}): use the name that "
                               f"get_client() returned") from None
            raise ApiError(f"{e.status_code} from the backend: {text}") from None
        except openai.APIConnectionError:
            raise ApiError(f"no answer from {client.base_url} (server stopped, or no network): call "
                           f"helpers.api.get_client() again to start or reach a backend") from None


def _message(e) -> str:
    """Return the server's error message (OpenAI's error JSON, FastAPI's 'detail', or the text)."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner.get("detail") or inner)[:300]
        return str(body.get("detail") or inner)[:300]
    return str(getattr(e, "message", e))[:300]


def _check_context(client, prompt_text: str, max_tokens: int) -> None:
    """Raise ApiError before sending when a local prompt cannot fit SmolLM2's context."""
    if _is_local(client):
        n = _count_tokens(prompt_text)
        if n + max_tokens > LOCAL_CONTEXT:
            raise ApiError(f"the prompt is {n:,} tokens and max_tokens {max_tokens}, more than the model's context "
                           f"of {LOCAL_CONTEXT:,}: shorten it or use fewer examples")


def _report(client, model, response, prompt_text, text, seconds, verbose, usage):
    """Print (if verbose) and tally this call's token usage and estimated cost."""
    u = getattr(response, "usage", None)
    counted = not (u and u.prompt_tokens)
    prompt = _count_tokens(prompt_text) if counted else u.prompt_tokens
    completion = _count_tokens(text) if counted else u.completion_tokens
    cost = _cost(model, prompt, completion)
    if usage is not None:
        usage.add(prompt, completion, cost, seconds)
    if verbose:
        how = " (counted with the SmolLM2 tokenizer: the backend reported none)" if counted else ""
        price = f", ≈ ${cost:.6f}" if cost else ""
        print(f"[{prompt} prompt + {completion} completion tokens{price}{how}, {seconds:.1f} s]")


@dataclass
class TokenLogprob:
    """One generated token, its log-probability, and the most likely tokens at its position with theirs."""
    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)


@dataclass
class Completion:
    """What a call returned: the text (cut at the stop sequences) and, where the backend sent them, its tokens."""
    text: str
    tokens: list[TokenLogprob] | None  # None: the backend returned no log-probabilities
    finish_reason: str | None = None


def _sampling_fields(temperature, top_p, frequency_penalty, presence_penalty, stop, seed) -> dict:
    """Return the request's optional fields, leaving out those not set (so each backend uses its default)."""
    fields = dict(temperature=temperature, top_p=top_p, frequency_penalty=frequency_penalty,
                  presence_penalty=presence_penalty, stop=stop or None, seed=seed)
    return {k: v for k, v in fields.items() if v is not None}


def _completion_tokens(logprobs) -> list[TokenLogprob] | None:
    """Return the tokens of a completions response's ``logprobs`` (None when it has none)."""
    if logprobs is None or not getattr(logprobs, "tokens", None):
        return None
    tops = logprobs.top_logprobs or [{}] * len(logprobs.tokens)
    return [TokenLogprob(t, lp, sorted((top or {}).items(), key=lambda kv: -kv[1]))
            for t, lp, top in zip(logprobs.tokens, logprobs.token_logprobs, tops)]


def _chat_tokens(logprobs) -> list[TokenLogprob] | None:
    """Return the tokens of a chat response's ``logprobs.content`` (None when it has none)."""
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if not content:
        return None
    return [TokenLogprob(c.token, c.logprob, [(t.token, t.logprob) for t in (c.top_logprobs or [])]) for c in content]


def _cut_tokens(tokens: list[TokenLogprob] | None, length: int) -> list[TokenLogprob] | None:
    """Return the leading tokens whose text fits in the first ``length`` characters (the text after a stop cut)."""
    if tokens is None:
        return None
    kept, used = [], 0
    for t in tokens:
        if used + len(t.token) > length:
            break
        kept.append(t)
        used += len(t.token)
    return kept


def completion(client, model: str, prompt: str, max_tokens: int = 32, temperature: float = 0.0, stop=None,
               seed: int | None = None, verbose: bool = True, usage: Usage | None = None,
               retries: int = 3, base_delay: float = 2.0, *, top_p: float | None = None,
               frequency_penalty: float | None = None, presence_penalty: float | None = None,
               logprobs: int | None = None) -> Completion:
    """Return the ``Completion`` of ``prompt`` (completions endpoint): text cut at ``stop``, tokens if sent.

    ``logprobs=n`` asks for each token's log-probability and the n most likely alternatives; a backend
    that ignores it (``transformers serve`` does) gives ``tokens=None``. Settings left at None are not sent.
    """
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string")
    _check_context(client, prompt, max_tokens)
    name = completion_model(client, model)
    if name is None:  # no completions endpoint (the HF router): send the prompt as one user turn
        return chat_completion(client, model, [{"role": "user", "content": prompt}], max_tokens, temperature, stop,
                               seed, verbose, usage, retries, base_delay, top_p=top_p, logprobs=logprobs,
                               frequency_penalty=frequency_penalty, presence_penalty=presence_penalty)
    extra = _sampling_fields(temperature, top_p, frequency_penalty, presence_penalty, stop, seed)
    if logprobs:
        extra["logprobs"] = logprobs
    start = time.perf_counter()
    r = _call(client, name, client.completions.create, retries, base_delay, prompt=prompt, max_tokens=max_tokens,
              **extra)
    choice = r.choices[0]
    text = trim_at_stop(choice.text, stop)  # some servers leave the stop in
    _report(client, name, r, prompt, text, time.perf_counter() - start, verbose, usage)
    tokens = _completion_tokens(getattr(choice, "logprobs", None)) if logprobs else None
    return Completion(text, _cut_tokens(tokens, len(text)), choice.finish_reason)


def complete(client, model: str, prompt: str, max_tokens: int = 32, temperature: float = 0.0, stop=None,
             seed: int | None = None, verbose: bool = True, usage: Usage | None = None,
             retries: int = 3, base_delay: float = 2.0, **settings) -> str:
    """Return the text the model writes after ``prompt`` (completions endpoint), cut at ``stop``.

    ``settings``: ``top_p``, ``frequency_penalty``, ``presence_penalty`` (see ``completion``).
    """
    return completion(client, model, prompt, max_tokens, temperature, stop, seed, verbose, usage, retries,
                      base_delay, **settings).text


def chat_completion(client, model: str, messages: list[dict], max_tokens: int = 64, temperature: float = 0.0,
                    stop=None, seed: int | None = None, verbose: bool = True, usage: Usage | None = None,
                    retries: int = 3, base_delay: float = 2.0, *, top_p: float | None = None,
                    frequency_penalty: float | None = None, presence_penalty: float | None = None,
                    logprobs: int | None = None) -> Completion:
    """Return the assistant's reply to ``messages`` (chat endpoint) as a ``Completion``, cut at ``stop``."""
    if not messages or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
        raise ValueError('messages must be a non-empty list of {"role": ..., "content": ...} dicts')
    prompt_text = "\n".join(m["content"] for m in messages)
    _check_context(client, prompt_text, max_tokens)
    extra = _sampling_fields(temperature, top_p, frequency_penalty, presence_penalty, stop, seed)
    if logprobs:
        extra.update(logprobs=True, top_logprobs=logprobs)
    start = time.perf_counter()
    r = _call(client, model, client.chat.completions.create, retries, base_delay, messages=messages,
              max_tokens=max_tokens, **extra)
    choice = r.choices[0]
    text = trim_at_stop(choice.message.content or "", stop)
    _report(client, model, r, prompt_text, text, time.perf_counter() - start, verbose, usage)
    tokens = _chat_tokens(getattr(choice, "logprobs", None)) if logprobs else None
    return Completion(text, _cut_tokens(tokens, len(text)), choice.finish_reason)


def chat(client, model: str, messages: list[dict], max_tokens: int = 64, temperature: float = 0.0, stop=None,
         seed: int | None = None, verbose: bool = True, usage: Usage | None = None,
         retries: int = 3, base_delay: float = 2.0, **settings) -> str:
    """Return the assistant's reply to ``messages`` (chat endpoint), cut at ``stop``
    (settings: see ``chat_completion``)."""
    return chat_completion(client, model, messages, max_tokens, temperature, stop, seed, verbose, usage, retries,
                           base_delay, **settings).text
