"""The GPT-3 playground in a notebook: a prompt box, the sampling controls, Generate, and probabilities.

    pg = Playground(CourseBackend(model, tok.encode, tok.decode), prompt="ROMEO:\\n")   # a course model
    pg = Playground(ApiBackend(client, model), prompt="Q: ...\\nA:")                  # any helpers.api client
    pg                      # shows the widget; Generate appends the continuation to the prompt

What the button does is one plain function, ``run(backend, prompt, settings) -> Result``: the widget
only reads its controls into a ``Settings``, calls ``run`` and shows the result. A backend says which
controls it cannot honour and why (``backend.unsupported``); the widget disables those and shows why.
"""
from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field, replace

import torch

from helpers.course.messages import joined, say, sentence
from helpers.generation import sampling

from . import client as api


@dataclass(frozen=True)
class Settings:
    """The playground's controls, with OpenAI's ranges (top_k is the course sampler's own)."""
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    max_tokens: int = 64
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    start_text: str = ""  # appended to the prompt before generating (the playground's "inject start text")
    restart_text: str = ""  # appended after the continuation ("inject restart text")
    show_probabilities: bool = False
    seed: int | None = 0

    def __post_init__(self):
        checks = [("temperature", 0 <= self.temperature <= 2, "use 0 (greedy) to 2"),
                  ("top_p", 0 < self.top_p <= 1, "use a value in (0, 1]; 1 turns it off"),
                  ("top_k", self.top_k >= 0, "use 0 (off) or a count of tokens"),
                  ("max_tokens", self.max_tokens >= 1, "ask for at least 1 token"),
                  ("frequency_penalty", -2 <= self.frequency_penalty <= 2, "use -2 to 2"),
                  ("presence_penalty", -2 <= self.presence_penalty <= 2, "use -2 to 2")]
        for name, ok, fix in checks:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)} is out of range: {fix}")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        object.__setattr__(self, "stop", tuple(s for s in self.stop if s))


@dataclass
class Token:
    """A generated token: its text, its probability, and the most likely tokens at its place with theirs."""
    text: str
    prob: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Result:
    """``prompt``: the new text of the prompt box; ``continuation``: what the model wrote; ``tokens``: None
    where probabilities were not asked for or the backend cannot give them (``note`` says which)."""
    prompt: str
    continuation: str
    tokens: list[Token] | None
    note: str = ""


class CourseBackend:
    """A course model (``helpers.models.gpt.GPT``, or a transformers model) decoded by
    ``helpers.generation.sampling``."""

    def __init__(self, model, encode, decode, name: str = "course model"):
        self.model = sampling.as_course_model(model)
        self.encode, self.decode, self.name = encode, decode, name
        self.unsupported: dict[str, str] = {}  # every control works here
        self.note = ""

    def complete(self, prompt: str, s: Settings) -> tuple[str, list[Token] | None]:
        ids = self.encode(prompt)
        if not ids:
            raise ValueError("the prompt encodes to no tokens: type some text the model knows")
        context = self.model.config.block_size
        device = next(self.model.parameters()).device
        idx = torch.tensor([ids[-context:]], device=device)  # a prompt longer than the context: its end
        generator = None if s.seed is None else torch.Generator(device=device).manual_seed(s.seed)
        steps = [] if s.show_probabilities else None
        out = sampling.generate(self.model, idx, s.max_tokens, temperature=s.temperature or 1.0, top_k=s.top_k,
                                top_p=s.top_p, greedy=s.temperature == 0, stop=list(s.stop) or None,
                                decode=self.decode, generator=generator, frequency_penalty=s.frequency_penalty,
                                presence_penalty=s.presence_penalty, record_logits=steps)
        new = out[0, idx.size(1):].tolist()
        text = sampling.trim_at_stop(self.decode(new), s.stop)
        if steps is None:
            return text, None
        n = max((k for k in range(len(new) + 1) if len(self.decode(new[:k])) <= len(text)), default=0)
        tokens = [Token(self.decode([t]), p, [(self.decode([a]), q) for a, q in alts])
                  for t, (p, alts) in zip(new[:n], sampling.token_probabilities(steps, new[:n]))]
        return text, tokens


