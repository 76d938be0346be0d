"""A fake OpenAI-compatible API, served by uvicorn on 127.0.0.1.

It speaks the wire format of the two endpoints Porfin's adapters use (reference
``integrations.md`` §1.3-1.4) and replays the recorded payloads in ``../shared/fixtures/openai``:

- ``POST /v1/chat/completions``: checks the bearer key (401 with OpenAI's error body
  otherwise) and the body's shape the way OpenAI does (``model``, ``messages`` with valid
  roles, every ``tool`` message answering a preceding assistant ``tool_calls`` id, function
  tools, ``stream_options`` only with ``stream``) and answers 400 ``invalid_request_error``
  when it is wrong. The answer is the next scripted one, as JSON or, with ``"stream": true``,
  as server-sent events ending with ``data: [DONE]``. Any fixture replays both ways: a
  ``.json`` completion is cut into chunks for a stream (text and tool-call arguments in
  pieces, ids and names on the first piece of each call, usage in a last ``choices: []``
  chunk only with ``stream_options.include_usage``), and a ``.sse`` recording is assembled into
  one ``chat.completion`` for a plain request.
- ``POST /v1/audio/transcriptions``: multipart ``file`` + ``model`` (+ ``language``,
  ``prompt``); answers ``{"text": ..., "usage": ...}``.
- ``GET /v1/models``: checks the bearer key, answers a short model list.
- ``POST /v1/embeddings``: ``model`` and ``input`` (a string or a list of up to 2048 non-empty
  strings; 400 otherwise, as OpenAI), ``dimensions``, ``encoding_format`` (``float`` or
  ``base64``); answers ``{"object": "list", "data": [{"embedding": ...}], ...}`` with
  deterministic vectors (:func:`fake_embedding`): a hashed bag of words plus a few *meanings*
  (:data:`MEANINGS`), so texts sharing words or a meaning are close, the way a real model puts
  "dente amarelado" near "clareamento" while the lexical index cannot.

Scripting, per test (a queue per endpoint; an empty queue answers the default): fixture
names or :class:`Answer` values from :func:`fixture_answer`, :func:`json_answer`,
:func:`failure` (429 with ``retry-after``, 500, 503, 401, 400...), :func:`embeddings_answer`,
:func:`delayed` (answers
after a delay, longer than the client's timeout to make it time out), :func:`malformed` (a
200 whose body is not JSON), :func:`dropped` (headers and part of the body, then the
connection is cut) and :func:`truncated_stream` (a stream that stops before it finishes).

Every request is recorded in :attr:`OpenAIApiFake.requests` (method, path, headers, parsed
JSON or multipart form), so tests assert the model, tools, messages and fallback sent.

Use :meth:`OpenAIApiFake.serving` (a context manager) to run it in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import math
import re
import socket
import struct
import threading
import unicodedata
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import attrs
import uvicorn

from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("openai")
API_KEY = "sk-porfin-fake-0123456789abcdef"
CHAT = "/v1/chat/completions"
TRANSCRIPTIONS = "/v1/audio/transcriptions"
EMBEDDINGS = "/v1/embeddings"
MODELS = "/v1/models"
MODELS_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {"id": "gpt-4.1-mini", "object": "model", "created": 1744316542, "owned_by": "system"},
        {
            "id": "gpt-4o-mini-transcribe",
            "object": "model",
            "created": 1742068463,
            "owned_by": "system",
        },
    ],
}
"""``GET /v1/models``: the key's models (what ``porfin init``/``porfin doctor`` ask to check a
key cheaply)."""
EMBEDDING_DIMENSIONS = 256
"""The fake's vector length when the request names none (OpenAI's small model gives 1536)."""
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
DEFAULT_TRANSCRIPT = "Oi, boa tarde! Queria marcar uma limpeza pra amanhã à tarde, tem horário?"


MEANINGS: dict[str, tuple[str, ...]] = {
    "whitening": ("amarel", "manch", "branc", "clare", "escurec", "encardid"),
    "orthodontics": ("tort", "encavalad", "alinh", "aparelh", "ortodont"),
    "tooth-loss": ("perdi", "faltando", "implant", "protes"),
    "paying": ("pagar", "pagament", "parcel", "cartao", "pix", "dinheiro"),
    "car": ("carro", "estacion", "vaga", "manobr"),
}
"""What the fake embedding model "understands": word prefixes (folded) that share a meaning
but no synonym of the lexical analyzer."""
_FAKE_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        """o a os as de do da dos das um uma e que meu minha meus minhas para pra com tem como
        ficou fica esta estao isso isto no na nos nas em por se eu voce voces ja mais muito""",
    )
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _bucket(key: str, dimensions: int) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % dimensions


def fake_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A unit vector for ``text``: each word (its first five letters) counts in one hashed
    dimension, each meaning of :data:`MEANINGS` it expresses three times in another; a text
    without words gets a fixed vector."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", _fold(text)):
        if word in _FAKE_STOPWORDS or len(word) < 3:
            continue
        vector[_bucket(f"w:{word[:5]}", dimensions)] += 1.0
        for meaning, prefixes in MEANINGS.items():
            if word.startswith(prefixes):
                vector[_bucket(f"m:{meaning}", dimensions)] += 3.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0
    return [x / norm for x in vector]


def fixture_text(name: str) -> str:
    """A fixture file's text."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def sse_chunks(text: str) -> list[dict[str, Any]]:
    """The ``data:`` objects of a recorded stream, without the final ``[DONE]``."""
    chunks = []
    for line in text.splitlines():
        if line.startswith("data: ") and line[6:].strip() != "[DONE]":
            chunks.append(json.loads(line[6:]))
    return chunks


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``chat.completion`` a stream of chunks amounts to (what OpenAI would have answered
    without ``stream``)."""
    first = chunks[0]
    content: list[str] = []
    refusal: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish_reason = None
    usage = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                content.append(delta["content"])
            if delta.get("refusal"):
                refusal.append(delta["refusal"])
            for piece in delta.get("tool_calls") or []:
                call = calls.setdefault(
                    piece["index"],
                    {"id": None, "type": "function", "function": {"name": None, "arguments": ""}},
                )
                call["id"] = piece.get("id") or call["id"]
                function = piece.get("function") or {}
                call["function"]["name"] = function.get("name") or call["function"]["name"]
                call["function"]["arguments"] += function.get("arguments") or ""
            finish_reason = choice.get("finish_reason") or finish_reason
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(content) or None,
        "refusal": "".join(refusal) or None,
    }
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    completion = {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }
    if "system_fingerprint" in first:
        completion["system_fingerprint"] = first["system_fingerprint"]
    return completion


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def split(completion: dict[str, Any], *, include_usage: bool) -> list[dict[str, Any]]:
    """A ``chat.completion`` as the chunks OpenAI streams for it: the role first, text and
    each tool call's arguments in small pieces (id, type and name on a call's first piece),
    the finish reason in a chunk of its own, then the usage (only when asked for)."""
    head = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
    }
    if "system_fingerprint" in completion:
        head["system_fingerprint"] = completion["system_fingerprint"]

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }

    choice = completion["choices"][0]
    message = choice["message"]
    chunks = [chunk({"role": "assistant", "content": "" if message.get("content") else None})]
    if message.get("content"):
        chunks += [chunk({"content": p}) for p in _pieces(message["content"], 7)]
    if message.get("refusal"):
        chunks += [chunk({"refusal": p}) for p in _pieces(message["refusal"], 7)]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": function["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in _pieces(function["arguments"], 5)
        ]
    chunks.append(chunk({}, choice.get("finish_reason") or "stop"))
    if include_usage:
        chunks.append({**head, "choices": [], "usage": completion.get("usage")})
    return chunks


def _error(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@attrs.frozen(kw_only=True)
class Answer:
    """One scripted answer.

    Attributes:
        kind: ``completion`` (a chat completion, streamed or not as asked), ``json`` (a body
            as is), ``embeddings`` (the fake's own vectors), ``malformed``, ``drop`` or
            ``truncated``.
        status: The HTTP status (``json``).
        body: The completion or the JSON body.
        headers: Extra response headers (``retry-after``...).
        delay: Seconds to wait before answering.
        stall_after: For a streamed completion: chunks sent before a pause of ``delay``
            seconds (the answer then goes on); None pauses before the headers.
        chunks: A recorded stream, replayed as is to a streaming request (``body`` is what
            it amounts to, for a plain one).
    """

    kind: str
    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    stall_after: int | None = None
    chunks: tuple[dict[str, Any], ...] = ()


def fixture_answer(name: str, **changes: Any) -> Answer:
    """A fixture replayed (``.json`` completion or ``.sse`` recording), with ``changes``
    (e.g. ``delay``)."""
    text = fixture_text(name)
    if name.endswith(".sse"):
        chunks = sse_chunks(text)
        return Answer(kind="completion", body=assemble(chunks), chunks=tuple(chunks), **changes)
    return Answer(kind="completion", body=json.loads(text), **changes)


def completion_answer(
    *,
    content: str | None = None,
    tool_calls: tuple[tuple[str, str, str], ...] = (),
    refusal: str | None = None,
    finish_reason: str | None = None,
    model: str = "gpt-4.1-mini-2025-04-14",
    usage: tuple[int, int] = (100, 20),
    **changes: Any,
) -> Answer:
    """A chat completion made up for a test: text, ``(id, name, arguments)`` tool calls,
    refusal."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in tool_calls
        ]
    body = {
        "id": "chatcmpl-porfin-fake",
        "object": "chat.completion",
        "created": 1764158400,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }
    return Answer(kind="completion", body=body, **changes)


