"""A fake Evolution API v2 server (plain ASGI) for tests, served by uvicorn on 127.0.0.1.

It speaks the documented routes (``/<controller>/<action>/<instance>``), checks the ``apikey``
header, answers with the payloads in ../shared/fixtures/evolution, records every request,
serves patients' files (``media``, for ``getBase64FromMediaMessage``) and lets a test script
errors (``fail_next``) and connection states (``open_after``: the instance
turns ``open`` after that many connection-state polls following ``connect``; ``after_restart``:
the state a restart leaves the instance in).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import uvicorn

from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("evolution")
QR_BASE64 = "data:image/png;base64,iVBORw0KGgo="


def fixture(name: str) -> Any:
    """A fixture's JSON (``send_text_request`` -> send_text_request.json)."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@attrs.define
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


_SEND_RESPONSES = {
    "sendText": "send_text_response",
    "sendMedia": "send_media_image_response",
    "sendWhatsAppAudio": "send_whatsapp_audio_response",
    "sendLocation": "send_location_response",
    "sendReaction": "send_text_response",
    "sendList": "send_text_response",
    "sendButtons": "send_text_response",
}


@attrs.define
class FakeEvolution:
    """The server's state. ``instances`` maps names to their connection state."""

    api_key: str = "fake-global-key"
    instances: dict[str, str] = attrs.field(factory=lambda: {"clinica": "close"})
    requests: list[Recorded] = attrs.field(factory=list)
    open_after: int | None = None
    after_restart: str = "open"
    media: dict[str, tuple[bytes, str, str | None]] = attrs.field(factory=dict)
    """Files ``/chat/getBase64FromMediaMessage`` serves: message key id -> (bytes, mimetype,
    fileName). Another id answers 400, as Evolution does for a message it cannot find."""
    _scripted: list[tuple[str, int, Any, float]] = attrs.field(factory=list)
    _polls: int = 0
    _ids_given: dict[str, int] = attrs.field(factory=dict)

    def fail_next(self, path_part: str, status: int, body: Any = None, delay: float = 0) -> None:
        """The next request whose path contains ``path_part`` gets ``status`` and ``body``
        (after ``delay`` seconds: a delay beyond the client's timeout is a timeout)."""
        self._scripted.append((path_part, status, body, delay))

    def sent(self) -> list[Recorded]:
        """The ``/message/...`` requests, oldest first."""
        return [r for r in self.requests if r.path.startswith("/message/")]

    def calls(self, action: str) -> list[str]:
        """The instances of the ``/instance/<action>/...`` requests, oldest first."""
        prefix = f"/instance/{action}/"
        return [r.path[len(prefix) :] for r in self.requests if r.path.startswith(prefix)]

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        body = json.loads(raw) if raw else None
        recorded = Recorded(
            scope["method"], scope["path"], scope["query_string"].decode(), headers, body
        )
        self.requests.append(recorded)
        status, answer, delay = self._answer(recorded)
        if delay:
            await asyncio.sleep(delay)  # a hung server
        payload = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, r: Recorded) -> tuple[int, Any, float]:
        for i, (part, status, body, delay) in enumerate(self._scripted):
            if part in r.path:
                del self._scripted[i]
                return status, body if body is not None else _error(status), delay
        if r.headers.get("apikey") != self.api_key:
            return (
                401,
                {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}},
                0,
            )
        parts = r.path.strip("/").split("/")
        if parts == ["instance", "create"]:
            name = (r.body or {}).get("instanceName", "")
            if name in self.instances:
                error = fixture("instance_create_error_403_name_in_use")
                error["response"]["message"] = [f'This name "{name}" is already in use.']
                return 403, error, 0
            self.instances[name] = "close"
            created = fixture("instance_create_response")
            created["instance"]["instanceName"] = name
            return 201, created, 0
        if len(parts) != 3:
            return 404, _error(404), 0
        controller, action, instance = parts
        if instance not in self.instances:
            error = fixture("error_404_instance_not_found")
            error["response"]["message"] = [f'The "{instance}" instance does not exist']
            return 404, error, 0
        if controller == "instance":
            return self._instance(action, instance)
        if controller == "message" and action in _SEND_RESPONSES:
            answer = fixture(_SEND_RESPONSES[action])
            key = answer.get("key")
            if isinstance(key, dict):
                # Every message WhatsApp takes gets an id of its own (the first of a kind keeps
                # the documented one).
                seen = self._ids_given.get(key["id"], 0)
                self._ids_given[key["id"]] = seen + 1
                if seen:
                    key["id"] = f"{key['id']}{seen:04d}"
            return 201, answer, 0
        if controller == "chat" and action == "markMessageAsRead":
            return 201, fixture("chat_mark_message_as_read_response"), 0
        if controller == "chat" and action == "getBase64FromMediaMessage":
            return self._media(r.body)
        if controller == "chat" and action == "whatsappNumbers":
            return 201, fixture("chat_whatsapp_numbers_response"), 0
        if controller == "webhook" and action == "set":
            return 201, fixture("webhook_set_response"), 0
        return 404, _error(404), 0

    def _media(self, body: Any) -> tuple[int, Any, float]:
        message = body.get("message") if isinstance(body, dict) else None
        key = message.get("key") if isinstance(message, dict) else None
        message_id = key.get("id") if isinstance(key, dict) else None
        if not isinstance(message_id, str) or message_id not in self.media:
            error = _error(400)
            error["response"]["message"] = ["Error: Message not found"]
            return 400, error, 0
        data, mimetype, file_name = self.media[message_id]
        return 201, _media_answer(message_id, data, mimetype, file_name), 0

    def _instance(self, action: str, instance: str) -> tuple[int, Any, float]:
        if action == "connect":
            if self.instances[instance] == "open":
                return 200, {"instance": {"instanceName": instance, "state": "open"}}, 0
            self.instances[instance] = "connecting"
            self._polls = 0
            return 200, {**fixture("instance_connect_response"), "base64": QR_BASE64}, 0
        if action == "connectionState":
            state = self.instances[instance]
            if state == "connecting" and self.open_after is not None:
                self._polls += 1
                if self._polls >= self.open_after:
                    state = self.instances[instance] = "open"
            answer = fixture("instance_connection_state_response")
            answer["instance"] = {"instanceName": instance, "state": state}
            return 200, answer, 0
        if action == "logout":
            if self.instances[instance] != "open":
                return 400, _error(400), 0
            self.instances[instance] = "close"
            return 200, fixture("instance_logout_response"), 0
        if action == "restart":
            self.instances[instance] = self.after_restart
            return 201, {"instance": {"instanceName": instance, "state": "connecting"}}, 0
        return 404, _error(404), 0


