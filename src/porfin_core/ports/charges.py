"""Storage of charges and of the append-only money log, and QR rendering of PIX codes."""

from __future__ import annotations

from typing import Protocol

from porfin_core.domain.charges import Charge, ChargeStatus, Transaction


class ChargeRepository(Protocol):
    """The clinics' charges (see :mod:`porfin_core.domain.charges`)."""

    async def get(self, clinic_id: str, charge_id: str) -> Charge:
        """Return the charge. Raises: NotFound (also for another clinic's charge)."""
        ...

    async def list(
        self,
        clinic_id: str,
        *,
        customer_id: str | None = None,
        status: ChargeStatus | None = None,
    ) -> list[Charge]:
        """The clinic's charges, newest first (then by id), of one customer and/or in one
        status when given."""
        ...

    async def find_by_provider_charge(
        self, clinic_id: str, provider: str, provider_charge_id: str
    ) -> Charge | None:
        """The clinic's charge that gateway ``provider`` knows as ``provider_charge_id``."""
        ...

    async def save(self, charge: Charge) -> None:
        """Insert or replace the charge (its clinic and customer never change).

        Raises:
            TransactionConflict: the charge changed since it was read (SQLite, Firestore).
        """
        ...


class TransactionLog(Protocol):
    """Every money movement, written once: no update, no delete (the stores refuse both)."""

    async def append(self, transaction: Transaction) -> None:
        """Add ``transaction`` in this unit of work.

        Raises:
            Conflict: a transaction with its id is already logged.
        """
        ...

    async def for_charge(self, clinic_id: str, charge_id: str) -> list[Transaction]:
        """The charge's movements, oldest first (then by id); [] for another clinic's."""
        ...


class QrRenderer(Protocol):
    """Draws a PIX code as an image; core cannot (no image library in core)."""

    def png(self, br_code: str) -> bytes:
        """A PNG image of the QR code of ``br_code``.

        Raises:
            ValidationError: ``br_code`` is not a valid BR Code.
        """
        ...
