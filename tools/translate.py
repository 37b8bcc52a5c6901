"""Build the Japanese notebooks from the English ones: `python course.py translate [--check | --update] [NN ...]`.

A Japanese notebook (notebooks/ja/NN_name.ipynb) is never edited by hand. It is the English notebook
with each markdown cell replaced by its translation from translations/ja/NN_name.md, the Colab badge
pointing at the Japanese notebook, the set-up cell also setting ``COURSE_LANG=ja`` (so that the
checkers, the "is my run normal?" verdict and the playground speak Japanese), and the checkers' lines
in the committed outputs translated as that setting prints them. Code and every other output are
the English notebook's, byte for byte.

A translation file holds one block per English markdown cell, in notebook order:

    <!-- cell 931347ad en:1a2b3c4d5e6f -->
    # 01 · アテンション
    ...

``931347ad`` is the cell's id and ``1a2b3c4d5e6f`` the start of the sha256 of the English cell's
source when it was translated. When that English cell changes, its hash no longer matches: the block
is *stale*, and ``--check`` prints how the English changed (found in git history), so you know
which Japanese sentences to update. ``--update`` adds a block for each new English cell (marked
``todo``, holding the English to translate), marks stale blocks ``stale`` with the new hash, and drops
blocks of cells that no longer exist; delete the marker when the Japanese is done.

    python course.py translate            # write notebooks/ja/*.ipynb from the English and the translations
    python course.py translate --check    # fail if a translation is missing, todo or stale, or a built notebook is old
    python course.py translate --update   # bring translations/ja/*.md in step with the English cells
"""
from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TRANSLATIONS = ROOT / "translations"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from course_cells import badge_source, lines_of, setup_source  # (the cells every notebook opens with)
from run_course import notebook_paths

from helpers.course.messages import translate as translate_message

LANGUAGES = ("ja",)
BADGE_ID = "colab-badge"
HEADER = re.compile(r"^<!-- cell (?P<id>[\w-]+) en:(?P<hash>[0-9a-f]{12})(?: (?P<state>todo|stale))? -->$", re.M)
PREAMBLE = """\
<!-- Japanese translation of notebooks/{name}: one block per English markdown cell, in notebook order.
     Each block starts with a line naming the cell's id and the sha256 of the English it translates; a
     block marked todo or stale needs (re)translating. Terms: translations/ja/glossary.md.
     Build with `python course.py translate`; see tools/translate.py. -->
"""


@dataclass
class Block:
    """One translated markdown cell: the English cell's id, the hash of the English it translates, the text."""
    cell_id: str
    english_hash: str
    text: str
    state: str = ""  # "", "todo" (not translated yet) or "stale" (the English changed since)

    def render(self) -> str:
        state = f" {self.state}" if self.state else ""
        return f"<!-- cell {self.cell_id} en:{self.english_hash}{state} -->\n{self.text.strip()}\n"


@dataclass
class Problem:
    """Why a translation cannot build its notebook: kind is missing, todo, stale, unknown or order."""
    kind: str
    cell_id: str
    detail: str = ""

    def __str__(self) -> str:
        what = {"missing": "has no translation", "todo": "is not translated yet (marked todo)",
                "stale": "changed in English since it was translated", "unknown": "is not a markdown cell "
                "of the English notebook (deleted, or now code): remove its block",
                "order": "is out of order: blocks follow the notebook's cells"}[self.kind]
        return f"cell {self.cell_id} {what}" + (f"\n{self.detail}" if self.detail else "")


def shown(path: Path) -> str:
    """Return ``path`` relative to the repository when it lies inside it (for messages)."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def english_hash(text: str) -> str:
    """Return the first 12 hex digits of the sha256 of an English cell's source."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def translatable(notebook: dict) -> list[dict]:
    """Return the markdown cells a translation covers (all but the Colab badge, which is built)."""
    return [c for c in notebook["cells"] if c["cell_type"] == "markdown" and c.get("id") != BADGE_ID]


