"""Tokenizers written from scratch: characters (notebook 04 on) and byte-level BPE (notebook 03).

``CharTokenizer`` gives one id per distinct character. The rest of this module is byte-level
BPE: learn merges from text, encode text to ids, decode ids back.

Byte-level means the first 256 ids are the 256 byte values, so any string (any script, emoji)
encodes with no "unknown" token: UTF-8 turns it into bytes, and the merges learned from frequent
byte pairs make common byte sequences single tokens. Training (notebook 03 builds it step by step):

    1. cut the text into chunks (a word with its leading space, a number, a run of punctuation),
       so that no merge crosses a chunk boundary (no token like "e, T");
    2. count adjacent id pairs inside the chunks, each chunk weighted by how often it occurs;
    3. give the most frequent pair a new id, replace it everywhere, repeat up to vocab_size.

Special tokens such as <|endoftext|> get the last ids. Text between them is encoded as usual;
they are never split and never merged with their neighbours.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable


class CharTokenizer:
    """A character-level tokenizer: one id per distinct character of the text it was built from."""

    def __init__(self, chars: str):
        self.chars = "".join(sorted(set(chars)))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """Return the tokenizer whose vocabulary is the characters of ``text``."""
        if not text:
            raise ValueError("cannot build a character vocabulary from empty text")
        return cls(text)

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Return the ids of the characters of ``text``; one-line error on an unknown character."""
        try:
            return [self.stoi[c] for c in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the vocabulary of {len(self)} characters: "
                             f"remove it or build the tokenizer from text that has it") from None

    def decode(self, ids) -> str:
        """Return the text of a sequence of ids (a list or a 1-D tensor)."""
        return "".join(self.chars[i] for i in (ids.tolist() if hasattr(ids, "tolist") else ids))


# GPT-2's pre-tokenizer written for the standard `re` module (GPT-2 uses \p{L}, \p{N} from the
# `regex` package). In order: an English contraction; an optional space then letters
# ([^\W\d_] is "a word character that is not a digit or _", i.e. a letter in any script); an
# optional space then digits; an optional space then other symbols; whitespace that is not
# followed by a non-space (so a word keeps the one space before it); any remaining whitespace.
# Every character matches one branch, so the chunks always join back into the text.
SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
SPECIAL_TOKENS = ("<|endoftext|>",)


def pair_counts(ids: list[int], counts: Counter | None = None, weight: int = 1) -> Counter:
    """Return a Counter of adjacent id pairs in ``ids``, each counted ``weight`` times, added to ``counts``."""
    counts = Counter() if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] += weight
    return counts


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Return ``ids`` with each occurrence of ``pair``, read left to right, replaced by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def best_pair(counts: Counter) -> tuple[int, int]:
    """Return the most frequent pair; a tie goes to the pair with the smallest ids (deterministic)."""
    return max(counts, key=lambda p: (counts[p], -p[0], -p[1]))


def encode_chunk(chunk: str, merges: dict[tuple[int, int], int]) -> list[int]:
    """Return the ids of one chunk: merge the pair learned earliest (lowest new id) first, until none is left.

    ``merges`` maps (left id, right id) to the new id, as training learned them: notebook 03's ``encode_chunk``.
    """
    ids = list(chunk.encode("utf-8"))
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break  # no pair left that training merged
        ids = merge(ids, pair, merges[pair])
    return ids


