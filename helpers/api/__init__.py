"""Models behind an API: the OpenAI-compatible client, a local server, few-shot prompts, the playground.

    client.py        get_client() (OpenAI, the Hugging Face router, or the local server), complete, chat
    local_server.py  ``transformers serve`` of the offline SmolLM2 on 127.0.0.1
    prompts.py       few-shot prompts and chat messages; reading a label back out of a reply
    playground.py    the GPT-3 playground widget, for a course model or an API client (notebooks 05, 10)
"""
from .client import (
                     Completion,
                     TokenLogprob,
                     Usage,
                     chat,
                     chat_completion,
                     complete,
                     completion,
                     completion_model,
                     get_client,
                     stop_local_server,
)
from .local_server import LOCAL_MODEL, ApiError, LocalServer, served_folder
from .prompts import few_shot_messages, few_shot_prompt, parse_label

__all__ = ["LOCAL_MODEL", "ApiError", "Completion", "LocalServer", "TokenLogprob", "Usage", "chat", "chat_completion",
           "complete", "completion", "completion_model", "few_shot_messages", "few_shot_prompt", "get_client",
           "parse_label", "served_folder", "stop_local_server"]
