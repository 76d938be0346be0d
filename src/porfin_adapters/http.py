"""What every outbound HTTP client of Porfin shares (Graph API, Asaas, Mercado Pago, Google):
one pooled aiohttp session per event loop, and how a request that got no answer is told
apart from one that never left."""

from __future__ import annotations

import asyncio

import aiohttp

from porfin_core.errors import GatewayError

UNSENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
"""Failures before the request reached the server: sending again is safe."""

NO_ANSWER = (aiohttp.ClientError, asyncio.TimeoutError)
"""Failures of a request that got no usable answer (the ones above included)."""


def never_sent(exc: BaseException) -> bool:
    """Whether the failed request surely never reached the server."""
    return isinstance(exc, UNSENT)


def timed_out(exc: BaseException) -> bool:
    """Whether the request failed by waiting too long (connecting or reading)."""
    return isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError)


def no_answer_error(
    exc: BaseException, *, provider: str, operation: str, unreachable: str, lost: str
) -> GatewayError:
    """The retryable :class:`GatewayError` for a request that got no answer.

    A request that never reached the server (connection refused, connect timeout) is safe to
    send again (reason ``unreachable``). One whose answer was lost (read timeout, connection
    dropped) may have been carried out (reason ``lost``): it is retryable too, but flagged
    ``delivery_unknown`` so a caller that cannot reconcile does not act twice.
    """
    unsent = never_sent(exc)
    reason = unreachable if unsent else lost
    return GatewayError(
        reason,
        retryable=True,
        provider=provider,
        provider_code="timeout" if timed_out(exc) else "unreachable",
        reason=reason,
        operation=operation,
        delivery_unknown=not unsent,
    )


class LoopSession:
    """A pooled aiohttp session, one per running event loop, made on first use.

    Every connection stays open for the next request (``limit`` at most): at hundreds of
    requests a second, closing and reopening connections costs more than the requests.

    Args:
        timeout: Seconds for connecting and for each read.
        limit: Connections kept open at most.
    """

    def __init__(self, timeout: float, limit: int) -> None:
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> aiohttp.ClientSession:
        """The session of the running event loop (a new one on another loop)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=60),
                raise_for_status=False,
            )
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        """Close the pooled connections (a session of another, finished loop is dropped)."""
        if self._session is not None:
            session, loop = self._session, self._loop
            self._session, self._loop = None, None
            if not session.closed and loop is asyncio.get_running_loop():
                await session.close()