class BPETokenizer:
    """Byte-level BPE: ``train(text, vocab_size)`` learns merges, then ``encode`` / ``decode``."""

    def __init__(self, special_tokens: Iterable[str] = SPECIAL_TOKENS, pattern: str = SPLIT_PATTERN):
        names = list(special_tokens)
        if any(not isinstance(s, str) or not s for s in names) or len(set(names)) != len(names):
            raise ValueError(f"special_tokens must be distinct non-empty strings, got {names!r}")
        self.pattern = re.compile(pattern)
        self.special_names = tuple(names)
        self.merges: dict[tuple[int, int], int] = {}  # (left id, right id) -> new id, in training order
        self._build()

    def _build(self) -> None:
        """Recompute the id -> bytes table and the special ids from the merges."""
        self.vocab = {i: bytes([i]) for i in range(256)}
        for (a, b), new_id in self.merges.items():  # dicts keep training order: parts exist first
            self.vocab[new_id] = self.vocab[a] + self.vocab[b]
        first = 256 + len(self.merges)
        self.special_tokens = {name: first + k for k, name in enumerate(self.special_names)}
        for name, i in self.special_tokens.items():
            self.vocab[i] = name.encode("utf-8")
        longest_first = sorted(self.special_names, key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, longest_first)) + ")") if longest_first else None
        self._cache: dict[str, list[int]] = {}  # chunk -> ids; text repeats chunks a lot

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return (f"BPETokenizer(vocab_size={len(self)}, merges={len(self.merges)}, "
                f"special_tokens={list(self.special_names)})")

    def _pieces(self, text: str, allow_special: bool) -> list[tuple[str, bool]]:
        """Return the text cut at special tokens as (piece, is_special) pairs."""
        if not allow_special or self._special_re is None:
            return [(text, False)]
        parts = self._special_re.split(text)  # the capturing group puts the specials at odd indices
        return [(p, k % 2 == 1) for k, p in enumerate(parts) if p]

    def train(self, text: str, vocab_size: int, progress: bool = True) -> BPETokenizer:
        """Learn merges from ``text`` until the vocabulary
        (bytes + merges + specials) has ``vocab_size`` ids; return self."""
        n_special = len(self.special_names)
        if not isinstance(vocab_size, int) or vocab_size < 256 + n_special:
            raise ValueError(f"vocab_size={vocab_size!r} is too small: byte-level BPE needs the 256 byte ids plus "
                             f"{n_special} special token(s), so ask for at least {256 + n_special}")
        if not isinstance(text, str) or not text:
            raise ValueError("cannot train on empty text: pass a non-empty string to learn merges from")
        chunks = Counter()
        for piece, special in self._pieces(text, allow_special=True):
            if not special:  # special tokens are never part of a merge
                chunks.update(self.pattern.findall(piece))
        words = [list(chunk.encode("utf-8")) for chunk in chunks]
        freqs = list(chunks.values())
        counts: Counter = Counter()
        where = defaultdict(set)  # pair -> indices of the words that contain it
        for w, (word, freq) in enumerate(zip(words, freqs)):
            pair_counts(word, counts, freq)
            for pair in zip(word, word[1:]):
                where[pair].add(w)

        self.merges = {}
        steps = range(256, vocab_size - n_special)
        if progress:
            from tqdm import tqdm
            steps = tqdm(steps, desc="BPE merges", unit="merge")
        for new_id in steps:
            if not counts:  # every chunk is one token already: the text is too small for vocab_size
                break
            pair = best_pair(counts)
            # Only the words that contain the pair change; update their counts and nothing else.
            for w in where.pop(pair):
                word, freq = words[w], freqs[w]
                for p in zip(word, word[1:]):
                    counts[p] -= freq
                    if counts[p] == 0:
                        del counts[p]
                words[w] = word = merge(word, pair, new_id)
                for p in zip(word, word[1:]):
                    counts[p] += freq
                    where[p].add(w)
            self.merges[pair] = new_id
        self._build()
        return self

    def _encode_chunk(self, chunk: str) -> list[int]:
        """Return the ids of one chunk: apply merges in training order (lowest new id first)."""
        if chunk not in self._cache:
            self._cache[chunk] = encode_chunk(chunk, self.merges)
        return self._cache[chunk]

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Return the token ids of ``text``; with allow_special=False a literal "<|endoftext|>" is plain text."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}: decode bytes with .decode('utf-8') first")
        ids: list[int] = []
        for piece, special in self._pieces(text, allow_special):
            if special:
                ids.append(self.special_tokens[piece])
            else:
                for chunk in self.pattern.findall(piece):
                    ids.extend(self._encode_chunk(chunk))
        return ids

    def token_bytes(self, ids) -> list[bytes]:
        """Return the bytes each id stands for (a token may be part of a UTF-8 character)."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        for i in ids:
            if i not in self.vocab:
                raise ValueError(f"id {i!r} is not in this tokenizer's vocabulary (ids 0..{len(self) - 1}): "
                                 f"decode only ids that this tokenizer's encode() produced")
        return [self.vocab[i] for i in ids]

    def decode(self, ids) -> str:
        """Return the text of ``ids`` (a list or tensor); a cut UTF-8 character shows as '\ufffd'."""
        return b"".join(self.token_bytes(ids)).decode("utf-8", errors="replace")


def train_merges(text: str, n_merges: int) -> dict[tuple[int, int], int]:
    """Return the first ``n_merges`` merges BPE learns from ``text`` (chunked by SPLIT_PATTERN), in order.

    The result maps (left id, right id) to the new id 256, 257, ...: notebook 03's ``train_bpe``.
    """
    if not isinstance(n_merges, int) or n_merges < 0:
        raise ValueError(f"n_merges={n_merges!r}: give a whole number of merges, 0 or more")
    return dict(BPETokenizer(special_tokens=()).train(text, 256 + n_merges, progress=False).merges)


def most_frequent_byte_pair(text: str) -> bytes:
    """Return the most frequent pair of neighbouring UTF-8 bytes of ``text`` as 2 bytes (ties: the smaller pair)."""
    counts = pair_counts(list(text.encode("utf-8")))
    if not counts:
        raise ValueError(f"{text!r} has fewer than 2 UTF-8 bytes: there is no pair to count")
    return bytes(best_pair(counts))


def pack_documents(docs: Iterable[str], encode, eot_id: int) -> list[int]:
    """Return one id stream: each document's ids (``encode(doc)``) followed by ``eot_id``."""
    ids: list[int] = []
    for doc in docs:
        ids.extend(encode(doc))
        ids.append(eot_id)  # the id itself: the text "<|endoftext|>" would be encoded as ordinary bytes
    return ids


