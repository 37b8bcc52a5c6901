"""helpers.models.attention against torch's own attention, its input errors, and notebook 01's checkers."""
import math
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import helpers
from helpers.course.checks import attention as checks
from helpers.models.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from tests.checker_asserts import assert_checker_behaves, rejects


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(2, 3, 7, 8, generator=g) for _ in range(3))  # (B, H, T, D)


def copy_into(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    with torch.no_grad():
        ours.in_proj.weight.copy_(theirs.in_proj_weight)
        ours.in_proj.bias.copy_(theirs.in_proj_bias)
        ours.out_proj.weight.copy_(theirs.out_proj.weight)
        ours.out_proj.bias.copy_(theirs.out_proj.bias)


def sonnet_ids(n_words: int = 12, vocab_size: int = 64) -> torch.Tensor:
    """Word ids (1, n_words) of the first line(s) of sonnet 18, hashed into a small vocabulary."""
    words = re.findall(r"[a-z']+", helpers.load_sonnets()[17].lower())[:n_words]
    return torch.tensor([[sum(map(ord, w)) % vocab_size for w in words]])


def test_causal_mask_is_lower_triangle():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert m.sum().item() == 10  # 1 + 2 + 3 + 4 keys visible
    assert m[0].tolist() == [True, False, False, False] and m[3].all()
    with pytest.raises(ValueError, match="at least one position"):
        causal_mask(0)


def test_sdpa_matches_torch_without_and_with_causal_mask(qkv):
    q, k, v = qkv
    out, w = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 7, 8) and w.shape == (2, 3, 7, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 7))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=1e-6, rtol=0)
    out_c, w_c = scaled_dot_product_attention(q, k, v, causal_mask(7))
    torch.testing.assert_close(out_c, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-6, rtol=0)
    assert (w_c.triu(1) == 0).all()  # no weight on the future
    assert not torch.allclose(out, out_c)


def test_sdpa_cross_attention_shapes_and_general_mask(qkv):
    q, k, v = qkv
    k2, v2 = k[..., :5, :], torch.randn(2, 3, 5, 4)  # 5 keys, values of another width
    mask = torch.rand(7, 5, generator=torch.Generator().manual_seed(1)) > 0.5
    mask[:, 0] = True  # every query sees at least one key
    out, w = scaled_dot_product_attention(q, k2, v2, mask)
    assert out.shape == (2, 3, 7, 4) and w.shape == (2, 3, 7, 5)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k2, v2, attn_mask=mask), atol=1e-6, rtol=0)


