"""Brazilian Portuguese dates and money, written by Babel (CLDR data)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency

LOCALE = "pt_BR"


class BabelFormats:
    """:class:`~porfin_core.ports.formats.Formats` for pt-BR."""

    def date_time(self, at: datetime, timezone: str) -> str:
        """ "terça-feira, 2 de dezembro, às 14h30"; "às 14h" on the hour."""
        local = at.astimezone(ZoneInfo(timezone))
        day = format_datetime(local, "EEEE, d 'de' MMMM", tzinfo=local.tzinfo, locale=LOCALE)
        return f"{day}, às {_hour(local)}"

    def short_date_time(self, at: datetime, timezone: str) -> str:
        """ "ter., 02/12 às 14h30"."""
        local = at.astimezone(ZoneInfo(timezone))
        day = format_datetime(local, "EEE, dd/MM", tzinfo=local.tzinfo, locale=LOCALE)
        return f"{day} às {_hour(local)}"

    def money(self, cents: int) -> str:
        """ "R$ 1.234,56" (a plain space after the symbol, not CLDR's no-break space)."""
        text = format_currency(Decimal(cents) / 100, "BRL", locale=LOCALE)
        return text.replace("\xa0", " ")


def _hour(local: datetime) -> str:
    return f"{local.hour}h" if local.minute == 0 else f"{local.hour}h{local.minute:02d}"
