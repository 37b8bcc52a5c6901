"""Settings given two ways: as keywords (``train_sft(model, examples, steps=24)``) or as a config
dataclass (``train_sft(model, examples, config=SFTConfig(steps=24))``), checked in one place.

Each training function with more than a handful of settings has a dataclass (``FinetuneConfig``,
``SFTConfig``, ``DPOConfig``, and the loop's ``TrainConfig``) whose ``__post_init__`` checks the
values, so a bad one fails before any work, with a message that says what to give instead.
"""
from __future__ import annotations

from dataclasses import fields, replace


def merged(cls, config, settings: dict, function: str):
    """Return ``config`` (default: ``cls``'s defaults) with the keyword ``settings`` replacing its values."""
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise TypeError(f"{function} got unknown settings {unknown}: its settings are {cls.__name__}'s fields "
                        f"({', '.join(names)})")
    return replace(config, **settings) if config is not None else cls(**settings)


def check_positive(config, *names: str) -> None:
    """Raise a one-line ValueError unless each named field of ``config`` is a whole number of at least 1."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: give a positive whole number")
