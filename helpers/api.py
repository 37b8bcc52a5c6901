"""One OpenAI-compatible client for the course: OpenAI, the Hugging Face router, or a local server.

``get_client()`` picks a backend: ``OPENAI_API_KEY`` → OpenAI; else ``HF_TOKEN`` → Hugging Face's
OpenAI-compatible router; else a local ``transformers serve`` that this module starts on
127.0.0.1, serving the offline SmolLM2-135M folder (``helpers.pretrained.model_dir()``).
``complete`` and ``chat`` wrap the two endpoints so every backend behaves the same way: stop
sequences are cut from the text, usage (and a cost estimate on a paid backend) is printed, and the
errors a learner meets become one line that says what to do.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .pretrained import DEFAULT_MODEL, model_dir
from .settings import cache_dir

OPENAI_CHAT_MODEL = "gpt-4o-mini"
OPENAI_COMPLETION_MODEL = "gpt-3.5-turbo-instruct"  # OpenAI's completions endpoint serves only this family
HF_ROUTER_URL = "https://router.huggingface.co/v1"
HF_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
LOCAL_MODEL = "SmolLM2-135M-Instruct"  # the name the local server answers to
LOCAL_CONTEXT = 8192  # SmolLM2's max_position_embeddings

# USD per million tokens (input, output): OpenAI's list prices as published in 2025. Prices change;
# see https://openai.com/api/pricing before trusting a figure here.
PRICES_USD_PER_M = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-3.5-turbo-instruct": (1.50, 2.00),
}


class ApiError(RuntimeError):
    """A request or a server failed; the message says why and what to do, in one line."""


# --- the local server -----------------------------------------------------------------------------

def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _link_or_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` a symlink to ``src``; a hard link or a copy where symlinks are not allowed."""
    for make in (os.symlink, os.link, shutil.copyfile):
        try:
            make(src, dst)
            return
        except OSError:
            continue


