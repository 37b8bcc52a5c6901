"""Tests of helpers.models.llama: the modern block rebuilt, checked against transformers on SmolLM2-135M's weights."""
import pytest
import torch

import helpers
from helpers.course.checks import pretrained_model as checks
from helpers.data.pretrained import load_llama
from helpers.generation.sampling import generate
from helpers.models.llama import Attention, Llama, LlamaConfig, RMSNorm, apply_rope, hf_name, repeat_kv, rope_tables
from tests.checker_asserts import assert_checker_behaves

TINY = LlamaConfig(vocab_size=50, block_size=16, n_layer=2, n_head=4, n_kv_head=2, n_embd=32, hidden_dim=40)


@pytest.fixture(scope="module")
def pair():
    hf_model, tokenizer = helpers.load_pretrained()
    return hf_model, Llama.from_transformers(hf_model), tokenizer


@pytest.fixture(scope="module")
def sonnet_ids(pair):
    return torch.tensor([pair[2].encode(helpers.load_sonnets()[17])])  # (1, T) "Shall I compare thee ..."


@pytest.mark.download
def test_config_from_transformers(pair):
    hf_model, ours, _ = pair
    c = ours.config
    assert (c.n_layer, c.n_head, c.n_kv_head, c.n_embd, c.hidden_dim) == (30, 9, 3, 576, 1536)
    assert (c.vocab_size, c.block_size, c.rope_theta, c.tie_weights) == (49152, 8192, 100000.0, True)
    assert ours.num_params() == sum(p.numel() for p in hf_model.parameters()) == 134_515_008
    assert ours.lm_head.weight is ours.wte.weight
    assert hf_name("blocks.3.attn.q_proj.weight") == "model.layers.3.self_attn.q_proj.weight"


@pytest.mark.download
def test_logits_equal_transformers_fp32(pair, sonnet_ids):
    hf_model, ours, _ = pair
    with torch.no_grad():
        mine, _ = ours(sonnet_ids)
        theirs = hf_model(sonnet_ids).logits
    diff = (mine - theirs).abs().max().item()
    print(f"max abs logit difference over {sonnet_ids.size(1)} tokens: {diff:.2e}")
    assert mine.shape == theirs.shape == (1, sonnet_ids.size(1), 49152)
    assert diff < 1e-4


@pytest.mark.download
def test_cache_fed_in_pieces_gives_the_same_logits(pair, sonnet_ids):
    _, ours, _ = pair
    ids = sonnet_ids[:, :24]
    cache = ours.new_cache()
    with torch.no_grad():
        whole, _ = ours(ids)
        pieces = [ours(ids[:, a:b], cache=cache)[0] for a, b in ((0, 10), (10, 13), (13, 14), (14, 24))]
    assert cache.length == 24 and cache[0].k.shape == (1, 3, 24, 64)  # only the 3 shared key/value heads are kept
    assert (torch.cat(pieces, dim=1) - whole).abs().max() < 1e-4


@pytest.mark.download
def test_greedy_ids_with_and_without_cache_match_transformers_generate(pair, sonnet_ids):
    hf_model, ours, _ = pair
    prompt = sonnet_ids[:, :8]
    with_cache = generate(ours, prompt, 10, greedy=True)
    without = generate(ours, prompt, 10, greedy=True, use_cache=False)
    theirs = hf_model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=10,
                               min_new_tokens=10, do_sample=False, pad_token_id=2)
    assert with_cache.shape == (1, 18)
    assert torch.equal(with_cache, without)
    assert torch.equal(with_cache, theirs)


@pytest.mark.download
def test_attention_maps_match_transformers_eager(pair, sonnet_ids):
    hf_model, ours, _ = pair
    ids = sonnet_ids[:, :12]
    maps = ours.attention_maps(ids)  # (L, B, H, T, T)
    assert maps.shape == (30, 1, 9, 12, 12)
    assert torch.allclose(maps.sum(-1), torch.ones(30, 1, 9, 12), atol=1e-5)
    assert maps.triu(diagonal=1).abs().max() == 0  # no weight on future tokens
    hf_model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            theirs = torch.stack(hf_model(ids, output_attentions=True).attentions)
    finally:
        hf_model.set_attn_implementation("sdpa")
    assert (maps - theirs).abs().max() < 1e-4
    assert all(block.attn.weights is None for block in ours.blocks)  # nothing kept after the call