def events_answer(*chunks: Any) -> Answer:
    """A stream of exactly these ``data:`` objects, then ``[DONE]`` (for a streaming
    request)."""
    return Answer(kind="completion", chunks=chunks)


def embeddings_answer(**changes: Any) -> Answer:
    """The fake's own vectors (as when nothing is scripted), e.g. before scripted failures or
    after a ``delay``."""
    return Answer(kind="embeddings", **changes)


def json_answer(body: Any, status: int = 200, **changes: Any) -> Answer:
    """``body`` as the answer, exactly."""
    return Answer(kind="json", status=status, body=body, **changes)


FAILURES: dict[int, dict[str, Any]] = {
    400: _error(
        "Invalid 'messages[1].content': string too long.", "invalid_request_error", None, "messages"
    ),
    401: _error(
        "Incorrect API key provided: sk-wrong.", "invalid_request_error", "invalid_api_key"
    ),
    403: _error("You are not allowed to sample from this model", "invalid_request_error", None),
    404: _error(
        "The model `gpt-nope` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: _error(
        "Rate limit reached for gpt-4.1-mini on requests per min (RPM): Limit 500, Used 500.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: _error("The server had an error while processing your request.", "server_error", None),
    502: _error("Bad gateway.", "server_error", None),
    503: _error(
        "The engine is currently overloaded, please try again later.", "server_error", None
    ),
}
"""OpenAI's error bodies by status (as the API returns them: ``{"error": {...}}``)."""


def failure(status: int, *, retry_after: str | None = None, **changes: Any) -> Answer:
    """An error answer: status ``status`` with OpenAI's body, and ``retry-after``."""
    headers = (("retry-after", retry_after),) if retry_after is not None else ()
    return Answer(kind="json", status=status, body=FAILURES[status], headers=headers, **changes)


def fixed_temperature(model: str = "gpt-5-mini") -> Answer:
    """400 from a reasoning model asked for a temperature other than its default."""
    return json_answer(
        _error(
            f"Unsupported value: 'temperature' does not support 0.3 with this model "
            f"({model}). Only the default (1) value is supported.",
            "invalid_request_error",
            "unsupported_value",
            "temperature",
        ),
        status=400,
    )


def insufficient_quota() -> Answer:
    """429 because the account has no credit left (not a rate limit)."""
    return json_answer(
        _error(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
        status=429,
    )


def delayed(seconds: float, answer: Answer | str | None = None) -> Answer:
    """``answer`` (a text completion by default) after ``seconds``."""
    if isinstance(answer, str):
        answer = fixture_answer(answer)
    return attrs.evolve(answer or completion_answer(content="Olá!"), delay=seconds)


def malformed() -> Answer:
    """200 with a body that is not JSON (nor valid events when streamed)."""
    return Answer(kind="malformed")


def dropped() -> Answer:
    """Headers and half a body, then the connection is cut."""
    return Answer(kind="drop")


def truncated_stream(name: str = "chat_stream_text_with_usage.sse", keep: int = 5) -> Answer:
    """A stream that ends (cleanly, without ``[DONE]`` or a finish reason) after ``keep``
    chunks; a plain request gets a cut connection."""
    return Answer(kind="truncated", body=sse_chunks(fixture_text(name))[:keep])


@attrs.define
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = attrs.field(factory=dict)
    files: dict[str, tuple[str, str, bytes]] = attrs.field(factory=dict)


def _check_chat(body: Any) -> str | None:
    """Why OpenAI would refuse ``body`` with 400, or None."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "[] is too short - 'messages'"
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return f"Invalid value for 'messages[{index}].role'."
        if message["role"] == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                function = call.get("function") or {}
                if call.get("type") != "function" or not isinstance(function.get("arguments"), str):
                    return f"Invalid 'messages[{index}].tool_calls'."
                open_calls.add(call["id"])
        elif message["role"] == "tool":
            if message.get("tool_call_id") not in open_calls:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'."
                )
        elif not isinstance(message.get("content"), str | list):
            return f"Invalid type for 'messages[{index}].content'."
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict):
            return "Invalid 'tools': only function tools are supported here."
        if not function.get("name") or not isinstance(function.get("parameters", {}), dict):
            return "Invalid 'tools[].function'."
    if "parallel_tool_calls" in body and not body.get("tools"):
        return "Invalid value for 'parallel_tool_calls': only allowed when 'tools' are specified."
    if "stream_options" in body and not body.get("stream"):
        return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    if "max_tokens" in body and "max_completion_tokens" in body:
        return "Use either max_tokens or max_completion_tokens, not both."
    return None


def _check_embeddings(body: Any) -> str | None:
    """Why OpenAI would refuse an embeddings request with 400, or None."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    given = body.get("input")
    inputs = [given] if isinstance(given, str) else given
    if not isinstance(inputs, list) or not inputs or len(inputs) > 2048:
        return "'input' must be a string or an array of 1 to 2048 strings"
    if not all(isinstance(text, str) and text for text in inputs):
        return "'$.input' is invalid. Please check the API reference."
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "Invalid value for 'encoding_format'."
    dimensions = body.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 1):
        return "Invalid value for 'dimensions'."
    return None


def _form(content_type: str, raw: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    form: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, part.get_content_type(), payload)
        else:
            form[name] = payload.decode()
    return form, files


class OpenAIApiFake:
    """State of the fake: what it received and what it will answer next."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.url = ""
        self.requests: list[Recorded] = []
        self.transcript = DEFAULT_TRANSCRIPT
        self.default_chat = "chat_stream_text_with_usage.sse"
        self._queues: dict[str, deque[Answer]] = {
            CHAT: deque(),
            TRANSCRIPTIONS: deque(),
            EMBEDDINGS: deque(),
        }
        self._lock = threading.Lock()
        self._started = threading.Event()

    # -- test controls ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root clients are given (``.../v1``)."""
        return f"{self.url}/v1"

    def reset(self) -> None:
        """Forget requests and scripted answers."""
        with self._lock:
            self.requests.clear()
            for queue in self._queues.values():
                queue.clear()
            self.transcript = DEFAULT_TRANSCRIPT

    def script(self, *answers: Answer | str, path: str = CHAT) -> None:
        """Answer the next requests to ``path`` with ``answers`` in order (a fixture name
        for a recorded completion)."""
        with self._lock:
            self._queues[path].extend(
                fixture_answer(a) if isinstance(a, str) else a for a in answers
            )

    def calls(self, path: str = CHAT) -> list[Recorded]:
        """The requests received on ``path``."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def models_asked(self) -> list[str]:
        """The ``model`` of each chat request, in order."""
        return [r.json["model"] for r in self.calls(CHAT)]

    def _next(self, path: str) -> Answer | None:
        with self._lock:
            queue = self._queues[path]
            return queue.popleft() if queue else None

    # -- the ASGI app ---------------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._started.set()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        recorded = Recorded(scope["method"], scope["path"], headers)
        if headers.get("content-type", "").startswith("multipart/form-data"):
            recorded.form, recorded.files = _form(headers["content-type"], raw)
        elif raw:
            try:
                recorded.json = json.loads(raw)
            except ValueError:
                recorded.json = None
        with self._lock:
            self.requests.append(recorded)

        if scope["method"] == "GET" and scope["path"] == MODELS:
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return await _send_json(send, 401, FAILURES[401])
            return await _send_json(send, 200, MODELS_LIST)
        if scope["method"] != "POST" or scope["path"] not in self._queues:
            return await _send_json(send, 404, _error("Not found", "invalid_request_error", None))
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return await _send_json(send, 401, FAILURES[401])
        if scope["path"] == CHAT:
            await self._chat(recorded, receive, send)
        elif scope["path"] == EMBEDDINGS:
            await self._embed(recorded, receive, send)
        else:
            await self._transcribe(recorded, receive, send)

    async def _chat(self, recorded: Recorded, receive: Any, send: Any) -> None:
        problem = _check_chat(recorded.json)
        if problem is not None:
            body = _error(problem, "invalid_request_error", None)
            return await _send_json(send, 400, body)
        answer = self._next(CHAT) or fixture_answer(self.default_chat)
        stream = bool(recorded.json.get("stream"))
        if answer.delay and answer.stall_after is None and await _wait(receive, answer.delay):
            return None  # the client gave up
        if answer.kind == "json":
            return await _send_json(send, answer.status, answer.body, answer.headers)
        if answer.kind == "malformed":
            if stream:
                return await _send_events(send, ['{"id": "chatcmpl-x", "choices": [{"ind'])
            return await _send_raw(send, 200, b'{"id": "chatcmpl-x", "choices": [', "json")
        if answer.kind == "drop" or (answer.kind == "truncated" and not stream):
            return await _drop(send, stream)
        if answer.kind == "truncated":
            events = [json.dumps(c) for c in answer.body]
            return await _send_events(send, events, done=False)
        completion = copy.deepcopy(answer.body)
        if not stream:
            return await _send_json(send, 200, completion, answer.headers)
        include_usage = bool((recorded.json.get("stream_options") or {}).get("include_usage"))
        if answer.chunks:
            # The recording as is; its usage chunk only for a client that asked for usage.
            chunks = [c for c in answer.chunks if include_usage or c.get("choices")]
        else:
            chunks = split(completion, include_usage=include_usage)
        events = [json.dumps(c) for c in chunks]
        await _send_events(
            send, events, stall_after=answer.stall_after, delay=answer.delay, receive=receive
        )
        return None

    async def _transcribe(self, recorded: Recorded, receive: Any, send: Any) -> None:
        if "file" not in recorded.files or not recorded.form.get("model"):
            body = _error("file and model are required", "invalid_request_error", None)
            return await _send_json(send, 400, body)
        answer = self._next(TRANSCRIPTIONS)
        if answer is not None and answer.delay and await _wait(receive, answer.delay):
            return None
        if answer is not None and answer.kind == "json":
            return await _send_json(send, answer.status, answer.body, answer.headers)
        if answer is not None and answer.kind == "malformed":
            return await _send_raw(send, 200, b'{"text": "Oi', "json")
        if answer is not None and answer.kind in ("drop", "truncated"):
            return await _drop(send, stream=False)
        audio = recorded.files["file"][2]
        return await _send_json(
            send,
            200,
            {
                "text": self.transcript,
                "usage": {
                    "type": "tokens",
                    "input_tokens": max(1, len(audio) // 100),
                    "output_tokens": len(self.transcript.split()),
                    "total_tokens": max(1, len(audio) // 100) + len(self.transcript.split()),
                },
            },
        )

    async def _embed(self, recorded: Recorded, receive: Any, send: Any) -> None:
        body = recorded.json
        problem = _check_embeddings(body)
        if problem is not None:
            return await _send_json(send, 400, _error(problem, "invalid_request_error", None))
        answer = self._next(EMBEDDINGS)
        if answer is not None and answer.delay and await _wait(receive, answer.delay):
            return None
        if answer is not None and answer.kind == "json":
            return await _send_json(send, answer.status, answer.body, answer.headers)
        if answer is not None and answer.kind == "malformed":
            return await _send_raw(send, 200, b'{"object": "list", "data": [', "json")
        if answer is not None and answer.kind in ("drop", "truncated"):
            return await _drop(send, stream=False)
        inputs = [body["input"]] if isinstance(body["input"], str) else body["input"]
        dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            vector = fake_embedding(text, dimensions)
            embedding: Any = vector
            if as_base64:
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(text.split()) for text in inputs)
        return await _send_json(
            send,
            200,
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # -- serving ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def serving(cls, api_key: str = API_KEY) -> Iterator[OpenAIApiFake]:
        """Run a fake on a free loopback port in a thread for the duration of the block."""
        fake = cls(api_key)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # "critical": cut connections are logged by uvicorn as errors, on purpose here.
        server = uvicorn.Server(
            uvicorn.Config(
                fake, log_level="critical", lifespan="on", ws="none", timeout_graceful_shutdown=2
            )
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            if not fake._started.wait(timeout=10):
                raise RuntimeError("the fake OpenAI API did not start")
            yield fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


async def _wait(receive: Any, seconds: float) -> bool:
    """Wait ``seconds``; True when the client hung up meanwhile (nobody to answer)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), seconds)
    except TimeoutError:
        return False
    return True


