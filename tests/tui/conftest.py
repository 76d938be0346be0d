"""A real Porfin API on a free loopback port (uvicorn in a thread, SQLite file, fixed clock)
for the inbox's pilot tests, with a secretary and an admin account and a bookable agenda."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest
import uvicorn
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.container import Container, create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from porfin_tui.api import Api
from porfin_tui.app import InboxApp
from tests.e2e.conftest import FAST_HASHER, HIGH_LIMITS, TOKEN
from tests.support import FixedClock

PASSWORD = "correct horse battery"
SECRETARY = "bia@clinica.com.br"
ADMIN = "admin@clinica.com.br"
PATIENT = "+5511987654321"


@attrs.define
class LiveApi:
    """The running server: its URL, clock and container, and shortcuts to act as the patient
    (simulator webhook) or as the operator (admin token)."""

    url: str
    clock: FixedClock
    container: Container
    clinic_id: str
    channel_id: str
    _http: httpx.Client = attrs.field(init=False)
    _ids: int = 0

    def __attrs_post_init__(self) -> None:
        self._http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )

    def admin(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A request with the admin token; raises on an error status."""
        response = self._http.request(method, path, json=body, params=params or None)
        response.raise_for_status()
        return response.json() if response.content else None

    def patient_says(self, text: str, sender: str = PATIENT, name: str | None = None) -> None:
        """A patient's WhatsApp message arrives (simulator webhook)."""
        self._ids += 1
        message: dict[str, Any] = {"id": f"sim-{self._ids}", "from": sender, "text": text}
        if name:
            message["name"] = name
        self.admin("POST", f"/webhooks/simulator/{self.channel_id}", {"message": message})

    def app(self, **kwargs: Any) -> InboxApp:
        """A fresh inbox on this server (not logged in; no session file)."""
        return InboxApp(Api(self.url), clock=self.clock.now, **kwargs)

    def close(self) -> None:
        self._http.close()


def _seed(settings: Settings, clock: FixedClock) -> tuple[str, str]:
    import asyncio

    async def work() -> tuple[str, str]:
        seeder = create_container(settings)
        seeder.clock.override(providers.Object(clock))
        seeder.password_hasher.override(providers.Object(FAST_HASHER))
        await composition.start(seeder)
        try:
            installation = await seeder.set_up_installation()()
            clinic_id = installation.clinic.id
            for email, role, name in (
                (ADMIN, "admin", "Dra. Helena Prado"),
                (SECRETARY, "secretary", "Bia Souza"),
            ):
                await seeder.create_staff_user()(
                    NewStaffUser(
                        clinic_id=clinic_id, name=name, email=email, role=role, password=PASSWORD
                    )
                )
            return clinic_id, installation.channel.id
        finally:
            await composition.stop(seeder)

    return asyncio.run(work())


@pytest.fixture
def live_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def live_api(tmp_path, live_clock) -> Iterator[LiveApi]:
    settings = Settings(
        storage=StorageKind.SQLITE,
        data_dir=tmp_path,
        admin_token=TOKEN,
        inbound_media_downloads=0,
        **HIGH_LIMITS,
    )
    clinic_id, channel_id = _seed(settings, live_clock)
    container = create_container(settings)
    container.clock.override(providers.Object(live_clock))
    container.password_hasher.override(providers.Object(FAST_HASHER))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the API did not start"
        thread.join(0.02)
    live = LiveApi(
        url=f"http://127.0.0.1:{listener.getsockname()[1]}",
        clock=live_clock,
        container=container,
        clinic_id=clinic_id,
        channel_id=channel_id,
    )
    try:
        yield live
    finally:
        live.close()
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
