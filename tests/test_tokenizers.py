"""Tests of helpers.tokenizers (byte-level BPE from scratch) and of notebook 03's exercise checkers."""
from collections import Counter

import pytest

import helpers
from helpers.course.checks import tokenization as checks
from helpers.course.runtime import REPO_ROOT
from helpers.tokenizers import (
    SPLIT_PATTERN,
    BPETokenizer,
    best_pair,
    byte_alphabet,
    merge,
    pair_counts,
    show_tokens,
    vocab_token_to_bytes,
)
from tests.checker_asserts import assert_checker_behaves, rejects

JAPANESE = helpers.read_text(REPO_ROOT / "data" / "japanese_sample.txt")
ENGLISH = helpers.read_text(REPO_ROOT / "data" / "english_sample.txt")


@pytest.fixture(scope="module")
def text():
    return "\n\n".join(helpers.load_sonnets())


@pytest.fixture(scope="module")
def tok(text):
    return BPETokenizer().train(text, 320, progress=False)


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


# --- the pieces ---------------------------------------------------------------------------------

def test_merge_replaces_left_to_right_without_overlap():
    assert merge([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]
    assert merge([7, 7, 7], (7, 7), 9) == [9, 7]
    assert merge([7, 7, 7, 7], (7, 7), 9) == [9, 9]
    assert merge([1], (1, 2), 9) == [1]
    assert merge([], (1, 2), 9) == []


def test_pair_counts_weights_and_accumulates():
    counts = pair_counts([1, 2, 1, 2], weight=3)
    assert counts == Counter({(1, 2): 6, (2, 1): 3})
    pair_counts([2, 1], counts)
    assert counts[(2, 1)] == 4


def test_best_pair_breaks_ties_by_smallest_ids():
    assert best_pair(Counter({(5, 1): 3, (2, 9): 3, (2, 8): 3, (1, 1): 2})) == (2, 8)


@pytest.mark.parametrize("s", ["But thou, contracted to thine own bright eyes,\n\n  I'll 1609 times!",
                               "  leading and trailing  \n", "snake_case x__y", "tabs\tand\r\nCRLF",
                               JAPANESE, "e\u0301 combining accent, ½ ² ①", ""])
def test_split_pattern_covers_every_character(s):
    import re
    assert "".join(re.findall(SPLIT_PATTERN, s)) == s


# --- training -----------------------------------------------------------------------------------

def test_first_merges_on_the_sonnets(tok):
    learned = [tok.vocab[i] for i in list(tok.merges.values())[:6]]
    assert learned == [b" t", b" th", b" s", b"in", b" a", b" m"]
    assert len(tok) == 320 and len(tok.merges) == 320 - 257


@pytest.mark.download
def test_training_is_deterministic(text):
    a = BPETokenizer().train(text[:20000], 300, progress=False)
    b = BPETokenizer().train(text[:20000], 300, progress=False)
    assert a.merges == b.merges


@pytest.mark.download
def test_incremental_training_equals_recounting_everything(text):
    # the reference: recount all pairs of all chunks after every merge
    import re
    words = {tuple(c.encode()): n for c, n in Counter(re.findall(SPLIT_PATTERN, text[:30000])).items()}
    expected = {}
    for new_id in range(256, 256 + 80):
        counts = Counter()
        for w, n in words.items():
            pair_counts(list(w), counts, n)
        pair = best_pair(counts)
        expected[pair] = new_id
        words = {tuple(merge(list(w), pair, new_id)): n for w, n in words.items()}
    tok = BPETokenizer().train(text[:30000], 256 + 80 + 1, progress=False)
    assert tok.merges == expected


def test_same_tokens_as_the_tokenizers_library(text, tok):
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    hf.train_from_iterator([text], trainer)
    merges = json.loads(hf.to_str())["model"]["merges"]
    pairs = (m.split(" ") if isinstance(m, str) else m for m in merges)
    theirs = {vocab_token_to_bytes(a) + vocab_token_to_bytes(b) for a, b in pairs}
    assert theirs == {tok.vocab[i] for i in tok.merges.values()}
    assert len(hf.encode(text).ids) == len(tok.encode(text))


def test_special_tokens_are_never_merged():
    doc = "the cat sat on the mat. "
    tok = BPETokenizer().train((doc + "<|endoftext|>") * 50, 300, progress=False)
    assert not any(b"endoftext" in tok.vocab[i] or b"<|" in tok.vocab[i] for i in tok.merges.values())
    # without the special token handling, the frequent "<|", "endoftext" and "|>" chunks would be merged
    plain = BPETokenizer(special_tokens=[]).train((doc + "<|endoftext|>") * 50, 300, progress=False)
    assert any(b"endoftext" in plain.vocab[i] for i in plain.merges.values())


def test_small_text_stops_early_and_keeps_ids_contiguous():
    tok = BPETokenizer().train("abab", 400, progress=False)
    assert len(tok.merges) == 2  # "ab", then "abab": nothing left to merge
    assert tok.special_tokens == {"<|endoftext|>": 258} and len(tok) == 259
    assert tok.encode("abab<|endoftext|>") == [257, 258]


# --- encode / decode ----------------------------------------------------------------------------

@pytest.mark.parametrize("s", ["Hello, world!", "Café, naïve façade — déjà vu", "I ❤️ tokens 🤖👍🏽", JAPANESE,
                               ENGLISH, "", " ", "\n\n\t", "mixed: 灯台 and lighthouse, 2024 😀",
                               "a<|endoftext|>b<|endoftext|>", "<|endoftext|>", "<|endo", "x" * 500])
def test_round_trip(tok, s):
    ids = tok.encode(s)
    assert all(isinstance(i, int) and 0 <= i < len(tok) for i in ids)
    assert tok.decode(ids) == s
    assert tok.decode(tok.encode(s, allow_special=False)) == s


def test_round_trip_on_sonnets_and_hamlet(text, tok):
    hamlet = helpers.load_plays(("tragedies/hamlet",))
    for s in (text, hamlet):
        ids = tok.encode(s)
        assert tok.decode(ids) == s
        assert len(ids) < len(s.encode("utf-8"))  # merges compress


def test_special_token_is_one_id_only_when_allowed(tok):
    eot = tok.special_tokens["<|endoftext|>"]
    assert eot == len(tok) - 1
    ids = tok.encode("end.<|endoftext|>Next")
    assert ids.count(eot) == 1 and tok.decode([eot]) == "<|endoftext|>"
    assert eot not in tok.encode("end.<|endoftext|>Next", allow_special=False)


def test_unseen_japanese_is_one_token_per_byte(tok):
    assert len(tok.encode(JAPANESE)) == len(JAPANESE.encode("utf-8"))


def test_decode_accepts_tensors_and_replaces_cut_characters(tok):
    import torch
    ids = tok.encode("灯")
    assert tok.decode(torch.tensor(ids)) == "灯"
    assert tok.decode(ids[:2]) == "\ufffd"


# --- bad input: one-line errors -----------------------------------------------------------------

def test_vocab_size_below_bytes_plus_specials_is_refused():
    with pytest.raises(ValueError) as e:
        BPETokenizer().train("some text", 200)
    assert "at least 257" in one_line_error(e)
    with pytest.raises(ValueError):
        BPETokenizer().train("some text", 256)  # 256 bytes leave no room for <|endoftext|>
    BPETokenizer(special_tokens=[]).train("some text", 256, progress=False)  # no specials: 256 is fine


def test_training_on_empty_text_is_refused():
    with pytest.raises(ValueError) as e:
        BPETokenizer().train("", 300)
    assert "empty" in one_line_error(e)


def test_decoding_an_unknown_id_is_refused(tok):
    with pytest.raises(ValueError) as e:
        tok.decode([65, len(tok)])
    assert f"id {len(tok)}" in one_line_error(e)
    with pytest.raises(ValueError):
        tok.decode([-1])


def test_encoding_bytes_and_bad_special_tokens_are_refused(tok):
    with pytest.raises(TypeError) as e:
        tok.encode(b"bytes")
    one_line_error(e)
    with pytest.raises(ValueError) as e:
        BPETokenizer(special_tokens=["<|a|>", "<|a|>"])
    one_line_error(e)


# --- byte alphabet and display ------------------------------------------------------------------

def test_byte_alphabet_matches_the_tokenizers_library():
    from tokenizers import pre_tokenizers
    alphabet = byte_alphabet()
    assert sorted(alphabet) == list(range(256))
    assert set(alphabet.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    assert alphabet[0x20] == "Ġ" and alphabet[0x0A] == "Ċ" and alphabet[ord("A")] == "A"
    assert vocab_token_to_bytes("Ġthe") == b" the"
    with pytest.raises(ValueError) as e:
        vocab_token_to_bytes("灯")
    one_line_error(e)


def test_show_tokens_marks_boundaries():
    view = show_tokens([b"Sh", b"all", b" I", b"\xe7\x81"], label="x")
    assert repr(view) == "x Sh|all| I|<e7><81>"
    assert view._repr_html_().count("<span") == 4


# --- the exercise checkers: the stub is "not done yet", each typical mistake is rejected, the solution passes ---

def most_frequent_pair(text):
    data = text.encode("utf-8")
    counts = Counter(zip(data, data[1:]))
    a, b = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
    return bytes([a, b])


def encode_chunk(chunk, merges):
    ids = list(chunk.encode("utf-8"))
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids


def encode_chunk_in_training_order(chunk, merges):  # every merge once, in order: the same ids, also right
    ids = list(chunk.encode("utf-8"))
    for pair, new_id in merges.items():
        ids = merge(ids, pair, new_id)
    return ids


def pack_documents(docs, encode, eot_id):
    ids = []
    for doc in docs:
        ids.extend(encode(doc))
        ids.append(eot_id)
    return ids


def train_bpe_with(chunked=True, weighted=True, tie_break=True, recount=True, overlap=False, first_id=256):
    """The notebook's train_bpe, with one typical mistake switched off (or on)."""
    import re

    def top(counts):
        if tie_break:
            return best_pair(counts)
        return counts.most_common(1)[0][0]  # the first pair seen among the tied ones

    def merge_overlapping(ids, pair, new_id):  # merges [a, a, a] into [aa, aa]: a byte used twice
        out = []
        for i, x in enumerate(ids):
            if i + 1 < len(ids) and (x, ids[i + 1]) == pair:
                out.append(new_id)
            elif not (i > 0 and (ids[i - 1], x) == pair):
                out.append(x)
        return out

    def train(text, n_merges):
        chunks = Counter(re.findall(SPLIT_PATTERN, text)) if chunked else Counter([text])
        words = {tuple(c.encode("utf-8")): (n if weighted else 1) for c, n in chunks.items()}
        merges, first_counts = {}, None
        for new_id in range(first_id, first_id + n_merges):
            counts = Counter()
            for w, n in words.items():
                pair_counts(list(w), counts, n)
            if not recount:
                first_counts = first_counts or counts
                counts = Counter({p: c for p, c in first_counts.items() if p not in merges})
            if not counts:
                break
            pair = top(counts)
            merges[pair] = new_id
            do_merge = merge_overlapping if overlap else merge
            words = {tuple(do_merge(list(w), pair, new_id)): n for w, n in words.items()}
        return merges
    return train


def most_frequent_pair_no_tiebreak(text):  # first pair seen among the tied ones
    data = text.encode("utf-8")
    return bytes(Counter(zip(data, data[1:])).most_common(1)[0][0])


def most_frequent_pair_of_characters(text):  # counts characters, not bytes
    counts = Counter(zip(text, text[1:]))
    a, b = max(counts, key=lambda p: (counts[p], [-ord(c) for c in p]))
    return (a + b).encode("utf-8")[:2]


def encode_leftmost_first(chunk, merges):  # the first learned pair from the left, not the earliest learned
    ids = list(chunk.encode("utf-8"))
    while pairs := [p for p in zip(ids, ids[1:]) if p in merges]:
        ids = merge(ids, pairs[0], merges[pairs[0]])
    return ids


def encode_latest_first(chunk, merges):
    ids = list(chunk.encode("utf-8"))
    while pairs := [p for p in zip(ids, ids[1:]) if p in merges]:
        pair = max(pairs, key=merges.get)
        ids = merge(ids, pair, merges[pair])
    return ids


def encode_most_frequent_first(chunk, merges):  # the chunk's own counts decide, as in training
    ids = list(chunk.encode("utf-8"))
    while len(ids) >= 2 and (pair := best_pair(pair_counts(ids))) in merges:
        ids = merge(ids, pair, merges[pair])
    return ids


def encode_one_merge(chunk, merges):  # stops after the first merge
    ids = list(chunk.encode("utf-8"))
    pairs = [p for p in zip(ids, ids[1:]) if p in merges]
    return merge(ids, min(pairs, key=merges.get), merges[min(pairs, key=merges.get)]) if pairs else ids


WRONG_ENCODE_CHUNK = {
    "not the leftmost": encode_leftmost_first,
    "not from how often": encode_most_frequent_first,
    "not the latest": encode_latest_first,
    "keep merging": encode_one_merge,
    "list of ints": lambda chunk, merges: [bytes([b]) for b in chunk.encode("utf-8")],
}


def pack_documents_with_text(docs, encode, eot_id):
    return encode("<|endoftext|>".join(docs))


def pack_documents_between_only(docs, encode, eot_id):
    ids = []
    for k, doc in enumerate(docs):
        ids += ([eot_id] if k else []) + encode(doc)
    return ids


def pack_documents_before_each(docs, encode, eot_id):
    return [i for doc in docs for i in [eot_id, *encode(doc)]]


WRONG_TRAIN_BPE = {
    "ties": train_bpe_with(tie_break=False),
    "overlaps": train_bpe_with(overlap=True),
    "chunks": train_bpe_with(chunked=False),
    "counts n times": train_bpe_with(weighted=False),
    "count the pairs again": train_bpe_with(recount=False),
    "256, 257": train_bpe_with(first_id=257),
}


@pytest.mark.parametrize("check, stub, solution, wrongs", [
    (checks.check_train_bpe, lambda text, n_merges: None, train_bpe_with(), list(WRONG_TRAIN_BPE.values())),
    (checks.check_most_frequent_pair, lambda text: None, most_frequent_pair,
     [most_frequent_pair_no_tiebreak, most_frequent_pair_of_characters, lambda text: text[:2]]),
    (checks.check_encode_chunk, lambda chunk, merges: None, encode_chunk, list(WRONG_ENCODE_CHUNK.values())),
    (checks.check_pack_documents, lambda docs, encode, eot_id: None, pack_documents,
     [pack_documents_with_text, pack_documents_between_only, pack_documents_before_each]),
], ids=["train_bpe", "most_frequent_pair", "encode_chunk", "pack_documents"])
def test_checkers(capsys, check, stub, solution, wrongs):
    assert_checker_behaves(check, stub, solution, wrongs, capsys)


@pytest.mark.parametrize("words", list(WRONG_TRAIN_BPE))
def test_train_bpe_hints(capsys, words):
    with rejects(capsys, words):
        checks.check_train_bpe(WRONG_TRAIN_BPE[words])


@pytest.mark.parametrize("words", list(WRONG_ENCODE_CHUNK))
def test_encode_chunk_hints(capsys, words):
    with rejects(capsys, words):
        checks.check_encode_chunk(WRONG_ENCODE_CHUNK[words])


def test_encode_chunk_in_training_order_passes(capsys):
    """Applying every merge once, in training order, gives the same ids (notebook 03, section 2 says why)."""
    assert checks.check_encode_chunk(encode_chunk_in_training_order) is encode_chunk_in_training_order


@pytest.mark.download
def test_fallbacks_are_the_course_implementations(text):
    from helpers import tokenizers as tokenizer

    assert tokenizer.train_merges(text[:5000], 30) == train_bpe_with()(text[:5000], 30)
    assert tokenizer.train_merges("ab", 0) == {}
    with pytest.raises(ValueError, match="whole number"):
        tokenizer.train_merges("ab", -1)
    for s in ["a banana and a bandana", "ああ", "mississippi"]:
        assert tokenizer.most_frequent_byte_pair(s) == most_frequent_pair(s)
    with pytest.raises(ValueError, match="fewer than 2"):
        tokenizer.most_frequent_byte_pair("a")
    merges = tokenizer.train_merges(text[:5000], 30)
    for chunk in [" thee", " summer", "aaaa", "灯台", ""]:
        assert tokenizer.encode_chunk(chunk, merges) == encode_chunk(chunk, merges)
    assert tokenizer.pack_documents(["ab", ""], lambda s: list(s.encode()), 9) == [97, 98, 9, 9]
