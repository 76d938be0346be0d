"""Channels: the clinic's WhatsApp numbers and how Porfin reaches them."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs


class Provider(enum.StrEnum):
    """How Porfin talks to a WhatsApp number."""

    CLOUD_API = "cloud_api"
    EVOLUTION = "evolution"
    SIMULATOR = "simulator"


@attrs.frozen
class SecretRef:
    """A reference to a secret kept outside Porfin's records (env var, file, secret manager).

    Only the reference is stored or logged, never the secret itself.
    """

    ref: str

    def __str__(self) -> str:
        return self.ref


@attrs.define(kw_only=True)
class Channel:
    """A WhatsApp number of the clinic.

    Attributes:
        id: Stable identifier, part of the channel's webhook URL.
        clinic_id: The clinic.
        name: Label shown to staff ("Recepção").
        provider: Cloud API, Evolution (Baileys bridge) or the built-in simulator.
        phone: The number's canonical E.164 form, when known.
        external_ids: Provider ids (e.g. ``phone_number_id``, ``waba_id``, ``instance``).
        settings: Provider settings that are not secret (API base URL, version...).
        secrets: Named references to secrets (tokens, app secret, webhook secret).
        active: Inactive channels refuse inbound webhooks and sends.
        created_at: When the channel was added.
    """

    id: str
    clinic_id: str
    name: str
    provider: Provider
    phone: str | None = None
    external_ids: dict[str, str] = attrs.field(factory=dict)
    settings: dict[str, str] = attrs.field(factory=dict)
    secrets: dict[str, SecretRef] = attrs.field(factory=dict)
    active: bool = True
    created_at: datetime