def served_folder(source: Path | None = None) -> Path:
    """Return a folder named after LOCAL_MODEL that links the converted model's files, ready to serve.

    Its generation_config samples by default (do_sample) as OpenAI does at temperature 1;
    transformers' default would be greedy whatever temperature a request asks for.
    """
    source = Path(source or model_dir(DEFAULT_MODEL))
    folder = cache_dir() / "served" / LOCAL_MODEL
    if (folder / ".source").exists() and (folder / ".source").read_text() == str(source.resolve()):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for f in source.iterdir():
        if f.name != "generation_config.json":
            _link_or_copy(f.resolve(), folder / f.name)
    config = json.loads((source / "generation_config.json").read_text()) if (source / "generation_config.json").exists() else {}
    config.update(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
    (folder / "generation_config.json").write_text(json.dumps(config, indent=1))
    (folder / ".source").write_text(str(source.resolve()))
    return folder


def _fast_dtype() -> str:
    """Return the precision the course picks for this machine's device (helpers.precision)."""
    from .precision import choose_precision

    return choose_precision().name


class LocalServer:
    """A ``transformers serve`` process on 127.0.0.1 serving one model folder; start() then stop()."""

    def __init__(self, folder: Path | None = None, port: int | None = None, dtype: str | None = None):
        self.folder = Path(folder) if folder else None  # None: the offline SmolLM2 (linked on start)
        self.port = port
        self.dtype = dtype
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.start_seconds: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> "LocalServer":
        """Start the server, wait until it answers, and return self; ApiError with its log tail if not."""
        folder = self.folder or served_folder()
        self.port = self.port or _free_port()
        self.dtype = self.dtype or _fast_dtype()
        hub = cache_dir() / "hub"  # `/v1/models` scans the hub cache and fails if the folder is missing
        hub.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HF_HUB_CACHE=str(hub), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        # half the cores: the server shares the machine with the notebook's kernel, and torch threads
        # that outnumber free cores wait on each other (measured here: 0.6 vs 16.5 tokens/s on 2 cores)
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) // 2)))
        self.log_path = cache_dir() / "served" / f"server-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-c", "import sys; from transformers.cli.transformers import main; "
               "sys.argv[0] = 'transformers'; sys.exit(main())",
               "serve", folder.name, "--host", "127.0.0.1", "--port", str(self.port), "--dtype", self.dtype]
        started = time.perf_counter()
        with open(self.log_path, "wb") as log:  # the child keeps its own handle
            # run from the folder's parent so the model is named by its folder name (no machine path)
            self.proc = subprocess.Popen(cmd, cwd=folder.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = started + timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise ApiError(f"the local server exited (code {code}) before it answered; its log ends: "
                               f"{self.log_tail()} — fix that, or set OPENAI_API_KEY / HF_TOKEN to use a remote backend")
            if self._answers():
                break
            if time.perf_counter() > deadline:
                tail = self.log_tail()
                self.stop()
                raise ApiError(f"the local server did not answer within {timeout:.0f} s (a busy machine?); "
                               f"its log ends: {tail} — try again with a longer timeout")
            time.sleep(0.25)
        self.start_seconds = time.perf_counter() - started
        return self

    def _answers(self) -> bool:
        """Return True when GET /v1/models answers 200 within a second."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=1.0) as r:
                return r.status == 200
        except OSError:
            return False

    def log_tail(self, lines: int = 3) -> str:
        """Return the last non-empty lines of the server's log, joined on one line."""
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").replace("\r", "\n")
        # traceback frames name files on this machine and say little; the error lines say what broke
        kept = [line.strip() for line in text.splitlines()
                if line.strip() and not line.strip().startswith(("File ", "^", "~"))][-lines:]
        return " | ".join(kept) or "(empty log)"

    def stop(self) -> None:
        """Stop the server process (politely, then by force) and wait until it is gone."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)

    def client(self):
        """Return an ``openai.OpenAI`` client that talks to this server."""
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key="local", max_retries=0, timeout=300)

    def __enter__(self) -> "LocalServer":
        return self if self.proc else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def local_server(folder: Path | None = None, dtype: str | None = None):
    """Yield (client, model name) of a local server that stops when the ``with`` block ends."""
    server = LocalServer(folder, dtype=dtype).start()
    try:
        print(f"backend: local transformers serve ({LOCAL_MODEL}, {server.dtype}, ready in {server.start_seconds:.1f} s)")
        yield server.client(), LOCAL_MODEL
    finally:
        server.stop()


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
    return "openai" if "api.openai.com" in url else "hf" if "huggingface" in url else "local" if _is_local(client) else "other"


def completion_model(client, model: str) -> str | None:
    """Return the model name to send to ``client.completions.create``, or None where there is no such endpoint."""
    backend = _backend(client)
    if backend == "hf":
        return None  # the router offers only chat completions
    return OPENAI_COMPLETION_MODEL if backend == "openai" and model == OPENAI_CHAT_MODEL else model


def trim_stop(text: str, stop) -> str:
    """Return ``text`` cut before the first occurrence of any stop sequence (some servers leave it in)."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:cut]


_TOKENIZER = None


def _count_tokens(text: str) -> int:
    """Return the number of SmolLM2 tokens in ``text`` (used where a backend reports no usage)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        from .pretrained import load_tokenizer

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
                           f"HF_TOKEN (no quotes or spaces), make a new key, or unset it to use the local server") from None
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


def complete(client, model: str, prompt: str, max_tokens: int = 32, temperature: float = 0.0, stop=None,
             seed: int | None = None, verbose: bool = True, usage: Usage | None = None,
             retries: int = 3, base_delay: float = 2.0) -> str:
    """Return the text the model writes after ``prompt`` (completions endpoint), cut at ``stop``.

    One sample per call: the local server ignores ``n`` and ``logprobs``, so we use neither.
    """
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string")
    _check_context(client, prompt, max_tokens)
    name = completion_model(client, model)
    if name is None:  # no completions endpoint (the HF router): send the prompt as one user turn
        return chat(client, model, [{"role": "user", "content": prompt}], max_tokens, temperature, stop, seed,
                    verbose, usage, retries, base_delay)
    extra = {"stop": stop} if stop else {}
    if seed is not None:
        extra["seed"] = seed
    start = time.perf_counter()
    r = _call(client, name, client.completions.create, retries, base_delay, prompt=prompt,
              max_tokens=max_tokens, temperature=temperature, **extra)
    text = trim_stop(r.choices[0].text, stop)
    _report(client, name, r, prompt, text, time.perf_counter() - start, verbose, usage)
    return text


def chat(client, model: str, messages: list[dict], max_tokens: int = 64, temperature: float = 0.0, stop=None,
         seed: int | None = None, verbose: bool = True, usage: Usage | None = None,
         retries: int = 3, base_delay: float = 2.0) -> str:
    """Return the assistant's reply to ``messages`` (chat endpoint), cut at ``stop``."""
    if not messages or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
        raise ValueError('messages must be a non-empty list of {"role": ..., "content": ...} dicts')
    prompt_text = "\n".join(m["content"] for m in messages)
    _check_context(client, prompt_text, max_tokens)
    extra = {"stop": stop} if stop else {}
    if seed is not None:
        extra["seed"] = seed
    start = time.perf_counter()
    r = _call(client, model, client.chat.completions.create, retries, base_delay, messages=messages,
              max_tokens=max_tokens, temperature=temperature, **extra)
    text = trim_stop(r.choices[0].message.content or "", stop)
    _report(client, model, r, prompt_text, text, time.perf_counter() - start, verbose, usage)
    return text


def few_shot_prompt(description: str, examples, query: str, arrow: str = "=>") -> str:
    """Return a GPT-3-style prompt: the task description, one ``x => y`` line per example, ``query =>``."""
    lines = [description.strip(), ""] if description else []
    lines += [f"{x} {arrow} {y}" for x, y in examples]
    lines.append(f"{query} {arrow}")
    return "\n".join(lines)
