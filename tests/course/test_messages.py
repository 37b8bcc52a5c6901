"""The Japanese message catalog (helpers/course/messages_ja.py) against the code that speaks through it.

Every key must still be a sentence the code can produce (a reworded message leaves a dead key behind),
every sentence a checker can print must have an entry, and each translation must carry its key's fields
and be Japanese. Then real checkers, the "is this run normal?" verdict, its plot and the playground are
run with ``COURSE_LANG=ja`` and unset, and ``tools/translate.py``'s ``translate_line`` (which builds the
Japanese notebooks' committed outputs from the English ones) must turn each English line into exactly
the Japanese line the same call printed.

Strings are read from the source with ``ast``: an f-string becomes its template (each field ``{}``),
implicit concatenations are one string already, and ``a + b`` or ``a if c else b`` give every string
the expression can evaluate to.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import torch

from helpers.course import messages
from helpers.course import reference as R
from helpers.course.checks import (
    attention,
    decoding,
    few_shot_prompting,
    gpt_block,
    pretraining,
    scaling_laws,
    tokenization,
)
from helpers.course.messages_ja import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / "helpers"
CHECKS = HELPERS / "course" / "checks"

spec = importlib.util.spec_from_file_location("translate", ROOT / "tools" / "translate.py")
translate = sys.modules["translate"] = importlib.util.module_from_spec(spec)  # (its dataclasses look it up)
spec.loader.exec_module(translate)

# An English word of prose: two letters or more, not part of a name, a call, an attribute or a keyword
# argument (``torch.softmax``, ``alpha=``, ``train_bpe(`` are code, and stay as they are in Japanese).
PROSE = re.compile(r"(?<![\w.<'/\\])[A-Za-z]{2,}(?![\w.(=\[>])")
FIELD = re.compile(r"\{(\d*)\}")

# The inputs the checkers give to the learner's functions: they are shown, if at all, as quoted values.
DATA = {
    "Translate English to French.", "plush giraffe", "Say the opposite.", "Label the sentiment.", "dull plot",
    "The sentiment is negative.", "Positive, not negative", "Not sure; negative I think",
    "The review is negative, not positive.", "Negatively put? No: positive.", "sea otter", "loutre de mer",
    "great film", "  POSITIVE\n\nReview:", "Cats sleep a lot", "no number", "Mensa offers an IQ test",
    "There are 206 bones", "Just a title", "The cat sat", "the cat", "dogs dogs dogs bark", "dogs sleep", "A B C",
    "a b c", "Trump signs the bill", "Senate passes the bill today", "good boye", "a heck of a grow", "zy ab",
    "x. y. z.", "xy xy xy xy ab ac ad", "ab ab ab xy", "aaa aaa aaa", "a banana and a bandana", "Shall I",
    "compare thee",
    "Shall I compare thee to a summer's day? Thou art more lovely and more temperate: Rough winds do shake "
    "the darling buds of May, And summer's lease hath all too short a date.",
}


def templates(node: ast.AST) -> list[str] | None:
    """Return the strings the expression can evaluate to ({} for each f-string field), or None if not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = templates(node.left), templates(node.right)
        return None if left is None or right is None else [a + b for a in left for b in right]
    if isinstance(node, ast.IfExp):
        body, orelse = templates(node.body), templates(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def strings(node: ast.AST, skip: set[int] = frozenset()) -> list[str]:
    """Return every string expression's templates in ``node``, the largest first, then each of its parts too."""
    found = [] if id(node) in skip else (templates(node) or [])
    for child in ast.iter_child_nodes(node):
        found += strings(child, skip)
    return found


def outermost(node: ast.AST, skip: set[int]) -> list[str]:
    """Return the templates of the largest string expressions in ``node`` (not their parts), docstrings left out."""
    if id(node) in skip:
        return []
    found = templates(node)
    if found is not None:
        return found
    return [t for child in ast.iter_child_nodes(node) for t in outermost(child, skip)]


def docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node, clean=False)}


def notebook_code(path: Path) -> list[ast.AST]:
    """Return the parsed code cells of a notebook (IPython's % and ! lines, with their continuations, left out)."""
    trees = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        python, shell = [], False
        for line in "".join(cell["source"]).splitlines():
            shell = shell or line.lstrip().startswith(("%", "!"))
            if not shell:
                python.append(line)
            shell = shell and line.rstrip().endswith("\\")
        trees.append(ast.parse("\n".join(python)))
    return trees


