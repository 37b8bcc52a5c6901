"""Checkers for the exercises of notebook 03_tokenization (see helpers.checks for how they report)."""
from __future__ import annotations

from . import exercise, not_done, passed


def _top_byte_pair(text: str) -> tuple[tuple[int, int], dict]:
    """Return the most frequent adjacent byte pair of text (ties: smallest) and all pair counts."""
    from collections import Counter

    data = text.encode("utf-8")
    counts = Counter(zip(data, data[1:]))
    return max(counts, key=lambda p: (counts[p], -p[0], -p[1])), counts


@exercise()
def check_most_frequent_pair(fn) -> None:
    """Check fn(text) -> the most frequent adjacent pair of text's UTF-8 bytes, as 2 bytes."""
    for text in ["a banana and a bandana", "hello", "mississippi", "ああ"]:
        got = fn(text)
        if not_done(got, "encode the text to UTF-8 bytes, count each adjacent pair, return the top one as bytes"):
            return
        assert isinstance(got, bytes) and len(got) == 2, (
            f"most_frequent_pair({text!r}) returned {got!r}: return 2 bytes such as b'an' (bytes([a, b]) builds them)")
        want, counts = _top_byte_pair(text)
        if tuple(got) != want:
            n_got, n_want = counts.get(tuple(got), 0), counts[want]
            if n_got == n_want:
                hint = f"{got!r} is tied with another pair at {n_got}: break ties with the smaller pair (compare the bytes)"
            elif not text.isascii():
                hint = f"{got!r} occurs {n_got} times among the bytes, the top pair {n_want}: count UTF-8 bytes, not characters"
            else:
                hint = f"{got!r} occurs {n_got} times, but some pair occurs {n_want} times"
            raise AssertionError(f"most_frequent_pair({text!r}) returned {got!r}: {hint}")
    passed("most_frequent_pair finds the top byte pair, with ties and Japanese text")


def _apply_merges(word: str, merges) -> list[bytes]:
    pieces = [bytes([b]) for b in word.encode("utf-8")]
    for left, right in merges:
        out, i = [], 0
        while i < len(pieces):
            if i + 1 < len(pieces) and pieces[i] == left and pieces[i + 1] == right:
                out.append(left + right)
                i += 2
            else:
                out.append(pieces[i])
                i += 1
        pieces = out
    return pieces


@exercise()
def check_apply_merges(fn) -> None:
    """Check fn(word, merges) -> the word's pieces (bytes) after applying the merges in order."""
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
        if not_done(got, "start from [bytes([b]) for b in word.encode('utf-8')], then apply each merge in turn"):
            return
        want = _apply_merges(word, merges)
        if got == want:
            continue
        where = f"apply_merges({word!r}, {merges!r}) returned {got!r}"
        assert isinstance(got, list) and all(isinstance(p, bytes) for p in got), (
            f"{where}: return a list of bytes pieces such as [b'b', b'an', b'ana']")
        assert b"".join(got) == word.encode("utf-8"), f"{where}: the pieces must join back into the word's UTF-8 bytes"
        raise AssertionError(f"{where}: apply the merges one after another in the order given, "
                             f"each one everywhere in the word, left to right")
    passed("apply_merges applies merges in training order, bytes and all")


@exercise()
def check_pack_documents(fn) -> None:
    """Check fn(docs, encode, eot_id) -> one id stream: each document's ids followed by eot_id."""
    def encode(s: str) -> list[int]:
        return list(s.encode("utf-8"))  # a byte tokenizer: the id of a byte is its value
    eot = 256
    for docs in (["Shall I", "compare thee"], ["ab", "灯"], ["one"], []):
        got = fn(list(docs), encode, eot)
        if not_done(got, "for each document: extend a list with encode(doc), then append eot_id"):
            return
        want = [i for doc in docs for i in [*encode(doc), eot]]
        if got == want:
            continue
        where = f"pack_documents({docs!r}, encode, {eot}) returned {got!r}"
        assert isinstance(got, list), f"{where}: return one flat list of ints"
        assert b"<|endoftext|>" not in bytes(i for i in got if i < 256), (
            f"{where}: append the id eot_id itself; the text '<|endoftext|>' is encoded as ordinary bytes here")
        assert got.count(eot) == len(docs), (
            f"{where}: put eot_id after every document (the last one too): {len(docs)} of them, you have {got.count(eot)}")
        raise AssertionError(f"{where}: expected each document's ids, in order, each followed by {eot}")
    passed("pack_documents separates documents with one <|endoftext|> id each")
