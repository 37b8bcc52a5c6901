"""Checkers for the exercises of notebook 03_tokenization (see helpers.course.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed

# (text, n_merges, hint when the answer differs from the course's merges): each case exposes one mistake
# that the cases before it let through
_TRAIN_CASES = (
    ("zy ab", 1, "three pairs tie at count 1: break ties with the smallest ids, as top_pair does ((32, 97) here)"),
    ("x. y. z.", 1, "count pairs inside the chunks of re.findall(PATTERN, text) only: '.' and ' ' are different "
                    "chunks, so (46, 32) ('. ') must never be merged"),
    ("xy xy xy xy ab ac ad", 1, "a chunk that occurs n times counts n times: add n for each of its pairs"),
    ("ab ab ab xy", 2, "count the pairs again after each merge: merging (97, 98) creates the pair (32, 256) (' ab') "
                       "and removes (32, 97)"),
    ("aaa aaa aaa", 2, "merge each occurrence left to right without overlaps, as merge_pair does: the ids of "
                       "'aaa' become [256, 97], not [256, 256]; and count overlapping pairs: 'aaa' holds (a, a) twice"),
    ("Shall I compare thee to a summer's day? Thou art more lovely and more temperate: Rough winds do shake "
     "the darling buds of May, And summer's lease hath all too short a date.", 40,
     "compare your loop with the toy loop of section 2, run on each chunk with its count"),
)


def _pieces(merges: dict) -> dict:
    """Return id -> bytes for the merges (ids that do not build on known ids are left out)."""
    vocab = {i: bytes([i]) for i in range(256)}
    for (a, b), new_id in merges.items():
        if a in vocab and b in vocab:
            vocab[new_id] = vocab[a] + vocab[b]
    return vocab


@exercise(fallback="helpers.tokenizers.train_merges")
def check_train_bpe(train_fn) -> None:
    """Check train_fn(text, n_merges) -> {(left id, right id): new id} against helpers.tokenizers.train_merges."""
    from helpers.tokenizers import train_merges

    for text, n_merges, hint in _TRAIN_CASES:
        got = train_fn(text, n_merges)
        not_done(got, "chunk the text, count pairs (each chunk weighted by its count), merge the top pair in every "
                      "chunk, record it as merges[pair] = new_id, repeat")
        where = f"train_bpe({text[:24] + '...' if len(text) > 24 else text!r}, {n_merges})"
        assert isinstance(got, dict), \
            f"{where} returned a {type(got).__name__}: return a dict {{(left id, right id): new id}}"
        assert all(isinstance(k, tuple) and len(k) == 2 and all(isinstance(i, int) for i in k) for k in got), \
            f"{where}: the keys should be pairs of ids (ints), such as (32, 116), got {list(got)[:3]}"
        assert list(got.values()) == list(range(256, 256 + len(got))), (
            f"{where}: the new ids should be 256, 257, ... in the order the merges were learned, "
            f"got {list(got.values())[:5]}")
        want = train_merges(text, n_merges)
        assert len(got) == len(want), (f"{where}: learned {len(got)} merges, expected {len(want)}: "
                                       f"stop after n_merges (or earlier, when no pair is left)")
        if list(got.items()) != list(want.items()):
            step = next(k for k, (a, b) in enumerate(zip(got, want)) if a != b)
            mine, right = _pieces(got), _pieces(want)
            new_id = 256 + step
            shown = mine.get(new_id, list(got)[step])
            raise AssertionError(f"{where}: merge {new_id} should make {right[new_id]!r}, "
                                 f"yours makes {shown!r}: {hint}")
    passed("train_bpe learns the course's merges: chunks, counts, ties and overlaps")


@exercise(fallback="helpers.tokenizers.most_frequent_byte_pair")
def check_most_frequent_pair(fn) -> None:
    """Check fn(text) -> the most frequent adjacent pair of text's UTF-8 bytes, as 2 bytes."""
    from helpers.tokenizers import most_frequent_byte_pair, pair_counts

    for text in ["a banana and a bandana", "hello", "mississippi", "ああ"]:
        got = fn(text)
        not_done(got, "encode the text to UTF-8 bytes, count each adjacent pair, return the top one as bytes")
        assert isinstance(got, bytes) and len(got) == 2, (
            f"most_frequent_pair({text!r}) returned {got!r}: return 2 bytes such as b'an' (bytes([a, b]) builds them)")
        want = most_frequent_byte_pair(text)
        if got != want:
            counts = pair_counts(list(text.encode("utf-8")))
            n_got, n_want = counts.get(tuple(got), 0), counts[tuple(want)]
            if n_got == n_want:
                hint = (f"{got!r} is tied with another pair at {n_got}: "
                        f"break ties with the smaller pair (compare the bytes)")
            elif not text.isascii():
                hint = (f"{got!r} occurs {n_got} times among the bytes, the top pair {n_want}: "
                        f"count UTF-8 bytes, not characters")
            else:
                hint = f"{got!r} occurs {n_got} times, but some pair occurs {n_want} times"
            raise AssertionError(f"most_frequent_pair({text!r}) returned {got!r}: {hint}")
    passed("most_frequent_pair finds the top byte pair, with ties and Japanese text")


