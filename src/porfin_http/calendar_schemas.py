"""The calendar's response bodies: connections, consent links and feed tokens (separate from
the domain entities, as in :mod:`porfin_http.schemas`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from porfin_core.domain.calendar import CalendarConnection
from porfin_core.ports.calendar import ConsentRequest


class CalendarConnectionOut(msgspec.Struct):
    """A professional's connected calendar and how its sync goes."""

    professional_id: str
    connection_id: str
    provider: Literal["google"]
    calendar_id: str
    status: Annotated[
        Literal["active", "revoked"],
        msgspec.Meta(description="`revoked`: the professional must connect the calendar again."),
    ]
    scopes: list[str]
    connected_at: datetime
    last_synced_at: datetime | None
    full_synced_at: datetime | None
    revoked_at: datetime | None
    last_error: Annotated[str | None, msgspec.Meta(description="Why the last sync failed.")]

    @classmethod
    def of(cls, connection: CalendarConnection) -> CalendarConnectionOut:
        """Present ``connection`` (never its token)."""
        return cls(
            professional_id=connection.professional_id,
            connection_id=connection.id,
            provider="google",
            calendar_id=connection.calendar_id,
            status="active" if connection.is_active else "revoked",
            scopes=list(connection.scopes),
            connected_at=connection.connected_at,
            last_synced_at=connection.last_synced_at,
            full_synced_at=connection.full_synced_at,
            revoked_at=connection.revoked_at,
            last_error=connection.last_error,
        )


class ConsentOut(msgspec.Struct):
    """Where to send the professional to connect their calendar."""

    url: Annotated[
        str,
        msgspec.Meta(description="Google's consent page; open it in the professional's browser."),
    ]
    expires_at: Annotated[datetime, msgspec.Meta(description="The link stops working then.")]
    redirect_uri: Annotated[
        str, msgspec.Meta(description="Where Google sends the browser back (Porfin's callback).")
    ]

    @classmethod
    def of(cls, consent: ConsentRequest, redirect_uri: str) -> ConsentOut:
        """Present ``consent``."""
        return cls(url=consent.url, expires_at=consent.expires_at, redirect_uri=redirect_uri)


class FeedTokenOut(msgspec.Struct):
    """A professional's new private feed link (shown once)."""

    token: Annotated[
        str, msgspec.Meta(description="The feed's secret; the previous one stops working.")
    ]
    url: Annotated[
        str,
        msgspec.Meta(description="Subscribe to this URL in a calendar app (it holds the token)."),
    ]
    created_at: datetime
