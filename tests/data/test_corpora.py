import pytest

import helpers
from helpers.data.corpora import PLAYS, markdown_play_to_text


@pytest.mark.download
def test_load_sonnets_gives_154_fourteen_line_poems_mostly():
    sonnets = helpers.load_sonnets()
    assert len(sonnets) == 154
    assert sonnets[0].startswith("FROM fairest creatures we desire increase,")
    lengths = [len(s.splitlines()) for s in sonnets]
    assert sum(n == 14 for n in lengths) >= 150  # 99 has 15 lines, 126 has 12
    assert sonnets[-1].endswith("water cools not love.")


@pytest.mark.download
def test_load_plays_is_tinyshakespeare_sized_in_speaker_form():
    text = helpers.load_plays()
    assert 1_000_000 < len(text) < 1_200_000
    assert text.startswith("BERNARDO:\nWho's there?\n\nFRANCISCO:\n")
    assert not set(text) & set("*_#\\[]")  # no Markdown left over
    blocks = text.strip().split("\n\n")
    assert all(b.splitlines()[0].endswith(":") and len(b.splitlines()) >= 2 for b in blocks)
    assert len(PLAYS) == 9


def test_markdown_play_drops_headings_and_stage_directions():
    markdown = (
        "# A Play\n\n## ACT I\n\n_Enter KING and a very long\nprocession of lords_\n\n"
        "**KING**  \nWhat news?  \n_\\[Aside]_  \nNone, I fear.\n\n_Exit_\n\n**Lord**  \nGood _\\[bows]_ my liege.\n"
    )
    assert markdown_play_to_text(markdown) == "KING:\nWhat news?\nNone, I fear.\n\nLord:\nGood  my liege.\n"


def test_read_text_errors_are_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="no text file at .*missing.txt"):
        helpers.read_text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(ValueError, match="is empty"):
        helpers.read_text(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        helpers.read_text(tmp_path / "latin1.txt")


@pytest.mark.download
def test_char_tokenizer_round_trips_and_names_unknown_characters():
    from helpers.tokenizers import CharTokenizer

    text = helpers.load_plays()
    tok = CharTokenizer.from_text(text)
    assert len(tok) == 63 and tok.chars[0] == "\n"
    sample = text[:5000]
    assert tok.decode(tok.encode(sample)) == sample
    import torch

    assert tok.decode(torch.tensor(tok.encode("To be"))) == "To be"
    with pytest.raises(ValueError, match="character '€' is not in the vocabulary"):
        tok.encode("To be €")
    with pytest.raises(ValueError, match="empty text"):
        CharTokenizer.from_text("")
