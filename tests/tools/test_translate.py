"""The Japanese edition (`python course.py translate`): every notebook translated, nothing stale, the committed
notebooks exactly what the tool builds, code and outputs the English ones, glossary terms introduced with their
English, and a Japanese notebook that runs and speaks Japanese."""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("translate", ROOT / "tools" / "translate.py")
translate = sys.modules["translate"] = importlib.util.module_from_spec(spec)  # (its dataclasses look it up)
spec.loader.exec_module(translate)

ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
CHECKER_MARKS = ("✓ ", "✗ ", "… ", "· ")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_fresh_translation(english):
    found = translate.problems(english, translate.read_blocks(english), explain=False)
    assert not found, (f"{translate.translation_path(english).relative_to(ROOT)}: "
                       + "; ".join(map(str, found[:5])) + f" ({len(found)} in all): run `python course.py translate "
                       f"--update {english.name[:2]}`, translate the marked blocks, then `python course.py translate`")


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_the_committed_japanese_notebook_is_what_the_tool_builds(english):
    built = translate.built_path(english)
    assert built.exists(), f"no {built.relative_to(ROOT)}: run `python course.py translate` and commit it"
    expected = translate.dumps(translate.build(english, translate.read_blocks(english)))
    assert built.read_text(encoding="utf-8") == expected, \
        f"{built.relative_to(ROOT)} was edited by hand or is out of date: run `python course.py translate`"


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_the_japanese_notebook_has_the_english_code_and_outputs(english):
    en, ja = load(english), load(translate.built_path(english))
    assert [(c["id"], c["cell_type"]) for c in ja["cells"]] == [(c["id"], c["cell_type"]) for c in en["cells"]]
    code = [(e, j) for e, j in zip(en["cells"], ja["cells"]) if e["cell_type"] == "code"]
    setup, rest = code[0], code[1:]
    assert translate.source_of(setup[1]) == translate.setup_source("ja")
    assert 'os.environ.setdefault("COURSE_LANG", "ja")' in translate.source_of(setup[1])
    for e, j in rest:
        assert j["source"] == e["source"], f"cell {e['id']}: the code differs from the English notebook's"
        assert len(j["outputs"]) == len(e["outputs"])
        for out_e, out_j in zip(e["outputs"], j["outputs"]):
            if out_e["output_type"] != "stream":
                assert out_j == out_e, f"cell {e['id']}: an output differs from the English notebook's"
                continue
            lines_e = translate.source_of({"source": out_e["text"]}).split("\n")
            lines_j = translate.source_of({"source": out_j["text"]}).split("\n")
            assert len(lines_e) == len(lines_j)
            for line_e, line_j in zip(lines_e, lines_j):  # only a checker's or a verdict's line may be translated
                said = line_e.startswith(CHECKER_MARKS) or translate.REFERENCE_LINE.match(line_e)
                assert line_j == line_e or said, (e["id"], line_e, line_j)
    prose = [translate.source_of(c) for c in ja["cells"] if c["cell_type"] == "markdown" and c["id"] != "colab-badge"]
    assert all(JAPANESE.search(text) for text in prose), "a markdown cell has no Japanese in it"


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_glossary_terms_come_with_their_english_at_first_use(english):
    texts = [b.text for b in translate.read_blocks(english)]
    found = translate.first_use_problems(texts, translate.glossary())
    assert not found, "\n".join(found)


def test_the_badge_opens_the_japanese_notebook():
    english = ENGLISH[0]
    badge = translate.source_of(load(translate.built_path(english))["cells"][0])
    assert f"/blob/main/notebooks/ja/{english.name}" in badge


def test_the_glossary_lists_the_terms_the_issue_names():
    terms = translate.glossary()
    for term, english in [("アテンション", "attention"), ("トークン", "token"), ("埋め込み", "embedding"),
                          ("事前学習", "pretraining"), ("ファインチューニング", "fine-tuning"),
                          ("パープレキシティ", "perplexity")]:
        assert english in terms[term]


# --- staleness: an English edit shows up, pointing at the cell to update -------------------------------------


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """Notebook 01 and its translation copied into a scratch folder the tool then works in."""
    english = tmp_path / "notebooks" / ENGLISH[0].name
    english.parent.mkdir()
    shutil.copy(ENGLISH[0], english)
    (tmp_path / "translations" / "ja").mkdir(parents=True)
    shutil.copy(translate.translation_path(ENGLISH[0]), tmp_path / "translations" / "ja" / f"{english.stem}.md")
    shutil.copy(translate.TRANSLATIONS / "ja" / "glossary.md", tmp_path / "translations" / "ja" / "glossary.md")
    monkeypatch.setattr(translate, "TRANSLATIONS", tmp_path / "translations")
    return english


def edit_english(english: Path, index: int, old: str, new: str) -> dict:
    """Change ``old`` to ``new`` in the index-th translatable cell of the English notebook; return that cell."""
    notebook = load(english)
    cell = translate.translatable(notebook)[index]
    text = translate.source_of(cell)
    assert old in text
    cell["source"] = text.replace(old, new, 1)
    english.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
    return cell


