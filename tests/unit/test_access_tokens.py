"""Access tokens live by the Clock port's time, not the machine's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from porfin_adapters.security.tokens import JwtAccessTokens
from porfin_core.domain.staff import Role
from porfin_core.errors import InvalidCredentials
from porfin_core.ports.auth import Principal

TOKENS = JwtAccessTokens("s" * 43, timedelta(minutes=15))
PRINCIPAL = Principal("user-1", "clinic-1", Role.SECRETARY)
# Two days ahead of the machine's clock: a test clock, or a clinic's server set that way.
ISSUED = datetime.now(UTC) + timedelta(days=2)


def test_a_token_issued_by_the_clock_is_read_at_that_clock():
    token = TOKENS.issue(PRINCIPAL, ISSUED)
    assert TOKENS.read(token.token, ISSUED + timedelta(minutes=14)) == PRINCIPAL


def test_it_expires_by_the_clock():
    token = TOKENS.issue(PRINCIPAL, ISSUED)
    with pytest.raises(InvalidCredentials, match="expired"):
        TOKENS.read(token.token, ISSUED + timedelta(minutes=15))


def test_one_issued_in_the_future_of_the_clock_is_refused():
    token = TOKENS.issue(PRINCIPAL, ISSUED)
    with pytest.raises(InvalidCredentials):
        TOKENS.read(token.token, ISSUED - timedelta(minutes=5))