@pytest.mark.download
def test_load_llama_returns_our_model_and_the_tokenizer():
    model, tokenizer = load_llama()
    assert isinstance(model, Llama) and not model.training
    assert tokenizer.decode(tokenizer.encode("Shall I compare thee")) == "Shall I compare thee"


def test_rms_norm_gives_unit_root_mean_square():
    x = 5 * torch.randn(3, 7, 16, generator=torch.Generator().manual_seed(0)) + 2
    y = RMSNorm(16, eps=1e-6)(x)
    assert torch.allclose(y.pow(2).mean(-1).sqrt(), torch.ones(3, 7), atol=1e-4)
    assert not torch.allclose(y.mean(-1), torch.zeros(3, 7), atol=1e-2)  # unlike LayerNorm, the mean stays
    assert torch.allclose(RMSNorm(16)(x.to(torch.bfloat16)).float(), RMSNorm(16)(x), atol=5e-2)


def test_rope_preserves_norms_and_depends_only_on_relative_position():
    g = torch.Generator().manual_seed(1)
    cos, sin = rope_tables(200, 8, theta=10000.0)
    x = torch.randn(200, 8, generator=g)
    assert torch.allclose(apply_rope(x, cos, sin).norm(dim=-1), x.norm(dim=-1), atol=1e-4)
    assert torch.equal(apply_rope(x[:1], cos[:1], sin[:1]), x[:1])  # position 0 is not rotated
    q, k = torch.randn(8, generator=g), torch.randn(8, generator=g)

    def score(m, n):  # query at position m, key at position n
        return apply_rope(q, cos[m], sin[m]) @ apply_rope(k, cos[n], sin[n])

    assert abs(score(7, 3) - score(107, 103)) < 1e-4
    assert abs(score(50, 50) - q @ k) < 1e-4
    assert abs(score(7, 3) - score(7, 5)) > 1e-3  # a different distance, a different score


def test_rope_rotates_channel_pairs_i_and_i_plus_half():
    cos, sin = rope_tables(4, 4, theta=100.0)
    x = torch.tensor([1.0, 0.0, 0.0, 0.0])  # only channel 0: its partner is channel 2
    y = apply_rope(x, cos[3], sin[3])  # position 3, the fastest frequency (1 radian per position)
    assert torch.allclose(y, torch.tensor([torch.cos(torch.tensor(3.0)), 0.0, torch.sin(torch.tensor(3.0)), 0.0]))


