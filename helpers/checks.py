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

# --- 05_decoding --------------------------------------------------------------------------------

def check_min_p(min_p_fn) -> None:
    """Check min_p_fn(logits, min_p) against transformers' MinPLogitsWarper (tokens dropped = -inf)."""
    import torch
    from transformers import MinPLogitsWarper

    g = torch.Generator().manual_seed(5)
    logits = torch.cat([3 * torch.randn(3, 30, generator=g), torch.zeros(1, 30)])  # the last row: all tied
    for min_p in (0.05, 0.2, 0.6):
        got = min_p_fn(logits.clone(), min_p)
        if not_done(got, "probs = softmax(logits); drop (set to -inf) tokens with probs < min_p * probs.max(-1)"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == logits.shape, \
            f"expected a tensor of shape {tuple(logits.shape)}, got {_described(got)}"
        want = MinPLogitsWarper(min_p)(torch.zeros(4, 1, dtype=torch.long), logits.clone())
        if torch.equal(got, want):
            continue
        assert not (torch.isfinite(got).all() and torch.allclose(got.sum(-1), torch.ones(4))), \
            "that looks like probabilities: return the logits, with the dropped tokens set to float('-inf')"
        probs = logits.softmax(-1)
        assert not torch.equal(torch.isinf(got), probs < min_p), \
            f"min_p={min_p}: the threshold is relative: min_p times the most likely token's probability"
        assert not torch.equal(torch.isinf(got), logits < min_p * logits.amax(-1, keepdim=True)), \
            f"min_p={min_p}: compare probabilities (softmax of the logits), not the logits themselves"
        assert torch.equal(torch.isinf(got), torch.isinf(want)), \
            f"min_p={min_p}: you keep {int(torch.isfinite(got).sum())} tokens, min-p keeps " \
            f"{int(torch.isfinite(want).sum())}: keep exactly those with probs >= min_p * probs.max(-1, keepdim=True)"
        raise AssertionError(f"min_p={min_p}: the right tokens are dropped, but kept tokens must keep their "
                             f"logits unchanged (use masked_fill with float('-inf'))")
    passed("min_p matches transformers' MinPLogitsWarper")


def check_repetition_penalty(penalty_fn) -> None:
    """Check penalty_fn(logits (B, V), ids (B, T), penalty) against transformers' RepetitionPenaltyLogitsProcessor."""
    import torch
    from transformers import RepetitionPenaltyLogitsProcessor

    g = torch.Generator().manual_seed(6)
    logits = 2 * torch.randn(2, 12, generator=g)
    ids = torch.tensor([[1, 3, 3, 7, 1], [0, 5, 11, 5, 5]])  # repeats: a token is penalised once, however often it came
    for penalty in (1.5, 1.2):
        got = penalty_fn(logits.clone(), ids.clone(), penalty)
        if not_done(got, "for each token in ids: divide its logit by penalty if > 0, multiply it if < 0"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == logits.shape, \
            f"expected a tensor of shape {tuple(logits.shape)}, got {_described(got)}"
        want = RepetitionPenaltyLogitsProcessor(penalty)(ids.clone(), logits.clone())
        if torch.allclose(got, want, atol=1e-6):
            continue
        seen = torch.zeros_like(logits, dtype=torch.bool).scatter(1, ids, True)
        assert torch.allclose(got[~seen], logits[~seen]), \
            "a token that is not in ids must keep its logit: penalise only the tokens already generated"
        assert not torch.allclose(got[seen], logits[seen] / penalty, atol=1e-6), \
            "dividing a negative logit by the penalty raises it (-2 / 1.5 = -1.33): multiply negative logits instead"
        raise AssertionError("penalise each token of ids once (not once per occurrence): "
                             "where(logit > 0, logit / penalty, logit * penalty)")
    passed("repetition_penalty matches transformers' RepetitionPenaltyLogitsProcessor")


def check_kv_cache_bytes(bytes_fn) -> None:
    """Check bytes_fn(n_layer, n_embd, seq_len, batch_size, bytes_per_value) against real KV caches."""
    import torch

    from helpers.model import GPT, GPTConfig

    for n_layer, n_embd, seq_len, batch, dtype in ((1, 8, 5, 1, torch.float32), (3, 16, 7, 5, torch.float32),
                                                   (2, 24, 9, 3, torch.bfloat16)):
        bytes_per_value = torch.finfo(dtype).bits // 8
        got = bytes_fn(n_layer, n_embd, seq_len, batch, bytes_per_value)
        if not_done(got, "every layer keeps a key and a value vector of n_embd numbers per token of every sequence"):
            return
        model = GPT(GPTConfig(vocab_size=11, block_size=seq_len, n_layer=n_layer, n_head=2, n_embd=n_embd)).to(dtype)
        cache = model.new_cache()
        with torch.no_grad():
            model(torch.zeros(batch, seq_len, dtype=torch.long), cache=cache)
        want = sum(t.nelement() * t.element_size() for layer in cache for t in (layer.k, layer.v))
        shape = f"n_layer={n_layer}, n_embd={n_embd}, seq_len={seq_len}, batch_size={batch}, bytes={bytes_per_value}"
        assert got != want // 2, f"{shape}: got {got}, half of it: the cache holds keys AND values"
        assert got != want // n_layer or n_layer == 1, f"{shape}: got {got}: every one of the n_layer layers has its own cache"
        assert got != want // batch or batch == 1, f"{shape}: got {got}: each sequence in the batch has its own cache"
        assert got == want, f"{shape}: got {got}, the real cache takes {want} bytes"
    passed("your formula matches the bytes of real KV caches")


# --- 06_scaling_laws ----------------------------------------------------------------------------

def check_fit_power_law(fit_fn) -> None:
    """Check fit_fn(n, loss) -> (alpha, n_c) of loss = (n_c / n)^alpha, fitted as a line in log-log space."""
    import numpy as np

    n = np.geomspace(2e3, 2e6, 6)
    noise = np.exp(np.array([0.01, -0.02, 0.015, 0.0, -0.01, 0.005]))
    for alpha, n_c, wobble in ((0.3, 4e4, 1.0), (0.076, 8.8e13, 1.0), (0.2, 1e5, noise)):
        loss = (n_c / n) ** alpha * wobble
        got = fit_fn(n.copy(), loss.copy())
        if not_done(got, "fit a line to (log n, log loss) with np.polyfit(x, y, 1): alpha is minus its slope, "
                               "and its intercept is alpha·log(n_c)"):
            return
        assert isinstance(got, (tuple, list)) and len(got) == 2, f"return two numbers (alpha, n_c), got {got!r}"
        a_got, c_got = (float(v) for v in got)
        slope, intercept = np.polyfit(np.log(n), np.log(loss), 1)
        want_a, want_c = -slope, np.exp(intercept / -slope)
        case = f"data from alpha={alpha}, n_c={n_c:g}"
        assert not np.isclose(a_got, slope, rtol=1e-3), f"{case}: got alpha={a_got:.3f}: alpha is MINUS the slope"
        assert np.isclose(a_got, want_a, rtol=1e-3), \
            f"{case}: got alpha={a_got:.4g}, want {want_a:.4g}: fit a line to (log n, log loss); alpha = -slope"
        assert not np.isclose(c_got, np.exp(intercept), rtol=1e-3), \
            f"{case}: got n_c=exp(intercept): the intercept is alpha·log(n_c), so n_c = exp(intercept / alpha)"
        assert np.isclose(c_got, want_c, rtol=1e-2), \
            f"{case}: got n_c={c_got:.4g}, want {want_c:.4g}: n_c = exp(intercept / alpha) (same log base throughout)"
    passed("your log-log line fit recovers alpha and N_c, with and without noise")


def check_predict_10x(predict_fn) -> None:
    """Check predict_fn(alpha, n_c, e, n) -> the loss e + (n_c / (10 n))^alpha of a model 10x bigger than n."""
    for alpha, n_c, e, n in ((0.076, 8.8e13, 0.0, 1e9), (0.35, 5e4, 1.2, 8e5), (0.5, 1e3, 0.5, 1e3)):
        got = predict_fn(alpha, n_c, e, n)
        if not_done(got, "plug N = 10 * n into L(N) = e + (n_c / N)^alpha"):
            return
        want = e + (n_c / (10 * n)) ** alpha
        case = f"alpha={alpha}, n_c={n_c:g}, e={e}, n={n:g}"
        assert got is not None and abs(float(got) - (e + (n_c / n) ** alpha)) > 1e-9, \
            f"{case}: that is the loss at n itself: the model is 10 times bigger, N = 10 * n"
        assert e == 0 or abs(float(got) - (want - e)) > 1e-9, f"{case}: add the irreducible loss e"
        assert abs(float(got) - want) < 1e-9 * max(1.0, want), f"{case}: got {got}, want {want:.6g}"
    passed("predicted losses of 10x larger models are right")


def check_training_flops(flops_fn) -> None:
    """Check flops_fn(n_params, steps, batch_size, block_size) -> C = 6·N·D with D = steps·batch·block tokens."""
    for n, steps, batch, block in ((800_000, 3000, 16, 64), (124e6, 10, 8, 1024), (10, 1, 1, 1)):
        got = flops_fn(n, steps, batch, block)
        if not_done(got, "D = steps * batch_size * block_size tokens, then C = 6 * N * D"):
            return
        want = 6 * n * steps * batch * block
        case = f"N={n:g}, {steps} steps of {batch} x {block} tokens"
        assert abs(float(got) - want / 3) > 1e-6 * want, f"{case}: 2·N·D is the forward pass only; backward ≈ 2× forward"
        assert abs(float(got) - 6 * n * steps * batch) > 1e-6 * want or block == 1, \
            f"{case}: every step trains on batch_size × block_size tokens, not batch_size"
        assert abs(float(got) - want) <= 1e-6 * want, f"{case}: got {got:g}, want 6·N·D = {want:g}"
    passed("C = 6·N·D, counted right")

# --- 04_pretraining -----------------------------------------------------------------------------

def _bigram_loss(train_ids, val_ids, vocab_size: int) -> float:
    """Return the mean val loss (nats) of the add-one bigram table counted on train_ids."""
    import torch

    counts = torch.ones(vocab_size, vocab_size)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1), accumulate=True)
    log_probs = (counts / counts.sum(dim=1, keepdim=True)).log()  # row = current char, column = next
    return -log_probs[val_ids[:-1], val_ids[1:]].mean().item()