class ApiBackend:
    """A model behind ``helpers.api``: the completions endpoint, probabilities only where it sends them."""

    def __init__(self, client, model: str, probe: bool = True):
        self.client, self.model, self.name = client, model, model
        self.unsupported = {"top_k": "the OpenAI API has no top-k setting (use top-p)"}
        if probe and api.completion(client, model, "Hello", max_tokens=1, logprobs=1, verbose=False).tokens is None:
            self.unsupported["show_probabilities"] = "this backend returns no log-probabilities"
        self.note = ("transformers serve ignores presence_penalty and applies frequency_penalty as a repetition "
                     "penalty of 1 + value, not OpenAI's subtraction") if api._backend(client) == "local" else ""

    def complete(self, prompt: str, s: Settings) -> tuple[str, list[Token] | None]:
        want = s.show_probabilities and "show_probabilities" not in self.unsupported
        c = api.completion(self.client, self.model, prompt, s.max_tokens, s.temperature, list(s.stop) or None,
                           s.seed, verbose=False, top_p=s.top_p, frequency_penalty=s.frequency_penalty,
                           presence_penalty=s.presence_penalty, logprobs=5 if want else None)
        if c.tokens is None:
            return c.text, None
        return c.text, [Token(t.token, t.prob, [(a, math.exp(lp)) for a, lp in t.top]) for t in c.tokens]


def run(backend, prompt: str, settings: Settings) -> Result:
    """Return what Generate does: prompt + start text + the model's continuation + restart text."""
    for name, why in backend.unsupported.items():
        if name == "top_k" and settings.top_k:
            raise ValueError(f"top_k={settings.top_k}: {why}; set it to 0")
    sent = prompt + settings.start_text
    text, tokens = backend.complete(sent, settings)
    note = ""
    if settings.show_probabilities and tokens is None:
        note = f"no probabilities: {backend.unsupported.get('show_probabilities', 'none returned')}"
    return Result(sent + text + settings.restart_text, text, tokens, note)


def _colour(p: float) -> str:
    """Return a background colour from red (unlikely) through yellow to green (likely)."""
    return f"hsl({120 * max(0.0, min(1.0, p)):.0f}, 75%, 78%)"


def _shown(text: str) -> str:
    return html.escape(text.replace("\n", "\\n").replace(" ", "␣") if text.strip() == "" else text)


def tokens_html(tokens: list[Token], table_rows: int = 12) -> str:
    """Return the continuation as coloured tokens (hover: the alternatives) and a table of the first tokens."""
    spans = []
    for t in tokens:
        likely = ", ".join(f"{a!r} {q:.3f}" for a, q in t.alternatives)
        tip = say(f"p = {t.prob:.3f}; most likely: {likely}")
        spans.append(f'<span title="{html.escape(tip)}" style="background:{_colour(t.prob)};'
                     f'white-space:pre-wrap">{_shown(t.text)}</span>')
    rows = "".join(f"<tr><td><code>{_shown(t.text)}</code></td><td>{t.prob:.3f}</td><td>"
                   + ", ".join(f"<code>{_shown(a)}</code> {q:.2f}" for a, q in t.alternatives) + "</td></tr>"
                   for t in tokens[:table_rows])
    return (f'<div style="font-family:monospace;line-height:1.7">{"".join(spans)}</div>'
            f'<table style="font-size:90%"><tr><th>{say("token")}</th><th>p</th>'
            f'<th>{say("most likely at its place")}</th></tr>'
            f"{rows}</table>")


def _stops(text: str) -> tuple[str, ...]:
    """Return the stop sequences typed as a comma-separated list; \\n and \\t are a line break and a tab."""
    return tuple(s.replace("\\n", "\n").replace("\\t", "\t") for s in text.split(",") if s)


