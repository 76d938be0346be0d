"""uvicorn's HTTP/1.1 protocol with one write per response.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then the body as a second write: two ``send`` system calls, two TCP
segments (``TCP_NODELAY``) and two wake-ups of the client for every small JSON answer.
:class:`CoalescingHttpToolsProtocol` hands uvicorn a transport that gathers what is written
during one turn of the event loop and writes it at the end of that turn, so a response sent
in one go (the usual case: Litestar sends the start and the whole body without waiting) leaves
in one system call. Nothing waits longer than the current turn of the loop (a complete response
not even that: it is written as soon as its last part is), and the order of writes and the close
are kept.

``porfin serve`` runs uvicorn with it (``http="porfin_http.server:CoalescingHttpToolsProtocol"``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """A transport proxy whose writes within one event-loop turn become one write."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what was gathered (a no-op when nothing was)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing each response in one system call."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        # The response is whole: write it now rather than at the next turn of the loop, which
        # under load first runs every request read meanwhile (tens of milliseconds).
        transport = self.transport
        if isinstance(transport, _CoalescingTransport):
            transport.flush()
        super().on_response_complete()
