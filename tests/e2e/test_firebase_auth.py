"""Logging in with a Firebase ID token through the API, against a local key server.

Set PORFIN_TEST_FIREBASE_ID_TOKEN (a fresh ID token of a user with a verified e-mail) and
PORFIN_TEST_FIREBASE_PROJECT_ID to also check a real token against Google's real keys.
"""

from __future__ import annotations

import os

import jwt
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

import porfin_adapters.container as composition
from porfin_adapters.container import create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from tests.e2e.conftest import FAST_HASHER, TOKEN
from tests.keyserver import PROJECT, KeyServer, id_token_claims, signing_key

PROBLEM = "application/problem+json"


@pytest.fixture
def key():
    return signing_key("firebase-e2e")


@pytest.fixture
def key_server(key):
    with KeyServer() as server:
        server.publish_x509(key)
        yield server


@pytest.fixture
def firebase_container(tmp_path, clock, key_server):
    settings = Settings(
        storage=StorageKind.SQLITE,
        data_dir=tmp_path,
        admin_token=TOKEN,
        firebase_project_id=PROJECT,
        firebase_keys_url=key_server.url,
    )
    container = create_container(settings)
    container.clock.override(providers.Object(clock))
    container.password_hasher.override(providers.Object(FAST_HASHER))
    return container


async def _seed(container, clock, accounts):
    """Accounts made before the API starts (the test client runs the app on its own loop)."""
    seeder = create_container(container.settings())
    seeder.clock.override(providers.Object(clock))
    seeder.password_hasher.override(providers.Object(FAST_HASHER))
    await composition.start(seeder)
    try:
        clinic_id = (await seeder.set_up_installation()()).clinic.id
        for email, role in accounts.items():
            await seeder.create_staff_user()(
                NewStaffUser(
                    clinic_id=clinic_id,
                    name=f"Ana {role}",
                    email=email,
                    role=role,
                    password="correct horse battery",
                )
            )
    finally:
        await composition.stop(seeder)


@pytest.fixture
async def api(firebase_container, clock):
    await _seed(firebase_container, clock, {"ana@clinica.com.br": "manager"})
    async with AsyncTestClient(create_app(firebase_container)) as client:
        yield client


async def _firebase(api, token):
    return await api.post("/api/v1/auth/firebase", json={"id_token": token})


async def test_a_firebase_token_logs_a_staff_user_in(api, key, clock, key_server):
    token = key.sign(id_token_claims(clock.now(), email="Ana@Clinica.com.br"))
    answer = await _firebase(api, token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    session = answer.json()
    assert (session["token_type"], session["expires_in"]) == ("bearer", 15 * 60)
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    me = await api.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200, me.text
    assert (me.json()["email"], me.json()["role"]) == ("ana@clinica.com.br", "manager")
    refreshed = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert key_server.hits == 1


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-project"}, "audience"),
        ({"iss": "https://securetoken.google.com/another-project"}, "issuer"),
        ({"email_verified": False}, "email_not_verified"),
        ({"email": "nobody@clinica.com.br"}, "no_account"),
    ],
)
async def test_refusals_say_why(api, key, clock, claims, reason):
    answer = await _firebase(api, key.sign(id_token_claims(clock.now(), **claims)))
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert (answer.json()["code"], answer.json()["reason"]) == ("invalid_credentials", reason)


async def test_an_expired_token_is_refused(api, key, clock):
    token = key.sign(id_token_claims(clock.now()))
    clock.advance(hours=1)
    answer = await _firebase(api, token)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "expired"


async def test_a_forged_token_is_refused(api, clock, key):
    token = signing_key("attacker").sign(id_token_claims(clock.now()), kid=key.kid)
    answer = await _firebase(api, token)
    assert (answer.status_code, answer.json()["reason"]) == (401, "signature")
    unsigned = jwt.encode(id_token_claims(clock.now()), None, algorithm="none")
    assert (await _firebase(api, unsigned)).json()["reason"] == "algorithm"


async def test_unreachable_keys_are_a_503_not_a_500(api, key, clock, key_server):
    key_server.status = 500
    answer = await _firebase(api, key.sign(id_token_claims(clock.now())))
    assert answer.status_code == 503
    assert answer.json()["code"] == "identity_provider_unavailable"
    assert "127.0.0.1" not in answer.text  # the cause is logged, not shown
    assert answer.headers["retry-after"]


async def test_a_malformed_body_is_a_400(api):
    assert (await api.post("/api/v1/auth/firebase", json={})).status_code == 400
    unknown_field = await api.post("/api/v1/auth/firebase", json={"id_token": "x", "uid": "y"})
    assert unknown_field.status_code == 400


def test_without_a_firebase_project_the_route_answers_404(client):
    answer = client.post("/api/v1/auth/firebase", json={"id_token": "eyJ.x.y"})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["code"] == "not_found"
    assert answer.json()["provider"] == "firebase"


def test_the_operation_is_documented(client):
    operation = client.get("/schema/openapi.json").json()["paths"]["/api/v1/auth/firebase"]["post"]
    assert operation["security"] == [{}]
    assert {"200", "400", "401", "404", "423", "503"} <= set(operation["responses"])
    for status in ("401", "404", "503"):
        content = operation["responses"][status]["content"][PROBLEM]
        assert content["examples"], status
    schema = client.get("/schema/openapi.json").json()["components"]["schemas"]
    assert schema["FirebaseLoginIn"]["properties"]["id_token"]["examples"]


@pytest.mark.skipif(
    not os.environ.get("PORFIN_TEST_FIREBASE_ID_TOKEN"),
    reason="set PORFIN_TEST_FIREBASE_ID_TOKEN and PORFIN_TEST_FIREBASE_PROJECT_ID to check a "
    "real Firebase ID token against Google's keys",
)
async def test_a_real_firebase_token_against_googles_keys():
    from porfin_adapters.security.firebase import build_identity_verifiers
    from porfin_adapters.system import SystemClock

    settings = Settings(
        storage=StorageKind.MEMORY,
        firebase_project_id=os.environ["PORFIN_TEST_FIREBASE_PROJECT_ID"],
    )
    verifier = build_identity_verifiers(settings)["firebase"]
    token = os.environ["PORFIN_TEST_FIREBASE_ID_TOKEN"]
    identity = await verifier.verify(token, SystemClock().now())
    assert identity.provider == "firebase"
    assert identity.subject
