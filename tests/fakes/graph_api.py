"""A fake of Meta's Graph API (WhatsApp Cloud API), served by uvicorn on 127.0.0.1.

It speaks the documented wire format of the endpoints Porfin's gateway uses and answers with
the payloads in ``../shared/fixtures/whatsapp_cloud``:

- ``POST /{version}/{phone_number_id}/messages``: checks the bearer token and the body's
  shape (a send, or a mark-as-read), records it, answers ``send_message_success_response``
  with a fresh ``wamid`` (or ``mark_as_read_response``);
- ``POST /{version}/{phone_number_id}/media``: multipart upload, answers ``{"id": ...}``;
- ``GET /{version}/{phone_number_id}``: the number's description, for numbers added with
  :meth:`GraphApiFake.add_phone_number` (how Porfin checks a token and number id);
- ``GET /{version}/{media_id}``: ``media_retrieve_url_response`` with a download URL on this
  server; ``GET /download/{media_id}``: the bytes (token required); a media id made to
  expire (:meth:`GraphApiFake.expire`) answers ``404`` with Graph's error for an object that
  does not exist (code 100, subcode 33), as Meta does once a webhook's media id is gone;
- scripted failures: :meth:`GraphApiFake.fail_next` makes the next calls answer a Graph error
  (130429, 131047, 190, 4, 500...) from the fixtures.

Use :meth:`GraphApiFake.serving` (a context manager) to run it in a thread.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import uvicorn
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath

from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("whatsapp_cloud")
TOKEN = "EAAG-fake-graph-token-" + "x" * 40


def fixture(name: str) -> Any:
    """A Cloud API fixture, parsed."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _window_closed() -> dict[str, Any]:
    return {
        "error": {
            "message": "(#131047) Re-engagement message",
            "type": "OAuthException",
            "code": 131047,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": "Message failed to send because more than 24 hours have passed "
                "since the customer last replied to this number.",
            },
            "fbtrace_id": "AbCdEfGh123",
        }
    }


def _graph_error(code: int, message: str, details: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AbCdEfGh456",
        }
    }


def _no_such_object(object_id: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Unsupported get request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": "AbCdEfGh789",
        }
    }


FAILURES: dict[str, tuple[int, Any]] = {
    "130429": (400, fixture("graph_error_130429_rate_limit_response.json")),
    "131047": (400, _window_closed()),
    "131056": (
        400,
        _graph_error(131056, "Pair rate limit hit", "Too many messages to this recipient."),
    ),
    "131026": (400, _graph_error(131026, "Message undeliverable", "Unable to deliver.")),
    "132001": (404, _graph_error(132001, "Template name does not exist", "No such template.")),
    "100": (400, _graph_error(100, "Invalid parameter", "Parameter value is not valid.")),
    "190": (401, fixture("graph_error_401_code190_invalid_token.json")),
    "4": (429, fixture("graph_error_429_code4_app_rate_limit.json")),
    "500": (500, fixture("graph_error_500_code2_transient.json")),
    "502": (502, "<html>Bad Gateway</html>"),
}
"""Scripted failures: HTTP status and body, by name."""


@attrs.define
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = attrs.field(factory=dict)
    file: tuple[str, bytes, str] | None = None


@attrs.define
class StoredFile:
    """A media file the fake serves: its bytes, type, and the sha256 it announces."""

    data: bytes
    mime_type: str
    sha256: str
    file_size: int


