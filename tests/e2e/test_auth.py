"""Accounts, sessions and roles through the API."""

from __future__ import annotations

import re

import pytest

from porfin_core.domain.clinic import Role
from porfin_core.permissions import allows
from tests.e2e.conftest import AUTH, PASSWORD, _bearer, _login


async def _user(container, api, role="secretary", email=None):
    return api.users[email or f"{role}@clinica.com.br"]


async def test_login_gives_tokens_that_open_the_api(container, api):
    answer = await _login(api, "  Gerente@Clinica.com.br ")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    session = answer.json()
    assert session["token_type"] == "bearer"
    assert session["expires_in"] == 15 * 60
    me = (await api.get("/api/v1/me", headers=_bearer(session))).json()
    assert (me["email"], me["role"]) == ("gerente@clinica.com.br", "manager")
    assert "chats.all" in me["permissions"]
    assert "users.manage" not in me["permissions"]
    assert (await api.get("/api/v1/chats", headers=_bearer(session))).status_code == 200


async def test_the_oauth2_password_form_logs_in_too(container, api):
    await _user(container, api)
    answer = await api.post(
        "/api/v1/auth/token",
        data={
            "username": "secretary@clinica.com.br",
            "password": PASSWORD,
            "grant_type": "password",
        },
    )
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "bearer"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("secretary@clinica.com.br", "wrong password!"),
        ("nobody@clinica.com.br", PASSWORD),
        ("not-an-email", PASSWORD),
    ],
)
async def test_wrong_credentials_are_one_answer(container, api, email, password):
    await _user(container, api)
    answer = await _login(api, email, password)
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_credentials"
    assert answer.json()["detail"] == "wrong e-mail or password"


async def test_six_failures_in_a_minute_lock_the_account_for_its_window(container, api, clock):
    await _user(container, api)
    for _ in range(5):
        assert (await _login(api, "secretary@clinica.com.br", "wrong password!")).status_code == 401
    locked = await _login(api, "secretary@clinica.com.br", "wrong password!")
    assert locked.status_code == 423
    assert locked.json()["code"] == "account_locked"
    assert int(locked.headers["retry-after"]) == 15 * 60
    clock.advance(minutes=14)
    still = await _login(api, "secretary@clinica.com.br")  # even the right password
    assert still.status_code == 423
    clock.advance(minutes=1, seconds=1)
    assert (await _login(api, "secretary@clinica.com.br")).status_code == 200


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(container, api):
    await _user(container, api)
    first = (await _login(api, "secretary@clinica.com.br")).json()
    second = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    reused = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["reason"] == "reused"
    after = await api.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["reason"] == "revoked"


async def test_logout_revokes_the_refresh_token(container, api):
    await _user(container, api)
    session = (await _login(api, "secretary@clinica.com.br")).json()
    body = {"refresh_token": session["refresh_token"]}
    assert (await api.post("/api/v1/auth/logout", json=body)).status_code == 204
    assert (await api.post("/api/v1/auth/refresh", json=body)).status_code == 401
    assert (await api.post("/api/v1/auth/logout", json=body)).status_code == 204  # idempotent


async def test_an_expired_or_forged_access_token_is_refused(container, api, clock):
    await _user(container, api)
    session = (await _login(api, "secretary@clinica.com.br")).json()
    forged = session["access_token"][:-2] + ("AA" if session["access_token"][-2:] != "AA" else "BB")
    assert (
        await api.get("/api/v1/me", headers=_bearer({"access_token": forged}))
    ).status_code == 401
    clock.advance(minutes=15)
    expired = await api.get("/api/v1/me", headers=_bearer(session))
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"].startswith("Bearer")


PUBLIC_WITH_THEIR_OWN_CREDENTIAL = {
    # Google redirects the browser here: the signed, expiring ``state`` is the credential.
    "/api/v1/calendar/oauth/callback",
    # Calendar apps subscribe to the feed URL: its 256-bit token is the credential.
    "/api/v1/professionals/{professional_id:str}/calendar.ics",
}


async def test_every_operation_allows_exactly_the_roles_of_the_permission_table(container, api):
    tokens = {}
    for role in Role:
        await _user(container, api, role.value)
        tokens[role] = _bearer((await _login(api, f"{role.value}@clinica.com.br")).json())
    checked = 0
    for route in api.app.routes:
        if not route.path.startswith("/api/v1") or route.path.startswith("/api/v1/auth"):
            continue
        if route.path in PUBLIC_WITH_THEIR_OWN_CREDENTIAL:
            continue
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items():
            if method == "OPTIONS":
                continue
            permission = handler.opt.get("permission")
            assert permission is not None, (method, route.path)  # every operation declares one
            url = re.sub(r"\{[^}]+\}", "nope", route.path)
            for role, headers in tokens.items():
                answer = await api.request(method, url, headers=headers, json={})
                denied = answer.status_code == 403
                assert denied is not allows(role, permission), (method, url, role, answer.text)
            checked += 1
    assert checked >= 6


async def test_the_admin_token_still_works_for_automation(container, api):
    assert (await api.get("/api/v1/chats", headers=AUTH)).status_code == 200
    assert (await api.get("/api/v1/me", headers=AUTH)).status_code == 404


async def test_a_secretary_sees_only_her_chats_and_the_unassigned_queue(container, api):
    channel_id = (await api.get("/api/v1/channels", headers=AUTH)).json()[0]["id"]
    chat_ids = []
    for n in range(3):
        body = {"message": {"id": f"m{n}", "from": f"+55119876543{n:02d}", "text": "Oi"}}
        posted = await api.post(f"/webhooks/simulator/{channel_id}", json=body, headers=AUTH)
        chat_ids.append(posted.json()["chat_id"])
    ana = await _user(container, api, "secretary", "ana@clinica.com.br")
    await _user(container, api, "secretary", "bia@clinica.com.br")
    ana_headers = _bearer((await _login(api, "ana@clinica.com.br")).json())
    bia_headers = _bearer((await _login(api, "bia@clinica.com.br")).json())
    mine, theirs, free = chat_ids
    assert (
        await api.patch(f"/api/v1/chats/{mine}", json={"assignee_id": ana.id}, headers=ana_headers)
    ).status_code == 200
    assert (
        await api.patch(f"/api/v1/chats/{theirs}", json={"assignee_id": "someone"}, headers=AUTH)
    ).status_code == 200
    listed = (await api.get("/api/v1/chats", headers=ana_headers)).json()["items"]
    assert {c["id"] for c in listed} == {mine, free}
    for url in (f"/api/v1/chats/{theirs}", f"/api/v1/chats/{theirs}/messages"):
        assert (await api.get(url, headers=ana_headers)).status_code == 404
    other = await api.post(
        f"/api/v1/chats/{theirs}/messages", json={"text": "oi"}, headers=ana_headers
    )
    assert other.status_code == 404
    # Bia cannot see Ana's chat, and nobody but a manager may hand a chat to someone else.
    assert (await api.get(f"/api/v1/chats/{mine}", headers=bia_headers)).status_code == 404
    handing = await api.patch(
        f"/api/v1/chats/{free}", json={"assignee_id": ana.id}, headers=bia_headers
    )
    assert (handing.status_code, handing.json()["code"]) == (403, "forbidden")
