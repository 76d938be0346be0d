"""Customers: leads and patients, with every messaging identity seen for them."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from porfin_core.domain.events import CustomerCreated, EventRecorder
from porfin_core.domain.phone import normalize_phone, whatsapp_variants
from porfin_core.errors import ValidationError


class FunnelStage(enum.StrEnum):
    """Where the customer is on the way from first message to paying, returning patient."""

    NEW_LEAD = "new_lead"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    SCHEDULED = "scheduled"
    ATTENDED = "attended"
    PAID = "paid"
    RETURNING = "returning"
    LOST = "lost"


class IdentityKind(enum.StrEnum):
    """The kinds of address a messaging provider may use for one person.

    ``phone``: canonical E.164 number. ``wa_id``: WhatsApp id exactly as Meta sent it.
    ``bsuid``: Meta's business-scoped user id. ``jid``: a Baileys/Evolution phone JID.
    ``lid``: a Baileys privacy "linked id" that carries no phone number.
    """

    PHONE = "phone"
    WA_ID = "wa_id"
    BSUID = "bsuid"
    JID = "jid"
    LID = "lid"


@attrs.frozen
class Identity:
    """One address under which a person reached the clinic."""

    kind: IdentityKind
    value: str

    @classmethod
    def of_phone(cls, raw: str) -> Identity:
        """A phone identity from any spelling of a number (normalized to E.164).

        Raises:
            InvalidPhoneNumber: ``raw`` is not a phone number.
        """
        return cls(IdentityKind.PHONE, normalize_phone(raw))

    @property
    def key(self) -> str:
        """Lookup key, unique per clinic: ``kind:value``."""
        return f"{self.kind.value}:{self.value}"


def identity_keys(identities: list[Identity]) -> list[str]:
    """Every key under which ``identities`` may already be known, 9th-digit variants included.

    Phone-bearing identities (phone, wa_id, phone JIDs) all resolve to the canonical phone, so
    ``551187654321`` and ``+5511987654321`` meet on ``phone:+5511987654321``.
    """
    keys: list[str] = []
    for identity in identities:
        keys.append(identity.key)
        phone = phone_of(identity)
        if phone is not None:
            keys.append(Identity(IdentityKind.PHONE, phone).key)
    return list(dict.fromkeys(keys))


def phone_of(identity: Identity) -> str | None:
    """The canonical E.164 phone an identity carries, or None (BSUIDs, LIDs)."""
    if identity.kind is IdentityKind.PHONE:
        return identity.value
    if identity.kind in (IdentityKind.WA_ID, IdentityKind.JID):
        digits = identity.value.split("@", 1)[0]
        if digits.isdigit():
            return normalize_phone(digits)
    return None


class ConsentPurpose(enum.StrEnum):
    """Why the clinic may write to the customer (LGPD: consent is per purpose)."""

    SERVICE = "service"
    REMINDERS = "reminders"
    MARKETING = "marketing"


@attrs.frozen
class Consent:
    """A customer's yes or no for one purpose, with when and where it was given."""

    purpose: ConsentPurpose
    granted: bool
    at: datetime
    source: str


@attrs.define(kw_only=True)
class Customer(EventRecorder):
    """A lead or patient of a clinic.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        name: Best known name (from the WhatsApp profile until staff edit it).
        phone: Canonical E.164 phone, None for identities without a number (BSUID, LID).
        identities: Every provider address seen for this person.
        stage: Funnel stage.
        tags: Free labels set by staff or the AI.
        consents: Latest decision per purpose.
        created_at: When the customer was first seen.
    """

    id: str
    clinic_id: str
    name: str
    phone: str | None
    identities: list[Identity] = attrs.field(factory=list)
    stage: FunnelStage = FunnelStage.NEW_LEAD
    tags: list[str] = attrs.field(factory=list)
    consents: dict[ConsentPurpose, Consent] = attrs.field(factory=dict)
    created_at: datetime

    @classmethod
    def first_contact(
        cls, *, id: str, clinic_id: str, name: str, identities: list[Identity], at: datetime
    ) -> Customer:
        """Create the customer for someone writing for the first time.

        Their canonical phone comes from the first phone-bearing identity; service consent is
        implied by the person writing to the clinic.
        """
        if not identities:
            raise ValidationError("a customer needs at least one identity", field="identities")
        phone = next((p for i in identities if (p := phone_of(i)) is not None), None)
        customer = cls(
            id=id,
            clinic_id=clinic_id,
            name=name.strip() or (phone or identities[0].value),
            phone=phone,
            created_at=at,
        )
        for identity in identities:
            customer.add_identity(identity)
        customer.consents[ConsentPurpose.SERVICE] = Consent(
            ConsentPurpose.SERVICE, True, at, "inbound_message"
        )
        customer.record(CustomerCreated(clinic_id=clinic_id, occurred_at=at, customer_id=id))
        return customer

    def add_identity(self, identity: Identity) -> bool:
        """Attach ``identity``; returns False when it was already known.

        A phone-bearing identity also attaches the canonical phone, and gives the customer a
        phone when they had none (an ``@lid`` contact whose number appeared later).
        """
        added = False
        phone = phone_of(identity)
        for candidate in (identity, Identity(IdentityKind.PHONE, phone) if phone else None):
            if candidate is not None and candidate not in self.identities:
                self.identities.append(candidate)
                added = True
        if self.phone is None and phone is not None:
            self.phone = phone
        return added

    def whatsapp_addresses(self) -> tuple[str, ...]:
        """Digits-only numbers to try when writing to this customer on WhatsApp."""
        return whatsapp_variants(self.phone) if self.phone else ()

    def set_consent(self, consent: Consent) -> None:
        """Record the latest decision for ``consent.purpose``."""
        self.consents[consent.purpose] = consent