def test_sdpa_is_softmax_of_scaled_scores_by_hand():
    q = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    k = torch.tensor([[2.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    v = torch.tensor([[1.0], [0.0]])
    out, w = scaled_dot_product_attention(q, k, v)
    e = math.exp(2 / math.sqrt(4))  # scores 1 and 0 after dividing by sqrt(4)
    assert w[0].tolist() == pytest.approx([e / (e + 1), 1 / (e + 1)])
    assert out.item() == pytest.approx(e / (e + 1))


@pytest.mark.parametrize("shapes, message", [
    (((7, 8), (7, 6), (7, 8)), "same size"),
    (((7, 8), (7, 8), (5, 8)), "one value per key"),
    (((8,), (7, 8), (7, 8)), "positions axis"),
])
def test_sdpa_rejects_mismatched_shapes(shapes, message):
    q, k, v = (torch.randn(*s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        scaled_dot_product_attention(q, k, v)


def test_sdpa_rejects_bad_masks(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match="bool mask"):
        scaled_dot_product_attention(q, k, v, causal_mask(7).float())
    with pytest.raises(ValueError, match="does not broadcast"):
        scaled_dot_product_attention(q, k, v, causal_mask(6))
    empty_row = causal_mask(7).clone()
    empty_row[2] = False
    with pytest.raises(ValueError, match="all False"):
        scaled_dot_product_attention(q, k, v, empty_row)


@pytest.mark.download
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_multihead_matches_torch_multiheadattention(bias, causal):
    torch.manual_seed(0)
    d_model, n_heads = 32, 4
    emb = nn.Embedding(64, d_model)
    x = emb(sonnet_ids()).detach()  # (1, 12, 32): real words, random embeddings
    x = torch.cat([x, torch.randn_like(x)])  # (2, 12, 32)
    T = x.shape[1]
    theirs = nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True)
    ours = MultiHeadAttention(d_model, n_heads, bias=bias)
    if bias:
        copy_into(ours, theirs)
    else:
        with torch.no_grad():
            ours.in_proj.weight.copy_(theirs.in_proj_weight)
            ours.out_proj.weight.copy_(theirs.out_proj.weight)
    mask = causal_mask(T) if causal else None
    out, w = ours(x, mask)
    # torch's MultiheadAttention reads bool masks the other way round: True = may NOT attend
    ref_out, ref_w = theirs(x, x, x, attn_mask=None if mask is None else ~mask, need_weights=True,
                            average_attn_weights=False)
    assert out.shape == (2, T, d_model) and w.shape == (2, n_heads, T, T)
    assert (out - ref_out).abs().max().item() < 1e-6
    assert (w - ref_w).abs().max().item() < 1e-6


def test_multihead_parameter_count_and_gradients():
    mha = MultiHeadAttention(48, 6)
    assert sum(p.numel() for p in mha.parameters()) == 4 * 48 * 48 + 4 * 48
    assert sum(p.numel() for p in MultiHeadAttention(48, 6, bias=False).parameters()) == 4 * 48 * 48
    out, _ = mha(torch.randn(2, 5, 48), causal_mask(5))
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mha.parameters())


def test_multihead_causal_output_ignores_the_future():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 2)
    x = torch.randn(1, 6, 16)
    changed = x.clone()
    changed[:, -1] = torch.randn(16)  # a different last token
    a, _ = mha(x, causal_mask(6))
    b, _ = mha(changed, causal_mask(6))
    torch.testing.assert_close(a[:, :-1], b[:, :-1])
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_multihead_rejects_bad_input():
    with pytest.raises(ValueError, match="not divisible by n_heads"):
        MultiHeadAttention(30, 4)
    with pytest.raises(ValueError, match="not divisible by n_heads"):
        MultiHeadAttention(32, 0)
    mha = MultiHeadAttention(32, 4)
    with pytest.raises(ValueError, match="d_model=32"):
        mha(torch.randn(2, 5, 16))
    with pytest.raises(ValueError, match="batch, positions"):
        mha(torch.randn(5, 32))


# --- the exercise checkers: the stub is "not done yet", each typical mistake is rejected, the solution passes ---

def stable_softmax(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def attend_one(q, K, V):
    return torch.softmax(K @ q / math.sqrt(q.shape[-1]), dim=0) @ V


def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def attention_with(scale=lambda d: math.sqrt(d), dim=-1, fill=float("-inf"), invert=False, transpose_mask=False,
                   ignore_mask=False, mask_after=False, only_output=False, output_is_weights=False):
    """An attention with one typical mistake switched on."""
    def wrong(q, k, v, mask=None):
        scores = q @ k.transpose(-2, -1) / scale(q.shape[-1])
        if mask is not None and not ignore_mask and not mask_after:
            m = mask.transpose(-2, -1) if transpose_mask else mask
            scores = scores.masked_fill(m if invert else ~m, fill)
        weights = torch.softmax(scores, dim=dim)
        if mask is not None and mask_after:
            weights = weights * mask
        out = weights @ v
        if only_output:
            return out
        return (weights if output_is_weights else out), weights
    return wrong


def own_causal_mask_attention(q, k, v, mask=None):  # builds a causal mask instead of using the one given
    if mask is not None:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
    return attention(q, k, v, mask)


class MHA(nn.Module):
    """The exercise's class, with the stub's layers and a forward that has one mistake switched on (or none)."""

    def __init__(self, d_model, n_heads, mistake=None):
        super().__init__()
        self.d_model, self.n_heads, self.mistake = d_model, n_heads, mistake
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x, mask=None):
        B, T, C = x.shape
        H, D = self.n_heads, C // self.n_heads
        q, k, v = self.in_proj(x).split(C, dim=-1)
        if self.mistake == "reshape heads":
            q, k, v = (t.reshape(B, H, T, D) for t in (q, k, v))
        elif self.mistake == "no transpose":
            q, k, v = (t.view(B, T, H, D) for t in (q, k, v))
        else:
            q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C if self.mistake == "sqrt(C)" else D)
        if mask is not None and self.mistake != "no mask":
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        y = weights @ v
        y = y.reshape(B, T, C) if self.mistake == "merge without transpose" else y.transpose(1, 2).reshape(B, T, C)
        return (y if self.mistake == "no out_proj" else self.out_proj(y)), weights


def mha_with(mistake):
    class Wrong(MHA):
        def __init__(self, d_model, n_heads):
            super().__init__(d_model, n_heads, mistake)
    return Wrong


class MHAStub(MHA):
    def forward(self, x, mask=None):
        return None


WRONG_SOFTMAX = [
    lambda x: torch.exp(x) / torch.exp(x).sum(-1, keepdim=True),  # overflows
    lambda x: torch.exp(x - x.max(-1, keepdim=True).values),  # not normalised
    lambda x: stable_softmax(x.transpose(-2, -1)).transpose(-2, -1),  # over the wrong axis
    lambda x: stable_softmax(x / 2),
]
WRONG_ATTEND_ONE = [
    lambda q, K, V: torch.softmax(K @ q, dim=0) @ V,  # no scale
    lambda q, K, V: torch.softmax(K @ q / q.shape[0], dim=0) @ V,  # divided by D
    lambda q, K, V: V.mean(0),
    lambda q, K, V: torch.softmax(K @ q / 8 ** 0.5, dim=0),  # the weights, not the output
]
WRONG_ATTENTION = [
    attention_with(scale=lambda d: 1.0),  # missing 1/sqrt(d)
    attention_with(scale=lambda d: d),  # 1/d
    attention_with(dim=-2),  # softmax over the queries
    attention_with(fill=0.0),  # masked scores set to 0
    attention_with(invert=True),  # True read as "blocked"
    attention_with(transpose_mask=True),
    attention_with(ignore_mask=True),
    attention_with(mask_after=True),  # weights masked after the softmax
    attention_with(only_output=True),
    attention_with(output_is_weights=True),
    own_causal_mask_attention,
    lambda q, k, v, mask=None: (lambda out, w: (out, w.transpose(-2, -1)))(*attention(q, k, v, mask)),  # (S, T)
]
WRONG_CAUSAL_MASK = [
    lambda T: torch.ones(T, T, dtype=torch.bool).triu(),  # transposed
    lambda T: ~torch.ones(T, T, dtype=torch.bool).tril(),  # inverted
    lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1),  # off by one: no diagonal
    lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),  # off by one: sees the next token
    lambda T: torch.ones(T, T).tril(),  # float
]
WRONG_MHA = [mha_with(m) for m in ("reshape heads", "no transpose", "sqrt(C)", "no mask", "merge without transpose",
                                   "no out_proj")]