def check_bigram_loss(fn) -> None:
    """Check fn(train_ids, val_ids, vocab_size) -> the add-one bigram model's mean val loss in nats."""
    import math

    import torch

    g = torch.Generator().manual_seed(4)
    cases = [(torch.tensor([0, 1, 0, 1, 2, 0, 1]), torch.tensor([0, 1, 2, 2]), 3),  # (2, 2) never seen in train
             (torch.randint(0, 6, (400,), generator=g), torch.randint(0, 6, (60,), generator=g), 6),
             (torch.randint(0, 4, (200,), generator=g), torch.randint(0, 5, (40,), generator=g), 5)]
    for train_ids, val_ids, vocab in cases:
        got = fn(train_ids.clone(), val_ids.clone(), vocab)
        if not_done(got, "counts = 1 + how often each (current, next) pair occurs in train; normalise rows; "
                         "average -log p(next | current) over val's pairs"):
            return
        got = float(got)
        want = _bigram_loss(train_ids, val_ids, vocab)
        if abs(got - want) < 1e-4:
            continue
        where = f"on a {len(train_ids)}-token train and {len(val_ids)}-token val split (vocab {vocab}) you got {got:.4f}"
        assert math.isfinite(got), f"{where}: a pair never seen in train gets probability 0: add 1 to every count first"
        assert abs(got - want / math.log(2)) > 1e-4, f"{where}: that is in bits; use the natural log, as cross_entropy does"
        assert abs(got - _bigram_loss(val_ids, val_ids, vocab)) > 1e-4, \
            f"{where}: count the pairs of train_ids only; val is what the table is tested on"
        assert abs(got - _bigram_loss(train_ids, train_ids, vocab)) > 1e-4, \
            f"{where}: that is the loss on train; average over the pairs of val_ids"
        raise AssertionError(f"{where}, expected {want:.4f}: normalise each row (the current character) so that "
                             f"the next character's probabilities sum to 1, and average over all len(val) - 1 pairs")
    passed("your bigram loss matches, unseen pairs included")


