"""Checkers for the notebooks' exercises: each takes the learner's answer and says what is right.

A checker raises AssertionError with a hint when the answer is wrong and prints a short
confirmation when it is right, so the learner sees progress without seeing the solution.
"""
from __future__ import annotations


def passed(message: str) -> None:
    """Print the confirmation a checker shows when an answer is right."""
    print(f"✓ {message}")


def not_done(answer, hint: str) -> bool:
    """Return True, after printing the hint, when the learner's function still returns None."""
    if answer is None:
        print(f"… not done yet: {hint}")
        return True
    return False


# --- 01_attention -------------------------------------------------------------------------------

def _described(x) -> str:
    """Return 'Tensor (2, 3)' or the type's name, to say what a learner's function gave back."""
    return f"{type(x).__name__} {tuple(x.shape)}" if hasattr(x, "shape") else type(x).__name__


def check_softmax(softmax_fn) -> None:
    """Check softmax_fn(x) against torch.softmax over the last axis, scores near 1000 included."""
    import torch

    g = torch.Generator().manual_seed(1)
    inputs = [torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 5.0]]),
              50 * torch.randn(2, 3, 5, generator=g)]
    for x in inputs:
        got = softmax_fn(x.clone())
        if not_done(got, "subtract each row's max before exp, then divide by the row's sum"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"expected a tensor of shape {tuple(x.shape)}, got {_described(got)}"
        assert torch.isfinite(got).all(), \
            "some weights are inf or NaN: exp(1000) overflows, so subtract the row's max first " \
            "(x.max(dim=-1, keepdim=True))"
        assert torch.allclose(got.sum(-1), torch.ones(x.shape[:-1]), atol=1e-5), \
            "rows must sum to 1: divide by the sum over the last axis (dim=-1, keepdim=True)"
        assert torch.allclose(got, torch.softmax(x, dim=-1), atol=1e-6), \
            "finite and summing to 1, but not the softmax: use exp(x - max) / sum(exp(x - max)) along the last axis"
    passed("softmax matches torch.softmax and stays finite for scores near 1000")


def check_attend_one(attend_fn) -> None:
    """Check attend_fn(q (D,), K (S, D), V (S, Dv)) returns the attention output (Dv,) for one query."""
    import math

    import torch

    g = torch.Generator().manual_seed(2)
    q, K, V = torch.randn(8, generator=g), torch.randn(5, 8, generator=g), torch.randn(5, 3, generator=g)
    got = attend_fn(q, K, V)
    if not_done(got, "scores = K @ q / sqrt(D), weights = softmax(scores), output = weights @ V"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == (3,), \
        f"expected a tensor of shape (3,) (one value-sized vector), got {_described(got)}"
    unscaled = torch.softmax(K @ q, dim=0) @ V
    right = torch.softmax(K @ q / math.sqrt(8), dim=0) @ V
    assert not torch.allclose(got, unscaled, atol=1e-5), "almost: divide the scores by sqrt(D), D = len(q)"
    assert not torch.allclose(got, V.mean(0), atol=1e-5), \
        "that is the plain mean of V: weight the rows by softmax(scores)"
    assert torch.allclose(got, right, atol=1e-5), \
        "not the attention output: scores = K @ q / sqrt(D) (one per key), weights = softmax(scores), " \
        "output = weights @ V"
    passed("one query's attention output is right")


def check_causal_mask(mask_fn) -> None:
    """Check mask_fn(T) returns the (T, T) bool causal mask, True where query i may see key j <= i."""
    import torch

    for T in (1, 3, 6):
        got = mask_fn(T)
        if not_done(got, "start from torch.ones(T, T, dtype=torch.bool) and keep the lower triangle"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == (T, T), \
            f"mask_fn({T}) should be a ({T}, {T}) tensor, got {_described(got)}"
        assert got.dtype == torch.bool, \
            f"got dtype {got.dtype}: give a bool mask (True = may attend), e.g. with .bool()"
        want = torch.ones(T, T, dtype=torch.bool).tril()
        assert T == 1 or not torch.equal(got, want.T), \
            "transposed: row i is query i, and it may see columns 0..i (on and below the diagonal)"
        assert not torch.equal(got, want.tril(-1)), "the diagonal must be True: each token may look at itself"
        assert torch.equal(got, want), "query i (row i) may see keys 0..i (True) and none after it (False)"
    passed("causal mask is right")

# --- 02_gpt_block -------------------------------------------------------------------------------

def check_layer_norm(layer_norm_fn) -> None:
    """Check layer_norm_fn(x, weight, bias, eps) against torch's layer norm over the last axis."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(3)
    x = 3 * torch.randn(2, 4, 8, generator=g) + 5
    weight, bias = torch.randn(8, generator=g), torch.randn(8, generator=g)
    got = layer_norm_fn(x, weight, bias, 1e-5)
    if not_done(got, "subtract the mean of the last axis, divide by sqrt(variance + eps), then * weight + bias"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
        f"expected a tensor of shape {tuple(x.shape)}, got {type(got).__name__} {tuple(getattr(got, 'shape', ()))}"
    mean, var = x.mean(-1, keepdim=True), x.var(-1, keepdim=True, unbiased=True)
    assert not torch.allclose(got, (x - mean) / torch.sqrt(var + 1e-5) * weight + bias, atol=1e-5), \
        "almost: use the biased variance (divide by C, not C - 1): x.var(-1, keepdim=True, unbiased=False)"
    assert not torch.allclose(got, F.layer_norm(x, (8,), eps=1e-5), atol=1e-5), \
        "normalised, but not scaled and shifted: multiply by weight and add bias at the end"
    assert torch.allclose(got, F.layer_norm(x, (8,), weight, bias, 1e-5), atol=1e-5), \
        "not LayerNorm: normalise each vector over its last axis (dim=-1, keepdim=True), then * weight + bias"
    passed("layer_norm matches torch.nn.functional.layer_norm")


def check_param_count(count_fn) -> None:
    """Check count_fn(n_layer, n_embd, vocab_size, block_size) against real GPT-2-style models."""
    from helpers.model import GPT, GPTConfig

    for n_layer, n_embd, vocab, block in ((1, 8, 11, 5), (2, 16, 30, 7), (3, 24, 50, 13)):
        got = count_fn(n_layer, n_embd, vocab, block)
        if not_done(got, "add up embeddings, 12·C² weights + biases + 2 LayerNorms per block, and ln_f"):
            return
        config = GPTConfig(vocab_size=vocab, block_size=block, n_layer=n_layer, n_head=1, n_embd=n_embd)
        want = GPT(config).num_params()
        shape = f"n_layer={n_layer}, n_embd={n_embd}, vocab_size={vocab}, block_size={block}"
        assert got != want + vocab * n_embd, \
            f"{shape}: you counted lm_head, but it is the token embedding matrix again (weights are tied)"
        assert got != want - block * n_embd, f"{shape}: add the learned position table, block_size × n_embd"
        assert got == want, f"{shape}: got {got}, the model has {want} ({got - want:+d}); check biases and LayerNorms"
    passed("your count matches GPT.num_params() on three shapes")


def check_forward_flops(flops_fn) -> None:
    """Check flops_fn(n_layer, n_embd, vocab_size): the Linear layers' forward FLOPs per token, as torch counts."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from helpers.model import GPT, GPTConfig

    for n_layer, n_embd, vocab in ((1, 8, 11), (2, 16, 30), (3, 24, 50)):
        got = flops_fn(n_layer, n_embd, vocab)
        if not_done(got, "a Linear of an (in, out) weight does in·out multiply-adds per token, i.e. 2·in·out FLOPs"):
            return
        T = 4
        model = GPT(GPTConfig(vocab_size=vocab, block_size=T, n_layer=n_layer, n_head=1, n_embd=n_embd))
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, T, dtype=torch.long))
        want = counter.get_total_flops() // T  # scaled_dot_product_attention is not counted on CPU
        shape = f"n_layer={n_layer}, n_embd={n_embd}, vocab_size={vocab}"
        assert got != want // 2, f"{shape}: a multiply-add is 2 FLOPs; you counted 1 per weight"
        assert got != want - 2 * vocab * n_embd, f"{shape}: add the lm_head, the biggest single matmul here"
        assert got == want, f"{shape}: got {got}, torch counts {want} ({got - want:+d}); count all four Linears per block"
    passed("your FLOP count matches torch's FlopCounterMode")

# --- 03_tokenization ----------------------------------------------------------------------------

def _top_byte_pair(text: str) -> tuple[tuple[int, int], dict]:
    """Return the most frequent adjacent byte pair of text (ties: smallest) and all pair counts."""
    from collections import Counter

    data = text.encode("utf-8")
    counts = Counter(zip(data, data[1:]))
    return max(counts, key=lambda p: (counts[p], -p[0], -p[1])), counts


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
