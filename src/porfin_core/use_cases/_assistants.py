"""What the assistant use cases share: the settings a command may carry and the audit
record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from porfin_core.domain.assistant import AfterHours, Assistant, AssistantRole, Engine
from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.errors import NotFound, ValidationError

SETTINGS = (
    "name",
    "role",
    "tone",
    "facts",
    "tools",
    "after_hours",
    "engine",
    "model",
    "fallback_model",
    "temperature",
    "max_output_tokens",
    "monthly_budget_cents",
    "debounce_seconds",
    "deposit_cents",
    "channel_ids",
    "stages",
    "active",
)
"""What an assistant's settings are called (commands carry them by these names)."""

_ENUMS: Mapping[str, Any] = {"role": AssistantRole, "after_hours": AfterHours, "engine": Engine}


def read_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with enums and lists converted.

    Raises:
        ValidationError: an unknown setting or enum value (``field`` names it).
    """
    read: dict[str, Any] = {}
    for name, value in values.items():
        if name not in SETTINGS:
            raise ValidationError(f"unknown assistant setting {name!r}", field=name)
        if name in _ENUMS and value is not None:
            try:
                value = _ENUMS[name](value)
            except ValueError:
                known = ", ".join(v.value for v in _ENUMS[name])
                raise ValidationError(f"{name} must be one of {known}", field=name) from None
        elif name in ("tools", "channel_ids", "stages") and value is not None:
            value = [str(v) for v in value]
        elif name == "facts" and value is not None:
            value = {str(k): str(v) for k, v in dict(value).items()}
        read[name] = value
    return read


def find(assistants: Sequence[Assistant], assistant_id: str) -> Assistant:
    """The assistant ``assistant_id``. Raises: NotFound."""
    for assistant in assistants:
        if assistant.id == assistant_id:
            return assistant
    raise NotFound("assistant not found", id=assistant_id)


def built(values: Mapping[str, Any], **fixed: Any) -> Assistant:
    """A checked assistant from ``values`` and ``fixed`` fields.

    Raises:
        ValidationError: a setting out of its range.
    """
    try:
        return Assistant(**{**values, **fixed})
    except TypeError as exc:
        raise ValidationError(f"invalid assistant settings: {exc}") from exc


def assistant_audit(
    actor: Actor, clinic_id: str, assistant: Assistant, action: AuditAction, at: datetime
) -> AuditEntry:
    """The audit record of ``action`` on ``assistant``."""
    return AuditEntry.of(
        actor,
        clinic_id=clinic_id,
        at=at,
        action=action,
        resource_type="assistant",
        resource_id=assistant.id,
        details={"name": assistant.name, "engine": assistant.engine.value},
    )


def evolve(assistant: Assistant, changes: Mapping[str, Any]) -> Assistant:
    """``assistant`` with ``changes``, checked."""
    return built(attrs.asdict(assistant, recurse=False) | dict(changes))
