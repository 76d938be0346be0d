"""The inbox's only door to Porfin: its HTTP API and its realtime WebSocket.

Every screen talks to the server through one :class:`Api`. It keeps the session (access and
refresh tokens), renews the access token when the server says it expired, and turns every
failure into an :class:`ApiError` carrying the problem details' title, detail and code, so
screens show one line in Portuguese and never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import websockets

from porfin_tui.session import SessionStore

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
RECONNECT_DELAYS = (0.5, 1, 2, 5, 10)


class ApiError(Exception):
    """A request failed: the server's problem details, or why the server could not be reached.

    Attributes:
        status: The HTTP status (0: no answer from the server).
        code: The problem's stable ``code`` (e.g. ``window_closed``, ``mfa_required``).
        detail: What went wrong, for people.
        problem: The whole problem details body (extension members such as a ``409
            slot_taken``'s ``alternatives``); empty when there was none.
    """

    def __init__(
        self, status: int, detail: str, code: str = "", problem: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.problem = problem or {}

    def __str__(self) -> str:
        return self.detail


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = body.get("detail") or body.get("title") or response.reason_phrase
    return ApiError(response.status_code, str(detail), str(body.get("code") or ""), body)


class Api:
    """A logged-in (or about to log in) client of one Porfin server.

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:8000``.
        sessions: Where the refresh token is kept between runs (None: not kept).
        transport: An httpx transport (tests); the network by default.
    """

    def __init__(
        self,
        base_url: str,
        sessions: SessionStore | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.sessions = sessions
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT, transport=transport)
        self._access: str | None = None
        self._refresh: str | None = None
        self._renewing: asyncio.Lock | None = None
        self._sockets: set[Any] = set()
        self.me: dict[str, Any] = {}

    # -- session -----------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """Whether a session is held."""
        return self._access is not None

    async def log_in(self, email: str, password: str, otp: str | None = None) -> dict[str, Any]:
        """Open a session; raises ApiError (``mfa_required`` when a code is needed)."""
        body: dict[str, Any] = {"email": email, "password": password}
        if otp:
            body["otp"] = otp
        tokens = await self._send("POST", "/api/v1/auth/login", json=body, auth=False)
        return await self._opened(tokens)

    async def resume(self) -> bool:
        """Reopen the session kept from a previous run; False when there is none or it ended."""
        if self.sessions is None:
            return False
        refresh = self.sessions.load(self.base_url)
        if not refresh:
            return False
        try:
            tokens = await self._send(
                "POST", "/api/v1/auth/refresh", json={"refresh_token": refresh}, auth=False
            )
        except ApiError as exc:
            if exc.status in (400, 401, 403, 404, 422):
                self.sessions.forget(self.base_url)
                return False
            raise
        await self._opened(tokens)
        return True

    async def logged_in_or_resume(self) -> bool:
        """True when a session is held (a token given, or the one kept from the last run)."""
        if self._access is not None:
            self.me = await self.get("/api/v1/me")
            return True
        return await self.resume()

    def use_token(self, token: str) -> None:
        """Act with a token given by the operator (no refresh; the admin token, say)."""
        self._access = token

    async def log_out(self) -> None:
        """End the session here and on the server."""
        if self._refresh:
            with contextlib.suppress(ApiError):  # it ends here whatever the server says
                await self._send(
                    "POST", "/api/v1/auth/logout", json={"refresh_token": self._refresh}, auth=False
                )
        if self.sessions is not None:
            self.sessions.forget(self.base_url)
        self._access = self._refresh = None
        self.me = {}

    async def _opened(self, tokens: dict[str, Any]) -> dict[str, Any]:
        self._access = tokens["access_token"]
        self._refresh = tokens.get("refresh_token")
        if self.sessions is not None and self._refresh:
            self.sessions.save(self.base_url, self._refresh)
        self.me = await self.get("/api/v1/me")
        return self.me

    async def _renew(self) -> bool:
        """Trade the refresh token for a new pair once, even when many requests expired."""
        if self._renewing is None:
            self._renewing = asyncio.Lock()
        stale = self._access
        async with self._renewing:
            if self._access != stale:
                return True  # another request renewed it meanwhile
            if not self._refresh:
                return False
            try:
                tokens = await self._send(
                    "POST",
                    "/api/v1/auth/refresh",
                    json={"refresh_token": self._refresh},
                    auth=False,
                )
            except ApiError:
                return False
            self._access = tokens["access_token"]
            self._refresh = tokens.get("refresh_token")
            if self.sessions is not None and self._refresh:
                self.sessions.save(self.base_url, self._refresh)
            return True

    @property
    def access_token(self) -> str | None:
        """The current access token (for the WebSocket)."""
        return self._access

    # -- requests ----------------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with query parameters (None values are left out)."""
        query = {k: v for k, v in params.items() if v is not None}
        return await self._send("GET", path, params=query)

    async def post(self, path: str, body: Any = None) -> Any:
        """POST a JSON body."""
        return await self._send("POST", path, json=body)

    async def patch(self, path: str, body: Any) -> Any:
        """PATCH a JSON body."""
        return await self._send("PATCH", path, json=body)

    async def delete(self, path: str) -> Any:
        """DELETE."""
        return await self._send("DELETE", path)

    async def upload(self, path: str, filename: str, content: bytes, content_type: str) -> Any:
        """POST one file as multipart (``file``)."""
        return await self._send("POST", path, files={"file": (filename, content, content_type)})

    async def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access}"} if auth and self._access else {}
            try:
                response = await self._http.request(method, path, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                raise ApiError(0, f"sem resposta do servidor {self.base_url}: {exc}") from exc
            if response.status_code == 401 and auth and attempt == 1 and await self._renew():
                continue
            if response.status_code >= 400:
                raise _problem(response)
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Close the connections, the realtime one included."""
        for socket in list(self._sockets):
            with contextlib.suppress(Exception):  # already closing or gone: closed either way
                await socket.close()
        await self._http.aclose()

    # -- realtime ----------------------------------------------------------------------

    async def events(
        self,
        topics: tuple[str, ...] = ("inbox",),
        on_connection: Callable[[bool], None] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """The server's realtime frames, forever: reconnects (and re-subscribes) after a drop,
        sends a renewed token before the old one expires, and skips pings and replies.

        Args:
            topics: ``inbox`` and/or ``agenda``.
            on_connection: Told True once every topic is subscribed (from then on no event
                is missed), False when the connection dropped.
        """
        url = "ws" + self.base_url.removeprefix("http") + "/api/v1/ws"
        failures = 0
        while True:
            try:
                async with websockets.connect(url, open_timeout=10) as socket:
                    self._sockets.add(socket)
                    await socket.send(json.dumps({"action": "auth", "token": self._access}))
                    for topic in topics:
                        await socket.send(json.dumps({"action": "subscribe", "topic": topic}))
                    failures = 0
                    pending = set(topics)
                    renewer = asyncio.create_task(self._keep_token(socket))
                    try:
                        async for raw in socket:
                            frame = json.loads(raw)
                            kind = frame.get("type", "")
                            if "." in kind:
                                yield frame
                            elif kind == "subscribed" and pending:
                                pending.discard(frame.get("topic", ""))
                                if not pending and on_connection:
                                    on_connection(True)
                    finally:
                        renewer.cancel()
                        self._sockets.discard(socket)
            except (TimeoutError, OSError, websockets.WebSocketException):
                pass
            if on_connection:
                on_connection(False)
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1
            if self._refresh:
                await self._renew()  # the drop may have been the server closing an expired token

    async def _keep_token(self, socket: Any) -> None:
        """Renew the access token every 10 minutes (they live 15) and hand it to the socket."""
        while True:
            await asyncio.sleep(600)
            if self._refresh and await self._renew():
                await socket.send(json.dumps({"action": "auth", "token": self._access}))
