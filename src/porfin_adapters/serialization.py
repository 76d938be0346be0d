"""The storage boundary's converter: entities <-> plain documents (JSON-ready dicts).

One private cattrs converter shared by every storage adapter, so a record written by SQLite,
Firestore or the memory store has the same shape. Datetimes become ISO 8601 strings in UTC.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from porfin_core.domain.channel import SecretRef
from porfin_core.domain.chat import Chat
from porfin_core.domain.customer import Customer
from porfin_core.domain.events import EVENT_TYPES, DomainEvent
from porfin_core.domain.message import Message
from porfin_core.domain.scheduling import Appointment, WaitlistEntry

T = TypeVar("T")

_converter = cattrs.Converter(omit_if_default=False)
_converter.register_unstructure_hook(datetime, lambda d: d.astimezone(UTC).isoformat())
_converter.register_structure_hook(datetime, lambda v, _: _parse_datetime(v))
_converter.register_unstructure_hook(time, lambda t: t.isoformat())
_converter.register_unstructure_hook(date, lambda d: d.isoformat())
_converter.register_structure_hook(date, lambda v, _: date.fromisoformat(v))
_converter.register_structure_hook(time, lambda v, _: time.fromisoformat(v))
# StrEnum/IntEnum subclass str/int, whose pass-through hook would otherwise win.
for _enum_base in (enum.StrEnum, enum.IntEnum, enum.Enum):
    _converter.register_unstructure_hook(_enum_base, lambda e: e.value)
# {"ref", "hint"}, as msgspec writes attrs classes for SQLite: one shape on every backend.
# A bare string is a reference stored before secrets had hints.
_converter.register_unstructure_hook(SecretRef, lambda s: {"ref": s.ref, "hint": s.hint})
_converter.register_structure_hook(
    SecretRef,
    lambda v, _: SecretRef(v) if isinstance(v, str) else SecretRef(v["ref"], v.get("hint")),
)

for _entity in (Chat, Customer, Message, Appointment, WaitlistEntry):
    # The pending-events list is runtime state, never stored.
    _converter.register_unstructure_hook(
        _entity, make_dict_unstructure_fn(_entity, _converter, _events=override(omit=True))
    )
    _converter.register_structure_hook(
        _entity, make_dict_structure_fn(_entity, _converter, _events=override(omit=True))
    )


def _parse_datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def to_document(entity: object) -> dict[str, Any]:
    """Unstructure an entity or value object into a JSON-ready dict."""
    document: dict[str, Any] = _converter.unstructure(entity)
    return document


def from_document(document: dict[str, Any], cls: type[T]) -> T:
    """Rebuild an entity from a document made by :func:`to_document`."""
    return _converter.structure(document, cls)


def event_to_document(event: DomainEvent) -> dict[str, Any]:
    """A domain event as a document tagged with its stable name."""
    return {"name": event.name, "data": to_document(event)}


def event_from_document(document: dict[str, Any]) -> DomainEvent:
    """Rebuild a domain event from :func:`event_to_document`'s output."""
    return from_document(document["data"], EVENT_TYPES[document["name"]])


def utc_micros(moment: datetime) -> int:
    """Microseconds since the epoch: a sortable integer form of a datetime."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
