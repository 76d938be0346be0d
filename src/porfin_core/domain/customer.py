"""Customers: leads and patients, with every messaging identity seen for them."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from datetime import datetime

import attrs

from porfin_core.domain.events import (
    CustomerCreated,
    CustomersMerged,
    CustomerUpdated,
    EventRecorder,
)
from porfin_core.domain.phone import normalize_phone, whatsapp_variants
from porfin_core.errors import Conflict, ValidationError

MAX_NAME_LENGTH = 200
"""Characters a customer's name may have."""
MAX_TAGS = 20
"""Tags one customer may carry."""
MAX_TAG_LENGTH = 40
"""Characters one tag may have (after normalization)."""


def normalize_name(raw: str) -> str:
    """A person's name as stored: trimmed, inner runs of whitespace made one space.

    Raises:
        ValidationError: blank, longer than :data:`MAX_NAME_LENGTH` or holding control
            characters (field ``name``).
    """
    name = " ".join(raw.split())
    if not name:
        raise ValidationError("name is empty", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"name is longer than {MAX_NAME_LENGTH} characters", field="name")
    if _has_control_characters(name):
        raise ValidationError("name holds control characters", field="name")
    return name


def normalize_tag(raw: str, field: str = "tag") -> str:
    """A tag as stored and compared: lower case, trimmed, inner whitespace made one space
    (``"  Pós  Operatório "`` -> ``"pós operatório"``; accents are kept).

    Raises:
        ValidationError: blank, longer than :data:`MAX_TAG_LENGTH` or holding control
            characters (reported on ``field``).
    """
    tag = " ".join(raw.lower().split())
    if not tag:
        raise ValidationError("a tag is empty", field=field)
    if len(tag) > MAX_TAG_LENGTH:
        raise ValidationError(f"a tag is longer than {MAX_TAG_LENGTH} characters", field=field)
    if _has_control_characters(tag):
        raise ValidationError("a tag holds control characters", field=field)
    return tag


def normalize_tags(raw: Iterable[str]) -> list[str]:
    """Normalize every tag (:func:`normalize_tag`) and drop repeats, keeping the first order.

    Raises:
        ValidationError: a bad tag (field ``tags[i]``, ``i`` its position in ``raw``) or more
            than :data:`MAX_TAGS` distinct tags (field ``tags``).
    """
    tags = [normalize_tag(tag, field=f"tags[{i}]") for i, tag in enumerate(raw)]
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        raise ValidationError(f"at most {MAX_TAGS} tags", field="tags")
    return unique


def _has_control_characters(text: str) -> bool:
    """True when ``text`` holds control, format, surrogate or unassigned code points."""
    return any(unicodedata.category(ch).startswith("C") for ch in text)


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


# How far along the funnel each stage is, for merges: a lost lead is the least advanced (the
# person came back under another record, which tells where they are now).
_FUNNEL_RANK = {
    FunnelStage.LOST: -1,
    FunnelStage.NEW_LEAD: 0,
    FunnelStage.CONTACTED: 1,
    FunnelStage.QUALIFIED: 2,
    FunnelStage.SCHEDULED: 3,
    FunnelStage.ATTENDED: 4,
    FunnelStage.PAID: 5,
    FunnelStage.RETURNING: 6,
}


def further_along(first: FunnelStage, second: FunnelStage) -> FunnelStage:
    """The stage further along the funnel (``first`` on a tie); ``lost`` ranks last."""
    return second if _FUNNEL_RANK[second] > _FUNNEL_RANK[first] else first


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
        # A wa_id, and the user part of a JID (before any ":device"), is always a full
        # international number without the '+': read as such, an 11-digit US id (16505551234)
        # is not a Brazilian national number.
        number = identity.value.split("@", 1)[0].split(":", 1)[0]
        if number.isdigit():
            return normalize_phone("+" + number)
    return None


class ConsentPurpose(enum.StrEnum):
    """Why the clinic may write to the customer (LGPD: consent is per purpose)."""

    SERVICE = "service"
    REMINDERS = "reminders"
    MARKETING = "marketing"


STAFF_CONSENT_SOURCE = "staff"
"""``Consent.source`` of a decision a staff member recorded (the patient told the clinic)."""


