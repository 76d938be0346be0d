"""The clinic (tenant) and its staff."""

from __future__ import annotations

import enum
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from porfin_core.errors import ValidationError

DEFAULT_TIMEZONE = "America/Sao_Paulo"


def _check_timezone(_: object, __: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown IANA time zone: {value!r}", field="timezone") from exc


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
        business_hours: When the front desk is staffed.
    """

    id: str
    name: str
    timezone: str = attrs.field(default=DEFAULT_TIMEZONE, validator=_check_timezone)
    locale: str = "pt-BR"
    business_hours: list[OpeningHours] = attrs.field(factory=default_business_hours)

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)


class Role(enum.StrEnum):
    """What a staff member may do; the permission matrix maps roles to capabilities."""

    ADMIN = "admin"
    MANAGER = "manager"
    SECRETARY = "secretary"
