"""Small builders for entities used across tests."""

from __future__ import annotations

from datetime import datetime

from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, Identity, IdentityKind
from porfin_core.domain.message import Author, DeliveryStatus, Direction, Message, MessageKind


def clinic(clinic_id: str = "clinic1", name: str = "Clínica Sorriso") -> Clinic:
    return Clinic(id=clinic_id, name=name)


def channel(at: datetime, channel_id: str = "chan1", clinic_id: str = "clinic1") -> Channel:
    return Channel(
        id=channel_id,
        clinic_id=clinic_id,
        name="Recepção",
        provider=Provider.SIMULATOR,
        created_at=at,
    )


def customer(
    at: datetime,
    customer_id: str = "cust1",
    clinic_id: str = "clinic1",
    phone: str = "+5511987654321",
    name: str = "Maria Silva",
) -> Customer:
    c = Customer.first_contact(
        id=customer_id,
        clinic_id=clinic_id,
        name=name,
        identities=[Identity(IdentityKind.PHONE, phone)],
        at=at,
    )
    c.pull_events()
    return c


def chat(
    at: datetime,
    chat_id: str = "chat1",
    clinic_id: str = "clinic1",
    customer_id: str = "cust1",
    channel_id: str = "chan1",
    name: str = "Maria Silva",
    phone: str = "+5511987654321",
) -> Chat:
    c = Chat.start(
        id=chat_id,
        clinic_id=clinic_id,
        customer_id=customer_id,
        channel_id=channel_id,
        customer_name=name,
        customer_phone=phone,
        at=at,
    )
    c.pull_events()
    return c


def message(
    at: datetime,
    message_id: str = "msg1",
    chat_id: str = "chat1",
    clinic_id: str = "clinic1",
    channel_id: str = "chan1",
    body: str = "Olá",
    provider_id: str | None = None,
) -> Message:
    return Message(
        id=message_id,
        clinic_id=clinic_id,
        chat_id=chat_id,
        channel_id=channel_id,
        direction=Direction.INBOUND,
        author=Author.PATIENT,
        kind=MessageKind.TEXT,
        body=body,
        provider_message_id=provider_id,
        status=DeliveryStatus.RECEIVED,
        created_at=at,
    )


def staff_message(
    at: datetime,
    message_id: str = "reply1",
    chat_id: str = "chat1",
    clinic_id: str = "clinic1",
    channel_id: str = "chan1",
    body: str = "Olá! Como posso ajudar?",
    author: Author = Author.STAFF,
) -> Message:
    return Message(
        id=message_id,
        clinic_id=clinic_id,
        chat_id=chat_id,
        channel_id=channel_id,
        direction=Direction.OUTBOUND,
        author=author,
        author_id="staff1" if author is Author.STAFF else None,
        kind=MessageKind.TEXT,
        body=body,
        status=DeliveryStatus.PENDING,
        created_at=at,
    )
