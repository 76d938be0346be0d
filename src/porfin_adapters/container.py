"""The composition root: every adapter and use case, assembled from one :class:`Settings`.

Shells build a :class:`Container`, call :func:`start` before serving and :func:`stop` after;
tests override providers (clock, ids, gateways) with ``container.clock.override(...)``.
"""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers

from porfin_adapters.events import EventDispatcher
from porfin_adapters.gateways import ProviderGatewayDirectory
from porfin_adapters.security.passwords import Argon2PasswordHasher
from porfin_adapters.security.tokens import JwtAccessTokens, UrandomSecrets
from porfin_adapters.settings import Settings
from porfin_adapters.simulator.gateway import SimulatorGateway
from porfin_adapters.storage import build_storage
from porfin_adapters.system import SystemClock, TimeOrderedIds
from porfin_adapters.tokens import ensure_jwt_secret
from porfin_core.domain.channel import Provider
from porfin_core.use_cases.create_staff_user import CreateStaffUser
from porfin_core.use_cases.get_chat import GetChat
from porfin_core.use_cases.get_chat_timeline import GetChatTimeline
from porfin_core.use_cases.get_staff_user import GetStaffUser
from porfin_core.use_cases.list_audit_records import ListAuditRecords
from porfin_core.use_cases.list_channels import ListChannels
from porfin_core.use_cases.list_chats import ListChats
from porfin_core.use_cases.log_in import LogIn
from porfin_core.use_cases.log_out import LogOut
from porfin_core.use_cases.receive_inbound_message import ReceiveInboundMessage
from porfin_core.use_cases.record_delivery_status import RecordDeliveryStatus
from porfin_core.use_cases.refresh_session import RefreshSession
from porfin_core.use_cases.send_staff_message import SendStaffMessage
from porfin_core.use_cases.set_up_installation import SetUpInstallation
from porfin_core.use_cases.update_chat import UpdateChat
from porfin_core.use_cases.verify_audit_log import VerifyAuditLog


class Container(containers.DeclarativeContainer):
    """Porfin's object graph."""

    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(TimeOrderedIds)

    storage = providers.Singleton(build_storage, settings=settings, ids=ids)
    uow_factory = providers.Singleton(lambda storage: storage.uow_factory, storage=storage)
    dispatcher = providers.Singleton(
        EventDispatcher, outbox=providers.Callable(lambda s: s.outbox, s=storage)
    )

    simulator_gateway = providers.Singleton(SimulatorGateway, ids=ids)
    gateways = providers.Singleton(
        ProviderGatewayDirectory,
        gateways=providers.Dict({Provider.SIMULATOR: simulator_gateway}),
    )

    set_up_installation = providers.Singleton(
        SetUpInstallation, uow_factory=uow_factory, clock=clock, ids=ids
    )
    receive_inbound_message = providers.Singleton(
        ReceiveInboundMessage, uow_factory=uow_factory, clock=clock, ids=ids
    )
    record_delivery_status = providers.Singleton(
        RecordDeliveryStatus, uow_factory=uow_factory, clock=clock
    )
    send_staff_message = providers.Singleton(
        SendStaffMessage, uow_factory=uow_factory, gateways=gateways, clock=clock, ids=ids
    )
    update_chat = providers.Singleton(UpdateChat, uow_factory=uow_factory, clock=clock)
    list_chats = providers.Singleton(ListChats, uow_factory=uow_factory)
    get_chat = providers.Singleton(GetChat, uow_factory=uow_factory, clock=clock)
    list_channels = providers.Singleton(ListChannels, uow_factory=uow_factory)
    get_chat_timeline = providers.Singleton(GetChatTimeline, uow_factory=uow_factory, clock=clock)
    list_audit_records = providers.Singleton(ListAuditRecords, uow_factory=uow_factory)
    verify_audit_log = providers.Singleton(VerifyAuditLog, uow_factory=uow_factory)

    # -- accounts and sessions --------------------------------------------------------------
    password_hasher = providers.Singleton(Argon2PasswordHasher)
    secrets = providers.Singleton(UrandomSecrets)
    access_tokens = providers.Singleton(
        lambda settings: JwtAccessTokens(
            ensure_jwt_secret(settings), timedelta(minutes=settings.access_token_minutes)
        ),
        settings=settings,
    )
    create_staff_user = providers.Singleton(
        CreateStaffUser, uow_factory=uow_factory, hasher=password_hasher, clock=clock, ids=ids
    )
    log_in = providers.Singleton(
        LogIn,
        uow_factory=uow_factory,
        hasher=password_hasher,
        access_tokens=access_tokens,
        secrets=secrets,
        clock=clock,
        ids=ids,
    )
    refresh_session = providers.Singleton(
        RefreshSession,
        uow_factory=uow_factory,
        access_tokens=access_tokens,
        secrets=secrets,
        clock=clock,
        ids=ids,
    )
    log_out = providers.Singleton(LogOut, uow_factory=uow_factory, clock=clock)
    get_staff_user = providers.Singleton(GetStaffUser, uow_factory=uow_factory)


def create_container(settings: Settings) -> Container:
    """A container for ``settings``."""
    return Container(settings=settings)


async def start(container: Container) -> None:
    """Open storage and start dispatching events (the ones left by a previous run first)."""
    storage = container.storage()
    await storage.open()
    dispatcher = container.dispatcher()
    storage.uow_factory.on_commit = dispatcher.committed
    await dispatcher.start()


async def stop(container: Container) -> None:
    """Finish dispatching and close storage."""
    await container.dispatcher().stop()
    await container.storage().close()