def byte_alphabet() -> dict[int, str]:
    """Return GPT-2's printable stand-in character for each byte (space 0x20 -> 'Ġ', newline -> 'Ċ')."""
    # Byte-level vocabularies (GPT-2, SmolLM2, `tokenizers`) store tokens as strings: bytes that are
    # visible Latin-1 characters stand for themselves, the rest are shifted to chr(256), chr(257), ...
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in visible}
    shifted = (b for b in range(256) if b not in table)
    table.update({b: chr(256 + k) for k, b in enumerate(shifted)})
    return dict(sorted(table.items()))


_FROM_ALPHABET = {ch: b for b, ch in byte_alphabet().items()}


def vocab_token_to_bytes(token: str) -> bytes:
    """Return the bytes a byte-level vocabulary entry such as 'Ġthe' stands for (b' the')."""
    try:
        return bytes(_FROM_ALPHABET[ch] for ch in token)
    except KeyError as e:
        raise ValueError(f"{token!r} is not a byte-level token "
                         f"(character {e.args[0]!r} is not in the byte alphabet)") from None


def show_bytes(piece: bytes) -> str:
    """Return a token's bytes as text, or as hex like '<e8>' when they are part of a UTF-8 character."""
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(f"<{b:02x}>" for b in piece)


class TokenView:
    """Tokens shown on alternating coloured backgrounds in Jupyter, or joined by '|' as plain text."""

    COLOURS = ("#cfe8ff", "#ffe2b8", "#d6f5d6", "#f5d6f0")

    def __init__(self, pieces: Iterable[bytes | str], label: str | None = None):
        self.texts = [show_bytes(p) if isinstance(p, bytes) else p for p in pieces]
        self.label = label

    def __repr__(self) -> str:
        head = f"{self.label} " if self.label else ""
        return head + "|".join(t.replace("\n", "\\n") for t in self.texts)

    def _repr_html_(self) -> str:
        import html

        spans = []
        for k, text in enumerate(self.texts):
            text = html.escape(text).replace("\n", "↵<br>")
            spans.append(f'<span style="background:{self.COLOURS[k % len(self.COLOURS)]};color:#000;'
                         f'border-right:1px solid #888;white-space:pre-wrap">{text}</span>')
        head = f"<b>{html.escape(self.label)}</b> " if self.label else ""
        return f'<div style="font-family:monospace;line-height:1.9">{head}{"".join(spans)}</div>'


def show_tokens(pieces: Iterable[bytes | str], label: str | None = None) -> TokenView:
    """Return a view of tokens (bytes or str) that Jupyter draws with each token on its own colour."""
    return TokenView(pieces, label)