def is_prose(text: str) -> bool:
    """True when ``text`` holds English words besides code and fields (so it needs a translation)."""
    return bool(PROSE.search(FIELD.sub(" ", text)))


def checker_sentences() -> dict[str, str]:
    """Return {sentence: where} for every sentence of prose a checker can print, including the hints kept in
    tables (variants, cases) and the values an f-string fills in with words (a case's name, a cause)."""
    found = {}
    for path in sorted(CHECKS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for text in outermost(tree, docstrings(tree)):
            if " " in text.strip() and text not in DATA and is_prose(text):
                found.setdefault(text, path.name)
    return found


def said_sentences() -> dict[str, str]:
    """Return {sentence: where} for what helpers/ passes to ``say`` literally, and the verdict's sentences."""
    found = {}
    for path in sorted(HELPERS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and node.args:
                for text in templates(node.args[0]) or []:
                    if is_prose(text):
                        found.setdefault(text, path.name)
    tree = ast.parse((HELPERS / "course" / "reference.py").read_text(encoding="utf-8"))
    verdict = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "verdict")
    for text in outermost(verdict, docstrings(tree)) + list(R.CAUSES.values()):
        if " " in text and is_prose(text):
            found.setdefault(text, "reference.py")
    return found


# (a) ------------------------------------------------------------------------------------------------


def test_every_key_is_a_sentence_the_code_can_still_say():
    """A key is a string (or f-string template) of helpers/, of tools/ (the site's index), or of the English
    notebooks' code (the labels and names they hand to check_run and the playground)."""
    said = set()
    for path in HELPERS.rglob("*.py"):
        if not path.name.startswith("messages_"):  # (a catalog's own keys prove nothing)
            said.update(strings(ast.parse(path.read_text(encoding="utf-8"))))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for tree in notebook_code(path):
            said.update(strings(tree))
    for path in sorted((ROOT / "tools").glob("*.py")):  # the site's words (run_course.py)
        said.update(strings(ast.parse(path.read_text(encoding="utf-8"))))
    rotted = [key for key in MESSAGES if key not in said]
    assert not rotted, "catalog keys that no code says any more (reworded? update or remove them):\n" + \
        "\n".join(rotted)


def test_a_rotted_key_is_caught():
    said = set(strings(ast.parse('f"expected a tensor of shape {tuple(x.shape)}, got {described(got)}"')))
    assert "expected a tensor of shape {}, got {}" in said
    assert "expected a tensor of shape {}, but got {}" not in said
    assert set(strings(ast.parse('x = "a " "b" + (f": {c}" if c else "")'))) >= {"a b: {}", "a b", ": {}"}


# (b) ------------------------------------------------------------------------------------------------


def test_every_checker_sentence_has_a_japanese_entry():
    sentences = checker_sentences()
    assert len(sentences) > 300  # the extraction sees the checkers' messages, not a handful
    assert "your count matches GPT.num_params() on three shapes" in sentences  # a passed(...)
    assert "no mask" in sentences and "a (T, S) mask that is not causal" in sentences  # case names
    missing = [f"{where}: {text}" for text, where in sentences.items() if text not in MESSAGES]
    assert not missing, "checker sentences without a Japanese entry in messages_ja.py:\n" + "\n".join(missing)


def test_every_sentence_given_to_say_has_a_japanese_entry():
    sentences = said_sentences()
    assert "is this run normal?" in sentences and "wrote {} characters in {} s" in sentences
    missing = [f"{where}: {text}" for text, where in sentences.items() if text not in MESSAGES]
    assert not missing, "sentences said without a Japanese entry in messages_ja.py:\n" + "\n".join(missing)


def test_the_test_data_is_never_a_catalog_key():
    assert not DATA & set(MESSAGES)


# (c) ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_a_translation_has_its_keys_fields_and_is_japanese(key):
    value = MESSAGES[key]
    fields = FIELD.findall(value)
    assert len(fields) == key.count("{}"), f"{key!r} has {key.count('{}')} fields, {value!r} has {len(fields)}"
    numbered = [f for f in fields if f]
    assert not numbered or sorted(map(int, numbered)) == list(range(len(fields))), \
        f"{value!r}: number every field ({{0}}, {{1}}, ... each once) or none"
    if is_prose(key):
        assert messages.JAPANESE.search(value), f"{key!r} → {value!r} is not Japanese"
    assert value.strip() == value and "  " not in value.replace("\\n", ""), f"stray spaces in {value!r}"


# (d) and (e) ----------------------------------------------------------------------------------------


def crash(*args, **kwargs):
    # an IndexError inside the learner's code: the checker's line says which line raised it
    return [1, 2][5]


# (checker, a stub's answer, a wrong answer): each also gets ``crash``
CALLS = [
    (attention.check_softmax, lambda x: None, lambda x: x),
    (attention.check_attention, lambda q, k, v, mask=None: None, lambda q, k, v, mask=None: (q, q)),
    (attention.check_causal_mask, lambda T: None, lambda T: torch.ones(T, T, dtype=torch.bool).tril().T),
    (gpt_block.check_param_count, lambda *a: None, lambda n_layer, n_embd, vocab, block: 5),
    (tokenization.check_pack_documents, lambda *a: None,
     lambda docs, encode, eot: [i for doc in docs for i in encode(doc)]),
    (tokenization.check_encode_chunk, lambda *a: None, lambda chunk, merges: list(chunk.encode("utf-8"))),
    (pretraining.check_training_hours, lambda *a: None, lambda n, d, peak, mfu: 6 * n * d / (peak * mfu)),
    (decoding.check_kv_cache_bytes, lambda *a: None, lambda n_layer, n_embd, seq, batch, size: 5),
    (few_shot_prompting.check_parse_label, lambda reply, labels: None, lambda reply, labels: reply.strip()),
    (scaling_laws.check_fit_power_law, lambda n, loss: None, lambda n, loss: (1.0, 2.0)),
]
ENGLISH = re.compile(r"\b(the|and|with|your|should|got|expected|each|that|line|raised|calling|not|done|yet|"
                     r"Continuing|now|divide|count|return|off)\b")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\[[^\]]*\]")


