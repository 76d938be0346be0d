"""How dates and money are written for patients (Brazilian Portuguese)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Formats(Protocol):
    """Writes values the way a Brazilian patient reads them."""

    def date_time(self, at: datetime, timezone: str) -> str:
        """``at`` in ``timezone`` as "terça-feira, 2 de dezembro, às 14h30" ("às 14h" on
        the hour)."""
        ...

    def short_date_time(self, at: datetime, timezone: str) -> str:
        """``at`` in ``timezone`` as "ter., 02/12 às 14h30" (lists, buttons)."""
        ...

    def money(self, cents: int) -> str:
        """``cents`` centavos as "R$ 1.234,56"."""
        ...
