"""A local OpenAI-compatible server: ``transformers serve`` on 127.0.0.1, serving the offline SmolLM2.

``helpers.api.get_client()`` starts one when no API key is set; ``LocalServer`` and ``local_server``
start one by hand. The server runs in the precision ``helpers.course.precision`` picks for this machine.
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

from helpers.course.precision import choose_precision
from helpers.course.runtime import cache_dir
from helpers.data.assets import building_folder, place_folder
from helpers.data.pretrained import DEFAULT_MODEL, model_dir

LOCAL_MODEL = "SmolLM2-135M-Instruct"  # the name the local server answers to


class ApiError(RuntimeError):
    """A request or a server failed; the message says why and what to do, in one line."""


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
    building = building_folder(folder)  # two processes starting servers at once never see half of it
    building.mkdir(parents=True)
    for f in source.iterdir():
        if f.name != "generation_config.json":
            _link_or_copy(f.resolve(), building / f.name)
    generation = source / "generation_config.json"
    config = json.loads(generation.read_text()) if generation.exists() else {}
    config.update(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
    (building / "generation_config.json").write_text(json.dumps(config, indent=1))
    (building / ".source").write_text(str(source.resolve()))
    if (folder / ".source").exists() and (folder / ".source").read_text() != str(source.resolve()):
        shutil.rmtree(folder, ignore_errors=True)  # served another model: replaced, not kept
    place_folder(building, folder, ".source")
    return folder


def _fast_dtype() -> str:
    """Return the precision the course picks for this machine's device (helpers.course.precision)."""
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

    def start(self, timeout: float = 180.0) -> LocalServer:
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
                               f"{self.log_tail()} — fix that, or set OPENAI_API_KEY / HF_TOKEN to use a remote "
                               f"backend")
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

    def __enter__(self) -> LocalServer:
        return self if self.proc else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def local_server(folder: Path | None = None, dtype: str | None = None):
    """Yield (client, model name) of a local server that stops when the ``with`` block ends."""
    server = LocalServer(folder, dtype=dtype).start()
    try:
        print(f"backend: local transformers serve ({LOCAL_MODEL}, {server.dtype}, "
              f"ready in {server.start_seconds:.1f} s)")
        yield server.client(), LOCAL_MODEL
    finally:
        server.stop()
