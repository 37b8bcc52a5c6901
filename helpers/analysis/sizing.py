"""How big a GPT is, from its shape alone: parameters, training memory, compute (notebook 02).

The counts match ``helpers.models.gpt.GPT`` exactly (tests/analysis/test_sizing.py builds the models and
compares); memory and FLOPs are the usual back-of-the-envelope rules, stated where they are used.
"""
from __future__ import annotations

from dataclasses import dataclass

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class PublishedShape:
    """One row of a paper's model table: its name, shape and the size its name claims."""
    name: str
    n_layer: int
    n_head: int
    d_model: int
    nominal: float | None  # parameters the name announces ("1.3B" -> 1.3e9); None if the name has none
    lr: float | None = None  # peak learning rate, where the source gives one
    batch: str | None = None  # batch size as the source prints it ("0.5M")
    note: str = ""  # what the source says besides the numbers


# Brown et al. 2020, "Language Models are Few-Shot Learners", Table 2.1, as printed. All eight use a
# context of 2048 tokens and GPT-2's 50257-token vocabulary, and all were trained on 300B tokens.
# Two rows do not divide evenly (XL: 2048 / 24 heads, 13B: 5140 / 40 heads); the parameter count
# does not depend on the number of heads, so we keep the printed values.
GPT3_PAPER = (
    PublishedShape("GPT-3 Small", 12, 12, 768, 125e6),
    PublishedShape("GPT-3 Medium", 24, 16, 1024, 350e6),
    PublishedShape("GPT-3 Large", 24, 16, 1536, 760e6),
    PublishedShape("GPT-3 XL", 24, 24, 2048, 1.3e9),
    PublishedShape("GPT-3 2.7B", 32, 32, 2560, 2.7e9),
    PublishedShape("GPT-3 6.7B", 32, 32, 4096, 6.7e9),
    PublishedShape("GPT-3 13B", 40, 40, 5140, 13e9),
    PublishedShape("GPT-3 175B", 96, 96, 12288, 175e9),
)
GPT3_VOCAB, GPT3_CONTEXT, GPT3_TOKENS = 50257, 2048, 300e9

# A Chinese GPT-3 series (Alibaba DAMO, published on ModelScope as damo/nlp_gpt3_text-generation_chinese-*):
# every card of the series prints the same table of layers, heads, d_model, learning rate and batch
# ("0.5M", "2M", "6M", no unit given), and marks the 175B model "work in process". Vocabulary and
# context are not in that table; the notebook assumes GPT-3's.
CHINESE_GPT3 = (
    PublishedShape("zh base", 12, 12, 768, None, 6.0e-4, "0.5M"),
    PublishedShape("zh large", 24, 16, 1024, None, 3.0e-4, "0.5M"),
    PublishedShape("zh 1.3B", 24, 32, 2048, 1.3e9, 2.0e-4, "2M"),
    PublishedShape("zh 2.7B", 32, 32, 2560, 2.7e9, 1.6e-4, "2M"),
    PublishedShape("zh 13B", 40, 40, 5120, 13e9, 1.0e-4, "6M"),
    PublishedShape("zh 30B", 48, 56, 7168, 30e9, 1.0e-4, "6M"),
    PublishedShape("zh 175B", 96, 96, 12288, 175e9, 1.2e-4, "6M", note="still in training when published"),
)


def param_breakdown(n_layer: int, n_embd: int, vocab_size: int, block_size: int, bias: bool = True,
                    tied: bool = True, positions: str = "learned") -> dict[str, int]:
    """Return the parameter count of each part of a helpers.models.gpt.GPT of this shape, by name."""
    for name, value in dict(n_layer=n_layer, n_embd=n_embd, vocab_size=vocab_size, block_size=block_size).items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: give a positive whole number")
    if positions not in ("learned", "sinusoidal"):
        raise ValueError(f"positions={positions!r}: use 'learned' or 'sinusoidal'")
    C, b = n_embd, int(bias)
    norm = C + b * C  # LayerNorm: a gain per channel, and a shift if bias
    block = (2 * norm  # ln_1, ln_2
             + 3 * C * C + b * 3 * C + C * C + b * C  # attention: q, k, v in one matrix, then out-projection
             + 4 * C * C + b * 4 * C + 4 * C * C + b * C)  # MLP: C -> 4C -> C
    return {
        "token embedding": vocab_size * C,
        "position embedding": block_size * C if positions == "learned" else 0,  # a sinusoid table is fixed
        "blocks": n_layer * block,
        "final norm": norm,
        "lm_head": 0 if tied else vocab_size * C,  # tied: the token embedding again, counted once
    }


def gpt_params(n_layer: int, n_embd: int, vocab_size: int, block_size: int, bias: bool = True,
               tied: bool = True, positions: str = "learned") -> int:
    """Return the number of parameters of a helpers.models.gpt.GPT of this shape (12·L·C² + ... exactly)."""
    return sum(param_breakdown(n_layer, n_embd, vocab_size, block_size, bias, tied, positions).values())


def config_params(config) -> int:
    """Return gpt_params for a helpers.models.gpt.GPTConfig."""
    return gpt_params(config.n_layer, config.n_embd, config.vocab_size, config.block_size, config.bias,
                      config.tie_weights, config.positions)


def linear_flops_per_token(n_layer: int, n_embd: int, vocab_size: int) -> int:
    """Return the forward FLOPs per token of the Linear layers (12·C² weights per block, and lm_head): 2 per weight."""
    return 2 * (n_layer * 12 * n_embd * n_embd + vocab_size * n_embd)


def training_memory_bytes(n_params: float, bytes_per_param: float = 16) -> float:
    """Return bytes for weights, gradients and Adam's two moments (fp32: 4 + 4 + 8 = 16 per parameter).

    Activations come on top and grow with batch size and context; they are left out here.
    """
    return n_params * bytes_per_param


def flops_per_token(n_params: float, training: bool = True) -> float:
    """Return ≈ FLOPs per token: 2N for a forward pass, 6N for forward + backward (backward ≈ 2× forward)."""
    return (6 if training else 2) * n_params


def training_flops(n_params: float, n_tokens: float) -> float:
    """Return C ≈ 6·N·D, the FLOPs of training N parameters on D tokens (2 forward, 4 backward per token)."""
    return flops_per_token(n_params) * n_tokens


def training_days(n_params: float, n_tokens: float, flops_per_second: float) -> float:
    """Return the days one device sustaining ``flops_per_second`` needs to train on ``n_tokens`` (6·N·D)."""
    if flops_per_second <= 0:
        raise ValueError(f"flops_per_second={flops_per_second}: give the sustained throughput, e.g. 1.25e14")
    return training_flops(n_params, n_tokens) / flops_per_second / SECONDS_PER_DAY


def human(n: float) -> str:
    """Return a count as a short string: 124_439_808 -> '124.4M', 1.3e9 -> '1.30B'."""
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            value = n / size
            return f"{value:.2f}{unit}" if value < 10 else f"{value:.1f}{unit}"
    return f"{n:.0f}"