def test_grouped_query_attention_equals_one_loop_per_query_head():
    torch.manual_seed(0)
    attn = Attention(TINY)
    x = torch.randn(2, 5, 32)
    cos, sin = rope_tables(5, 8)
    out = attn(x, cos, sin)
    q = apply_rope(attn.q_proj(x).view(2, 5, 4, 8).transpose(1, 2), cos, sin)  # (B, 4, T, D)
    k = apply_rope(attn.k_proj(x).view(2, 5, 2, 8).transpose(1, 2), cos, sin)  # (B, 2, T, D)
    v = attn.v_proj(x).view(2, 5, 2, 8).transpose(1, 2)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    heads = []
    for h in range(4):  # query heads 0, 1 share key/value head 0; heads 2, 3 share head 1
        w = (q[:, h] @ k[:, h // 2].transpose(-2, -1) / 8 ** 0.5).masked_fill(~causal, float("-inf")).softmax(-1)
        heads.append(w @ v[:, h // 2])
    want = attn.o_proj(torch.stack(heads, dim=1).transpose(1, 2).reshape(2, 5, 32))
    assert torch.allclose(out, want, atol=1e-5)
    assert torch.equal(repeat_kv(k, 2)[:, 1], k[:, 0]) and torch.equal(repeat_kv(k, 2)[:, 2], k[:, 1])


def test_tiny_llama_learns_and_generates():
    torch.manual_seed(0)
    model = Llama(TINY)
    ids = torch.randint(0, 50, (4, 16))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        _, loss = model(ids[:, :-1], ids[:, 1:])
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert abs(first - torch.log(torch.tensor(50.0))) < 0.5 and loss.item() < 0.5 * first
    out = generate(model, ids[:1, :4], 20, greedy=True)  # runs past block_size=16: the window slides
    assert out.shape == (1, 24) and torch.equal(out[:, :16], generate(model, ids[:1, :4], 12, greedy=True))


def test_bad_input_gives_one_line_errors():
    model = Llama(TINY)
    with pytest.raises(ValueError, match="prompt has 17 tokens but the model's context is 16") as e:
        generate(model, torch.zeros(1, 17, dtype=torch.long), 3)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="longer than block_size=16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="multiple of n_kv_head"):
        LlamaConfig(n_head=9, n_kv_head=2)
    with pytest.raises(ValueError, match="odd"):
        LlamaConfig(n_embd=36, n_head=4, n_kv_head=2)


def test_check_rope_interleaved(capsys):
    def solution(x, angles):
        x1, x2 = x[..., 0::2], x[..., 1::2]
        cos, sin = angles.cos(), angles.sin()
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)

    def halves(x, angles):  # the half-split layout, not the interleaved one
        both = torch.cat([angles, angles], dim=-1)
        return apply_rope(x, both.cos(), both.sin())

    def wrong_way(x, angles):
        return solution(x, -angles)

    def stretched(x, angles):
        return 2 * solution(x, angles)

    assert_checker_behaves(checks.check_rope_interleaved, lambda x, angles: None, solution,
                           [halves, wrong_way, stretched, lambda x, angles: x], capsys)


def test_check_gqa_cache_bytes(capsys):
    def solution(n_layer, n_kv_head, head_dim, seq_len, batch_size, bytes_per_value):
        return 2 * n_layer * n_kv_head * head_dim * seq_len * batch_size * bytes_per_value

    def all_heads(n_layer, n_kv_head, head_dim, seq_len, batch_size, bytes_per_value):  # forgets GQA
        return solution(n_layer, 3 * n_kv_head, head_dim, seq_len, batch_size, bytes_per_value)

    def keys_only(*args):
        return solution(*args) // 2

    assert_checker_behaves(checks.check_gqa_cache_bytes, lambda *args: None, solution, [all_heads, keys_only], capsys)


# --- the core exercises of 07: RMSNorm, RoPE, grouped-query attention -----------------------------------

def test_functional_pieces_match_the_modules():
    from helpers.models.kv_cache import gqa_cache_bytes
    from helpers.models.llama import grouped_query_attention, rms_norm, rope, rope_interleaved

    x = torch.randn(2, 5, 8)
    norm = RMSNorm(8)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    assert torch.equal(rms_norm(x, norm.weight, norm.eps), norm(x))
    cos, sin = rope_tables(5, 8, 500.0)
    assert torch.allclose(rope(x, 500.0), apply_rope(x, cos, sin))
    angles = torch.outer(torch.arange(5.0), torch.rand(4))
    order = torch.cat([torch.arange(0, 8, 2), torch.arange(1, 8, 2)])  # interleaved = half-split, channels reordered
    want = torch.empty_like(x)
    want[..., order] = apply_rope(x[..., order], torch.cat([angles] * 2, -1).cos(), torch.cat([angles] * 2, -1).sin())
    assert torch.allclose(rope_interleaved(x, angles), want, atol=1e-6)
    attn = Attention(TINY).eval()
    h = torch.randn(2, 6, TINY.n_embd)
    cos, sin = rope_tables(6, 8, TINY.rope_theta)
    with torch.no_grad():
        q = apply_rope(attn.q_proj(h).view(2, 6, 4, 8).transpose(1, 2), cos, sin)
        k = apply_rope(attn.k_proj(h).view(2, 6, 2, 8).transpose(1, 2), cos, sin)
        v = attn.v_proj(h).view(2, 6, 2, 8).transpose(1, 2)
        y = attn.o_proj(grouped_query_attention(q, k, v).transpose(1, 2).reshape(2, 6, TINY.n_embd))
        assert torch.allclose(y, attn(h, cos, sin), atol=1e-6)
    model = Llama(TINY)
    cache = model.new_cache()
    with torch.no_grad():
        model(torch.zeros(3, 7, dtype=torch.long), cache=cache)
    held = sum(t.nelement() * t.element_size() for layer in cache for t in (layer.k, layer.v))
    assert gqa_cache_bytes(TINY.n_layer, TINY.n_kv_head, 8, 7, 3, 4) == held


def test_check_rms_norm(capsys):
    import torch.nn.functional as F

    def solution(x, weight, eps=1e-5):
        return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight

    wrongs = [
        lambda x, w, eps=1e-5: F.layer_norm(x, x.shape[-1:], w, eps=eps),  # subtracts the mean: LayerNorm
        lambda x, w, eps=1e-5: (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w,
        lambda x, w, eps=1e-5: x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps),  # no weight
        lambda x, w, eps=1e-5: x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + eps) * w,  # the norm, not the RMS
        lambda x, w, eps=1e-5: x / (x.pow(2).mean(-1, keepdim=True).sqrt() + eps) * w,  # eps outside the root
        lambda x, w, eps=1e-5: x / torch.sqrt(x.pow(2).mean(0, keepdim=True) + eps) * w,  # the wrong axis
    ]
    assert_checker_behaves(checks.check_rms_norm, lambda x, weight, eps=1e-5: None, solution, wrongs, capsys)


def test_check_rope(capsys):
    from helpers.models.llama import rope_interleaved

    def solution(x, base):
        T, D = x.shape[-2:]
        inv_freq = 1.0 / base ** (torch.arange(0, D, 2).float() / D)
        angles = torch.arange(T).float()[:, None] * inv_freq  # (T, D/2)
        cos, sin = angles.cos(), angles.sin()
        x1, x2 = x[..., :D // 2], x[..., D // 2:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    def angles_of(x, base, first=0, exponent_step=2):
        T, D = x.shape[-2:]
        exponent = torch.arange(0, D, 2).float() / D * exponent_step / 2  # step 2 is right: base^(-2i/D)
        return torch.arange(first, first + T).float()[:, None] / base ** exponent

    def rotated(x, angles, sign=1):
        D = x.shape[-1]
        cos, sin = angles.cos(), sign * angles.sin()
        x1, x2 = x[..., :D // 2], x[..., D // 2:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    wrongs = [
        lambda x, base: rope_interleaved(x, angles_of(x, base)),  # neighbours (0, 1), (2, 3): the other layout
        lambda x, base: rotated(x, angles_of(x, base), sign=-1),  # the wrong way round
        lambda x, base: torch.cat(solution(x, base).chunk(2, -1)[::-1], -1),  # the halves swapped
        lambda x, base: rotated(x, angles_of(x, base, first=1)),  # positions from 1
        lambda x, base: rotated(x, angles_of(x, base, exponent_step=1)),  # base^(-i/D): the factor 2 forgotten
        lambda x, base: x,  # nothing rotated
        lambda x, base: 2 * solution(x, base),  # lengths changed
    ]
    assert_checker_behaves(checks.check_rope, lambda x, base: None, solution, wrongs, capsys)


def test_check_grouped_query_attention(capsys):
    import math

    def attention(q, k, v, causal=True, scale=None, axis=-1):
        T, D = q.size(-2), q.size(-1)
        scores = q @ k.transpose(-2, -1) / (scale or math.sqrt(D))
        if causal:
            scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
        return scores.softmax(axis).nan_to_num() @ v

    def solution(q, k, v):
        n_rep = q.size(1) // k.size(1)
        return attention(q, k.repeat_interleave(n_rep, 1), v.repeat_interleave(n_rep, 1))

    def tiled(q, k, v):  # heads 0,1,2,0,1,2: the wrong groups
        n_rep = q.size(1) // k.size(1)
        return attention(q, k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1))

    def repeat(q, k, v, **kw):
        n_rep = q.size(1) // k.size(1)
        return attention(q, k.repeat_interleave(n_rep, 1), v.repeat_interleave(n_rep, 1), **kw)

    wrongs = [tiled,
              lambda q, k, v: attention(q, k, v),  # KV heads not repeated: only works when K divides by broadcasting
              lambda q, k, v: repeat(q, k, v, causal=False),
              lambda q, k, v: repeat(q, k, v, scale=q.size(-1)),  # 1/D
              lambda q, k, v: repeat(q, k, v, axis=-2),  # softmax over the queries
              lambda q, k, v: attention(q[:, :k.size(1)], k, v)]  # only K query heads
    assert_checker_behaves(checks.check_grouped_query_attention, lambda q, k, v: None, solution, wrongs, capsys)
