"""Building and closing the Firestore client, and the storage backend the settings name."""

from __future__ import annotations

import contextlib
from typing import Any

import grpc
from google.api_core import exceptions as gexc
from google.cloud.firestore import AsyncClient

from porfin_adapters.firestore.storage import FirestoreEventOutbox, FirestoreUnitOfWorkFactory
from porfin_adapters.settings import Settings, StorageKind
from porfin_adapters.storage import StorageBackend
from porfin_core.ports.clock import IdGenerator

_PING_TIMEOUT = 2.0


async def close_client(client: AsyncClient) -> None:
    """Close the client's gRPC channel (the client has no public ``close``)."""
    transport: Any = getattr(client, "_transport", None)
    if transport is not None:
        with contextlib.suppress(Exception):
            await transport.close()


async def ping(client: AsyncClient, root: str = "") -> bool:
    """True when Firestore answers a one-document query within two seconds."""
    query = client.collection(f"{root}clinics").limit(1)
    try:
        [_ async for _ in query.stream(retry=None, timeout=_PING_TIMEOUT)]
    except (gexc.GoogleAPIError, grpc.RpcError):
        return False
    return True


def build_firestore_storage(settings: Settings, ids: IdGenerator) -> StorageBackend:
    """The Firestore backend of ``settings``.

    Credentials come from Application Default Credentials, or the emulator is used when
    ``FIRESTORE_EMULATOR_HOST`` is set (then no request ever leaves the machine).
    """
    client = AsyncClient(project=settings.firestore_project, database=settings.firestore_database)
    root = settings.firestore_root

    async def open_() -> None:
        return None  # the gRPC channel opens on first use

    async def close() -> None:
        await close_client(client)

    async def ready() -> bool:
        return await ping(client, root)

    return StorageBackend(
        StorageKind.FIRESTORE,
        FirestoreUnitOfWorkFactory(client, ids, root),
        FirestoreEventOutbox(client, root),
        open=open_,
        close=close,
        ready=ready,
    )
