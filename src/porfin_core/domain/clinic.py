"""The clinic (tenant) and its staff."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from porfin_core.domain.assistant import Assistant
from porfin_core.domain.payment_gateway import PaymentGatewayConfig
from porfin_core.domain.phone import normalize_phone
from porfin_core.domain.pix import MAX_CITY_LENGTH, MAX_NAME_LENGTH, normalize_text
from porfin_core.domain.pix_keys import parse_pix_key
from porfin_core.domain.reminders import DEFAULT_REMINDERS, read_plan
from porfin_core.errors import InvalidPhoneNumber, ValidationError

DEFAULT_TIMEZONE = "America/Sao_Paulo"

# Files of the time zone database that load as zones but name no place.
_NOT_ZONES = frozenset({"Factory", "posixrules", "localtime"})

BRAZILIAN_STATES = frozenset(
    {
        *("AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA"),
        *("PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"),
    }
)
"""The 27 federative units' two-letter codes (UF)."""

MAX_CLINIC_NAME = 120
MAX_ADDRESS = 200
MAX_CITY = 100


def _check_timezone(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value in _NOT_ZONES:
        raise ValidationError(f"unknown IANA time zone: {value!r}", field="timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown IANA time zone: {value!r}", field="timezone") from exc


def _text(raw: str, field: str, limit: int) -> str:
    """``raw`` trimmed, inner whitespace made one space.

    Raises:
        ValidationError: blank, longer than ``limit``, or holding control characters.
    """
    text = " ".join(raw.split())
    if not text:
        raise ValidationError(f"{field} is empty", field=field)
    if len(text) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters", field=field)
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ValidationError(f"{field} holds control characters", field=field)
    return text


def _pix_text(raw: str | None, field: str, limit: int) -> str | None:
    if raw is None:
        return None
    text = normalize_text(raw, limit)
    if not text:
        raise ValidationError(f"{field} has no letters a BR Code can carry", field=field)
    return text


class Weekday(enum.IntEnum):
    """ISO weekday numbers (Monday = 1)."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


@attrs.frozen
class OpeningHours:
    """One opening interval on a weekday, in the clinic's local time."""

    weekday: Weekday
    opens: time
    closes: time

    def __attrs_post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValidationError("closing time must be after opening time", field="closes")

    def overlaps(self, other: OpeningHours) -> bool:
        """True when both intervals share some time of the same weekday."""
        return (
            self.weekday == other.weekday
            and self.opens < other.closes
            and other.opens < self.closes
        )


def check_business_hours(hours: Iterable[OpeningHours]) -> list[OpeningHours]:
    """``hours`` sorted by weekday and opening time, once checked.

    Raises:
        ValidationError: two intervals of a weekday overlap (field ``business_hours[i]``,
            ``i`` the position in ``hours`` of the later one).
    """
    given = list(hours)
    for i, interval in enumerate(given):
        for earlier in given[:i]:
            if interval.overlaps(earlier):
                raise ValidationError(
                    "opening hours of one weekday overlap", field=f"business_hours[{i}]"
                )
    return sorted(given, key=lambda h: (h.weekday, h.opens))


def default_business_hours() -> list[OpeningHours]:
    """Monday to Friday 08:00-18:00, Saturday 08:00-12:00: a common Brazilian practice."""
    weekdays = [OpeningHours(Weekday(day), time(8), time(18)) for day in range(1, 6)]
    return [*weekdays, OpeningHours(Weekday.SATURDAY, time(8), time(12))]


@attrs.define(kw_only=True)
class Clinic:
    """A health practice: the tenant every other record belongs to.

    Attributes:
        id: Stable identifier.
        name: Display name shown to patients and staff.
        timezone: IANA zone used for every local date and time (default America/Sao_Paulo).
        locale: Language and formatting of patient-facing text.
        business_hours: When the front desk is staffed, sorted by weekday and time.
        phone: The clinic's phone for patients (E.164), if given.
        address: Street address (one line), if given.
        city: City, if given.
        state: Brazilian state (UF, e.g. ``SP``), if given.
        reminders: When appointment reminders go out (``1d@10:00``: the day before at
            10:00; ``2h``: two hours before; see :mod:`porfin_core.domain.reminders`).
        pix_key: The clinic's PIX key in canonical form (what BR Codes carry), if set.
        pix_merchant_name: The receiver's name in the clinic's BR Codes (field 59, at most
            25 ASCII characters); None uses the clinic's name.
        pix_merchant_city: The receiver's city in BR Codes (field 60, at most 15 ASCII
            characters); None uses the clinic's city.
        payment_gateway: The gateway charges go through (Asaas, Mercado Pago); None for
            the embedded static PIX confirmed by staff.
        assistants: The clinic's AI assistants (see :mod:`porfin_core.domain.assistant`).
        ai_resume_after_hours: A chat a person took over goes back to the AI when the
            patient writes after it was closed at least this long (None: only staff give
            chats back).
    """

    id: str
    name: str
    timezone: str = attrs.field(default=DEFAULT_TIMEZONE, validator=_check_timezone)
    locale: str = "pt-BR"
    business_hours: list[OpeningHours] = attrs.field(factory=default_business_hours)
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    reminders: list[str] = attrs.field(factory=lambda: list(DEFAULT_REMINDERS))
    pix_key: str | None = None
    pix_merchant_name: str | None = None
    pix_merchant_city: str | None = None
    payment_gateway: PaymentGatewayConfig | None = None
    assistants: list[Assistant] = attrs.field(factory=list)
    ai_resume_after_hours: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)

    # -- settings ---------------------------------------------------------------------

    def rename(self, name: str) -> None:
        """Change the display name (trimmed; 1 to 120 characters).

        Raises:
            ValidationError: blank, too long or control characters (field ``name``).
        """
        self.name = _text(name, "name", MAX_CLINIC_NAME)

    def plan_reminders(self, rules: list[str]) -> None:
        """Send appointment reminders at these times (``[]``: none).

        Raises:
            ValidationError: a malformed or repeated rule, or more than five (``reminders``).
        """
        self.reminders = [str(rule) for rule in read_plan(rules)]

    def move_to_zone(self, timezone: str) -> None:
        """Use another IANA time zone for every local date and time.

        Raises:
            ValidationError: not an IANA zone (field ``timezone``).
        """
        self.timezone = timezone  # attrs runs the field's validator on assignment

    def set_phone(self, raw: str | None) -> None:
        """The clinic's phone in any spelling (stored as E.164); None removes it.

        Raises:
            InvalidPhoneNumber: not a phone number, or one without its area code (field
                ``phone``).
        """
        if raw is None:
            self.phone = None
            return
        try:
            self.phone = normalize_phone(raw)
        except InvalidPhoneNumber as exc:
            raise InvalidPhoneNumber(exc.message, value=raw, field="phone") from exc

    def set_address(self, *, address: str | None, city: str | None, state: str | None) -> None:
        """Where the clinic is; None clears a part. ``state`` is a UF code (any case).

        Raises:
            ValidationError: a blank or over-long part (fields ``address``, ``city``), or a
                state that is not one of Brazil's 27 (field ``state``).
        """
        uf = None
        if state is not None:
            uf = state.strip().upper()
            if uf not in BRAZILIAN_STATES:
                raise ValidationError(
                    "state must be a Brazilian state's two-letter code (UF)", field="state"
                )
        self.address = None if address is None else _text(address, "address", MAX_ADDRESS)
        self.city = None if city is None else _text(city, "city", MAX_CITY)
        self.state = uf

    def set_pix(
        self, *, key: str | None, merchant_name: str | None, merchant_city: str | None
    ) -> None:
        """The PIX key and the receiver's name and city for BR Codes; None clears a part.

        The key is stored in canonical form (digits of a CPF, ``+55...`` of a phone...). Name
        and city are stored as their BR Code form: ASCII, at most 25 and 15 characters.

        Raises:
            ValidationError: a key of no known kind or with wrong check digits (field
                ``pix_key``, ``reason`` the rule), a name or city with nothing left once
                written in ASCII (``pix_merchant_name``, ``pix_merchant_city``).
        """
        canonical = None
        if key is not None:
            try:
                canonical = parse_pix_key(key).value
            except ValidationError as exc:
                raise ValidationError(exc.message, **(exc.fields | {"field": "pix_key"})) from exc
        self.pix_key = canonical
        self.pix_merchant_name = _pix_text(merchant_name, "pix_merchant_name", MAX_NAME_LENGTH)
        self.pix_merchant_city = _pix_text(merchant_city, "pix_merchant_city", MAX_CITY_LENGTH)

    def pix_receiver(self) -> tuple[str, str, str] | None:
        """The key, merchant name and city of the clinic's BR Codes (name and city fall back
        on the clinic's name and city); None when a part is missing."""
        name = self.pix_merchant_name or normalize_text(self.name, MAX_NAME_LENGTH)
        city = self.pix_merchant_city or normalize_text(self.city or "", MAX_CITY_LENGTH)
        if self.pix_key is None or not name or not city:
            return None
        return self.pix_key, name, city

    def set_ai_resume_policy(self, hours: int | None) -> None:
        """Give closed chats back to the AI after ``hours`` (None: never by itself).

        Raises:
            ValidationError: not 1 to 720 hours (field ``ai_resume_after_hours``).
        """
        if hours is not None and not 1 <= hours <= 720:
            raise ValidationError(
                "ai_resume_after_hours must be 1 to 720", field="ai_resume_after_hours"
            )
        self.ai_resume_after_hours = hours

    def add_assistant(self, assistant: Assistant, limit: int) -> None:
        """Add ``assistant`` (at most ``limit`` per clinic).

        Raises:
            ValidationError: the clinic has ``limit`` assistants already.
        """
        if len(self.assistants) >= limit:
            raise ValidationError(f"a clinic has at most {limit} assistants", field="assistants")
        self.assistants.append(assistant)

    def use_payment_gateway(self, config: PaymentGatewayConfig | None) -> None:
        """Charge through ``config``'s gateway from now on (None: the embedded PIX).

        Raises:
            ValidationError: the account lacks a required setting (field: its name).
        """
        if config is not None and (missing := config.missing()):
            raise ValidationError(f"{missing[0]} is required", field=missing[0])
        self.payment_gateway = config

    def is_open_at(self, at: datetime) -> bool:
        """True when ``at`` falls inside the clinic's opening hours (its local time)."""
        local = at.astimezone(self.zone)
        return any(
            hours.weekday.value == local.isoweekday() and hours.opens <= local.time() < hours.closes
            for hours in self.business_hours
        )

    def set_business_hours(self, hours: Iterable[OpeningHours]) -> None:
        """Replace the opening hours (an empty list: no staffed hours known).

        Raises:
            ValidationError: overlapping intervals on one weekday.
        """
        self.business_hours = check_business_hours(hours)


class Role(enum.StrEnum):
    """What a staff member may do; the permission matrix maps roles to capabilities."""

    ADMIN = "admin"
    MANAGER = "manager"
    SECRETARY = "secretary"
