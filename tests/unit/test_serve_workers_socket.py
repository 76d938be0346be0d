"""porfin_cli.own_sockets: the socket each worker listens on."""

from __future__ import annotations

import socket

import pytest
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from porfin_cli.own_sockets import SPREADS_CONNECTIONS, own_socket
from porfin_cli.serve import APP

pytestmark = pytest.mark.skipif(not SPREADS_CONNECTIONS, reason="Linux's SO_REUSEPORT")


def _config(port: int) -> uvicorn.Config:
    return uvicorn.Config(APP, host="127.0.0.1", port=port)


def test_workers_sockets_share_the_port():
    first = own_socket(_config(0))
    try:
        port = first.getsockname()[1]
        second = own_socket(_config(port))
        try:
            assert second.getsockname() == ("127.0.0.1", port)
        finally:
            second.close()
    finally:
        first.close()


def test_a_port_another_program_listens_on_stops_the_worker_as_a_startup_failure():
    with socket.create_server(("127.0.0.1", 0)) as taken, pytest.raises(SystemExit) as stopped:
        own_socket(_config(taken.getsockname()[1]))
    assert stopped.value.code == STARTUP_FAILURE
