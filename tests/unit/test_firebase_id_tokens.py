"""Firebase ID tokens checked against keys served by a local stand-in for Google's endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from datetime import UTC, datetime

import jwt
import pytest

from porfin_adapters.security.firebase import (
    FirebaseIdTokenVerifier,
    GooglePublicKeys,
    build_identity_verifiers,
    freshness,
    parse_public_keys,
)
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.errors import IdentityProviderUnavailable, InvalidCredentials
from tests.keyserver import PROJECT, KeyServer, SigningKey, id_token_claims, signing_key


@pytest.fixture
def key_a():
    return signing_key("key-a")


@pytest.fixture
def key_b():
    return signing_key("key-b")


@pytest.fixture
def server(key_a):
    with KeyServer() as serving:
        serving.publish_x509(key_a)
        yield serving


@pytest.fixture
def verifier(server):
    return FirebaseIdTokenVerifier(PROJECT, GooglePublicKeys(server.url))


def _b64(document) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


async def _refused(verifier, token, clock) -> str:
    with pytest.raises(InvalidCredentials) as refused:
        await verifier.verify(token, clock.now())
    return refused.value.fields["reason"]


@pytest.mark.parametrize("document", ["x509", "jwks"])
async def test_a_genuine_token_gives_the_identity(server, verifier, key_a, clock, document):
    if document == "jwks":
        server.publish_jwks(key_a)
    identity = await verifier.verify(key_a.sign(id_token_claims(clock.now())), clock.now())
    assert identity.provider == "firebase"
    assert identity.subject == "firebase-uid-1"
    assert (identity.email, identity.email_verified) == ("ana@clinica.com.br", True)
    assert identity.sign_in_method == "password"
    assert identity.authenticated_at == datetime.fromtimestamp(
        clock.now().timestamp() - 300, tz=UTC
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "another-project"}, "audience"),
        ({"aud": [PROJECT, "another-project"]}, "audience"),
        ({"iss": "https://securetoken.google.com/another-project"}, "issuer"),
        ({"iss": "https://accounts.google.com"}, "issuer"),
        ({"sub": ""}, "subject"),
        ({"sub": "x" * 129}, "subject"),
        ({"sub": None}, "missing_claim"),
        ({"sub": 42}, "subject"),
        ({"auth_time": None}, "missing_claim"),
        ({"exp": "tomorrow"}, "malformed"),
    ],
)
async def test_claims_of_another_project_or_malformed_are_refused(
    verifier, key_a, clock, overrides, reason
):
    token = key_a.sign(id_token_claims(clock.now(), **overrides))
    assert await _refused(verifier, token, clock) == reason


@pytest.mark.parametrize(
    ("offsets", "reason"),
    [
        ({"exp": -60}, "expired"),
        ({"iat": +61}, "issued_in_future"),
        ({"auth_time": +61}, "auth_time"),
        ({"nbf": +61}, "not_yet_valid"),
    ],
)
async def test_times_are_checked_against_the_clock_with_a_minute_of_leeway(
    verifier, key_a, clock, offsets, reason
):
    at = int(clock.now().timestamp())
    beyond = {name: at + offset for name, offset in offsets.items()}
    assert await _refused(verifier, key_a.sign(id_token_claims(clock.now(), **beyond)), clock) == (
        reason
    )
    within = {name: at + offset + (1 if offset < 0 else -1) for name, offset in offsets.items()}
    assert await verifier.verify(key_a.sign(id_token_claims(clock.now(), **within)), clock.now())


async def test_a_token_signed_by_another_key_or_tampered_with_is_refused(
    verifier, key_a, key_b, clock
):
    forged = key_b.sign(id_token_claims(clock.now()), kid=key_a.kid)
    assert await _refused(verifier, forged, clock) == "signature"
    header, payload, signature = key_a.sign(id_token_claims(clock.now())).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email"] = "admin@clinica.com.br"
    altered = _b64(claims)
    assert await _refused(verifier, f"{header}.{altered}.{signature}", clock) == "signature"


async def test_only_rs256_is_accepted(verifier, key_a, clock):
    claims = id_token_claims(clock.now())
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": key_a.kid})
    assert await _refused(verifier, unsigned, clock) == "algorithm"
    # Key confusion: HMAC with the public key as the secret must not pass for RS256.
    signed = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key_a.kid})}.{_b64(claims)}"
    mac = hmac.new(key_a.public_pem(), signed.encode(), hashlib.sha256).digest()
    confused = f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert await _refused(verifier, confused, clock) == "algorithm"
    rs512 = jwt.encode(claims, key_a.private, algorithm="RS512", headers={"kid": key_a.kid})
    assert await _refused(verifier, rs512, clock) == "algorithm"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.x"])
async def test_garbage_is_refused(verifier, clock, token):
    assert await _refused(verifier, token, clock) in ("malformed", "unknown_key")


async def test_an_unknown_key_refetches_at_most_once_a_minute(
    server, verifier, key_a, key_b, clock
):
    assert await verifier.verify(key_a.sign(id_token_claims(clock.now())), clock.now())
    assert server.hits == 1
    stranger = signing_key("key-nobody-knows")
    for _ in range(3):
        token = stranger.sign(id_token_claims(clock.now()))
        assert await _refused(verifier, token, clock) == "unknown_key"
    assert server.hits == 1  # fetched less than a minute ago: no refetch
    no_kid = jwt.encode(id_token_claims(clock.now()), key_a.private, algorithm="RS256")
    assert await _refused(verifier, no_kid, clock) == "unknown_key"
    clock.advance(seconds=61)
    server.publish_x509(key_a, key_b)  # Google rotated before our max-age ran out
    token_b = key_b.sign(id_token_claims(clock.now()))
    assert (await verifier.verify(token_b, clock.now())).subject == "firebase-uid-1"
    assert server.hits == 2
    for _ in range(3):
        await _refused(verifier, stranger.sign(id_token_claims(clock.now())), clock)
    assert server.hits == 2


async def test_keys_are_kept_for_max_age_and_rotation_is_picked_up_after_it(
    server, verifier, key_a, key_b, clock
):
    server.publish_x509(key_a, max_age=3600)
    for _ in range(3):
        assert await verifier.verify(key_a.sign(id_token_claims(clock.now())), clock.now())
    assert server.hits == 1
    server.publish_jwks(key_b)  # rotated: key A withdrawn, key B in
    clock.advance(seconds=3599)
    assert await verifier.verify(key_a.sign(id_token_claims(clock.now())), clock.now())
    assert server.hits == 1
    clock.advance(seconds=1)
    assert await verifier.verify(key_b.sign(id_token_claims(clock.now())), clock.now())
    assert server.hits == 2
    assert await _refused(verifier, key_a.sign(id_token_claims(clock.now())), clock) == (
        "unknown_key"
    )


async def test_an_outage_is_its_own_error_and_requests_back_off(server, verifier, key_a, clock):
    token = key_a.sign(id_token_claims(clock.now()))
    server.status = 500
    with pytest.raises(IdentityProviderUnavailable):
        await verifier.verify(token, clock.now())
    with pytest.raises(IdentityProviderUnavailable):
        await verifier.verify(token, clock.advance(seconds=4))
    assert server.hits == 1  # failed a moment ago: fail fast instead of queueing on it
    server.status = 200
    clock.advance(seconds=1)
    assert await verifier.verify(key_a.sign(id_token_claims(clock.now())), clock.now())
    assert server.hits == 2


@pytest.mark.parametrize("body", [b"<html>", b"[]", b"{}", b'{"keys": [{"kty": "oct"}]}'])
async def test_a_document_without_usable_keys_is_an_outage(server, verifier, key_a, clock, body):
    server.body = body
    with pytest.raises(IdentityProviderUnavailable):
        await verifier.verify(key_a.sign(id_token_claims(clock.now())), clock.now())


async def test_an_unreachable_key_server_is_an_outage(key_a, clock):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = FirebaseIdTokenVerifier(PROJECT, GooglePublicKeys(f"http://127.0.0.1:{port}/k"))
    with pytest.raises(IdentityProviderUnavailable, match="cannot fetch"):
        await verifier.verify(key_a.sign(id_token_claims(clock.now())), clock.now())


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"cache-control": "public, max-age=19204, must-revalidate, no-transform"}, 19204),
        ({"cache-control": "public, max-age=19204", "age": "204"}, 19000),
        ({"cache-control": 'max-age="600"'}, 600),
        ({}, 300),
        ({"cache-control": "public"}, 300),
        ({"cache-control": "no-cache"}, 60),
        ({"cache-control": "max-age=0"}, 60),
        ({"cache-control": "max-age=99999999999999999999999"}, 86400),
    ],
)
def test_freshness_follows_cache_control(headers, seconds):
    assert freshness(headers).total_seconds() == seconds


def test_weak_keys_and_other_key_types_are_ignored():
    weak = SigningKey("weak", bits=1024)
    with pytest.raises(ValueError, match="no usable"):
        parse_public_keys(json.dumps({"weak": weak.certificate_pem(), "x": "junk"}).encode())
    hs = {"kty": "oct", "kid": "h", "k": "c2VjcmV0"}
    other_use = {**signing_key("key-a").jwk(), "use": "enc"}
    with pytest.raises(ValueError, match="no usable"):
        parse_public_keys(json.dumps({"keys": [hs, weak.jwk(), other_use]}).encode())


def test_firebase_is_wired_only_with_a_project(tmp_path):
    off = Settings(storage=StorageKind.MEMORY, data_dir=tmp_path)
    assert build_identity_verifiers(off) == {}
    on = Settings(storage=StorageKind.MEMORY, data_dir=tmp_path, firebase_project_id=PROJECT)
    verifier = build_identity_verifiers(on)["firebase"]
    assert isinstance(verifier, FirebaseIdTokenVerifier)
    assert verifier.issuer == f"https://securetoken.google.com/{PROJECT}"