@attrs.frozen
class Consent:
    """A customer's yes or no for one purpose, with when and where it was given.

    Attributes:
        purpose: What the consent is for.
        granted: Yes or no.
        at: When the decision was recorded.
        source: How it was given: ``inbound_message`` (implied by writing to the clinic),
            ``staff`` (recorded by a staff member)...
        recorded_by: The staff user (or actor id) who recorded it, None when Porfin inferred
            it.
    """

    purpose: ConsentPurpose
    granted: bool
    at: datetime
    source: str
    recorded_by: str | None = None


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
        merged_into: The customer this one was merged into (see :meth:`absorb`), None while
            it stands on its own. A merged customer is kept as a record of what was merged:
            no identity finds it and no list shows it.
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
    merged_into: str | None = None

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

    # -- staff edits ------------------------------------------------------------------

    def rename(self, name: str) -> bool:
        """Set the name staff confirmed (normalized); returns False when it did not change.

        Raises:
            ValidationError: blank, too long, or control characters (field ``name``).
        """
        normalized = normalize_name(name)
        if normalized == self.name:
            return False
        self.name = normalized
        return True

    def retag(self, tags: Iterable[str]) -> bool:
        """Replace the tags (normalized, repeats dropped); returns False when unchanged.

        Raises:
            ValidationError: a bad tag (``tags[i]``) or too many (``tags``).
        """
        normalized = normalize_tags(tags)
        if normalized == self.tags:
            return False
        self.tags = normalized
        return True

    def move_to(self, stage: FunnelStage) -> bool:
        """Put the customer at ``stage`` of the funnel; returns False when already there.

        Any move is allowed: staff correct the funnel by hand (a lost lead comes back).
        """
        if stage is self.stage:
            return False
        self.stage = stage
        return True

    def decide_consent(
        self, purpose: ConsentPurpose, granted: bool, *, at: datetime, by: str | None
    ) -> bool:
        """Record a decision a staff member was told (source ``staff``, with who and when).

        A decision equal to the current one changes nothing (its original time and source
        are kept) and returns False.
        """
        current = self.consents.get(purpose)
        if current is not None and current.granted is granted:
            return False
        self.set_consent(Consent(purpose, granted, at, STAFF_CONSENT_SOURCE, recorded_by=by))
        return True

    def updated(self, changed: Iterable[str], at: datetime, by: str | None) -> None:
        """Record that staff changed the fields named in ``changed`` (nothing if empty)."""
        fields = tuple(changed)
        if fields:
            self.record(
                CustomerUpdated(
                    clinic_id=self.clinic_id,
                    occurred_at=at,
                    customer_id=self.id,
                    changed=fields,
                    changed_by=by,
                )
            )

    # -- merging duplicates -----------------------------------------------------------

    def absorb(self, duplicate: Customer) -> tuple[str, ...]:
        """Merge ``duplicate`` (the same person under another record) into this customer.

        This customer keeps its id and gains the duplicate's identities; the tags of both
        (this customer's first); the duplicate's name when this customer's is only a number
        or an id (what a first contact without a profile name gets), and its phone when this
        customer has none; for each consent purpose, the duplicate's decision when this
        customer has none or an older, different one (an equal decision keeps its original
        time and source); the stage further along the funnel (:func:`further_along`); the
        earlier ``created_at``. The duplicate keeps its own fields and is marked merged into
        this customer.

        Returns what changed here (``identities``, ``name``, ``phone``, ``tags``, ``stage``,
        ``consents.<purpose>``, ``created_at``), in that order.

        Raises:
            ValidationError: the same customer twice (field ``duplicate_id``), or more than
                :data:`MAX_TAGS` tags together (field ``tags``).
            Conflict: either customer was already merged into another.
        """
        if duplicate.id == self.id:
            raise ValidationError("a customer cannot be merged into itself", field="duplicate_id")
        for customer in (self, duplicate):
            if customer.merged_into is not None:
                raise Conflict(
                    "customer was already merged into another",
                    id=customer.id,
                    merged_into=customer.merged_into,
                )
        tags = list(dict.fromkeys([*self.tags, *duplicate.tags]))
        if len(tags) > MAX_TAGS:
            raise ValidationError(
                f"together the customers have more than {MAX_TAGS} tags", field="tags"
            )
        changed: list[str] = []
        had_phone = self.phone
        placeholder = self._has_placeholder_name()
        gained = [identity for identity in duplicate.identities if self.add_identity(identity)]
        if gained:
            changed.append("identities")
        if placeholder and not duplicate._has_placeholder_name():
            self.name = duplicate.name
            changed.append("name")
        if self.phone is None and duplicate.phone is not None:
            self.phone = duplicate.phone
        if self.phone != had_phone:
            changed.append("phone")
        if tags != self.tags:
            self.tags = tags
            changed.append("tags")
        stage = further_along(self.stage, duplicate.stage)
        if stage is not self.stage:
            self.stage = stage
            changed.append("stage")
        for purpose in ConsentPurpose:
            theirs = duplicate.consents.get(purpose)
            ours = self.consents.get(purpose)
            if theirs is not None and (
                ours is None or (theirs.granted is not ours.granted and theirs.at > ours.at)
            ):
                self.consents[purpose] = theirs
                changed.append(f"consents.{purpose.value}")
        if duplicate.created_at < self.created_at:
            self.created_at = duplicate.created_at
            changed.append("created_at")
        duplicate.merged_into = self.id
        return tuple(changed)

    def merged(
        self,
        duplicate_id: str,
        *,
        changed: Iterable[str],
        chat_ids: Iterable[str],
        removed_chat_ids: Iterable[str],
        at: datetime,
        by: str | None,
    ) -> None:
        """Record that ``duplicate_id`` was merged into this customer (see :meth:`absorb`),
        with what changed here and where the duplicate's chats went."""
        self.record(
            CustomersMerged(
                clinic_id=self.clinic_id,
                occurred_at=at,
                customer_id=self.id,
                duplicate_id=duplicate_id,
                changed=tuple(changed),
                chat_ids=tuple(chat_ids),
                removed_chat_ids=tuple(removed_chat_ids),
                merged_by=by,
            )
        )

    def _has_placeholder_name(self) -> bool:
        """True when the name is only the phone or an identity's value (no profile name was
        ever known)."""
        return self.name == self.phone or any(i.value == self.name for i in self.identities)


def first_name(name: str | None) -> str:
    """The first word of a patient's name, to greet them ("" when unknown or a number)."""
    word = (name or "").split(maxsplit=1)[0] if (name or "").strip() else ""
    return "" if any(ch.isdigit() for ch in word) else word