def check_lr_schedule(fn) -> None:
    """Check fn(step, steps, lr, min_lr, warmup) against helpers.train.learning_rate (warmup + cosine)."""
    import math

    from helpers.train import TrainConfig, learning_rate

    for steps, lr, min_lr, warmup in ((100, 1e-3, 1e-4, 10), (50, 6e-4, 0.0, 5), (30, 1.0, 0.5, 1)):
        cfg = TrainConfig(steps=steps, lr=lr, min_lr=min_lr, warmup=warmup)
        for step in range(steps + 10):
            got = fn(step, steps, lr, min_lr, warmup)
            if not_done(got, "step < warmup: lr · (step + 1) / warmup; then min_lr + ½(1 + cos(π·progress))·(lr − min_lr)"):
                return
            want = learning_rate(step, cfg)
            if math.isclose(float(got), want, rel_tol=1e-6, abs_tol=1e-12):
                continue
            where = f"step {step} of {steps} (lr={lr}, min_lr={min_lr}, warmup={warmup}): got {got}, expected {want:.6g}"
            assert not (step == 0 and got == 0), f"{where}: a step at rate 0 is wasted; warm up with (step + 1) / warmup"
            assert step >= warmup, f"{where}: warm up linearly, lr · (step + 1) / warmup while step < warmup"
            assert step < steps, f"{where}: after the last step stay at min_lr (progress stops at 1)"
            to_zero = lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))
            assert min_lr == 0 or not math.isclose(float(got), to_zero, rel_tol=1e-6), \
                f"{where}: the cosine ends at min_lr, not at 0: min_lr + ½(1 + cos(π·progress))·(lr − min_lr)"
            raise AssertionError(f"{where}: after warm-up, progress = (step − warmup) / (steps − warmup) runs from 0 "
                                 f"to 1 and the rate is min_lr + ½(1 + cos(π·progress))·(lr − min_lr)")
    passed("warm-up + cosine matches helpers.train.learning_rate, ends included")


