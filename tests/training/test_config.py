"""The training functions' settings: keywords or a config dataclass, checked before any work starts."""
import pytest

from helpers.training import DPOConfig, FinetuneConfig, SFTConfig, finetune, train_dpo, train_sft
from helpers.training.config import merged


def test_keywords_and_a_config_give_the_same_settings():
    assert merged(SFTConfig, None, dict(steps=24, lr=1e-3), "train_sft") == SFTConfig(steps=24, lr=1e-3)
    base = DPOConfig(steps=16, beta=0.2)
    assert merged(DPOConfig, base, dict(steps=8), "train_dpo") == DPOConfig(steps=8, beta=0.2)  # keywords win
    assert merged(FinetuneConfig, None, {}, "finetune") == FinetuneConfig()  # gpt-2-simple's defaults


@pytest.mark.parametrize("make, says", [
    (lambda: SFTConfig(steps=0), "steps=0"),
    (lambda: SFTConfig(steps=2, batch_size=1.5), "batch_size=1.5"),
    (lambda: SFTConfig(steps=2, lr=0), "lr=0"),
    (lambda: SFTConfig(steps=2, warmup=-1), "warmup=-1"),
    (lambda: SFTConfig(steps=2, dtype="fp8"), "dtype='fp8'"),
    (lambda: DPOConfig(steps=2, beta=0), "beta=0"),
    (lambda: FinetuneConfig(method="qlora"), "method='qlora'"),
    (lambda: FinetuneConfig(restore_from="best"), "restore_from='best'"),
    (lambda: FinetuneConfig(doc_start_share=1.5), "doc_start_share=1.5"),
    (lambda: FinetuneConfig(block_size=0), "block_size=0"),
])
def test_a_bad_value_is_a_one_line_error_naming_it(make, says):
    with pytest.raises(ValueError, match=f"^{says.replace('(', '.').replace(')', '.')}") as e:
        make()
    assert "\n" not in str(e.value)


def test_unknown_or_missing_settings_are_refused_before_any_work():
    with pytest.raises(TypeError, match="unknown settings \\['stpes'\\].*SFTConfig's fields"):
        train_sft(None, [], stpes=3)
    with pytest.raises(TypeError, match="steps"):  # SFT and DPO have no default length
        train_dpo(None, [])
    with pytest.raises(ValueError, match="method='qlora'"):  # checked before the model is even looked at
        finetune(None, None, ["a b"], method="qlora")
