"""Tenant isolation: every operation, called with another clinic's ids, answers 404 (never 403:
the API does not reveal what other clinics hold), and no list shows another clinic's records."""

from __future__ import annotations

import re

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

import porfin_adapters.container as composition
from porfin_adapters.container import create_container
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.clinic import Clinic
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from tests.e2e.conftest import AUTH, FAST_HASHER, PASSWORD, _bearer, _login

# A body each operation accepts, so that the answer is about the id, not the body.
BODIES = {
    ("PATCH", "/api/v1/chats/{chat_id}"): {"mode": "human"},
    ("POST", "/api/v1/chats/{chat_id}/messages"): {"text": "Olá"},
    ("PATCH", "/api/v1/customers/{customer_id}"): {"name": "Outro nome"},
    ("POST", "/api/v1/customers/{customer_id}/merge"): {"duplicate_id": "nope"},
    ("PATCH", "/api/v1/channels/{channel_id}"): {"name": "Outro nome"},
    ("PATCH", "/api/v1/users/{user_id}"): {"name": "Outro nome"},
    ("PATCH", "/api/v1/professionals/{professional_id}"): {"name": "Outro nome"},
    ("PATCH", "/api/v1/appointment-types/{type_id}"): {"name": "Outro nome"},
    ("POST", "/api/v1/appointments/{appointment_id}/reschedule"): {
        "start": "2026-11-27T10:00:00-03:00"
    },
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): {"reason": "Outro motivo"},
    ("POST", "/api/v1/charges/{charge_id}/mark-paid"): {"amount_cents": 100},
    ("POST", "/api/v1/charges/{charge_id}/cancel"): {"reason": "Outro motivo"},
    ("PATCH", "/api/v1/assistants/{assistant_id}"): {"tone": "outro"},
    ("POST", "/api/v1/assistants/{assistant_id}/sandbox"): {
        "transcript": [{"role": "patient", "text": "oi"}]
    },
    ("POST", "/api/v1/assistants/{assistant_id}/sandbox/stream"): {
        "transcript": [{"role": "patient", "text": "oi"}]
    },
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


@pytest.fixture
async def other_clinic(container, clock, users):
    """A second clinic with its own channel and admin, stored before the app starts."""
    seeder = create_container(container.settings())
    seeder.clock.override(providers.Object(clock))
    seeder.password_hasher.override(providers.Object(FAST_HASHER))
    await composition.start(seeder)
    try:
        clinic = Clinic(id="clinic-b", name="Outra Clínica")
        channel = Channel(
            id="channel-b",
            clinic_id=clinic.id,
            name="Recepção B",
            provider=Provider.SIMULATOR,
            created_at=clock.now(),
        )
        async with seeder.uow_factory()() as uow:
            await uow.clinics.save(clinic)
            await uow.channels.save(channel)
            await uow.commit()
        admin = await seeder.create_staff_user()(
            NewStaffUser(
                clinic_id=clinic.id,
                name="Beto",
                email="beto@outra.com.br",
                role="admin",
                password=PASSWORD,
            )
        )
        return {"clinic_id": clinic.id, "channel_id": channel.id, "user_id": admin.id}
    finally:
        await composition.stop(seeder)


@pytest.fixture
async def both(container, users, other_clinic):
    async with AsyncTestClient(create_app(container)) as client:
        client.users = users
        yield client


