"""IdentityTokenVerifier: the in-memory provider and Firebase (against a local key server)
keep the same promises, so use-case tests on the memory one can be trusted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from porfin_adapters.memory.identity import MemoryIdentityTokenVerifier
from porfin_adapters.security.firebase import FirebaseIdTokenVerifier, GooglePublicKeys
from porfin_core.errors import IdentityProviderUnavailable, InvalidCredentials
from tests.keyserver import PROJECT, KeyServer, id_token_claims, signing_key


class Provider:
    """A verifier, a way to mint its tokens and a way to take it offline."""

    def __init__(self, verifier, issue, go_offline) -> None:
        self.verifier = verifier
        self.issue = issue
        self.go_offline = go_offline


def _memory() -> Iterator[Provider]:
    verifier = MemoryIdentityTokenVerifier("firebase")

    def issue(now: datetime, lifetime: timedelta, email: str, verified: bool) -> str:
        return verifier.issue(now + lifetime, subject="uid-7", email=email, email_verified=verified)

    def go_offline() -> None:
        verifier.available = False

    yield Provider(verifier, issue, go_offline)


def _firebase() -> Iterator[Provider]:
    key = signing_key("contract")
    with KeyServer() as server:
        server.publish_jwks(key)
        verifier = FirebaseIdTokenVerifier(PROJECT, GooglePublicKeys(server.url))

        def issue(now: datetime, lifetime: timedelta, email: str, verified: bool) -> str:
            exp = int((now + lifetime).timestamp())
            claims = id_token_claims(
                now, uid="uid-7", email=email, email_verified=verified, exp=exp
            )
            return key.sign(claims)

        def go_offline() -> None:
            server.status = 503

        yield Provider(verifier, issue, go_offline)


@pytest.fixture(params=["memory", "firebase"])
def provider(request) -> Iterator[Provider]:
    yield from {"memory": _memory, "firebase": _firebase}[request.param]()


async def test_a_genuine_token_names_the_person(provider, clock):
    token = provider.issue(clock.now(), timedelta(hours=1), "ana@clinica.com.br", True)
    identity = await provider.verifier.verify(token, clock.now())
    assert (identity.provider, identity.subject) == ("firebase", "uid-7")
    assert (identity.email, identity.email_verified) == ("ana@clinica.com.br", True)


async def test_an_unverified_email_is_reported_as_such(provider, clock):
    token = provider.issue(clock.now(), timedelta(hours=1), "ana@clinica.com.br", False)
    assert (await provider.verifier.verify(token, clock.now())).email_verified is False


async def test_an_expired_token_is_refused(provider, clock):
    token = provider.issue(clock.now(), timedelta(minutes=5), "ana@clinica.com.br", True)
    clock.advance(hours=1)
    with pytest.raises(InvalidCredentials) as refused:
        await provider.verifier.verify(token, clock.now())
    assert refused.value.fields["reason"] == "expired"


async def test_a_token_it_did_not_issue_is_refused(provider, clock):
    with pytest.raises(InvalidCredentials):
        await provider.verifier.verify("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", clock.now())


async def test_a_provider_that_cannot_be_reached_says_so(provider, clock):
    token = provider.issue(clock.now(), timedelta(hours=1), "ana@clinica.com.br", True)
    provider.go_offline()
    with pytest.raises(IdentityProviderUnavailable):
        await provider.verifier.verify(token, clock.now())
