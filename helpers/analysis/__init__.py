"""Numbers about models: sizes, memory and FLOPs from a shape, scaling-law fits, and the shared plots.

    sizing.py    parameter counts, training memory, FLOPs, 6·N·D (notebook 02)
    scaling.py   power-law fits, Kaplan's non-embedding count, compute, a continuation task (notebook 06)
    plots.py     attention maps, loss curves, probability bars
"""
from .plots import plot_attention, plot_distribution, plot_losses
from .scaling import fit_power_law, fit_power_law_offset, non_embedding_params
from .sizing import flops_per_token, gpt_params, human, param_breakdown, training_flops

__all__ = ["fit_power_law", "fit_power_law_offset", "flops_per_token", "gpt_params", "human", "non_embedding_params",
           "param_breakdown", "plot_attention", "plot_distribution", "plot_losses", "training_flops"]