async def _foreign_ids(api, other_clinic) -> dict[str, str]:
    """Clinic B's ids of every kind: its admin creates what it can through the API."""
    beto = _bearer((await _login(api, "beto@outra.com.br")).json())
    body = {"message": {"id": "b-1", "from": "+5521987654321", "text": "Oi, clínica B"}}
    received = await api.post(
        f"/webhooks/simulator/{other_clinic['channel_id']}", json=body, headers=AUTH
    )
    assert received.status_code == 200, received.text
    [chat] = (await api.get("/api/v1/chats", headers=beto)).json()["items"]
    timeline = await api.get(f"/api/v1/chats/{chat['id']}/messages", headers=beto)
    ids = {
        "chat_id": chat["id"],
        "message_id": timeline.json()["items"][0]["id"],
        "customer_id": chat["customer_id"],
        "channel_id": other_clinic["channel_id"],
        "user_id": other_clinic["user_id"],
    }
    upload = await api.post(
        "/api/v1/media",
        files={"file": ("nota.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        headers=beto,
    )
    if upload.status_code == 201:
        ids["media_id"] = upload.json()["id"]
    return (
        ids
        | await _agenda(api, beto, chat["customer_id"])
        | await _charge(api, beto, chat)
        | await _knowledge(api, beto)
        | await _assistant(api, beto)
    )


async def _assistant(api, headers) -> dict[str, str]:
    """An AI assistant of the clinic."""
    created = await api.post("/api/v1/assistants", json={"name": "Bia"}, headers=headers)
    assert created.status_code == 201, created.text
    return {"assistant_id": created.json()["id"]}


async def _knowledge(api, headers) -> dict[str, str]:
    """A document of the clinic's knowledge base (a price list)."""
    price_list = b"Procedimento;Valor\nLimpeza (profilaxia);R$ 180,00\n"
    added = await api.post(
        "/api/v1/knowledge/documents",
        files={"file": ("precos-b.csv", price_list, "text/csv")},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    return {"document_id": added.json()["id"]}


async def _charge(api, headers, chat) -> dict[str, str]:
    """A charge of the clinic (its PIX key set first), delivered in the patient's chat."""
    pix = {"pix_key": "beto@outra.com.br", "pix_merchant_city": "Rio de Janeiro"}
    assert (await api.patch("/api/v1/clinic", json=pix, headers=headers)).status_code == 200
    body = {"customer_id": chat["customer_id"], "amount_cents": 5000, "description": "Sinal"}
    charge = await api.post("/api/v1/charges", json=body, headers=headers)
    assert charge.status_code == 201, charge.text
    return {"charge_id": charge.json()["id"]}


async def _agenda(api, headers, customer_id) -> dict[str, str]:
    """A clinic's professional, appointment type, closure and an appointment (Thursday
    26/11/2026, 10:00 in São Paulo; the tests' clock stands on the Wednesday before)."""
    hours = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in WEEKDAYS]
    professional = await api.post(
        "/api/v1/professionals", json={"name": "Dra. Bia", "hours": hours}, headers=headers
    )
    assert professional.status_code == 201, professional.text
    kind = await api.post(
        "/api/v1/appointment-types",
        json={"name": "Avaliação", "duration_minutes": 30},
        headers=headers,
    )
    assert kind.status_code == 201, kind.text
    closure = await api.post(
        "/api/v1/closures", json={"reason": "Recesso", "first_day": "2026-12-24"}, headers=headers
    )
    assert closure.status_code == 201, closure.text
    booked = await api.post(
        "/api/v1/appointments",
        json={
            "customer_id": customer_id,
            "type_id": kind.json()["id"],
            "start": "2026-11-26T10:00:00-03:00",
        },
        headers=headers,
    )
    assert booked.status_code == 201, booked.text
    return {
        "professional_id": professional.json()["id"],
        "type_id": kind.json()["id"],
        "closure_id": closure.json()["closure"]["id"],
        "appointment_id": booked.json()["id"],
    }


async def _own_agenda(api, admin) -> dict[str, str]:
    """The installation's clinic's agenda, with a patient of its own."""
    [channel] = (await api.get("/api/v1/channels", headers=admin)).json()
    body = {"message": {"id": "a-1", "from": "+5511987654321", "text": "Oi, clínica A"}}
    received = await api.post(f"/webhooks/simulator/{channel['id']}", json=body, headers=AUTH)
    assert received.status_code == 200, received.text
    return await _agenda(api, admin, received.json()["customer_id"])


# Lists that need a query: the clinic's own values (``{own.<name>}``) fill them in.
LIST_QUERIES = {
    "/api/v1/appointments": {"from": "2026-11-20", "to": "2026-12-31"},
    "/api/v1/slots": {"type_id": "{own.type_id}", "from": "2026-11-26"},
    "/api/v1/knowledge/search": {"q": "quanto custa a limpeza"},
}

# GET routes without ids that are not lists: the public OAuth callback (it needs a code).
NOT_LISTS = {"/api/v1/calendar/oauth/callback"}


def _operations(app):
    for route in app.routes:
        if not route.path.startswith("/api/v1") or route.path.startswith("/api/v1/auth"):
            continue
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items():
            if method not in ("OPTIONS", "HEAD"):
                yield method, route.path, handler


async def test_every_operation_answers_404_for_another_clinic_s_ids(both, other_clinic):
    foreign = await _foreign_ids(both, other_clinic)
    for caller in (_bearer((await _login(both, "admin@clinica.com.br")).json()), AUTH):
        checked = 0
        for method, path, _ in _operations(both.app):
            names = re.findall(r"\{(\w+)(?::\w+)?\}", path)
            if not names:
                continue
            template = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
            url = template.format(**{name: foreign[name] for name in names})
            answer = await both.request(
                method, url, headers=caller, json=BODIES.get((method, template))
            )
            assert answer.status_code == 404, (method, url, answer.status_code, answer.text)
            assert answer.json()["code"] == "not_found"
            checked += 1
        assert checked >= 12


async def test_no_list_shows_another_clinic_s_records(both, other_clinic):
    foreign = await _foreign_ids(both, other_clinic)
    admin = _bearer((await _login(both, "admin@clinica.com.br")).json())
    own = await _own_agenda(both, admin)
    listed = 0
    for method, path, _ in _operations(both.app):
        if method != "GET" or "{" in path or path in NOT_LISTS:
            continue
        query = {
            k: own[v.removeprefix("{own.").removesuffix("}")] if v.startswith("{own.") else v
            for k, v in LIST_QUERIES.get(path, {}).items()
        }
        answer = await both.get(path, headers=admin, params=query)
        assert answer.status_code == 200, (path, answer.text)
        for kind, value in foreign.items():
            assert value not in answer.text, (path, kind)
        listed += 1
    assert listed >= 5


async def test_a_webhook_reaches_the_clinic_of_its_channel(both, other_clinic):
    """Provider webhooks name a channel, not a clinic: another clinic's Cloud API number
    delivers into that clinic, and only there."""
    from tests.e2e.test_cloud_webhook import APP_SECRET, VERIFY, deliver, fixture

    beto = _bearer((await _login(both, "beto@outra.com.br")).json())
    cloud = {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
        "access_token": "EAAG-test-token-" + "x" * 20,
        "app_secret": APP_SECRET,
        "webhook_verify_token": VERIFY,
    }
    body = {"name": "B", "provider": "cloud_api", "phone": "+5521987654321", "cloud_api": cloud}
    created = await both.post("/api/v1/channels", json=body, headers=beto)
    assert created.status_code == 201, created.text
    answer = await deliver(both, created.json()["id"], fixture("inbound_text"))
    assert answer.status_code == 200, answer.text
    assert len((await both.get("/api/v1/chats", headers=beto)).json()["items"]) == 1
    admin = _bearer((await _login(both, "admin@clinica.com.br")).json())
    assert (await both.get("/api/v1/chats", headers=admin)).json()["items"] == []


async def test_another_clinic_s_ids_in_queries_and_bodies_are_not_found(both, other_clinic):
    """Ids of the agenda also travel in queries and bodies: another clinic's is unknown here
    (404), or, in a filter, matches nothing."""
    foreign = await _foreign_ids(both, other_clinic)
    admin = _bearer((await _login(both, "admin@clinica.com.br")).json())
    own = await _own_agenda(both, admin)
    [customer] = (await both.get("/api/v1/customers", headers=admin)).json()["items"]
    booking = {
        "customer_id": customer["id"],
        "type_id": own["type_id"],
        "professional_id": own["professional_id"],
        "start": "2026-11-27T10:00:00-03:00",
    }
    waiting = {"customer_id": customer["id"], "type_id": own["type_id"]}
    refused = [
        ("GET", "/api/v1/slots", {"type_id": foreign["type_id"]}, None),
        (
            "GET",
            "/api/v1/slots",
            {"type_id": own["type_id"], "professional_id": foreign["professional_id"]},
            None,
        ),
        ("GET", "/api/v1/agenda", {"professional_id": foreign["professional_id"]}, None),
        *(
            ("POST", "/api/v1/appointments", None, booking | {name: foreign[name]})
            for name in ("customer_id", "type_id", "professional_id")
        ),
        *(
            ("POST", "/api/v1/waitlist", None, waiting | {name: foreign[name]})
            for name in ("customer_id", "type_id", "professional_id")
        ),
    ]
    for method, path, query, body in refused:
        answer = await both.request(method, path, params=query, json=body, headers=admin)
        assert answer.status_code == 404, (method, path, query, body, answer.text)
        assert answer.json()["code"] == "not_found"
    performed_by = await both.patch(
        f"/api/v1/appointment-types/{own['type_id']}",
        json={"professional_ids": [foreign["professional_id"]]},
        headers=admin,
    )
    assert performed_by.status_code == 422  # "no such professional in the clinic"
    for path, name in (
        ("/api/v1/appointments", "customer_id"),
        ("/api/v1/appointments", "professional_id"),
        ("/api/v1/waitlist", "customer_id"),
        ("/api/v1/waitlist", "type_id"),
    ):
        query = {name: foreign[name], "from": "2026-11-20", "to": "2026-12-31"}
        if path == "/api/v1/waitlist":
            query = {name: foreign[name]}
        answer = await both.get(path, params=query, headers=admin)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json() == [], (path, name)
