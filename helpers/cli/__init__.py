"""The command lines; nothing in helpers imports them.

    python -m helpers.cli.pretrain_char ...   the character-level GPT of notebook 04 (also under torchrun)
    python -m helpers.cli.finetune ...        gpt-2-simple's fine-tune / generate commands (notebook 09)
"""
