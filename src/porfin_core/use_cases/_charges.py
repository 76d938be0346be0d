"""What the charge use cases share: their audit record."""

from __future__ import annotations

from datetime import datetime

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.charges import Charge


def charge_audit(
    actor: Actor,
    charge: Charge,
    at: datetime,
    action: AuditAction,
    details: dict[str, str] | None = None,
) -> AuditEntry:
    """The audit record of ``action`` on ``charge`` (customer, amount and status included)."""
    return AuditEntry.of(
        actor,
        clinic_id=charge.clinic_id,
        at=at,
        action=action,
        resource_type="charge",
        resource_id=charge.id,
        details={
            "customer_id": charge.customer_id,
            "amount_cents": str(charge.amount_cents),
            "paid_cents": str(charge.paid_cents),
            "status": charge.status.value,
        }
        | (details or {}),
    )
