"""Patients' voice notes as text through ``POST /audio/transcriptions`` (OpenAI's
``gpt-4o-mini-transcribe``, ``gpt-4o-transcribe``, ``whisper-1``, or a compatible server)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping

import openai

from porfin_adapters.openai.client import LoopClient, RetryPolicy, Sleep, with_retries
from porfin_adapters.openai.config import DEFAULT_BASE_URL
from porfin_adapters.openai.failures import PROVIDER, TRANSLATED, Failure, classify
from porfin_core.errors import ModelUnavailable

EXTENSIONS = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "m4a",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/webm": "webm",
    "audio/flac": "flac",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
"""File extensions by media type: OpenAI tells the audio's format by the file's name.
WhatsApp voice notes are ``audio/ogg; codecs=opus``."""


def file_name(media_type: str) -> str:
    """The upload's file name for ``media_type`` (``voice.ogg`` for a WhatsApp voice note)."""
    bare = media_type.split(";", 1)[0].strip().lower()
    return f"voice.{EXTENSIONS.get(bare, bare.rpartition('/')[2] or 'ogg')}"


class OpenAITranscriber:
    """:class:`~porfin_core.ports.chat_model.Transcriber` on an OpenAI-compatible server.

    Failures are retried and mapped like :class:`~porfin_adapters.openai.OpenAIChatModel`'s
    (no fallback model).

    Args:
        api_key: The server's key.
        base_url: The API's root.
        model: ``gpt-4o-mini-transcribe`` (default), ``gpt-4o-transcribe``, ``whisper-1``...
        timeout: Seconds for connecting and for each read (per call).
        policy: Attempts and backoff.
        prompt: Optional context for the model (e.g. the clinic's vocabulary).
        default_headers: Extra headers on every request.
        sleep: Waits between attempts (injected in tests).
        jitter: Random numbers in [0, 1) for the backoff's jitter.
        now: Wall-clock seconds (for ``retry-after`` given as a date).
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        model: str = "gpt-4o-mini-transcribe",
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        prompt: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._client = LoopClient(
            api_key=api_key, base_url=base_url, timeout=timeout, default_headers=default_headers
        )
        self.model = model
        self.policy = policy or RetryPolicy()
        self._prompt = prompt
        self._sleep = sleep
        self._jitter = jitter
        self._now = now

    async def aclose(self) -> None:
        """Close pooled connections (the container's ``stop``)."""
        await self._client.aclose()

    async def transcribe(self, audio: bytes, *, media_type: str, language: str = "pt") -> str:
        """The voice note's text (stripped; empty when nothing was said).

        Raises:
            ModelUnavailable: No transcription could be made (``reason`` as for chat;
                ``bad_request`` for empty audio or a format the server refuses).
        """
        if not audio:
            raise ModelUnavailable(
                "the voice note is empty", reason="bad_request", provider=PROVIDER
            )
        upload = (file_name(media_type), audio, media_type.split(";", 1)[0].strip())

        async def attempt(model: str) -> str:
            try:
                result = await self._client.get().audio.transcriptions.create(
                    file=upload,
                    model=model,
                    language=language,
                    prompt=self._prompt or openai.omit,
                )
            except TRANSLATED as exc:
                raise classify(exc, now=self._now) from exc
            text = getattr(result, "text", None)
            if not isinstance(text, str):
                raise Failure(
                    reason="server_error",
                    message="the transcription answer has no text",
                    retryable=True,
                )
            return text.strip()

        outcome = await with_retries(
            attempt,
            [self.model],
            policy=self.policy,
            sleep=self._sleep,
            jitter=self._jitter,
            now=self._now,
            fields={"base_url": self._client.base_url, "operation": "transcribe"},
        )
        return outcome.value