def check_training_hours(fn) -> None:
    """Check fn(n_params, n_tokens, peak_flops, mfu) -> hours to train at 6·N FLOPs per token."""
    cases = ((1.8e6, 1e7, 1e12, 0.2), (124e6, 1e10, 4e11, 0.1), (175e9, 300e9, 312e12, 0.4))
    for n, d, peak, mfu in cases:
        got = fn(n, d, peak, mfu)
        if not_done(got, "FLOPs = 6 · n_params · n_tokens; the machine does peak_flops · mfu per second; "
                         "seconds / 3600"):
            return
        want = 6 * n * d / (peak * mfu) / 3600
        where = f"n_params={n:g}, n_tokens={d:g}, peak={peak:g}, mfu={mfu}: got {got:g} h, expected {want:g} h"
        ratio = float(got) / want
        if abs(ratio - 1) < 1e-6:
            continue
        assert abs(ratio - 1 / 3) > 1e-6, f"{where}: 2N per token is the forward pass only; training is ≈ 6N"
        assert abs(ratio - 3600) > 1e-3, f"{where}: that is in seconds; divide by 3600 for hours"
        assert abs(ratio - 1 / 24) > 1e-6, f"{where}: that is in days; give hours"
        assert abs(ratio - mfu) > 1e-6 and abs(ratio - mfu * mfu) > 1e-6, \
            f"{where}: the machine achieves peak_flops · mfu, so divide by mfu (the time gets longer, not shorter)"
        raise AssertionError(f"{where}: hours = 6 · n_params · n_tokens / (peak_flops · mfu) / 3600")
    passed("hours = 6·N·D / (peak · MFU) / 3600, from a 1.8M model to GPT-3")


