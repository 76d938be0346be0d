"""Google Calendar API v3: connecting professionals' calendars (OAuth) and keeping them in
step with Porfin (docs/google-calendar.md)."""

from __future__ import annotations

from porfin_adapters.google_calendar.client import GoogleCalendarSync
from porfin_adapters.google_calendar.oauth import GoogleCalendarOAuth
from porfin_adapters.security.clinic_keys import ClinicKeys
from porfin_adapters.settings import Settings
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.secrets import SecretStore

__all__ = [
    "GoogleCalendarOAuth",
    "GoogleCalendarSync",
    "build_google_calendar",
    "build_google_calendar_if_configured",
]


def build_google_calendar(
    settings: Settings,
    secrets: SecretStore,
    clock: Clock,
    ids: IdGenerator,
    keys: ClinicKeys | None = None,
) -> tuple[GoogleCalendarOAuth, GoogleCalendarSync]:
    """The OAuth flow and the sync client for the installation's settings (what the
    container wires; close both with ``aclose`` at shutdown)."""
    oauth = GoogleCalendarOAuth(
        client_id=settings.google_client_id,
        client_secret=settings.google_client_secret,
        secrets=secrets,
        clock=clock,
        ids=ids,
        auth_url=settings.google_oauth_url,
        token_url=settings.google_token_url,
        keys=keys,
    )
    return oauth, GoogleCalendarSync(oauth, base_url=settings.google_calendar_url)


def build_google_calendar_if_configured(
    settings: Settings, secrets: SecretStore, clock: Clock, ids: IdGenerator
) -> tuple[GoogleCalendarOAuth, GoogleCalendarSync] | None:
    """:func:`build_google_calendar` when ``google_client_id`` is set, else None (calendars
    cannot be connected; the calendar use cases answer ``not_configured``)."""
    if not settings.google_client_id:
        return None
    return build_google_calendar(settings, secrets, clock, ids)
