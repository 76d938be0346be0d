"""Change the clinic's settings: name, time zone, contact, address, opening hours, reminders
and PIX receiver."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.clinic import Clinic, OpeningHours, Weekday
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact

_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@attrs.frozen
class Interval:
    """One opening interval as staff write it.

    Attributes:
        weekday: ISO weekday, 1 (Monday) to 7 (Sunday).
        opens: Local opening time, ``HH:MM`` (24 h).
        closes: Local closing time, ``HH:MM``, after ``opens``.
    """

    weekday: int
    opens: str
    closes: str


@attrs.frozen(kw_only=True)
class ChangeClinic:
    """The changes to make; fields left at None change nothing.

    Attributes:
        clinic_id: The caller's clinic.
        name: Display name (1 to 120 characters).
        timezone: IANA time zone, e.g. ``America/Manaus``.
        phone: The clinic's phone in any spelling (stored as E.164); ``""`` removes it.
        address: Street address, one line; ``""`` removes it.
        city: City; ``""`` removes it.
        state: Brazilian state, two-letter UF code (``sp`` or ``SP``); ``""`` removes it.
        business_hours: The complete new opening hours; ``[]`` means none are known.
        reminders: The complete new reminder plan (``["1d@10:00", "2h"]``); ``[]`` sends no
            reminders.
        pix_key: The clinic's PIX key (CPF, CNPJ, e-mail, +55 phone or random key);
            ``""`` removes it.
        pix_merchant_name: The receiver's name in BR Codes; ``""`` uses the clinic's name.
        pix_merchant_city: The receiver's city in BR Codes; ``""`` uses the clinic's city.
        ai_resume_after_hours: Hours after which a closed chat a person took over goes
            back to the AI when the patient writes; ``0`` turns the policy off.
        actor: Who asks and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    name: str | None = None
    timezone: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    business_hours: Sequence[Interval] | None = None
    reminders: Sequence[str] | None = None
    pix_key: str | None = None
    pix_merchant_name: str | None = None
    pix_merchant_city: str | None = None
    ai_resume_after_hours: int | None = None
    actor: Actor | None = None


def _clock_time(value: str, field: str) -> time:
    match = _HH_MM.fullmatch(value)
    if match is None:
        raise ValidationError("a time must be HH:MM, from 00:00 to 23:59", field=field)
    return time(int(match[1]), int(match[2]))


def _opening_hours(intervals: Sequence[Interval]) -> list[OpeningHours]:
    """Build the domain's intervals, naming the offending one in every error."""
    hours = []
    for i, interval in enumerate(intervals):
        where = f"business_hours[{i}]"
        if not 1 <= interval.weekday <= 7:
            raise ValidationError(
                "weekday must be 1 (Monday) to 7 (Sunday)", field=f"{where}.weekday"
            )
        opens = _clock_time(interval.opens, f"{where}.opens")
        closes = _clock_time(interval.closes, f"{where}.closes")
        try:
            hours.append(OpeningHours(Weekday(interval.weekday), opens, closes))
        except ValidationError as exc:
            raise ValidationError(exc.message, field=f"{where}.closes") from exc
    return hours


def _blank_is_none(value: str) -> str | None:
    return value if value.strip() else None


@attrs.define(kw_only=True)
class UpdateClinic:
    """Apply an administrator's changes to the clinic's settings in one transaction.

    Every value is checked before anything is stored: either all changes apply or none. The
    change and its audit record (``clinic.update``, naming the fields changed) commit
    together.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ChangeClinic) -> Clinic:
        """Apply ``command``; returns the clinic as stored.

        Raises:
            NotFound: no such clinic.
            ValidationError: a blank or over-long text, an unknown time zone (``timezone``),
                a state that is not a UF (``state``), a malformed or inverted interval
                (``business_hours[i].opens``/``.closes``/``.weekday``) or overlapping
                intervals (``business_hours[i]``), a malformed reminder plan
                (``reminders``), an invalid PIX key (``pix_key``), a merchant name or city
                with no ASCII letters (``pix_merchant_name``, ``pix_merchant_city``).
            InvalidPhoneNumber: a phone without its area code or not a phone (``phone``).
        """
        hours = None if command.business_hours is None else _opening_hours(command.business_hours)

        async def work(uow: UnitOfWork) -> Clinic:
            clinic = await uow.clinics.get(command.clinic_id)
            before = attrs.asdict(clinic, recurse=False)
            _apply(clinic, command, hours)
            after = attrs.asdict(clinic, recurse=False)
            changed = [field for field in after if after[field] != before[field]]
            if changed:
                await uow.clinics.save(clinic)
            details = {"changed": ",".join(changed)}
            if "timezone" in changed:
                details["timezone"] = clinic.timezone
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=clinic.id,
                    at=self.clock.now(),
                    action=AuditAction.CLINIC_UPDATE,
                    resource_type="clinic",
                    resource_id=clinic.id,
                    details=details,
                )
            )
            await uow.commit()
            return clinic

        return await transact(self.uow_factory, work)


def _apply(clinic: Clinic, command: ChangeClinic, hours: list[OpeningHours] | None) -> None:
    """Apply every change asked for to ``clinic`` (the caller stores it)."""
    if command.name is not None:
        clinic.rename(command.name)
    if command.timezone is not None:
        clinic.move_to_zone(command.timezone)
    if command.phone is not None:
        clinic.set_phone(_blank_is_none(command.phone))
    if (command.address, command.city, command.state) != (None, None, None):
        clinic.set_address(
            address=clinic.address if command.address is None else _blank_is_none(command.address),
            city=clinic.city if command.city is None else _blank_is_none(command.city),
            state=clinic.state if command.state is None else _blank_is_none(command.state),
        )
    if hours is not None:
        clinic.set_business_hours(hours)
    if command.reminders is not None:
        clinic.plan_reminders(list(command.reminders))
    if command.ai_resume_after_hours is not None:
        clinic.set_ai_resume_policy(command.ai_resume_after_hours or None)
    pix = (command.pix_key, command.pix_merchant_name, command.pix_merchant_city)
    if pix != (None, None, None):
        key, name, city = (
            current if new is None else _blank_is_none(new)
            for current, new in zip(
                (clinic.pix_key, clinic.pix_merchant_name, clinic.pix_merchant_city),
                pix,
                strict=True,
            )
        )
        clinic.set_pix(key=key, merchant_name=name, merchant_city=city)
