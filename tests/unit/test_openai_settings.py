"""OpenAI settings: PORFIN_OPENAI_* variables (and porfin.toml keys) checked like every
setting, and the container building the OpenAI adapters only when a key is configured."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from porfin_adapters import container as composition
from porfin_adapters.openai import (
    DEFAULT_PRICES,
    OpenAIChatModel,
    OpenAISettings,
    OpenAITranscriber,
    openai_settings,
)
from porfin_adapters.settings import load_settings
from porfin_core.domain.model_costs import ModelPrice
from porfin_core.errors import ValidationError


@pytest.fixture(autouse=True)
def empty_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_without_a_key_there_is_no_openai():
    settings = load_settings({})

    assert settings.openai_api_key is None
    assert settings.openai_model == "gpt-4.1-mini"
    assert openai_settings(settings) is None


def test_environment_variables():
    settings = load_settings(
        {
            "PORFIN_OPENAI_API_KEY": "sk-test",
            "PORFIN_OPENAI_BASE_URL": "http://localhost:11434/v1",
            "PORFIN_OPENAI_MODEL": "llama3.1",
            "PORFIN_OPENAI_FALLBACK_MODEL": "qwen2.5",
            "PORFIN_OPENAI_TIMEOUT_SECONDS": "7.5",
            "PORFIN_OPENAI_MAX_ATTEMPTS": "2",
            "PORFIN_OPENAI_TRANSCRIPTION_MODEL": "whisper-1",
            "PORFIN_OPENAI_PRICES": "llama3.1=0/0,gpt-4.1-mini=250/1000",
        }
    )

    config = openai_settings(settings)
    assert config == OpenAISettings(
        api_key="sk-test",
        base_url="http://localhost:11434/v1",
        model="llama3.1",
        fallback_model="qwen2.5",
        timeout_seconds=7.5,
        max_attempts=2,
        transcription_model="whisper-1",
        prices={
            **DEFAULT_PRICES,
            "llama3.1": ModelPrice(input_per_million=0, output_per_million=0),
            "gpt-4.1-mini": ModelPrice(input_per_million=250, output_per_million=1000),
        },
    )
    assert "sk-test" not in repr(settings) and "sk-test" not in repr(config)


def test_config_file_keys(empty_dir):
    (empty_dir / "porfin.toml").write_text(
        'openai_api_key = "sk-file"\n'
        "openai_timeout_seconds = 12\n"
        'openai_prices = { "gpt-4.1-mini" = [200, 800] }\n',
        encoding="utf-8",
    )

    config = openai_settings(load_settings({}))

    assert config is not None
    assert config.timeout_seconds == 12.0
    assert config.prices["gpt-4.1-mini"].input_per_million == Decimal(200)
    assert config.prices["gpt-4.1-nano"] == DEFAULT_PRICES["gpt-4.1-nano"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORFIN_OPENAI_BASE_URL", "localhost:11434/v1"),
        ("PORFIN_OPENAI_TIMEOUT_SECONDS", "0"),
        ("PORFIN_OPENAI_TIMEOUT_SECONDS", "nan"),
        ("PORFIN_OPENAI_TIMEOUT_SECONDS", "soon"),
        ("PORFIN_OPENAI_MAX_ATTEMPTS", "0"),
        ("PORFIN_OPENAI_MAX_ATTEMPTS", "11"),
        ("PORFIN_OPENAI_PRICES", "gpt-4.1-mini=220"),
    ],
)
def test_bad_values_are_refused(variable, value):
    with pytest.raises(ValidationError) as caught:
        load_settings({variable: value})

    assert caught.value.fields["field"] == variable.removeprefix("PORFIN_").lower()


def test_the_default_prices_are_centavos_per_million_tokens():
    # OpenAI's USD list prices at R$ 5,50: gpt-4.1-mini is US$ 0.40 / 1.60.
    assert DEFAULT_PRICES["gpt-4.1-mini"] == ModelPrice(
        input_per_million=220, output_per_million=880
    )


async def test_the_container_builds_nothing_without_a_key():
    container = composition.create_container(load_settings({}, storage="memory"))

    assert container.openai_chat_model() is None
    assert container.openai_transcriber() is None
    assert container.openai_embedder() is None
    assert container.knowledge_vectors() is None  # lexical retrieval only


async def test_the_container_builds_both_adapters_with_a_key():
    settings = load_settings(
        {
            "PORFIN_OPENAI_API_KEY": "sk-test",
            "PORFIN_OPENAI_BASE_URL": "http://127.0.0.1:8001/v1/",
            "PORFIN_OPENAI_MAX_ATTEMPTS": "4",
            "PORFIN_OPENAI_TRANSCRIPTION_MODEL": "whisper-1",
        },
        storage="memory",
    )
    container = composition.create_container(settings)

    chat = container.openai_chat_model()
    transcriber = container.openai_transcriber()
    assert isinstance(chat, OpenAIChatModel)
    assert chat.base_url == "http://127.0.0.1:8001/v1"
    assert chat.policy.max_attempts == 4
    assert isinstance(transcriber, OpenAITranscriber)
    assert transcriber.model == "whisper-1"
    assert container.openai_chat_model() is chat
    await chat.aclose()
    await transcriber.aclose()


async def test_the_container_builds_the_embedder_and_a_hybrid_knowledge_base_with_a_key():
    from porfin_adapters.knowledge.hybrid import HybridKnowledgeBase
    from porfin_adapters.openai import OpenAIEmbedder

    settings = load_settings(
        {
            "PORFIN_OPENAI_API_KEY": "sk-test",
            "PORFIN_OPENAI_EMBEDDING_MODEL": "text-embedding-3-large",
        },
        storage="memory",
    )
    container = composition.create_container(settings)

    embedder = container.openai_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.model == "text-embedding-3-large"
    knowledge = container.knowledge_base()
    assert isinstance(knowledge, HybridKnowledgeBase)
    assert knowledge.embedder is embedder
    assert container.knowledge_vectors() is knowledge
    await embedder.aclose()