@pytest.mark.parametrize("check, stub, solution, wrongs", [
    (checks.check_softmax, lambda x: None, stable_softmax, WRONG_SOFTMAX),
    (checks.check_attend_one, lambda q, K, V: None, attend_one, WRONG_ATTEND_ONE),
    (checks.check_attention, lambda q, k, v, mask=None: None, attention, WRONG_ATTENTION),
    (checks.check_causal_mask, lambda T: None, causal_mask, WRONG_CAUSAL_MASK),
    (checks.check_multi_head_attention, MHAStub, MHA, WRONG_MHA),
], ids=["softmax", "attend_one", "attention", "causal_mask", "multi_head_attention"])
def test_checkers(capsys, check, stub, solution, wrongs):
    assert_checker_behaves(check, stub, solution, wrongs, capsys)


@pytest.mark.parametrize("wrong, words", [
    (WRONG_SOFTMAX[0], "overflows"), (WRONG_SOFTMAX[2], "sum to 1"),
    (WRONG_ATTEND_ONE[0], "sqrt"), (WRONG_ATTEND_ONE[2], "plain mean"), (WRONG_ATTEND_ONE[3], "shape"),
])
def test_softmax_and_one_query_hints(capsys, wrong, words):
    check = checks.check_softmax if wrong in WRONG_SOFTMAX else checks.check_attend_one
    with rejects(capsys, words):
        check(wrong)


@pytest.mark.parametrize("index, words", [
    (0, "divide the scores by sqrt"), (1, "not by D"), (2, "wrong axis"), (3, "not 0"), (4, "inverted"),
    (5, "transposed"), (6, "not applied"), (7, "before the softmax"), (8, "return two things"),
    (9, "output should be"), (10, "mask you are given"), (11, "swapped"),
])
def test_attention_hints(capsys, index, words):
    with rejects(capsys, words):
        checks.check_attention(WRONG_ATTENTION[index])


@pytest.mark.parametrize("index, words", [(0, "transposed"), (1, "inverted"), (2, "diagonal"), (3, "next token"),
                                          (4, "bool")])
def test_causal_mask_hints(capsys, index, words):
    with rejects(capsys, words):
        checks.check_causal_mask(WRONG_CAUSAL_MASK[index])


@pytest.mark.parametrize("index, words", [(0, "split wrongly"), (1, r"\(B, H, T, T\)"), (2, "head size"),
                                          (3, "pass the mask"), (4, "transpose the heads"), (5, "out_proj")])
def test_multi_head_attention_hints(capsys, index, words):
    with rejects(capsys, words):
        checks.check_multi_head_attention(WRONG_MHA[index])


def test_checkers_fall_back_to_the_course_implementations(capsys):
    import helpers.models.attention as course

    assert checks.check_attention(attention_with(dim=-2)) is course.scaled_dot_product_attention
    assert checks.check_multi_head_attention(MHAStub) is course.MultiHeadAttention
    assert checks.check_causal_mask(lambda T: None) is course.causal_mask
    x = torch.tensor([[1000.0, 1001.0], [0.0, 1.0]])
    torch.testing.assert_close(course.softmax(x), torch.softmax(x, dim=-1))
    q, K, V = torch.randn(4), torch.randn(6, 4), torch.randn(6, 2)
    torch.testing.assert_close(course.attend_one(q, K, V), attend_one(q, K, V))
    with pytest.raises(ValueError, match="one query vector"):
        course.attend_one(K, K, V)


def test_model_causal_self_attention_equals_ours():
    from helpers.models.gpt import CausalSelfAttention, GPTConfig

    torch.manual_seed(0)
    ours = MultiHeadAttention(32, 4)
    gpt_attention = CausalSelfAttention(GPTConfig(n_embd=32, n_head=4)).eval()
    gpt_attention.c_attn.load_state_dict(ours.in_proj.state_dict())
    gpt_attention.c_proj.load_state_dict(ours.out_proj.state_dict())
    x = torch.randn(2, 10, 32)
    assert (gpt_attention(x) - ours(x, causal_mask(10))[0]).abs().max().item() < 1e-6