def printed(capsys, monkeypatch, lang: str) -> list[str]:
    """Run every checker of CALLS on its stub, its wrong answer and ``crash``; return the lines they print."""
    if lang == "en":
        monkeypatch.delenv(messages.LANG_ENV, raising=False)
    else:
        monkeypatch.setenv(messages.LANG_ENV, lang)
    capsys.readouterr()
    for check, stub, wrong in CALLS:
        for answer in (stub, wrong, crash):
            check(answer)
    return capsys.readouterr().out.splitlines()


def test_checkers_speak_japanese_and_english(capsys, monkeypatch):
    english = printed(capsys, monkeypatch, "en")
    japanese = printed(capsys, monkeypatch, "ja")
    assert len(english) == len(japanese) == 3 * len(CALLS)
    assert any(line.startswith("… not done yet:") for line in english)
    assert any("(line " in line and "[1, 2][5]" in line for line in english)  # the crash names its line
    for line in english:
        assert line[0] in "✓✗…" and not messages.JAPANESE.search(line), line
    for line in japanese:
        assert line[0] in "✓✗…" and messages.JAPANESE.search(line), line
        left = ENGLISH.search(QUOTED.sub("", line))  # quoted values (the learner's data, code) may be English
        assert not left, f"English word {left.group(0)!r} left in {line!r}"
    assert any("行目" in line for line in japanese)
    assert any(line.startswith("… まだ完成していません: ") for line in japanese)


def test_translate_line_gives_what_the_checkers_print_in_japanese(capsys, monkeypatch):
    english = printed(capsys, monkeypatch, "en")
    japanese = printed(capsys, monkeypatch, "ja")
    for en, ja in zip(english, japanese):
        assert translate.translate_line(en, "ja") == ja, en
        assert translate.translate_line(en, "en") == en


def verdict_lines(tmp_path, capsys, monkeypatch, lang: str) -> list[str]:
    """Print the verdicts of runs that are normal, better, too high, NaN, stuck, short and noisy, and of
    settings that differ from the reference's or have no reference at all."""
    if lang == "en":
        monkeypatch.delenv(messages.LANG_ENV, raising=False)
    else:
        monkeypatch.setenv(messages.LANG_ENV, lang)
    monkeypatch.delenv(R.WRITE_ENV, raising=False)
    falling = [3.0 * 0.99 ** i for i in range(200)]
    noisy = [2.0 - 0.05 * i + (0.4 if i % 2 else -0.4) for i in range(24)]
    R.save_reference("falling", falling, {"steps": 200}, folder=tmp_path)
    R.save_reference("noisy", noisy, {"steps": 24}, folder=tmp_path)
    capsys.readouterr()
    for name, losses, settings in [("falling", falling, {"steps": 200}),
                                   ("falling", [x * 0.8 for x in falling], {"steps": 200}),
                                   ("falling", [x * 1.3 for x in falling], {"steps": 200}),
                                   ("falling", falling[:50] + [float("nan")] * 150, {"steps": 200}),
                                   ("falling", [3.0] * 200, {"steps": 200}),
                                   ("falling", falling, {"steps": 100, "lr": 0.1}),
                                   ("noisy", noisy, {"steps": 24}),
                                   ("none stored", falling, {})]:
        R.check_run(name, losses, settings, plot=False, folder=tmp_path)
    return capsys.readouterr().out.splitlines()


