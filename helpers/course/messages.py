"""The course's messages in the notebook's language: ``say(text)`` returns ``text`` in ``COURSE_LANG``.

The Japanese notebooks' set-up cell sets ``COURSE_LANG=ja``; everything else leaves it unset (English).
What a learner reads from the course machinery while a notebook runs (the exercises' checker lines, the
"is my run normal?" verdict, the playground's labels) goes through ``say``, which looks the English up in
a message catalog (``messages_ja.py``) and falls back to the English when a sentence has no entry. One
implementation speaks every language: the catalog only holds sentences.

A catalog key is the English sentence, with ``{}`` where the code fills in a value (an f-string's
fields): ``"expected a tensor of shape {}, got {}"``. Its translation places the same values with
``{0}``, ``{1}``, ... (any order) or ``{}`` (in order). A value that is itself a sentence of the catalog
(a hint inside "calling your code raised ...") is translated too.

Low layer: imports nothing of ours, so the packages above (api's playground, the checkers) may use it.
"""
from __future__ import annotations

import functools
import importlib
import os
import re

LANG_ENV = "COURSE_LANG"  # "ja" in the Japanese notebooks; unset or "en": English
LANGUAGES = ("en", "ja")
_FIELD = re.compile(r"\{(\d*)\}")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana or kanji


def language() -> str:
    """Return the language of the course's messages: ``COURSE_LANG`` ("en" or "ja"), English by default."""
    lang = os.environ.get(LANG_ENV, "").strip().lower() or "en"
    return lang if lang in LANGUAGES else "en"


@functools.cache
def catalog(lang: str) -> tuple[dict[str, str], list[tuple[re.Pattern, str]]]:
    """Return (exact sentences, [(pattern of a template with fields, its translation)]) for ``lang``."""
    if lang == "en":
        return {}, []
    messages = importlib.import_module(f"{__package__}.messages_{lang}").MESSAGES
    exact = {key: value for key, value in messages.items() if "{}" not in key}
    templates = []
    for key, value in messages.items():
        if "{}" in key:
            literal = [re.escape(part) for part in key.split("{}")]
            templates.append((re.compile("^" + "(.+?)".join(literal) + "$", re.DOTALL), value))
    templates.sort(key=lambda item: -len(item[0].pattern))  # the most specific template first
    return exact, templates


def translate(text: str, lang: str) -> str:
    """Return ``text`` in ``lang`` from its catalog (the English itself when the catalog has no entry)."""
    if lang == "en" or not text:
        return text
    exact, templates = catalog(lang)
    if text in exact:
        return exact[text]
    for pattern, translation in templates:
        found = pattern.match(text)
        if found:
            # a value that is a sentence (a hint, a case's name) is translated too; a single word (a setting's
            # name in "temperature=3 is out of range") stays as the code wrote it
            values = [translate(value, lang) if " " in value.strip() else value for value in found.groups()]
            return _fill(translation, values)
    return text


def _fill(template: str, values: list[str]) -> str:
    """Put ``values`` into the ``{}`` / ``{0}`` fields of ``template`` (literal braces elsewhere stay)."""
    position = iter(range(len(values)))

    def field(match: re.Match) -> str:
        index = int(match.group(1)) if match.group(1) else next(position)
        return values[index]

    return _FIELD.sub(field, template)


def say(text: str) -> str:
    """Return ``text`` in the language of this notebook (``COURSE_LANG``)."""
    return translate(text, language())


def sentence(text: str) -> str:
    """Return ``text`` ending with one full stop (。 in Japanese), or with its own question mark or ellipsis."""
    if text.endswith(("...", "…")):
        return text
    text = text.rstrip(".。")
    if text.endswith(("?", "？")):
        return text
    return text + ("。" if JAPANESE.search(text) else ".")


def joined(*sentences: str) -> str:
    """Return the sentences one after the other: a space after an English full stop, none after 。, ？ or ！."""
    out = ""
    for text in filter(None, sentences):
        out += ("" if not out or out.endswith(("。", "？", "！")) else " ") + text
    return out