# --- 07_pretrained_model ---------------------------------------------------------------------

def check_rope_interleaved(rope_fn) -> None:
    """Check rope_fn(x (T, D), angles (T, D/2)): pair (2i, 2i+1) of x rotated by angles[:, i] (RoFormer's layout)."""
    import torch

    from helpers.llama import apply_rope

    g = torch.Generator().manual_seed(7)
    for T, D in ((1, 2), (5, 8), (12, 64)):
        x = torch.randn(T, D, generator=g)
        angles = torch.outer(torch.arange(T, dtype=torch.float) + 1, torch.rand(D // 2, generator=g) + 0.1)
        got = rope_fn(x.clone(), angles.clone())
        if not_done(got, "x1, x2 = x[..., 0::2], x[..., 1::2]; rotate each pair (x1, x2) by its angle"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
            f"expected a tensor of shape {tuple(x.shape)}, got {type(got).__name__} {tuple(getattr(got, 'shape', ()))}"
        # the interleaved layout is the half-split one with the channels reordered: evens first, then odds
        order = torch.cat([torch.arange(0, D, 2), torch.arange(1, D, 2)])
        want = torch.empty_like(x)
        want[:, order] = apply_rope(x[:, order], *(torch.cat([angles, angles], -1).cos(),
                                                   torch.cat([angles, angles], -1).sin()))
        if torch.allclose(got, want, atol=1e-5):
            continue
        where = f"x of shape ({T}, {D})"
        assert not torch.allclose(got, x, atol=1e-5), f"{where}: x came back unchanged: rotate each pair by its angle"
        assert torch.allclose(got.norm(dim=-1), x.norm(dim=-1), atol=1e-4), \
            f"{where}: a rotation keeps each vector's length, yours changes it: use x1·cos − x2·sin and x1·sin + x2·cos"
        half = apply_rope(x, torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin())
        assert not torch.allclose(got, half, atol=1e-5), \
            f"{where}: that is the half-split layout (pairs i and i + D/2); here the pairs are neighbours (0, 1), (2, 3), ..."
        back = torch.empty_like(x)
        back[:, order] = apply_rope(x[:, order], torch.cat([angles, angles], -1).cos(),
                                    -torch.cat([angles, angles], -1).sin())
        assert not torch.allclose(got, back, atol=1e-5), \
            f"{where}: rotated the wrong way: (x1, x2) -> (x1·cos − x2·sin, x1·sin + x2·cos)"
        raise AssertionError(f"{where}: pair i is (x[2i], x[2i+1]) and turns by angles[:, i]; put the rotated pair "
                             f"back at channels 2i and 2i+1 (torch.stack([...], dim=-1).flatten(-2))")
    passed("rotates neighbouring pairs (RoFormer's layout), the same rotation as helpers.llama.apply_rope")


def check_gqa_cache_bytes(bytes_fn) -> None:
    """Check bytes_fn(n_layer, n_kv_head, head_dim, seq_len, batch_size, bytes_per_value) against filled caches."""
    import torch

    from helpers.llama import Llama, LlamaConfig

    for n_layer, n_head, n_kv_head, n_embd, T, B in ((1, 2, 1, 8, 3, 1), (2, 4, 2, 16, 5, 2), (3, 6, 3, 24, 7, 3)):
        head_dim = n_embd // n_head
        got = bytes_fn(n_layer, n_kv_head, head_dim, T, B, 4)
        if not_done(got, "per layer, per sequence, per token: a key and a value vector for each key/value head"):
            return
        model = Llama(LlamaConfig(vocab_size=11, block_size=8, n_layer=n_layer, n_head=n_head, n_kv_head=n_kv_head,
                                  n_embd=n_embd, hidden_dim=8))
        cache = model.new_cache()
        with torch.no_grad():
            model(torch.zeros(B, T, dtype=torch.long), cache=cache)
        want = sum(t.nelement() * t.element_size() for layer in cache for t in (layer.k, layer.v))
        case = (f"n_layer={n_layer}, n_kv_head={n_kv_head}, head_dim={head_dim}, seq_len={T}, batch_size={B}, "
                f"4 bytes: got {got}, the cache holds {want}")
        assert got != want // 2, f"{case}: count the keys AND the values (a factor 2)"
        assert got != want * n_head // n_kv_head, f"{case}: the cache keeps only the n_kv_head shared heads, not every query head"
        assert got == want, f"{case}: multiply 2 × n_layer × n_kv_head × head_dim × seq_len × batch_size × bytes"
    passed("your count matches the bytes in real GQA caches")

# --- 08_finetune_poetry ----------------------------------------------------------------------

def check_lora_parameter_count(count_fn) -> None:
    """Check count_fn(shapes, r) = trainable LoRA parameters for weight matrices of (out, in) ``shapes``."""
    cases = [([(4, 3)], 1, 7), ([(576, 576), (192, 576)] * 30, 8, 460_800),  # SmolLM2-135M's q, v in 30 layers
             ([(768, 768)] * 4 * 12, 16, 1_179_648), ([(10, 2), (3, 7)], 4, 88)]
    for shapes, r, want in cases:
        got = count_fn(list(shapes), r)
        if not_done(got, "A is (r × in) and B is (out × r): add r·(in + out) for every adapted matrix"):
            return
        where = f"{len(shapes)} matrices, r={r}"
        assert isinstance(got, int) or float(got).is_integer(), f"{where}: give a whole number, got {got!r}"
        if got == want:
            continue
        assert got != sum(o * i for o, i in shapes), f"{where}: that is the size of the frozen matrices W, not of A and B"
        assert got != sum(r * o * i for o, i in shapes), f"{where}: A·B is never stored: count A (r × in) and B (out × r)"
        assert got != sum(r * max(o, i) * 2 for o, i in shapes) and got != sum(2 * r * i for _, i in shapes), \
            f"{where}: A has r·in entries and B has out·r: use each matrix's own in and out"
        raise AssertionError(f"{where}: expected {want:,}, got {got:,}: sum r·(in + out) over the matrices")
    passed("r·(in + out) per matrix: SmolLM2's q/v adapters at r=8 have 460,800 parameters")


def check_merge_lora(merge_fn) -> None:
    """Check merge_fn(W (out, in), A (r, in), B (out, r), alpha) = W + (alpha / r)·B·A."""
    import torch

    g = torch.Generator().manual_seed(8)
    for out_dim, in_dim, r, alpha in ((6, 5, 2, 4), (3, 8, 1, 1), (7, 7, 4, 16)):
        W, A, B = (torch.randn(out_dim, in_dim, generator=g), torch.randn(r, in_dim, generator=g),
                   torch.randn(out_dim, r, generator=g))
        got = merge_fn(W.clone(), A.clone(), B.clone(), alpha)
        if not_done(got, "W + (alpha / r) * (B @ A), with r = A.shape[0]"):
            return
        assert isinstance(got, torch.Tensor) and got.shape == W.shape, \
            f"expected a tensor of W's shape {tuple(W.shape)}, got {_described(got)}"
        want = W + (alpha / r) * (B @ A)
        if torch.allclose(got, want, atol=1e-5):
            continue
        assert not torch.allclose(got, W + B @ A, atol=1e-5), f"r={r}, alpha={alpha}: scale B·A by alpha / r"
        assert not torch.allclose(got, (alpha / r) * (B @ A), atol=1e-5), "add the change to W: W stays, B·A is added"
        assert not torch.allclose(got, W + r / alpha * (B @ A), atol=1e-5), "the scale is alpha / r, not r / alpha"
        raise AssertionError(f"r={r}, alpha={alpha}: expected W + (alpha / r)·B·A (B is out × r, A is r × in)")
    passed("merged: W + (alpha / r)·B·A, one matrix again, no extra cost when generating")


# --- 09_finetune_titles ----------------------------------------------------------------------

def check_make_document(make_fn) -> None:
    """Check make_fn(text, label) = "<|startoftext|>[label] text<|endoftext|>" (no "[label] " if None)."""
    from .titles import to_documents

    cases = [("Cats sleep a lot", "no number"), ("Mensa offers an IQ test", "politics"),
             ("There are 206 bones", "number"), ("Just a title", None)]
    for text, label in cases:
        got = make_fn(text, label)
        if not_done(got, 'start with "<|startoftext|>", then "[label] " when there is a label, the text, "<|endoftext|>"'):
            return
        want = to_documents([text], label)[0]
        assert isinstance(got, str), f"make_document({text!r}, {label!r}) should return one string, got {type(got).__name__}"
        if got == want:
            continue
        assert got.startswith("<|startoftext|>"), f"{got!r}: a document starts with <|startoftext|>"
        assert got.endswith("<|endoftext|>"), f"{got!r}: a document ends with <|endoftext|>, right after the text"
        if label is None:
            raise AssertionError(f"{got!r}: with label=None there is no control prefix, just the text between the tokens")
        assert f"[{label}]" in got, f"{got!r}: the control prefix is the label in square brackets, [{label}]"
        raise AssertionError(f"{got!r}: expected {want!r} (one space after the ], none elsewhere)")
    passed("documents match helpers.titles.to_documents")


def check_jaccard(jaccard_fn) -> None:
    """Check jaccard_fn(a, b) = |A ∩ B| / |A ∪ B| of the two texts' word sets (titles.word_set)."""
    from .titles import jaccard

    cases = [("The cat sat", "the cat"), ("dogs dogs dogs bark", "dogs sleep"), ("A B C", "a b c"),
             ("Trump signs the bill", "Senate passes the bill today"), ("good boye", "a heck of a grow")]
    for a, b in cases:
        got = jaccard_fn(a, b)
        if not_done(got, "A, B = word_set(a), word_set(b); then len(A & B) / len(A | B)"):
            return
        want = jaccard(a, b)
        if abs(float(got) - want) < 1e-9:
            continue
        A, B = a.lower().split(), b.lower().split()
        shared = len(set(A) & set(B))
        assert abs(float(got) - shared / max(len(A), len(B))) > 1e-9 or shared == 0, \
            f"jaccard({a!r}, {b!r}) = {got}: divide by the size of the union A | B, not of the longer text"
        assert abs(float(got) - shared / min(len(set(A)), len(set(B)))) > 1e-9, \
            f"jaccard({a!r}, {b!r}) = {got}: divide by the size of the union A | B, not of the smaller set"
        raise AssertionError(f"jaccard({a!r}, {b!r}) = {got}, expected {want:.3f}: compare the word SETS "
                             f"(repeats count once, case ignored), |A ∩ B| / |A ∪ B|")
    passed("Jaccard similarity is right, repeated words and case included")


# --- 10_few_shot_prompting -------------------------------------------------------------------

def check_few_shot_messages(messages_fn) -> None:
    """Check messages_fn(description, examples, query): system turn, one user/assistant pair per example, user query."""
    cases = [("Translate English to French.", [("cheese", "fromage"), ("sea otter", "loutre de mer")], "plush giraffe"),
             ("Say the opposite.", [], "hot"),
             ("Label the sentiment.", [("great film", "positive")], "dull plot")]
    for description, examples, query in cases:
        got = messages_fn(description, list(examples), query)
        if not_done(got, 'start with {"role": "system", "content": description}, add a user and an assistant turn '
                         'per example, end with the query as a user turn'):
            return
        want = [{"role": "system", "content": description}]
        for x, y in examples:
            want += [{"role": "user", "content": x}, {"role": "assistant", "content": y}]
        want.append({"role": "user", "content": query})
        assert isinstance(got, list) and all(isinstance(m, dict) for m in got), \
            f"expected a list of dicts, got {type(got).__name__}"
        assert len(got) == len(want), \
            f"{len(examples)} example(s) should give {len(want)} messages (1 system + 2 per example + 1 query), got {len(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert g.get("role") == w["role"], f"message {i}: role should be {w['role']!r}, got {g.get('role')!r}"
            assert g.get("content") == w["content"], \
                f"message {i}: content should be {w['content']!r}, got {g.get('content')!r}"
    passed("examples become prior user/assistant turns, as the chat endpoint expects")


def check_parse_label(parse_fn) -> None:
    """Check parse_fn(reply, labels) -> the label a free-form reply names first, or None."""
    labels = ("positive", "negative")
    cases = [(" positive", "positive"), ("Negative.", "negative"), ("The sentiment is negative.", "negative"),
             ("**Positive**", "positive"), ("  POSITIVE\n\nReview:", "positive"), ("neutral", None), ("", None),
             ("Positive, not negative", "positive"), ("Not sure; negative I think", "negative")]
    for reply, want in cases:
        got = parse_fn(reply, labels)
        if got is None and want is not None:
            if not_done(parse_fn(" positive", labels), "lower-case the reply, split it into words without "
                                                       "punctuation, return the first word that is a label"):
                return
        assert got == want, f"parse_label({reply!r}) should be {want!r}, got {got!r}"
    passed("free-form replies map to labels (or None), so chat answers can be scored too")


# --- 11_instruction_tuning -------------------------------------------------------------------

def check_response_labels(labels_fn) -> None:
    """Check labels_fn(ids (B, T), mask (B, T) bool) returns transformers-style labels: ids on the response, -100 elsewhere."""
    import torch

    g = torch.Generator().manual_seed(11)
    ids = torch.randint(5, 1000, (3, 9), generator=g)
    mask = torch.zeros(3, 9, dtype=torch.bool)
    mask[0, 4:7], mask[1, 2:9], mask[2, 6:8] = True, True, True
    got = labels_fn(ids.clone(), mask.clone())
    if not_done(got, "keep ids where mask is True and put -100 (the value transformers ignores) everywhere else"):
        return
    assert isinstance(got, torch.Tensor) and got.shape == ids.shape, \
        f"expected a tensor of shape {tuple(ids.shape)}, got {_described(got)}"
    want = ids.masked_fill(~mask, -100)
    assert not torch.equal(got, ids.masked_fill(mask, -100)), \
        "inverted: the response tokens (mask True) keep their ids, the prompt and padding become -100"
    assert not torch.equal(got, torch.roll(ids, -1, dims=1).masked_fill(~mask, -100)), \
        "do not shift the labels: transformers shifts them by one position itself"
    assert (got[~mask] == -100).all(), \
        "positions outside the response must be -100 (cross_entropy's ignore_index), not 0 or the id"
    assert torch.equal(got, want), "on the response positions, the labels are the ids themselves, unshifted"
    passed("labels: ids on the response, -100 elsewhere; model(ids, labels=labels).loss is then the SFT loss")


def check_ipo_loss(ipo_fn) -> None:
    """Check ipo_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) against the IPO loss (mean)."""
    import torch

    g = torch.Generator().manual_seed(12)
    pc, pr, rc, rr = (-20 * torch.rand(8, generator=g, dtype=torch.float64) for _ in range(4))
    for beta in (0.1, 0.5):
        got = ipo_fn(pc, pr, rc, rr, beta)
        if not_done(got, "h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)); loss = mean((h − 1/(2β))²)"):
            return
        assert isinstance(got, torch.Tensor) and got.numel() == 1, \
            f"return one number (the mean over the batch), got {_described(got)}"
        h = (pc - rc) - (pr - rr)
        want = ((h - 1 / (2 * beta)) ** 2).mean()
        assert not torch.isclose(got, ((beta * h - 1 / (2 * beta)) ** 2).mean()), \
            "IPO compares the plain log-ratio difference h with 1/(2β): do not multiply h by β"
        assert not torch.isclose(got, ((h - 1 / (2 * beta)) ** 2).sum()), "take the mean over the batch, not the sum"
        assert not torch.isclose(got, (((pc - pr) - 1 / (2 * beta)) ** 2).mean()), \
            "subtract the reference's log-probs: h uses both log-ratios, log π − log π_ref"
        assert torch.isclose(got, want), "not the IPO loss: mean over the batch of (h − 1/(2β))²"
    passed("the IPO loss (Azar et al. 2023) is right for β = 0.1 and 0.5")