async def _send_raw(
    send: Any,
    status: int,
    body: bytes,
    kind: str,
    headers: tuple[tuple[str, str], ...] = (),
) -> None:
    media = {"json": b"application/json", "sse": b"text/event-stream"}[kind]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media),
                (b"x-request-id", b"req_porfin_fake"),
                *((k.encode(), v.encode()) for k, v in headers),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_json(
    send: Any, status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()
) -> None:
    await _send_raw(send, status, json.dumps(body).encode(), "json", headers)


async def _send_events(
    send: Any,
    events: list[str],
    *,
    done: bool = True,
    stall_after: int | None = None,
    delay: float = 0.0,
    receive: Any = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
        }
    )
    for index, event in enumerate(events):
        if stall_after is not None and index == stall_after and await _wait(receive, delay):
            return
        await send(
            {"type": "http.response.body", "body": f"data: {event}\n\n".encode(), "more_body": True}
        )
    tail = b"data: [DONE]\n\n" if done else b""
    await send({"type": "http.response.body", "body": tail})


async def _drop(send: Any, stream: bool) -> None:
    # Promise more body than is sent, then return: uvicorn closes the connection.
    media = b"text/event-stream" if stream else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", media), (b"content-length", b"4096")],
        }
    )
    partial = b'data: {"id": "chatcmpl-x", "object": "chat.' if stream else b'{"id": "chatc'
    await send({"type": "http.response.body", "body": partial, "more_body": True})
