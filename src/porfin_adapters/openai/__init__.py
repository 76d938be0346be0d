"""OpenAI and OpenAI-compatible servers: the AI receptionist's chat model, voice-note
transcription and the knowledge base's embeddings (docs/openai.md).

The adapters are loaded on first use (``import openai`` is slow; see
:mod:`porfin_adapters.openai.config`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from porfin_adapters.openai.config import (
    DEFAULT_BASE_URL,
    DEFAULT_PRICES,
    OpenAISettings,
    build_openai_chat_model,
    build_openai_embedder,
    build_openai_transcriber,
    openai_settings,
)

if TYPE_CHECKING:
    from porfin_adapters.openai.chat_model import OpenAIChatModel
    from porfin_adapters.openai.client import RetryPolicy
    from porfin_adapters.openai.embeddings import OpenAIEmbedder
    from porfin_adapters.openai.transcriber import OpenAITranscriber

_LAZY = {
    "OpenAIChatModel": "porfin_adapters.openai.chat_model",
    "OpenAIEmbedder": "porfin_adapters.openai.embeddings",
    "OpenAITranscriber": "porfin_adapters.openai.transcriber",
    "RetryPolicy": "porfin_adapters.openai.client",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PRICES",
    "OpenAIChatModel",
    "OpenAIEmbedder",
    "OpenAISettings",
    "OpenAITranscriber",
    "RetryPolicy",
    "build_openai_chat_model",
    "build_openai_embedder",
    "build_openai_transcriber",
    "openai_settings",
]
