"""The team's accounts through the API: invitations, resets, password changes, disabling,
two-step verification, and the audit trail they leave."""

from __future__ import annotations

import pyotp
import pytest

from tests.e2e.conftest import AUTH, PASSWORD, _bearer, _login

NEW_PASSWORD = "another long passphrase"


async def _admin(api):
    return _bearer((await _login(api, "admin@clinica.com.br")).json())


async def _id(api, email):
    return api.users[email].id


async def _audit_actions(api):
    page = (await api.get("/api/v1/audit", params={"limit": 200}, headers=AUTH)).json()
    oldest_first = reversed(page["items"])
    return [(r["action"], r["resource_id"], r["details"]) for r in oldest_first]


async def test_an_invited_person_sets_a_password_once_and_is_logged_in(api, clock):
    admin = await _admin(api)
    invited = await api.post(
        "/api/v1/users/invitations",
        json={"name": "Carla  Souza", "email": "Carla@Clinica.com.br", "role": "secretary"},
        headers=admin,
    )
    assert invited.status_code == 201, invited.text
    assert invited.headers["cache-control"] == "no-store"
    body = invited.json()
    assert body["user"]["status"] == "invited"
    assert body["user"]["name"] == "Carla Souza"
    user_id = body["user"]["id"]
    assert (await _login(api, "carla@clinica.com.br", "")).status_code in (401, 400)

    accept = {"token": body["token"], "password": "short"}
    weak = await api.post("/api/v1/auth/invitations/accept", json=accept)
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"
    accept["password"] = NEW_PASSWORD
    accepted = await api.post("/api/v1/auth/invitations/accept", json=accept)
    assert accepted.status_code == 200, accepted.text
    me = (await api.get("/api/v1/me", headers=_bearer(accepted.json()))).json()
    assert (me["id"], me["status"], me["role"]) == (user_id, "active", "secretary")

    again = await api.post("/api/v1/auth/invitations/accept", json=accept)
    assert again.status_code == 401
    assert (await _login(api, "carla@clinica.com.br", NEW_PASSWORD)).status_code == 200
    actions = [a for a, resource, _ in await _audit_actions(api) if resource == user_id]
    assert actions[:2] == ["user.invite", "user.invitation_accept"]
    assert "auth.login" in actions


async def test_an_invitation_expires_and_a_new_one_replaces_the_old(api, clock):
    admin = await _admin(api)
    person = {"name": "Dora", "email": "dora@clinica.com.br", "role": "manager"}
    first = (await api.post("/api/v1/users/invitations", json=person, headers=admin)).json()
    second = (await api.post("/api/v1/users/invitations", json=person, headers=admin)).json()
    assert second["user"]["id"] == first["user"]["id"]
    old = {"token": first["token"], "password": NEW_PASSWORD}
    assert (await api.post("/api/v1/auth/invitations/accept", json=old)).status_code == 401
    clock.advance(days=7, seconds=1)
    late = {"token": second["token"], "password": NEW_PASSWORD}
    assert (await api.post("/api/v1/auth/invitations/accept", json=late)).status_code == 401


async def test_inviting_an_existing_account_is_a_conflict(api):
    admin = await _admin(api)
    person = {"name": "Ana", "email": "ana@clinica.com.br", "role": "secretary"}
    answer = await api.post("/api/v1/users/invitations", json=person, headers=admin)
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["field"] == "email"


async def test_a_reset_token_sets_a_new_password_and_ends_every_session(api, clock):
    admin = await _admin(api)
    ana = await _id(api, "ana@clinica.com.br")
    session = (await _login(api, "ana@clinica.com.br")).json()
    for _ in range(6):  # and she had locked herself out
        await _login(api, "ana@clinica.com.br", "wrong password!")
    issued = await api.post(f"/api/v1/users/{ana}/password-reset", headers=admin)
    assert issued.status_code == 201
    reset = {"token": issued.json()["token"], "password": NEW_PASSWORD}
    assert (await api.post("/api/v1/auth/password-reset", json=reset)).status_code == 204
    assert (await api.post("/api/v1/auth/password-reset", json=reset)).status_code == 401
    refresh = {"refresh_token": session["refresh_token"]}
    assert (await api.post("/api/v1/auth/refresh", json=refresh)).status_code == 401
    assert (await _login(api, "ana@clinica.com.br")).status_code == 401
    assert (await _login(api, "ana@clinica.com.br", NEW_PASSWORD)).status_code == 200


async def test_a_reset_token_lasts_an_hour(api, clock):
    admin = await _admin(api)
    ana = await _id(api, "ana@clinica.com.br")
    token = (await api.post(f"/api/v1/users/{ana}/password-reset", headers=admin)).json()["token"]
    clock.advance(hours=1)
    reset = {"token": token, "password": NEW_PASSWORD}
    assert (await api.post("/api/v1/auth/password-reset", json=reset)).status_code == 401


