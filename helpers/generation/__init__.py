"""From a model to text and to probabilities: sampling, scoring, probes, contamination, chat answers.

    sampling.py       temperature, top-k, top-p, min-p, penalties, stop sequences; the one generation loop
    likelihood.py     the logits of any model; perplexity
    probes.py         label probabilities instead of samples; group gaps with intervals and p-values
    contamination.py  per-token log-probabilities and Min-K%: was a text in the training data?
    chat.py           chat answers from a transformers chat model, greedy or n samples per prompt
"""
from .chat import generate_answers, sample_answers
from .likelihood import logits_of, perplexity
from .sampling import as_course_model, generate, generate_text, sample_next

__all__ = ["as_course_model", "generate", "generate_answers", "generate_text", "logits_of", "perplexity",
           "sample_answers", "sample_next"]
