"""Training: one loop, ``fit``, that every training in the course runs; the loss is the only thing that changes.

    loop.py        fit: the scheduled rate, autocast and scaler, AdamW, clipping, History, on a loss given
                   as a function; train: fit on the next-token loss, with evals, checkpoints, resume, DDP
                   (notebook 04)
    config.py      settings as keywords or as a checked dataclass (FinetuneConfig, SFTConfig, DPOConfig)
    finetuning.py  gpt-2-simple's workflow with LoRA: finetune, generate, generate_to_file (notebooks 08, 09)
    runs.py        named runs on disk and their Google Drive copies
    preference.py  SFT with a response-only loss, DPO (notebook 11)
    reward.py      a reward model and best-of-n (notebook 11)
    rl.py          reinforcement learning from a reward: advantages, KL, policy-gradient and PPO losses,
                   train_rl on fit (notebook 12)
    stages.py      notebook 11's SFT and reward models saved as named runs, loaded (or rebuilt) by notebook 12
"""
from .finetuning import FinetuneConfig, finetune
from .loop import History, TrainConfig, configure_optimizer, fit, learning_rate, train, training_step
from .preference import DPOConfig, SFTConfig, train_dpo, train_sft

__all__ = ["DPOConfig", "FinetuneConfig", "History", "SFTConfig", "TrainConfig", "configure_optimizer", "finetune",
           "fit", "learning_rate", "train", "train_dpo", "train_sft", "training_step"]
