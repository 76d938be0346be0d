"""``porfin serve``'s uvicorn protocol writes each response once: status line, headers and body
in one system call, in order, before any close."""

from __future__ import annotations

import asyncio

from uvicorn.config import Config
from uvicorn.server import ServerState

from porfin_http.server import CoalescingHttpToolsProtocol


class FakeTransport:
    """What uvicorn's protocol needs of a socket transport; records writes and the close."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.closed_after = -1

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True
        self.closed_after = len(self.writes)

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await receive()
    body = b'{"status":"ok"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _exchange(request: bytes) -> FakeTransport:
    config = Config(app, lifespan="off", log_config=None)
    config.load()
    protocol = CoalescingHttpToolsProtocol(config, ServerState(), app_state={})
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(request)
    for _ in range(50):  # the app task, then the end-of-turn write
        await asyncio.sleep(0)
        if transport.writes and (transport.closed or b"ok" in transport.writes[-1]):
            break
    await asyncio.sleep(0)
    return transport


async def test_a_response_is_written_in_one_call():
    transport = await _exchange(b"GET / HTTP/1.1\r\nHost: porfin\r\n\r\n")
    assert len(transport.writes) == 1
    written = transport.writes[0]
    assert written.startswith(b"HTTP/1.1 200 OK\r\n")
    assert written.endswith(b'\r\n\r\n{"status":"ok"}')


async def test_a_connection_closed_after_the_response_gets_all_of_it_first():
    transport = await _exchange(b"GET / HTTP/1.1\r\nHost: porfin\r\nConnection: close\r\n\r\n")
    assert transport.closed
    assert transport.closed_after == 1
    assert transport.writes[0].endswith(b'{"status":"ok"}')


async def test_a_complete_response_leaves_at_once_not_a_loop_turn_later():
    # Under load the next turn of the loop first runs every request read meanwhile: a response
    # whose last part is sent is written there and then.
    config = Config(app, lifespan="off", log_config=None)
    config.load()
    protocol = CoalescingHttpToolsProtocol(config, ServerState(), app_state={})
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    written_when_complete: list[int] = []
    complete = protocol.on_response_complete

    def on_response_complete() -> None:
        complete()
        written_when_complete.append(len(transport.writes))

    protocol.on_response_complete = on_response_complete  # type: ignore[method-assign]
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: porfin\r\n\r\n")
    for _ in range(50):
        await asyncio.sleep(0)
        if written_when_complete:
            break
    assert written_when_complete == [1]
    assert transport.writes[0].endswith(b'\r\n\r\n{"status":"ok"}')