@exercise(fallback="helpers.tokenizers.apply_merges")
def check_apply_merges(fn) -> None:
    """Check fn(word, merges) -> the word's pieces (bytes) after applying the merges in order."""
    from helpers.tokenizers import apply_merges

    cases = [
        ("banana", [(b"a", b"n"), (b"an", b"a")]),
        ("abc", [(b"b", b"c"), (b"a", b"b")]),  # order matters: (a, b) never gets a chance
        ("aaa", [(b"a", b"a")]),
        ("aaaa", [(b"a", b"a"), (b"aa", b"aa")]),
        (" the", [(b" ", b"t"), (b"h", b"e"), (b" t", b"he")]),
        ("灯", [(b"\xe7", b"\x81")]),
        ("the", []),
    ]
    for word, merges in cases:
        got = fn(word, list(merges))
        not_done(got, "start from [bytes([b]) for b in word.encode('utf-8')], then apply each merge in turn")
        want = apply_merges(word, merges)
        if got == want:
            continue
        where = f"apply_merges({word!r}, {merges!r}) returned {got!r}"
        assert isinstance(got, list) and all(isinstance(p, bytes) for p in got), (
            f"{where}: return a list of bytes pieces such as [b'b', b'an', b'ana']")
        assert len(b"".join(got)) <= len(word.encode("utf-8")), (
            f"{where}: a byte was used twice: after merging pieces i and i + 1, go on at i + 2 (no overlapping merges)")
        assert b"".join(got) == word.encode("utf-8"), f"{where}: the pieces must join back into the word's UTF-8 bytes"
        raise AssertionError(f"{where}: apply the merges one after another in the order given, "
                             f"each one everywhere in the word, left to right")
    passed("apply_merges applies merges in training order, bytes and all")


@exercise(fallback="helpers.tokenizers.pack_documents")
def check_pack_documents(fn) -> None:
    """Check fn(docs, encode, eot_id) -> one id stream: each document's ids followed by eot_id."""
    def encode(s: str) -> list[int]:
        return list(s.encode("utf-8"))  # a byte tokenizer: the id of a byte is its value
    eot = 256
    for docs in (["Shall I", "compare thee"], ["ab", "灯"], ["one"], []):
        got = fn(list(docs), encode, eot)
        not_done(got, "for each document: extend a list with encode(doc), then append eot_id")
        want = [i for doc in docs for i in [*encode(doc), eot]]
        if got == want:
            continue
        where = f"pack_documents({docs!r}, encode, {eot}) returned {got!r}"
        assert isinstance(got, list), f"{where}: return one flat list of ints"
        assert b"<|endoftext|>" not in bytes(i for i in got if isinstance(i, int) and 0 <= i < 256), (
            f"{where}: append the id eot_id itself; the text '<|endoftext|>' is encoded as ordinary bytes here")
        assert got.count(eot) == len(docs), (
            f"{where}: put eot_id after every document (the last one too): {len(docs)} of them, "
            f"you have {got.count(eot)}")
        raise AssertionError(f"{where}: expected each document's ids, in order, each followed by {eot}")
    passed("pack_documents separates documents with one <|endoftext|> id each")