class Playground:
    """The widget: a prompt box, the controls, Generate, a status line and (optionally) probabilities."""

    def __init__(self, backend, prompt: str = "", settings: Settings | None = None):
        import ipywidgets as w

        self.backend = backend
        s = settings or Settings()
        wide = dict(layout=w.Layout(width="98%"), style={"description_width": "initial"})
        self.prompt = w.Textarea(value=prompt, layout=w.Layout(width="98%", height="180px"))
        self.prompt.add_class("playground-prompt")
        self.controls = {
            "temperature": w.FloatSlider(value=s.temperature, min=0, max=2, step=0.05, description=say("temperature")),
            "top_p": w.FloatSlider(value=s.top_p, min=0.01, max=1, step=0.01, description=say("top p")),
            "top_k": w.IntSlider(value=s.top_k, min=0, max=100, description=say("top k (0: off)")),
            "max_tokens": w.IntSlider(value=s.max_tokens, min=1, max=512, description=say("maximum length")),
            "frequency_penalty": w.FloatSlider(value=s.frequency_penalty, min=-2, max=2, step=0.1,
                                               description=say("frequency penalty")),
            "presence_penalty": w.FloatSlider(value=s.presence_penalty, min=-2, max=2, step=0.1,
                                              description=say("presence penalty")),
            "stop": w.Text(value=",".join(x.replace("\n", "\\n") for x in s.stop),
                           description=say("stop sequences (comma-separated, \\n = line break)"), **wide),
            "start_text": w.Text(value=s.start_text.replace("\n", "\\n"), description=say("start text"), **wide),
            "restart_text": w.Text(value=s.restart_text.replace("\n", "\\n"), description=say("restart text"), **wide),
            "show_probabilities": w.Checkbox(value=s.show_probabilities, description=say("show probabilities")),
        }
        for c in self.controls.values():
            if isinstance(c, (w.FloatSlider, w.IntSlider)):
                c.style = {"description_width": "initial"}
        notes = []
        for name, why in backend.unsupported.items():
            self.controls[name].disabled = True
            notes.append(html.escape(sentence(say(f"{name.replace('_', ' ')} is off: {why}"))))
        if backend.note:
            notes.append(html.escape(sentence(say(backend.note))))
        self.seed = s.seed
        self.button = w.Button(description=say("Generate"), button_style="primary")
        self.button.add_class("playground-generate")
        self.button.on_click(lambda _: self.generate())
        self.status = w.HTML(f"<i>{html.escape(say(backend.name))}</i>")
        self.status.add_class("playground-status")
        self.probabilities = w.HTML()
        sliders = [self.controls[k] for k in ("temperature", "top_p", "top_k", "max_tokens",
                                              "frequency_penalty", "presence_penalty")]
        self.widget = w.VBox([self.prompt, w.HBox([w.VBox(sliders[:3]), w.VBox(sliders[3:])]),
                              self.controls["stop"],
                              w.HBox([self.controls["start_text"], self.controls["restart_text"]]),
                              w.HBox([self.controls["show_probabilities"], self.button]), w.HTML(" ".join(notes)),
                              self.status, self.probabilities])
        self.widget.add_class("course-playground")
        self.last: Result | None = None

    def settings(self) -> Settings:
        """Return the controls' current values as ``Settings`` (disabled controls at their neutral value)."""
        v = {k: c.value for k, c in self.controls.items()}
        v["stop"] = _stops(v["stop"])
        for k in ("start_text", "restart_text"):
            v[k] = v[k].replace("\\n", "\n")
        s = Settings(seed=self.seed, **v)
        return replace(s, top_k=0) if "top_k" in self.backend.unsupported else s

    def generate(self) -> Result | None:
        """What the Generate button does: run, append to the prompt box, show the probabilities."""
        self.button.disabled = True
        self.status.value = f"<i>{say('generating…')}</i>"
        start = time.perf_counter()
        try:
            self.last = run(self.backend, self.prompt.value, self.settings())
        except (ValueError, api.ApiError) as e:
            self.status.value = f"<b>✗</b> {html.escape(say(str(e)))}"
            return None
        finally:
            self.button.disabled = False
        self.prompt.value = self.last.prompt
        self.seed = None if self.seed is None else self.seed + 1  # the next click draws anew, reproducibly
        n, seconds = len(self.last.continuation), time.perf_counter() - start
        if self.last.tokens:
            wrote = say(f"wrote {n} characters ({len(self.last.tokens)} tokens) in {seconds:.1f} s")
        else:
            wrote = say(f"wrote {n} characters in {seconds:.1f} s")
        note = sentence(say(self.last.note)) if self.last.note else ""
        self.status.value = html.escape(joined(sentence(wrote), note))
        self.probabilities.value = tokens_html(self.last.tokens) if self.last.tokens else ""
        return self.last

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