def translation_path(english: Path, lang: str = "ja") -> Path:
    return TRANSLATIONS / lang / f"{english.stem}.md"


def built_path(english: Path, lang: str = "ja") -> Path:
    return english.parent / lang / english.name


def parse(text: str) -> list[Block]:
    """Return the blocks of a translation file (anything before the first block header is a comment)."""
    headers = list(HEADER.finditer(text))
    blocks = []
    for i, found in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        body = text[found.end():end].strip("\n")
        blocks.append(Block(found["id"], found["hash"], body, found["state"] or ""))
    return blocks


def render(name: str, blocks: list[Block]) -> str:
    return PREAMBLE.format(name=name) + "".join("\n" + block.render() for block in blocks)


def read_blocks(english: Path, lang: str = "ja") -> list[Block]:
    path = translation_path(english, lang)
    return parse(path.read_text(encoding="utf-8")) if path.exists() else []


def english_before(english: Path, cell_id: str, wanted_hash: str, limit: int = 300) -> str | None:
    """Return the English cell ``cell_id`` as it was when its hash was ``wanted_hash`` (from git history)."""
    try:
        relative = english.resolve().relative_to(ROOT).as_posix()
        commits = subprocess.run(["git", "log", f"-n{limit}", "--format=%H", "--", relative], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.split()
    except (ValueError, OSError, subprocess.CalledProcessError):
        return None
    for commit in commits:
        shown = subprocess.run(["git", "show", f"{commit}:{relative}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode:
            continue
        for cell in json.loads(shown.stdout)["cells"]:
            if cell.get("id") == cell_id:
                text = source_of(cell)
                if english_hash(text) == wanted_hash:
                    return text
    return None


def english_diff(english: Path, cell: dict, block: Block) -> str:
    """Return how the English cell changed since its translation: a diff, or the new English alone."""
    now = source_of(cell)
    before = english_before(english, block.cell_id, block.english_hash)
    if before is None:
        return "  the English now reads:\n" + "\n".join("    " + line for line in now.splitlines())
    diff = difflib.unified_diff(before.splitlines(), now.splitlines(), "English when translated", "English now",
                                lineterm="", n=1)
    return "\n".join("    " + line for line in diff)


def problems(english: Path, blocks: list[Block], explain: bool = True) -> list[Problem]:
    """Return what stops ``blocks`` from translating the English notebook at ``english`` (empty: all fine)."""
    notebook = json.loads(english.read_text(encoding="utf-8"))
    cells = {c["id"]: c for c in translatable(notebook)}
    order = list(cells)
    by_id = {b.cell_id: b for b in blocks}
    found = []
    for cell_id, cell in cells.items():
        block = by_id.get(cell_id)
        if block is None:
            found.append(Problem("missing", cell_id))
        elif block.state == "todo":
            found.append(Problem("todo", cell_id))
        elif block.state == "stale" or block.english_hash != english_hash(source_of(cell)):
            found.append(Problem("stale", cell_id, english_diff(english, cell, block) if explain else ""))
    found += [Problem("unknown", b.cell_id) for b in blocks if b.cell_id not in cells]
    known = [b.cell_id for b in blocks if b.cell_id in cells]
    if not found and known != sorted(known, key=order.index):
        first = next(a for a, b in zip(known, sorted(known, key=order.index)) if a != b)
        found.append(Problem("order", first))
    return found


def update(english: Path, lang: str = "ja") -> tuple[int, int, int]:
    """Bring the translation file in step with the English: return (added todo, marked stale, dropped)."""
    notebook = json.loads(english.read_text(encoding="utf-8"))
    by_id = {b.cell_id: b for b in read_blocks(english, lang)}
    cells = translatable(notebook)
    added = stale = 0
    blocks = []
    for cell in cells:
        text, digest = source_of(cell), english_hash(source_of(cell))
        block = by_id.get(cell["id"])
        if block is None:
            block, added = Block(cell["id"], digest, text, "todo"), added + 1
        elif block.english_hash != digest and block.state != "todo":
            print(f"{english.name}: cell {cell['id']} changed in English:\n{english_diff(english, cell, block)}")
            block, stale = Block(cell["id"], digest, block.text, "stale"), stale + 1
        elif block.state == "todo":
            block = Block(cell["id"], digest, text, "todo")  # still untranslated: offer the current English
        blocks.append(block)
    dropped = len(by_id) - sum(c["id"] in by_id for c in cells)
    path = translation_path(english, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(english.name, blocks), encoding="utf-8")
    return added, stale, dropped


def glossary(lang: str = "ja") -> dict[str, list[str]]:
    """Return {term: [its English forms]} from the table of translations/<lang>/glossary.md."""
    terms = {}
    for line in (TRANSLATIONS / lang / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and not set(cells[0]) <= set("-") and cells[0] != "日本語":
            terms[cells[0]] = [form.strip() for form in cells[1].split(" / ")]
    return terms


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def first_use_problems(texts: list[str], terms: dict[str, list[str]]) -> list[str]:
    """Return, for each glossary term whose first use in ``texts`` lacks its English in parentheses, why.

    A use inside a longer term of the glossary (アテンション in 自己アテンション) counts for the longer one.
    """
    text = "\n\n".join(texts)
    found = []
    for term, english in terms.items():
        longer = [t for t in terms if term in t and t != term]
        start = 0
        while (at := text.find(term, start)) >= 0:
            inside = any(0 <= at - (k := t.find(term)) and text.startswith(t, at - k) for t in longer)
            if not inside:
                break
            start = at + 1
        if at < 0:
            continue
        after = text[at + len(term):]
        paren = re.match(r"\s?[（(]([^）)]*)[）)]", after)
        if not paren or not any(_normal(form) in _normal(paren.group(1)) for form in english):
            context = text[max(0, at - 20):at + len(term) + 20].replace("\n", " ")
            found.append(f"first use of {term} lacks （{english[0]}）: …{context}…")
    return found


CHECKER_LINE = re.compile(r"^(?P<mark>[✓✗…·]) (?P<rest>.*)$")
RUN_QUESTION = "is this run normal?"
NOT_DONE = "not done yet"
THEN = re.compile(r"^(?P<hint>.*) (?P<then>Continuing with \S+ for now\.)$")
REFERENCE_LINE = re.compile(r"^(?P<indent> *)(?P<text>\(reference: .*\))$")  # under the verdict
QUICK_LINE = re.compile(r"^Quick mode \(\w+=1\): .*$")  # what settings() prints in quick mode


def _hint(text: str, lang: str) -> str:
    """Return a checker's hint as printed (``sentence``'s full stop added) in ``lang``, with that full stop.

    The catalog's key is the hint as the checker wrote it: without the full stop, or with it where the
    hint itself ends with one. A hint the catalog lacks stays as printed (the checker printed it in English).
    """
    from helpers.course.messages import sentence

    keys = (text[:-1], text) if text.endswith(".") and not text.endswith("...") else (text,)
    for key in keys:
        translated = translate_message(key, lang)
        if translated != key:
            return sentence(translated)
    return text


def translate_line(line: str, lang: str) -> str:
    """Return one printed line as ``COURSE_LANG=lang`` prints it.

    The lines the course machinery prints through ``say``: a checker's ✓ / … not done yet / ✗ line, the
    "is this run normal?" verdict and the reference line under it, and quick mode's settings line.
    Any other line comes back as it is.
    """
    from helpers.course.messages import joined

    if lang == "en":
        return line
    if QUICK_LINE.match(line):
        return translate_message(line, lang)
    reference = REFERENCE_LINE.match(line)
    if reference:
        return reference["indent"] + translate_message(reference["text"], lang)
    found = CHECKER_LINE.match(line)
    if not found:
        return line
    mark, rest = found["mark"], found["rest"]
    if rest.startswith(RUN_QUESTION + " "):
        return f"{mark} {translate_message(RUN_QUESTION, lang)} {translate_message(rest[len(RUN_QUESTION) + 1:], lang)}"
    if mark == "✓":
        return f"✓ {translate_message(rest, lang)}"
    prefix = ""
    if mark == "…" and rest.startswith(NOT_DONE + ": "):
        prefix, rest = translate_message(NOT_DONE, lang) + ": ", rest[len(NOT_DONE) + 2:]
    parts = THEN.match(rest)
    hint, then = (parts["hint"], translate_message(parts["then"], lang)) if parts else (rest, "")
    return f"{mark} {prefix}{joined(_hint(hint, lang), then)}"


def translate_outputs(cell: dict, lang: str) -> None:
    """Translate the checkers' lines in a code cell's stream outputs, in place."""
    for output in cell.get("outputs", []):
        if output.get("output_type") != "stream":
            continue
        text = source_of({"source": output.get("text", "")})
        translated = "\n".join(translate_line(line, lang) for line in text.split("\n"))
        if translated != text:
            output["text"] = lines_of(translated)


def build(english: Path, blocks: list[Block], lang: str = "ja") -> dict:
    """Return the notebook in ``lang``: the English with the translated markdown, badge, set-up and checker lines."""
    notebook = copy.deepcopy(json.loads(english.read_text(encoding="utf-8")))
    by_id = {b.cell_id: b for b in blocks}
    setup_done = False
    for cell in notebook["cells"]:
        if cell.get("id") == BADGE_ID:
            cell["source"] = lines_of(badge_source(english.name, lang))
        elif cell["cell_type"] == "markdown":
            cell["source"] = lines_of(by_id[cell["id"]].text)
        elif not setup_done:
            cell["source"] = lines_of(setup_source(lang))
            setup_done = True
        else:
            translate_outputs(cell, lang)
    notebook["metadata"]["course"] = {"language": lang, "built_from": f"../{english.name}"}
    return notebook


def dumps(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python course.py translate", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: all), e.g. 01 04")
    parser.add_argument("--check", action="store_true", help="change nothing; fail on anything missing, stale, old")
    parser.add_argument("--update", action="store_true", help="add todo blocks, mark stale ones, drop deleted ones")
    parser.add_argument("--lang", default="ja", choices=LANGUAGES)
    args = parser.parse_args(argv)
    failed = 0
    for english in notebook_paths(args.notebooks, NOTEBOOKS):
        if args.update:
            added, stale, dropped = update(english, args.lang)
            print(f"{shown(translation_path(english, args.lang))}: {added} new (todo), {stale} stale, "
                  f"{dropped} dropped")
            continue
        blocks = read_blocks(english, args.lang)
        found = problems(english, blocks)
        target = built_path(english, args.lang)
        if found:
            failed += 1
            print(f"✗ {shown(translation_path(english, args.lang))}: {len(found)} cell(s) to translate "
                  f"(`python course.py translate --update {english.name[:2]}` marks them):")
            for problem in found:
                print("  " + str(problem).replace("\n", "\n  "))
            continue
        unglossed = first_use_problems([b.text for b in blocks], glossary(args.lang))
        if unglossed:
            failed += args.check
            print(f"{'✗' if args.check else '!'} {shown(translation_path(english, args.lang))}: "
                  f"{len(unglossed)} term(s) without their English at first use (see its glossary.md):")
            for line in unglossed:
                print("  " + line)
        text = dumps(build(english, blocks, args.lang))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != text:
                failed += 1
                print(f"✗ {shown(target)} is not what the translation builds: run `python course.py "
                      f"translate` and commit it")
            else:
                print(f"✓ {shown(target)}")
        elif current != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {shown(target)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