def _media_answer(
    message_id: str, data: bytes, mimetype: str, file_name: str | None
) -> dict[str, Any]:
    """Evolution v2.3's answer (``getBase64FromMediaMessage`` in its Baileys service)."""
    kind = mimetype.split("/", 1)[0]
    media_type = f"{kind}Message" if kind in ("image", "video", "audio") else "documentMessage"
    extension = mimetype.rsplit("/", 1)[-1]
    return {
        "mediaType": media_type,
        "fileName": file_name or f"{message_id}.{extension}",
        "caption": None,
        "size": {"fileLength": str(len(data)), "height": None, "width": None},
        "mimetype": mimetype,
        "base64": base64.b64encode(data).decode(),
        "buffer": None,
    }


def _error(status: int) -> dict[str, Any]:
    names = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    return {
        "status": status,
        "error": names.get(status, "Error"),
        "response": {"message": [f"scripted {status}"]},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class Served:
    """A running fake: its state and URL."""

    fake: FakeEvolution
    url: str


def serve(fake: FakeEvolution) -> Iterator[Served]:
    """Run ``fake`` with uvicorn in a thread until the generator is closed."""
    port = free_port()
    config = uvicorn.Config(
        fake, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake Evolution server did not start")
        time.sleep(0.01)
    try:
        yield Served(fake, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def deepcopy(value: Any) -> Any:
    """A copy of a fixture to alter."""
    return copy.deepcopy(value)
