"""'Is my run normal?': a training run's loss curve against the course's full-mode reference.

Each training notebook stores the loss curve of its committed full-mode run under
``data/reference/<name>.json`` (with the device, precision and settings it came from). After a
learner's run, ``check_run`` plots their curve over the reference band and prints one verdict:

    within the expected band   the end of the curve is where the reference's was (± a tolerance)
    better than the reference  lower: more steps, a luckier seed, or a faster machine's bigger run
    off                        NaN, diverged, stuck, or well above the band; with the likely causes

    verdict = helpers.check_run("04_pretraining", history, settings=dict(steps=2500, lr=1e-3))

A run with other settings than the reference's (quick mode, changed sizes) is still checked for
NaN, divergence and a flat curve, and the verdict says that the band does not apply.
"""
from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path

from .messages import say
from .runtime import REPO_ROOT, get_device, is_quick

REFERENCE_DIR = REPO_ROOT / "data" / "reference"
WRITE_ENV = "COURSE_WRITE_REFERENCE"  # set to 1 when executing the committed notebooks: their runs become the reference
TOLERANCE = 0.05  # the band: ± 5% of the reference loss (seeds, precision and machines move a curve this much)
CAUSES = {
    "nan": "the loss became NaN or infinite: a learning rate far too high, float16 without a gradient scaler, "
           "or bad input (check COURSE_DTYPE, the learning rate, the data)",
    "diverged": "the loss climbed back up: the learning rate is too high for this model and batch "
                "(lower it, keep the warm-up, keep gradient clipping on)",
    "stuck": "the loss barely moved: the learning rate is too low (or 0), no parameter trains "
             "(requires_grad / LoRA targets), or the run is far too short",
    "high": "the run ended well above the reference: fewer steps or tokens than the reference, a changed "
            "learning rate or schedule, or another precision/device (see the settings above)",
}


def _losses(history) -> tuple[list[int], list[float]]:
    """Return (steps, losses) of a helpers.training.loop History, a dict with 'loss', or a plain list of losses."""
    if isinstance(history, dict):
        losses = list(history["loss"])
        return list(history.get("step") or range(1, len(losses) + 1)), losses
    if hasattr(history, "loss"):
        steps = list(getattr(history, "step", []) or range(len(history.loss)))
        return [s + 1 for s in steps] if steps and steps[0] == 0 else steps, list(history.loss)
    losses = [float(x) for x in history]
    return list(range(1, len(losses) + 1)), losses