class GraphApiFake:
    """State of the fake: what it received, what it will answer next."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.url = ""
        self.requests: list[Recorded] = []
        self.accepted: list[tuple[str | None, str]] = []
        """(``biz_opaque_callback_data``, the ``wamid`` answered) of every accepted send."""
        self.files: dict[str, StoredFile] = {}
        self.expired: set[str] = set()
        self.phone_numbers: dict[str, dict[str, Any]] = {}
        """Business phone numbers ``GET /{version}/{phone_number_id}`` describes (see
        :meth:`add_phone_number`)."""
        self._failures: deque[tuple[int, Any]] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._started = threading.Event()
        self.app = self._build_app()

    # -- test controls ------------------------------------------------------------------

    def reset(self) -> None:
        """Forget requests, files and scripted failures."""
        with self._lock:
            self.requests.clear()
            self.accepted.clear()
            self.files.clear()
            self.expired.clear()
            self._failures.clear()

    def fail_next(self, name: str, times: int = 1) -> None:
        """Answer the next ``times`` calls with the failure ``name`` (see :data:`FAILURES`)."""
        with self._lock:
            self._failures.extend([FAILURES[name]] * times)

    def add_file(
        self,
        media_id: str,
        data: bytes,
        mime_type: str,
        *,
        sha256: str | None = None,
        file_size: int | None = None,
    ) -> None:
        """Serve ``data`` as media ``media_id`` (sha256 in base64 as in webhooks by default)."""
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        with self._lock:
            self.files[media_id] = StoredFile(
                data, mime_type, sha256 or digest, len(data) if file_size is None else file_size
            )

    def add_phone_number(
        self, phone_number_id: str, display: str = "+55 11 3333-4444", name: str = "Clínica"
    ) -> None:
        """Make ``GET /{version}/{phone_number_id}`` answer the number (as Meta does for a
        business phone number the token may read)."""
        with self._lock:
            self.phone_numbers[phone_number_id] = {
                "verified_name": name,
                "display_phone_number": display,
                "quality_rating": "GREEN",
                "code_verification_status": "VERIFIED",
            }

    def expire(self, media_id: str) -> None:
        """Make ``media_id`` unknown to the fake, as Meta's webhook media ids are after 7 days."""
        with self._lock:
            self.expired.add(media_id)

    def downloads(self, media_id: str) -> int:
        """How many times the bytes of ``media_id`` were downloaded."""
        return sum(1 for r in self.requests if r.path == f"/download/{media_id}")

    def sent(self) -> list[dict[str, Any]]:
        """The bodies of the ``/messages`` calls that sent a message, in order."""
        return [
            r.json
            for r in self.requests
            if r.path.endswith("/messages") and isinstance(r.json, dict) and "type" in r.json
        ]

    # -- the app ------------------------------------------------------------------------

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _authorized(self, request: Request[Any, Any, Any]) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def _scripted(self) -> Response[Any] | None:
        with self._lock:
            if not self._failures:
                return None
            status, body = self._failures.popleft()
        if isinstance(body, str):
            return Response(body, status_code=status, media_type="text/html")
        return Response(copy.deepcopy(body), status_code=status)

    def _refuse(self, request: Request[Any, Any, Any]) -> Response[Any] | None:
        if not self._authorized(request):
            return Response(fixture("graph_error_401_code190_invalid_token.json"), status_code=401)
        return self._scripted()

    def _record(self, request: Request[Any, Any, Any], **fields: Any) -> None:
        recorded = Recorded(request.method, request.url.path, dict(request.headers), **fields)
        with self._lock:
            self.requests.append(recorded)

    def _build_app(self) -> Litestar:
        fake = self

        @post("/{version:str}/{phone_number_id:str}/messages", status_code=200)
        async def messages(
            request: Request[Any, Any, Any], phone_number_id: FromPath[str]
        ) -> Response[Any]:
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            if not request.headers.get("content-type", "").startswith("application/json"):
                return Response(
                    _graph_error(100, "Invalid parameter", "JSON body expected"), status_code=400
                )
            body = json.loads(await request.body())
            fake._record(request, json=body)
            problem = _check_send(body)
            if problem is not None:
                return Response(_graph_error(100, "Invalid parameter", problem), status_code=400)
            if body.get("status") == "read":
                return Response(fixture("mark_as_read_response.json"))
            answer = fixture("send_message_success_response.json")
            to = str(body.get("to") or body.get("recipient"))
            answer["contacts"][0] = {"input": to, "wa_id": to.lstrip("+")}
            wamid = f"wamid.FAKE{fake._next_id():010d}"
            answer["messages"][0]["id"] = wamid
            with fake._lock:
                fake.accepted.append((body.get("biz_opaque_callback_data"), wamid))
            return Response(answer)

        @post("/{version:str}/{phone_number_id:str}/media", status_code=200)
        async def upload(
            request: Request[Any, Any, Any], phone_number_id: FromPath[str]
        ) -> Response[Any]:
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            form = await request.form()
            upload = form.get("file")
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            if (
                fields.get("messaging_product") != "whatsapp"
                or not fields.get("type")
                or upload is None
                or isinstance(upload, str)
            ):
                return Response(
                    _graph_error(100, "Invalid parameter", "messaging_product, type and file"),
                    status_code=400,
                )
            data = await upload.read()
            fake._record(
                request,
                form=fields,
                file=(upload.filename, data, upload.content_type),
            )
            media_id = f"{4490709327384033 + fake._next_id()}"
            fake.add_file(media_id, data, fields["type"])
            return Response({"id": media_id})

        @get("/{version:str}/{media_id:str}")
        async def retrieve(
            request: Request[Any, Any, Any], media_id: FromPath[str]
        ) -> Response[Any]:
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            fake._record(request)
            number = fake.phone_numbers.get(media_id)
            if number is not None:
                return Response({**number, "id": media_id})
            if media_id in fake.expired:
                return Response(_no_such_object(media_id), status_code=404)
            stored = fake.files.get(media_id)
            if stored is None:
                return Response(
                    _graph_error(100, "Invalid parameter", "Unknown media id"), status_code=400
                )
            answer = fixture("media_retrieve_url_response.json")
            answer.update(
                id=media_id,
                url=f"{fake.url}/download/{media_id}?ext=1",
                mime_type=stored.mime_type,
                sha256=stored.sha256,
                file_size=str(stored.file_size),
            )
            return Response(answer)

        @get("/download/{media_id:str}")
        async def download(
            request: Request[Any, Any, Any], media_id: FromPath[str]
        ) -> Response[Any]:
            fake._record(request)
            if not fake._authorized(request):
                return Response(
                    fixture("graph_error_401_code190_invalid_token.json"), status_code=401
                )
            stored = fake.files.get(media_id)
            if stored is None:
                return Response(b"", status_code=404)
            return Response(stored.data, media_type=stored.mime_type)

        return Litestar(
            [messages, upload, retrieve, download],
            on_startup=[lambda: fake._started.set()],
            openapi_config=None,
        )

    # -- serving ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def serving(cls, token: str = TOKEN) -> Iterator[GraphApiFake]:
        """Run a fake on a free loopback port in a thread for the duration of the block."""
        fake = cls(token)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        # Listening before uvicorn starts: connections queue in the backlog, so the fake is
        # reachable at once; the startup event only confirms the app is up.
        sock.listen(128)
        fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(
            uvicorn.Config(fake.app, log_level="warning", lifespan="on", ws="none")
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            if not fake._started.wait(timeout=10):
                raise RuntimeError("the fake Graph API did not start")
            yield fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


def _check_send(body: Any) -> str | None:
    """Why ``body`` is not a valid send or mark-as-read request, or None."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if body.get("status") == "read":
        return None if isinstance(body.get("message_id"), str) else "message_id is required"
    kind = body.get("type")
    if not (body.get("to") or body.get("recipient")):
        return "to is required"
    if not isinstance(kind, str) or not isinstance(body.get(kind), dict):
        return "type and its object are required"
    content = body[kind]
    media = kind in ("image", "video", "audio", "document", "sticker")
    if media and ("id" in content) == ("link" in content):
        return f"{kind} needs exactly one of id and link"
    if kind == "text" and not content.get("body"):
        return "text.body is required"
    if kind == "template" and not (content.get("name") and content.get("language")):
        return "template name and language are required"
    return None