def test_an_edited_english_sentence_makes_its_translation_stale(copied):
    assert translate.problems(copied, translate.read_blocks(copied)) == []
    cell = edit_english(copied, 0, "attention", "self-attention")
    found = translate.problems(copied, translate.read_blocks(copied))
    assert [(p.kind, p.cell_id) for p in found] == [("stale", cell["id"])]
    assert "self-attention" in str(found[0])  # the message shows the English to translate again
    # --update keeps the Japanese, marks the block stale with the new hash; the check still fails until it is cleared
    assert translate.update(copied) == (0, 1, 0)
    blocks = {b.cell_id: b for b in translate.read_blocks(copied)}
    assert blocks[cell["id"]].state == "stale" and JAPANESE.search(blocks[cell["id"]].text)
    assert [p.kind for p in translate.problems(copied, list(blocks.values()))] == ["stale"]
    path = translate.translation_path(copied)
    path.write_text(path.read_text(encoding="utf-8").replace(" stale -->", " -->"), encoding="utf-8")
    assert translate.problems(copied, translate.read_blocks(copied)) == []


def test_new_and_deleted_english_cells_are_found(copied):
    notebook = load(copied)
    cells = notebook["cells"]
    deleted = translate.translatable(notebook)[1]["id"]
    cells[:] = [c for c in cells if c["id"] != deleted]
    cells.insert(3, {"cell_type": "markdown", "id": "new-cell", "metadata": {}, "source": ["A new paragraph."]})
    copied.write_text(json.dumps(notebook), encoding="utf-8")
    kinds = {(p.kind, p.cell_id) for p in translate.problems(copied, translate.read_blocks(copied))}
    assert kinds == {("missing", "new-cell"), ("unknown", deleted)}
    assert translate.update(copied) == (1, 0, 1)
    assert [(p.kind, p.cell_id) for p in translate.problems(copied, translate.read_blocks(copied))] == \
        [("todo", "new-cell")]


def test_a_stale_cell_shows_how_its_english_changed_since_it_was_translated():
    """The English a block was translated from is found in git history by its hash, so the check shows a diff."""
    english = ENGLISH[0]
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    block = translate.read_blocks(english)[0]
    cell = copy.deepcopy(translate.translatable(load(english))[0])
    assert translate.english_before(english, block.cell_id, block.english_hash) == translate.source_of(cell)
    cell["source"] = translate.source_of(cell).replace("attention", "ATTENTION", 1)
    diff = translate.english_diff(english, cell, block)
    assert "-" in diff and "+" in diff and "ATTENTION" in diff


def test_the_check_command_fails_on_a_hand_edited_notebook(tmp_path, monkeypatch):
    english = ENGLISH[0]
    copy_of_built = tmp_path / english.name
    shutil.copy(translate.built_path(english), copy_of_built)
    monkeypatch.setattr(translate, "built_path", lambda english, lang="ja": copy_of_built)
    assert translate.main(["--check", english.name[:2]]) == 0
    edited = load(copy_of_built)
    edited["cells"][1]["source"].append("（手で書き足した一文）")
    copy_of_built.write_text(translate.dumps(edited), encoding="utf-8")
    assert translate.main(["--check", english.name[:2]]) == 1


# --- a Japanese notebook runs, and the course speaks Japanese in it -----------------------------------------


@pytest.mark.download
def test_a_japanese_notebook_runs_and_its_checkers_speak_japanese(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    path = translate.built_path(ENGLISH[0])
    notebook = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_LANG"}  # the set-up cell alone must set it
    old = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update({**env, "COURSE_QUICK": "1"})
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    printed = [line for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
               if out.get("output_type") == "stream" for line in out["text"].splitlines()]
    checker_lines = [line for line in printed if line.startswith(CHECKER_MARKS)]
    assert checker_lines, "no checker line printed"
    assert all(JAPANESE.search(line) for line in checker_lines), checker_lines
    # the hints are translated too: no run of four English words outside `code` and dotted names
    english_run = re.compile(r"\b[a-z]+ [a-z]+ [a-z]+ [a-z]+\b")
    for line in checker_lines:
        bare = re.sub(r"`[^`]*`|'[^']*'|\S+\.\S+", "", line)
        assert not english_run.search(bare), line


def test_the_japanese_readme_lists_every_japanese_notebook_with_its_colab_link():
    readme = (ROOT / "README.ja.md").read_text(encoding="utf-8")
    for english in ENGLISH:
        row = next((line for line in readme.splitlines() if line.startswith(f"| {english.name[:2]} |")), None)
        assert row, f"README.ja.md has no row for {english.name}"
        assert f"](notebooks/ja/{english.name})" in row
        assert f"/blob/main/notebooks/ja/{english.name})" in row
        assert JAPANESE.search(row.split("|")[2]), f"{english.name}: the title is not in Japanese"
    first_lines = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:5])
    assert "README.ja.md" in first_lines, "the English README links to the Japanese one in its first lines"