async def test_changing_one_s_password_needs_the_current_one_and_ends_other_sessions(api):
    other_device = (await _login(api, "bia@clinica.com.br")).json()
    session = (await _login(api, "bia@clinica.com.br")).json()
    change = {"current_password": "wrong password!", "new_password": NEW_PASSWORD}
    wrong = await api.post("/api/v1/me/password", json=change, headers=_bearer(session))
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    change["current_password"] = PASSWORD
    changed = await api.post("/api/v1/me/password", json=change, headers=_bearer(session))
    assert changed.status_code == 200, changed.text
    refresh = {"refresh_token": other_device["refresh_token"]}
    assert (await api.post("/api/v1/auth/refresh", json=refresh)).status_code == 401
    mine = {"refresh_token": changed.json()["refresh_token"]}
    assert (await api.post("/api/v1/auth/refresh", json=mine)).status_code == 200
    assert (await _login(api, "bia@clinica.com.br", NEW_PASSWORD)).status_code == 200


async def test_one_s_own_name_can_change(api):
    session = _bearer((await _login(api, "bia@clinica.com.br")).json())
    answer = await api.patch("/api/v1/me", json={"name": "Bia Lima"}, headers=session)
    assert answer.status_code == 200 and answer.json()["name"] == "Bia Lima"
    refused = await api.patch("/api/v1/me", json={"role": "admin"}, headers=session)
    assert refused.status_code == 400  # not a field of one's profile


