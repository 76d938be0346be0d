"""The OpenAI part of :class:`~porfin_adapters.settings.Settings`, and the adapters built from
it (what the container wires).

The SDK is imported only when an adapter is built: ``import openai`` takes a third of a
second, which every CLI command would pay otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from porfin_adapters.settings import Settings
from porfin_core.domain.model_costs import ModelPrice

if TYPE_CHECKING:
    from porfin_adapters.openai.chat_model import OpenAIChatModel
    from porfin_adapters.openai.embeddings import OpenAIEmbedder
    from porfin_adapters.openai.transcriber import OpenAITranscriber

DEFAULT_BASE_URL = "https://api.openai.com/v1"

DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    name: ModelPrice(input_per_million=prompt, output_per_million=completion)
    for name, (prompt, completion) in {
        "gpt-4.1": ("1100", "4400"),
        "gpt-4.1-mini": ("220", "880"),
        "gpt-4.1-nano": ("55", "220"),
        "gpt-4o": ("1375", "5500"),
        "gpt-4o-mini": ("82.5", "330"),
    }.items()
}
"""Approximate prices in BRL centavos per million tokens: OpenAI's published USD list prices
(2025) at R$ 5,50 per US$. Set ``openai_prices`` to your own (they override these by model)."""


@attrs.frozen(kw_only=True)
class OpenAISettings:
    """How Porfin talks to OpenAI (or a compatible server).

    Attributes:
        api_key: The API key (``PORFIN_OPENAI_API_KEY``); never logged.
        base_url: The API's root; ``https://api.openai.com/v1`` or a compatible server.
        model: The default chat model of assistants that name none.
        fallback_model: Tried when ``model`` keeps failing; None for none.
        timeout_seconds: Seconds for connecting and for each read of an answer.
        max_attempts: Attempts per model before the fallback (or giving up).
        transcription_model: The voice-note model.
        embedding_model: The knowledge base's embedding model.
        prices: BRL centavos per million tokens, by model (defaults, then the configured).
    """

    api_key: str = attrs.field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = "gpt-4.1-mini"
    fallback_model: str | None = None
    timeout_seconds: float = 20.0
    max_attempts: int = 3
    transcription_model: str = "gpt-4o-mini-transcribe"
    embedding_model: str = "text-embedding-3-small"
    prices: Mapping[str, ModelPrice] = attrs.field(factory=lambda: dict(DEFAULT_PRICES))


def openai_settings(settings: Settings) -> OpenAISettings | None:
    """The OpenAI settings, or None when no API key is configured (the AI then runs on the
    offline engine and voice notes go to a person)."""
    if not settings.openai_api_key:
        return None
    return OpenAISettings(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        fallback_model=settings.openai_fallback_model or None,
        timeout_seconds=settings.openai_timeout_seconds,
        max_attempts=settings.openai_max_attempts,
        transcription_model=settings.openai_transcription_model,
        embedding_model=settings.openai_embedding_model,
        prices={**DEFAULT_PRICES, **dict(settings.openai_prices)},
    )


def build_openai_chat_model(settings: Settings) -> OpenAIChatModel | None:
    """The chat model for ``settings``; None without an API key."""
    config = openai_settings(settings)
    if config is None:
        return None
    from porfin_adapters.openai.chat_model import OpenAIChatModel
    from porfin_adapters.openai.client import RetryPolicy

    return OpenAIChatModel(
        api_key=config.api_key,
        base_url=config.base_url,
        timeout=config.timeout_seconds,
        policy=RetryPolicy(max_attempts=config.max_attempts),
    )


def build_openai_transcriber(settings: Settings) -> OpenAITranscriber | None:
    """The voice-note transcriber for ``settings``; None without an API key."""
    config = openai_settings(settings)
    if config is None:
        return None
    from porfin_adapters.openai.client import RetryPolicy
    from porfin_adapters.openai.transcriber import OpenAITranscriber

    return OpenAITranscriber(
        api_key=config.api_key,
        base_url=config.base_url,
        model=config.transcription_model,
        # Audio takes longer to upload and transcribe than a chat answer to start.
        timeout=max(config.timeout_seconds, 60.0),
        policy=RetryPolicy(max_attempts=config.max_attempts),
    )


def build_openai_embedder(settings: Settings) -> OpenAIEmbedder | None:
    """The knowledge base's embedder for ``settings``; None without an API key (retrieval
    is then lexical only)."""
    config = openai_settings(settings)
    if config is None:
        return None
    from porfin_adapters.openai.client import RetryPolicy
    from porfin_adapters.openai.embeddings import OpenAIEmbedder

    return OpenAIEmbedder(
        api_key=config.api_key,
        base_url=config.base_url,
        model=config.embedding_model,
        timeout=config.timeout_seconds,
        policy=RetryPolicy(max_attempts=config.max_attempts),
    )


def model_prices(settings: Settings) -> dict[str, ModelPrice]:
    """The price table of the models: the defaults, then the configured ones."""
    return {**DEFAULT_PRICES, **dict(settings.openai_prices)}
