"""Fixtures shared by integration tests: the fake Google and a SQLite installation connected
to it (defined with the calendar sync tests)."""

from tests.integration.test_calendar_sync import fake, google_server, world  # noqa: F401
