"""The models a learner reads: attention, the GPT-2-style GPT, its KV cache, the Llama block, LoRA.

torch only: nothing here imports the rest of the course, so each file reads on its own.

    attention.py   scaled dot-product and multi-head attention, written out (notebook 01)
    gpt.py         the GPT-2-style GPT (notebook 02)
    bigram.py      the bigram baseline: next-token counts (notebook 04)
    kv_cache.py    the KV cache and what it costs in memory (notebooks 05, 07)
    llama.py       RMSNorm, RoPE, SwiGLU, grouped-query attention: SmolLM2's block (notebook 07)
    lora.py        low-rank adapters (notebook 08)
"""
from .attention import MultiHeadAttention
from .gpt import GPT, GPTConfig
from .kv_cache import KVCache, LayerCache
from .llama import Llama, LlamaConfig
from .lora import LoRALinear, add_lora, trainable_parameters

__all__ = ["GPT", "GPTConfig", "KVCache", "LayerCache", "Llama", "LlamaConfig", "LoRALinear", "MultiHeadAttention",
           "add_lora", "trainable_parameters"]
