"""Training: the loop notebook 04 teaches, and what Parts III and V train with it.

    loop.py        AdamW, clipping, warm-up + cosine / Noam, precision and scaler, evals, checkpoints,
                   resume, DDP (notebook 04)
    config.py      settings as keywords or as a checked dataclass (FinetuneConfig, SFTConfig, DPOConfig)
    finetuning.py  gpt-2-simple's workflow with LoRA: finetune, generate, generate_to_file (notebooks 08, 09)
    runs.py        named runs on disk and their Google Drive copies
    preference.py  SFT with a response-only loss, DPO (notebook 11)
    reward.py      a reward model and best-of-n (notebook 11)
    rl.py          reinforcement learning from a reward: advantages, KL, policy-gradient and PPO losses
"""
from .finetuning import FinetuneConfig, finetune
from .loop import History, TrainConfig, configure_optimizer, learning_rate, train, training_step
from .preference import DPOConfig, SFTConfig, train_dpo, train_sft

__all__ = ["DPOConfig", "FinetuneConfig", "History", "SFTConfig", "TrainConfig", "configure_optimizer", "finetune",
           "learning_rate", "train", "train_dpo", "train_sft", "training_step"]
