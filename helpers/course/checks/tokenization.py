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
        not_done(got, "start from the toy loop of section 2, which already counts, picks and merges; what changes "
                      "when the text is cut into chunks that repeat?")
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
        not_done(got, "look at the UTF-8 bytes of a short word such as 'banana' first: which pair of neighbours "
                      "comes back most often?")
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


def _encode_variants() -> dict:
    """Return {hint: encode_chunk written with that mistake} for the usual wrong ways to encode a chunk."""
    from collections import Counter

    from helpers.tokenizers import best_pair, merge

    def leftmost(chunk, merges):  # the first learned pair from the left, not the earliest learned one
        ids = list(chunk.encode("utf-8"))
        while pairs := [p for p in zip(ids, ids[1:]) if p in merges]:
            ids = merge(ids, pairs[0], merges[pairs[0]])
        return ids

    def latest_first(chunk, merges):
        ids = list(chunk.encode("utf-8"))
        while pairs := [p for p in zip(ids, ids[1:]) if p in merges]:
            pair = max(pairs, key=merges.get)
            ids = merge(ids, pair, merges[pair])
        return ids

    def most_frequent(chunk, merges):  # the chunk's own top pair, as in training
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            pair = best_pair(Counter(zip(ids, ids[1:])))
            if pair not in merges:
                return ids
            ids = merge(ids, pair, merges[pair])
        return ids

    def one_merge(chunk, merges):
        ids = list(chunk.encode("utf-8"))
        pairs = [p for p in zip(ids, ids[1:]) if p in merges]
        if not pairs:
            return ids
        pair = min(pairs, key=merges.get)
        return merge(ids, pair, merges[pair])

    return {
        "among all neighbouring pairs, merge the one learned earliest (the smallest new id) first, wherever it "
        "sits, not the leftmost pair that has a merge": leftmost,
        "the order comes from training, not from how often a pair occurs in this chunk: merge the pair learned "
        "earliest first, and go on while any neighbouring pair has a merge": most_frequent,
        "merge the pair learned earliest (the smallest new id) first, not the latest: later merges build on "
        "earlier ones": latest_first,
        "keep merging until no neighbouring pair is in merges: a merge can create a pair that was learned "
        "later": one_merge,
    }


@exercise(fallback="helpers.tokenizers.encode_chunk")
def check_encode_chunk(fn) -> None:
    """Check fn(chunk, merges) -> the chunk's ids, the pair learned earliest merged first, against
    helpers.tokenizers.encode_chunk."""
    from helpers.tokenizers import encode_chunk, train_merges

    line = ("Shall I compare thee to a summer's day? Thou art more lovely and more temperate: Rough winds do shake "
            "the darling buds of May, And summer's lease hath all too short a date.")
    learned = train_merges(line, 40)
    cases = [
        ("abc", {(97, 98): 256, (98, 99): 257}),
        ("abcbc", {(97, 98): 256, (98, 99): 257}),  # (b, c) is the chunk's most frequent pair, but learned later
        ("abc", {(98, 99): 256, (97, 98): 257}),  # (b, c) was learned first, though (a, b) comes first
        ("aaaa", {(97, 97): 256, (256, 256): 257}),
        ("aaa", {(97, 97): 256}),
        (" the", {(104, 101): 256, (32, 116): 257, (257, 256): 258}),
        ("xyz", {(97, 98): 256}),
        ("a", {(97, 98): 256}),
        ("灯", {(0xE7, 0x81): 256}),
        (" summer", learned), (" darling", learned), (" thee", learned),
    ]
    for chunk, merges in cases:
        got = fn(chunk, dict(merges))
        not_done(got, "the paragraph above says which pair goes first; what in merges tells you when "
                      "training learned a pair?")
        want = encode_chunk(chunk, merges)
        if got == want:
            continue
        shown = repr(merges) if len(merges) <= 3 else "the merges learned from a sonnet line"
        where = f"encode_chunk({chunk!r}, {shown}) returned {got!r}"
        assert isinstance(got, list) and all(isinstance(i, int) for i in got), \
            f"{where}: return the chunk's ids, a list of ints such as [97, 256]"
        for hint, variant in _encode_variants().items():
            assert got != variant(chunk, merges), f"{where}, expected {want!r}: {hint}"
        raise AssertionError(f"{where}, expected {want!r}: start from the chunk's UTF-8 bytes and repeat: of the "
                             f"neighbouring pairs that have a merge, merge the one learned earliest")
    passed("encode_chunk merges the pair learned earliest first, until no learned pair is left")


@exercise(fallback="helpers.tokenizers.pack_documents")
def check_pack_documents(fn) -> None:
    """Check fn(docs, encode, eot_id) -> one id stream: each document's ids followed by eot_id."""
    def encode(s: str) -> list[int]:
        return list(s.encode("utf-8"))  # a byte tokenizer: the id of a byte is its value
    eot = 256
    for docs in (["Shall I", "compare thee"], ["ab", "灯"], ["one"], []):
        got = fn(list(docs), encode, eot)
        not_done(got, "what goes after each document in the stream (the last one too): the text "
                      "'<|endoftext|>' or its id?")
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
