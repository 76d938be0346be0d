"""Start connecting a professional's calendar: the consent URL to open."""

from __future__ import annotations

import attrs

from porfin_core.ports.calendar import CalendarAuthorization, ConsentRequest
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._calendar import not_configured


@attrs.frozen(kw_only=True)
class ConnectionRequest:
    """Whose calendar to connect.

    Attributes:
        clinic_id: The clinic.
        professional_id: The professional whose calendar it is.
    """

    clinic_id: str
    professional_id: str


@attrs.define(kw_only=True)
class StartCalendarConnection:
    """The consent URL the professional opens to let Porfin use their calendar. Nothing is
    stored: the URL's ``state`` carries the clinic and the professional, and the callback
    (:class:`~porfin_core.use_cases.complete_calendar_connection.CompleteCalendarConnection`)
    stores the connection.

    Attributes:
        uow_factory: Storage.
        authorization: The calendar provider's OAuth (None: no provider configured).
        redirect_uri: Porfin's callback URL, as registered with the provider.
    """

    uow_factory: UnitOfWorkFactory
    authorization: CalendarAuthorization | None
    redirect_uri: str

    async def __call__(self, command: ConnectionRequest) -> ConsentRequest:
        """Return the consent URL (valid until ``expires_at``).

        Raises:
            NotFound: no such professional in the clinic.
            CalendarError: no calendar provider is configured (``not_configured``).
            ValidationError: the configured redirect URI is not an http(s) URL.
        """
        async with self.uow_factory(read_only=True) as uow:
            professional = await uow.professionals.get(command.clinic_id, command.professional_id)
        if self.authorization is None:
            raise not_configured()
        return await self.authorization.consent_url(
            professional.clinic_id, professional.id, self.redirect_uri
        )