async def test_a_disabled_account_can_neither_log_in_nor_refresh(api):
    admin = await _admin(api)
    bia = await _id(api, "bia@clinica.com.br")
    session = (await _login(api, "bia@clinica.com.br")).json()
    disabled = await api.patch(f"/api/v1/users/{bia}", json={"active": False}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert (await _login(api, "bia@clinica.com.br")).status_code == 401
    refresh = {"refresh_token": session["refresh_token"]}
    assert (await api.post("/api/v1/auth/refresh", json=refresh)).status_code == 401
    enabled = await api.patch(f"/api/v1/users/{bia}", json={"active": True}, headers=admin)
    assert enabled.json()["status"] == "active"
    assert (await _login(api, "bia@clinica.com.br")).status_code == 200
    details = [d for a, r, d in await _audit_actions(api) if a == "user.update" and r == bia]
    assert details[0]["active"] == "false" and details[1]["active"] == "true"


async def test_the_clinic_always_keeps_an_admin(api):
    admin = await _admin(api)
    me = await _id(api, "admin@clinica.com.br")
    demote = await api.patch(f"/api/v1/users/{me}", json={"role": "manager"}, headers=admin)
    assert demote.status_code == 409 and demote.json()["code"] == "invalid_state"
    leave = await api.patch(f"/api/v1/users/{me}", json={"active": False}, headers=admin)
    assert leave.status_code == 409
    manager = await _id(api, "manager@clinica.com.br")
    promote = await api.patch(f"/api/v1/users/{manager}", json={"role": "admin"}, headers=admin)
    assert promote.status_code == 200
    assert (
        await api.patch(f"/api/v1/users/{me}", json={"role": "manager"}, headers=admin)
    ).status_code == 200


async def test_managers_see_the_team_but_only_admins_change_it(api):
    manager = _bearer((await _login(api, "manager@clinica.com.br")).json())
    team = (await api.get("/api/v1/users", headers=manager)).json()
    assert {u["email"] for u in team} >= {"admin@clinica.com.br", "ana@clinica.com.br"}
    assert all("password_hash" not in u for u in team)
    ana = await _id(api, "ana@clinica.com.br")
    assert (await api.get(f"/api/v1/users/{ana}", headers=manager)).status_code == 200
    refused = await api.patch(f"/api/v1/users/{ana}", json={"name": "x"}, headers=manager)
    assert refused.status_code == 403
    assert (await api.get("/api/v1/users/nope", headers=manager)).status_code == 404


async def _enrol(api, session, clock):
    started = await api.post("/api/v1/me/mfa/totp", headers=session)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["provisioning_uri"].startswith("otpauth://totp/Porfin:")
    assert body["qr_code"].startswith("data:image/svg+xml")
    totp = pyotp.TOTP(body["secret"])
    wrong = await api.post("/api/v1/me/mfa/totp/confirm", json={"code": "000000"}, headers=session)
    assert wrong.status_code == 422
    code = {"code": totp.at(clock.now())}
    confirmed = await api.post("/api/v1/me/mfa/totp/confirm", json=code, headers=session)
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


async def test_two_step_verification_asks_for_a_code_once_enrolled(api, clock):
    session = _bearer((await _login(api, "ana@clinica.com.br")).json())
    totp, codes = await _enrol(api, session, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await api.get("/api/v1/me", headers=session)).json()["mfa_enabled"] is True

    needed = await _login(api, "ana@clinica.com.br")
    assert needed.status_code == 401 and needed.json()["code"] == "mfa_required"
    clock.advance(seconds=30)  # the enrolment spent the previous code
    login = {"email": "ana@clinica.com.br", "password": PASSWORD, "otp": totp.at(clock.now())}
    assert (await api.post("/api/v1/auth/login", json=login)).status_code == 200
    replay = await api.post("/api/v1/auth/login", json=login)
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_credentials"

    login["otp"] = codes[0].upper()  # a recovery code, however typed, works once
    assert (await api.post("/api/v1/auth/login", json=login)).status_code == 200
    assert (await api.post("/api/v1/auth/login", json=login)).status_code == 401

    # a wrong password with a right code is still a wrong password
    clock.advance(seconds=30)
    bad = {"email": "ana@clinica.com.br", "password": "nope nope nope", "otp": totp.at(clock.now())}
    assert (await api.post("/api/v1/auth/login", json=bad)).json()["code"] == "invalid_credentials"


async def test_wrong_codes_count_towards_the_lockout(api, clock):
    session = _bearer((await _login(api, "ana@clinica.com.br")).json())
    await _enrol(api, session, clock)
    login = {"email": "ana@clinica.com.br", "password": PASSWORD, "otp": "123456"}
    answers = [(await api.post("/api/v1/auth/login", json=login)).status_code for _ in range(6)]
    assert answers == [401] * 5 + [423]
    ana = await _id(api, "ana@clinica.com.br")
    events = [(a, d) for a, r, d in await _audit_actions(api) if r == ana]
    assert [d["reason"] for a, d in events if a == "auth.login_failed"] == ["code"] * 6
    assert [a for a, _ in events].count("auth.lockout") == 1


async def test_two_step_verification_turned_off_by_its_owner_or_an_admin(api, clock):
    session = _bearer((await _login(api, "ana@clinica.com.br")).json())
    await _enrol(api, session, clock)
    wrong = await api.post(
        "/api/v1/me/mfa/disable", json={"password": "wrong password!"}, headers=session
    )
    assert wrong.status_code == 422
    off = await api.post("/api/v1/me/mfa/disable", json={"password": PASSWORD}, headers=session)
    assert off.status_code == 204
    assert (await _login(api, "ana@clinica.com.br")).status_code == 200

    clock.advance(seconds=30)
    await _enrol(api, session, clock)
    ana = await _id(api, "ana@clinica.com.br")
    admin = await _admin(api)
    assert (await api.delete(f"/api/v1/users/{ana}/mfa", headers=admin)).status_code == 204
    assert (await _login(api, "ana@clinica.com.br")).status_code == 200


async def test_recovery_codes_can_be_replaced(api, clock):
    session = _bearer((await _login(api, "ana@clinica.com.br")).json())
    _, old = await _enrol(api, session, clock)
    answer = await api.post(
        "/api/v1/me/mfa/recovery-codes", json={"password": PASSWORD}, headers=session
    )
    assert answer.status_code == 200
    new = answer.json()["recovery_codes"]
    assert set(new).isdisjoint(old)
    login = {"email": "ana@clinica.com.br", "password": PASSWORD, "otp": old[0]}
    assert (await api.post("/api/v1/auth/login", json=login)).status_code == 401
    login["otp"] = new[0]
    assert (await api.post("/api/v1/auth/login", json=login)).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/me/mfa/totp", "/api/v1/me/password"])
async def test_the_admin_token_has_no_profile(api, path):
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    answer = await api.post(path, json=body, headers=AUTH)
    assert answer.status_code == 404


async def test_logins_lockouts_and_refresh_reuse_are_audited(api):
    await _login(api, "bia@clinica.com.br", "wrong password!")
    first = (await _login(api, "bia@clinica.com.br")).json()
    await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    bia = await _id(api, "bia@clinica.com.br")
    actions = [a for a, r, _ in await _audit_actions(api) if r == bia]
    assert actions == ["user.create", "auth.login_failed", "auth.login", "auth.refresh_reuse"]
    verified = (await api.get("/api/v1/audit", headers=AUTH)).status_code
    assert verified == 200


async def test_a_disabled_account_s_access_token_stops_working_within_seconds(api, clock):
    admin = await _admin(api)
    bia = await _id(api, "bia@clinica.com.br")
    session = _bearer((await _login(api, "bia@clinica.com.br")).json())
    assert (await api.get("/api/v1/me", headers=session)).status_code == 200
    await api.patch(f"/api/v1/users/{bia}", json={"active": False}, headers=admin)
    clock.advance(seconds=5)
    refused = await api.get("/api/v1/me", headers=session)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the account is disabled"


async def test_a_new_role_applies_before_the_access_token_expires(api, clock):
    admin = await _admin(api)
    bia = await _id(api, "bia@clinica.com.br")
    session = _bearer((await _login(api, "bia@clinica.com.br")).json())
    assert (await api.get("/api/v1/users", headers=session)).status_code == 403
    await api.patch(f"/api/v1/users/{bia}", json={"role": "manager"}, headers=admin)
    clock.advance(seconds=5)
    assert (await api.get("/api/v1/users", headers=session)).status_code == 200