def test_the_run_verdict_speaks_japanese_and_translate_line_agrees(tmp_path, capsys, monkeypatch):
    english = verdict_lines(tmp_path, capsys, monkeypatch, "en")
    japanese = verdict_lines(tmp_path, capsys, monkeypatch, "ja")
    assert len(english) == len(japanese)
    kinds = " ".join(english)
    for words in ("within the expected band", "better than the reference", "above the expected band",
                  "not a number", "barely moved", "your settings (steps 100, lr 0.1) differ", "losses scatter",
                  "no reference stored", "(reference: "):
        assert words in kinds, words
    for en, ja in zip(english, japanese):
        assert messages.JAPANESE.search(ja), ja
        assert not ENGLISH.search(QUOTED.sub("", ja)), ja
        assert translate.translate_line(en, "ja") == ja, en
    assert sum(line.startswith("  （基準: ") for line in japanese) == 7


def test_the_plot_and_the_quick_mode_line_speak_japanese(monkeypatch, capsys):
    import matplotlib
    import matplotlib.pyplot as plt

    from helpers.course.notebook import settings

    matplotlib.use("Agg")
    monkeypatch.setenv(messages.LANG_ENV, "ja")
    monkeypatch.setattr(plt, "show", lambda: None)
    R._plot(list(range(1, 11)), [3.0 - 0.1 * i for i in range(10)], None, "04_pretraining", "unchecked")
    ax = plt.gcf().axes[0]
    assert ax.get_xlabel() == "ステップ" and ax.get_ylabel() == "学習時の損失"
    assert ax.get_title() == "この実行は正常ですか？ 事前学習: 未判定"
    assert ax.get_legend().get_texts()[0].get_text() == "あなたの実行"
    plt.close("all")
    monkeypatch.setenv("COURSE_QUICK", "1")
    capsys.readouterr()
    settings(steps=2000, quick=dict(steps=20))
    line = capsys.readouterr().out.strip()
    assert line == "クイックモード（COURSE_QUICK=1）: steps 2000 → 20"
    monkeypatch.delenv(messages.LANG_ENV)
    settings(steps=2000, quick=dict(steps=20))
    assert translate.translate_line(capsys.readouterr().out.strip(), "ja") == line


def test_the_playground_speaks_japanese(monkeypatch):
    from helpers.api import playground
    from helpers.models.gpt import GPT, GPTConfig

    monkeypatch.setenv(messages.LANG_ENV, "ja")
    alphabet = "abcdefgh "
    model = GPT(GPTConfig(vocab_size=len(alphabet), block_size=16, n_layer=1, n_head=1, n_embd=8)).eval()
    backend = playground.CourseBackend(model, lambda s: [alphabet.index(c) for c in s],
                                       lambda ids: "".join(alphabet[i] for i in ids))
    backend.unsupported = {"show_probabilities": "this backend returns no log-probabilities"}
    pg = playground.Playground(backend, prompt="abc ", settings=playground.Settings(max_tokens=5))
    assert pg.button.description == "生成" and pg.controls["temperature"].description == "温度"
    assert pg.controls["show_probabilities"].description == "確率を表示"
    assert "コースのモデル" in pg.status.value
    notes = pg.widget.children[5].value
    assert notes == "「確率を表示」は使えません: このバックエンドは対数確率を返しません。"
    pg.controls["temperature"].value = 0.5
    pg.generate()
    assert re.fullmatch(r"5 文字を [\d.]+ 秒で書きました。", pg.status.value), pg.status.value
    with pytest.raises(ValueError) as error:
        playground.Settings(temperature=3)
    assert messages.say(str(error.value)) == "temperature=3 は範囲外です: 0（貪欲法）から 2 の値にしてください"