def smoothing_window(n: int) -> int:
    """Return the running-mean window for a curve of ``n`` losses: a tenth of it (at least 1)."""
    return max(1, n // 10)


def smooth(values: list[float], window: int) -> list[float]:
    """Return the running mean of ``values`` over the last ``window`` points (shorter at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _interpolate(x: float, xs: list[float], ys: list[float]) -> float:
    if x <= xs[0]:
        return ys[0]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def _machine() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def reference_path(name: str) -> Path:
    return REFERENCE_DIR / f"{name}.json"


def save_reference(name: str, history, settings: dict, precision: str = "", device: str = "",
                   folder: Path | None = None) -> Path:
    """Write the reference curve ``name`` (at most ~400 points of the smoothed loss) and return its path."""
    steps, losses = _losses(history)
    window = smoothing_window(len(losses))
    smoothed = smooth(losses, window)
    stride = max(1, len(losses) // 400)
    keep = sorted(set(range(0, len(losses), stride)) | {len(losses) - 1})
    half = losses[len(losses) // 2:]
    # a step's scatter: successive differences over the second half, /√2 (a trend of a few steps adds little)
    noise = [abs(b - a) / math.sqrt(2) for a, b in zip(half, half[1:])]
    if not precision and not getattr(history, "precision", ""):
        from .precision import choose_precision  # a plain list of losses: the precision this machine trains in

        precision = choose_precision().name
    record = {"name": name, "settings": settings,
              "device": device or getattr(history, "device", "") or str(get_device()),
              "precision": precision or getattr(history, "precision", ""), "machine": _machine(),
              "steps": [steps[i] for i in keep], "loss": [round(smoothed[i], 5) for i in keep],
              "window": window, "noise": round(sum(noise) / max(1, len(noise)), 5)}
    path = (folder or REFERENCE_DIR) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def load_reference(name: str, folder: Path | None = None) -> dict | None:
    """Return the stored reference ``name``, or None if there is none."""
    path = (folder or REFERENCE_DIR) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def band(reference: dict, ref: float, n_last: int) -> float:
    """Return the half-width of the expected band around the reference's mean loss ``ref`` (over ``n_last`` steps).

    5% of it, or three standard errors of a mean over the last 20% of steps when the run's own
    scatter (the reference's ``noise``: successive losses' mean difference, /√2) is larger,
    as it is in a run of a few dozen steps: about n_last + window − 1 losses enter that mean.
    """
    points = max(1, n_last + reference.get("window", 1) - 1)
    return max(TOLERANCE * ref, 3 * reference.get("noise", 0.0) / math.sqrt(points))


def verdict(steps: list[int], losses: list[float], reference: dict | None, settings: dict) -> tuple[str, str]:
    """Return (kind, sentence): kind is "normal", "better", "off", or "unchecked"; the sentence says why."""
    if not losses:
        return "off", "no losses recorded: did the run train at all?"
    bad = next((s for s, v in zip(steps, losses) if not math.isfinite(v)), None)
    if bad is not None:
        return "off", f"off: the loss is not a number from step {bad} on. Likely: {CAUSES['nan']}"
    window = smoothing_window(len(losses))
    curve = smooth(losses, window)
    start, end, lowest = curve[min(window, len(curve)) - 1], curve[-1], min(curve)
    if end > lowest * 1.3 and end > lowest + 0.3:
        return "off", f"off: the loss fell to {lowest:.3f}, then climbed to {end:.3f}. Likely: {CAUSES['diverged']}"
    if len(losses) >= 10 and end > 0.97 * losses[0] and end > start - 0.02:
        return "off", f"off: the loss went from {losses[0]:.3f} to only {end:.3f}. Likely: {CAUSES['stuck']}"
    if reference is None:
        return "unchecked", ("no reference stored for this run: only checked for NaN, divergence and a flat curve "
                             "(all fine)")
    differ = {k: (v, reference["settings"].get(k)) for k, v in settings.items() if reference["settings"].get(k) != v}
    if differ:  # two lists of "name value", no words between them: the sentence around them is translated whole
        yours = ", ".join(f"{k} {mine}" for k, (mine, _) in differ.items())
        theirs = ", ".join(f"{k} {ref}" for k, (_, ref) in differ.items())
        return "unchecked", (f"your settings ({yours}) differ from the reference's ({theirs}), so its band does not "
                             f"apply; checked for NaN, divergence and a flat curve instead: all fine")
    last = [i for i, s in enumerate(steps) if s >= 0.8 * steps[-1]]
    curve = smooth(losses, reference.get("window", window))  # smoothed as the reference was: a fair comparison
    mine = sum(curve[i] for i in last) / len(last)
    ref = sum(_interpolate(steps[i], reference["steps"], reference["loss"]) for i in last) / len(last)
    tolerance = band(reference, ref, len(last))
    if tolerance > TOLERANCE * ref * 1.001:
        where = (f"your {mine:.3f} vs the reference's {ref:.3f} ± {tolerance:.3f} (±{tolerance / ref:.0%}: a short "
                 f"run's losses scatter), means over the last 20% of steps")
    else:
        where = f"your {mine:.3f} vs the reference's {ref:.3f} ± {tolerance:.3f}, means over the last 20% of steps"
    if mine > ref + tolerance:
        return "off", f"off: above the expected band ({where}). Likely: {CAUSES['high']}"
    if mine < ref - tolerance:
        return "better", f"better than the reference ({where}): nothing to worry about"
    return "normal", f"within the expected band ({where})"


def check_run(name: str, history, settings: dict | None = None, plot: bool = True, folder: Path | None = None,
              label: str = "training loss") -> str:
    """Compare a run with the stored reference ``name``: plot both, print the verdict, return its kind.

    ``label`` names the curve on the plot's axis (any curve where lower is better: 1 − reward, say).

    When ``COURSE_WRITE_REFERENCE=1`` and not in quick mode (the author executing the committed
    notebooks), the run is first stored as the new reference.
    """
    settings = dict(settings or {})
    steps, losses = _losses(history)
    if os.environ.get(WRITE_ENV) == "1" and not is_quick():
        save_reference(name, history, settings, folder=folder)
    reference = load_reference(name, folder)
    kind, sentence = verdict(steps, losses, reference, settings)
    mark = {"normal": "✓", "better": "✓", "unchecked": "·", "off": "✗"}[kind]
    print(f"{mark} {say('is this run normal?')} {say(sentence)}")
    if reference is not None:
        where = f"{reference['device']}, {reference['precision'] or 'float32'}, {reference['machine']}"
        print("  " + say(f"(reference: {where})"))
    if plot:
        _plot(steps, losses, reference, name, kind, label)
    return kind


def _plot(steps, losses, reference, name, kind, label="training loss"):
    """Your curve over the reference and the verdict's band (its half-width from ``band``, at the run's end)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    window = max(1, len(losses) // 50)
    ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.8)
    ax.plot(steps, smooth(losses, window), color="tab:blue", lw=1.6, label=say("your run"))
    if reference is not None:
        ref = reference["loss"]
        n_last = sum(s >= 0.8 * reference["steps"][-1] for s in range(1, reference["steps"][-1] + 1))
        half = [band(reference, r, n_last) for r in ref]  # the verdict's band at each point of the reference
        ax.fill_between(reference["steps"], [r - h for r, h in zip(ref, half)], [r + h for r, h in zip(ref, half)],
                        color="tab:gray", alpha=0.3, label=say("reference and the verdict's band"))
        ax.plot(reference["steps"], ref, color="tab:gray", lw=1)
    title = say(name)  # the catalog names a notebook in its language: "04_pretraining" -> "事前学習"
    if title == name:
        title = name.split("_", 1)[-1].replace("_", " ")  # "04_pretraining" -> "pretraining"
    ax.set(xlabel=say("step"), ylabel=say(label), title=f"{say('is this run normal?')} {title}: {say(kind)}")
    finite = [v for v in losses if math.isfinite(v)]
    if finite:  # the whole band in view, and the run's end; not a first loss many times higher
        low = min(finite + ([r - h for r, h in zip(ref, half)] if reference is not None else []))
        high = max([min(max(finite), 3 * max(finite[-len(finite) // 2:] or finite)),
                    *([r + h for r, h in zip(ref, half)] if reference is not None else [])])
        ax.set_ylim(low - 0.05 * abs(low), high * 1.05)
    ax.legend()
    plt.show()
