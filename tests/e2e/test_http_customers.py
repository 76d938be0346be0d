"""Customers through the API: list, search, filters, pages, the audited read, edits."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.container import create_container
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, Identity
from porfin_core.use_cases.create_staff_user import NewStaffUser
from tests.e2e.conftest import AUTH, FAST_HASHER, simulate

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery"
PATIENTS = [
    # (name, number as it arrives from WhatsApp)
    ("Maria Silva", "551187654321"),  # a legacy number without the 9th digit
    ("João da Conceição", "+55 21 99876-5432"),
    ("Ana Beatriz Souza", "+55 21 3333-4444"),
    ("ÉRICA MÜLLER", "+5511912340000"),
    ("Mariana Conceicao", "+5511955550000"),
]


@pytest.fixture
async def elsewhere(container, clock):
    """Another clinic with a customer, and a secretary of the installation's clinic, stored
    before the API starts (the test client runs the app on a loop of its own)."""
    seeder = create_container(container.settings())
    seeder.clock.override(providers.Object(clock))
    seeder.password_hasher.override(providers.Object(FAST_HASHER))
    await composition.start(seeder)
    try:
        clinic_id = (await seeder.set_up_installation()()).clinic.id
        await seeder.create_staff_user()(
            NewStaffUser(
                clinic_id=clinic_id,
                name="Ana",
                email="ana@clinica.com.br",
                role="secretary",
                password=PASSWORD,
            )
        )
        stranger = Customer.first_contact(
            id="other-customer",
            clinic_id="other-clinic",
            name="Maria de Outra Clínica",
            identities=[Identity.of_phone("+5511987654321")],
            at=clock.now(),
        )
        async with seeder.uow_factory()() as uow:
            await uow.clinics.save(Clinic(id="other-clinic", name="Outra Clínica"))
            await uow.customers.save(stranger)
            await uow.commit()
        return stranger.id
    finally:
        await composition.stop(seeder)


@pytest.fixture
def patients(client, channel_id, clock) -> dict[str, str]:
    """Customer id by name; each wrote one minute after the previous one."""
    ids = {}
    for n, (name, number) in enumerate(PATIENTS):
        clock.advance(minutes=1)
        received = simulate(client, channel_id, "Olá", sender=number, message_id=f"p{n}", name=name)
        assert received.status_code == 200, received.text
        ids[name] = received.json()["customer_id"]
    return ids


def _names(client, query: str = "") -> list[str]:
    answer = client.get(f"/api/v1/customers?limit=200{query}", headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None
    return [c["name"] for c in answer.json()["items"]]


def test_customers_are_listed_newest_first_with_their_profile(client, patients, clock):
    assert _names(client) == [name for name, _ in reversed(PATIENTS)]
    maria = client.get("/api/v1/customers?q=silva", headers=AUTH).json()["items"][0]
    assert maria == {
        "id": patients["Maria Silva"],
        "name": "Maria Silva",
        "phone": "+5511987654321",
        "identities": [{"kind": "phone", "value": "+5511987654321"}],
        "stage": "new_lead",
        "tags": [],
        "consents": {
            "service": {
                "granted": True,
                "at": maria["created_at"],
                "source": "inbound_message",
                "recorded_by": None,
            }
        },
        "created_at": maria["created_at"],
    }


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("conceição", ["Mariana Conceicao", "João da Conceição"]),
        ("CONCEICAO joão", ["João da Conceição"]),
        ("jo conc", ["João da Conceição"]),
        ("érica", ["ÉRICA MÜLLER"]),
        ("muller", ["ÉRICA MÜLLER"]),
        ("ceição", []),
        ("+55 (11) 98765-4321", ["Maria Silva"]),
        ("(011) 98765-4321", ["Maria Silva"]),
        ("11 8765-4321", ["Maria Silva"]),  # remembered without the 9th digit
        ("551187654321", ["Maria Silva"]),
        ("98765-4321", ["Maria Silva"]),
        ("4321", ["Maria Silva"]),
        ("21 3333-4444", ["Ana Beatriz Souza"]),
    ],
)
def test_search_by_accented_name_or_any_phone_spelling(client, patients, term, expected):
    assert _names(client, f"&q={quote(term)}") == expected


def test_filters_by_stage_and_tag(client, patients):
    for name, body in (
        ("João da Conceição", {"stage": "scheduled", "tags": ["Implante"]}),
        ("Mariana Conceicao", {"tags": ["implante", "VIP"]}),
        ("Ana Beatriz Souza", {"stage": "scheduled"}),
    ):
        answer = client.patch(f"/api/v1/customers/{patients[name]}", json=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
    assert _names(client, "&stage=scheduled") == ["Ana Beatriz Souza", "João da Conceição"]
    assert _names(client, "&tag=implante") == ["Mariana Conceicao", "João da Conceição"]
    assert _names(client, "&tag=IMPLANTE&stage=scheduled") == ["João da Conceição"]
    assert _names(client, "&tag=vip&q=mari") == ["Mariana Conceicao"]


def test_pages_are_stable_while_customers_arrive(client, channel_id, patients, clock):
    seen, cursor = [], None
    for n in range(10):
        url = "/api/v1/customers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=AUTH).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        clock.advance(minutes=1)  # a new patient writes between two pages
        simulate(client, channel_id, "Oi", sender=f"+55119000000{n:02d}", message_id=f"new{n}")
    assert seen == [name for name, _ in reversed(PATIENTS)]
    assert len(_names(client)) > len(PATIENTS)


def test_reading_a_profile_is_audited_and_another_clinics_customer_is_not_found(
    elsewhere, client, patients
):
    maria = patients["Maria Silva"]
    answer = client.get(f"/api/v1/customers/{maria}", headers={**AUTH, "X-Request-ID": "r-1"})
    assert answer.status_code == 200
    assert answer.json()["name"] == "Maria Silva"
    records = client.get("/api/v1/audit?action=customer.read", headers=AUTH).json()["items"]
    assert [(r["resource_id"], r["actor_id"], r["request_id"]) for r in records] == [
        (maria, "admin", "r-1")
    ]
    for method, body in (("GET", None), ("PATCH", {"name": "Roubada"})):
        foreign = client.request(method, f"/api/v1/customers/{elsewhere}", json=body, headers=AUTH)
        assert foreign.status_code == 404, (method, foreign.text)
        assert foreign.json()["code"] == "not_found"
    assert "Maria de Outra Clínica" not in _names(client, "&q=maria")


def test_staff_edit_a_customer(client, patients, clock):
    maria = patients["Maria Silva"]
    answer = client.patch(
        f"/api/v1/customers/{maria}",
        json={
            "name": " Maria  Aparecida Silva ",
            "tags": ["Pós-operatório", "vip", "VIP"],
            "stage": "scheduled",
            "consents": {"marketing": False, "reminders": True},
        },
        headers=AUTH,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["name"], body["tags"], body["stage"]) == (
        "Maria Aparecida Silva",
        ["pós-operatório", "vip"],
        "scheduled",
    )
    assert body["consents"]["reminders"] == {
        "granted": True,
        "at": clock.now().isoformat().replace("+00:00", "Z"),
        "source": "staff",
        "recorded_by": "admin",
    }
    assert body["consents"]["marketing"]["granted"] is False
    assert client.get(f"/api/v1/customers/{maria}", headers=AUTH).json() == body
    chats = client.get("/api/v1/chats?q=aparecida", headers=AUTH).json()["items"]
    assert [c["customer_name"] for c in chats] == ["Maria Aparecida Silva"]
    record = client.get("/api/v1/audit?action=customer.update", headers=AUTH).json()["items"][0]
    assert record["resource_id"] == maria
    assert record["details"]["changed"] == ("name,tags,stage,consents.marketing,consents.reminders")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "   "}, 422, "name"),
        ({"tags": ["ok", "x" * 41]}, 422, "tags[1]"),
        ({"tags": [f"t{i}" for i in range(21)]}, 422, "tags"),
        ({"tags": ["ok", ""]}, 422, "tags[1]"),
        ({"stage": "vip"}, 400, "body.stage"),
        ({"consents": {"newsletter": True}}, 400, "body.consents"),
        ({"consents": {"marketing": "sim"}}, 400, "body.consents"),
        ({"surprise": 1}, 400, "body"),
    ],
)
def test_bad_edits_are_problems_naming_the_field_and_change_nothing(
    client, patients, body, status, field
):
    maria = patients["Maria Silva"]
    before = client.get(f"/api/v1/customers/{maria}", headers=AUTH).json()
    answer = client.patch(
        f"/api/v1/customers/{maria}", json={"stage": "paid", **body}, headers=AUTH
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["errors"][0]["field"].startswith(field), answer.json()
    assert client.get(f"/api/v1/customers/{maria}", headers=AUTH).json() == before


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("limit=0", 400, "query.limit"),
        ("stage=vip", 400, "query.stage"),
        ("cursor=bm90LWEtY3Vyc29y", 422, "cursor"),
        ("tag=%20%20", 422, "tag"),
        (f"q={'x' * 201}", 400, "query.q"),
    ],
)
def test_bad_list_queries_are_problems(client, patients, query, status, field):
    answer = client.get(f"/api/v1/customers?{query}", headers=AUTH)
    assert answer.status_code == status, answer.text
    assert answer.json()["errors"][0]["field"] == field


def test_unknown_customer_is_not_found(client):
    for method, body in (("GET", None), ("PATCH", {})):
        answer = client.request(method, "/api/v1/customers/nope", json=body, headers=AUTH)
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"


def test_a_secretary_sees_and_edits_every_customer(elsewhere, client, patients):
    # Maria's chat goes to someone else: the secretary no longer sees the chat, but the
    # customer profile stays hers to find and update (docs/security.md).
    chat = client.get("/api/v1/chats?q=silva", headers=AUTH).json()["items"][0]
    client.patch(f"/api/v1/chats/{chat['id']}", json={"assignee_id": "bia"}, headers=AUTH)
    session = client.post(
        "/api/v1/auth/login", json={"email": "ana@clinica.com.br", "password": PASSWORD}
    ).json()
    ana = {"Authorization": f"Bearer {session['access_token']}"}
    assert client.get(f"/api/v1/chats/{chat['id']}", headers=ana).status_code == 404
    maria = patients["Maria Silva"]
    assert client.get(f"/api/v1/customers/{maria}", headers=ana).status_code == 200
    edited = client.patch(f"/api/v1/customers/{maria}", json={"stage": "contacted"}, headers=ana)
    assert edited.status_code == 200
    assert len(client.get("/api/v1/customers", headers=ana).json()["items"]) == len(PATIENTS)
    record = client.get("/api/v1/audit?action=customer.update", headers=AUTH).json()["items"][0]
    assert (record["actor_kind"], record["resource_id"]) == ("user", maria)


def test_a_manager_merges_a_duplicate_with_its_chat(client, patients, channel_id, clock):
    maria = patients["Maria Silva"]
    clock.advance(minutes=1)
    again = simulate(
        client, channel_id, "Sou a Maria, número novo", sender="+5511912345678", message_id="n1"
    ).json()
    duplicate = again["customer_id"]
    answer = client.post(
        f"/api/v1/customers/{maria}/merge", json={"duplicate_id": duplicate}, headers=AUTH
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["id"], body["name"], body["phone"]) == (maria, "Maria Silva", "+5511987654321")
    assert {"kind": "phone", "value": "+5511912345678"} in body["identities"]
    gone = client.get(f"/api/v1/customers/{duplicate}", headers=AUTH)
    assert gone.status_code == 404
    assert (gone.json()["code"], gone.json()["merged_into"]) == ("not_found", maria)
    assert "Maria Silva" in _names(client) and len(_names(client)) == len(PATIENTS)
    chats = client.get("/api/v1/chats?q=silva", headers=AUTH).json()["items"]
    assert [(c["customer_id"], c["unread_count"]) for c in chats] == [(maria, 2)]
    messages = client.get(f"/api/v1/chats/{chats[0]['id']}/messages", headers=AUTH).json()
    assert [m["body"] for m in messages["items"]] == ["Sou a Maria, número novo", "Olá"]
    assert client.get(f"/api/v1/chats/{again['chat_id']}", headers=AUTH).status_code == 404
    record = client.get("/api/v1/audit?action=customer.merge", headers=AUTH).json()["items"][0]
    assert (record["resource_id"], record["details"]["duplicate_id"]) == (maria, duplicate)
    later = simulate(client, channel_id, "Oi", sender="5511912345678", message_id="n2").json()
    assert (later["customer_id"], later["chat_id"]) == (maria, chats[0]["id"])


def test_refused_merges_are_problems(elsewhere, client, patients):
    maria, joao = patients["Maria Silva"], patients["João da Conceição"]

    def merge(customer_id, body, headers=AUTH):
        return client.post(f"/api/v1/customers/{customer_id}/merge", json=body, headers=headers)

    same = merge(maria, {"duplicate_id": maria})
    assert same.status_code == 422
    assert same.json()["errors"][0]["field"] == "duplicate_id"
    assert merge(maria, {"duplicate_id": "nope"}).json()["code"] == "not_found"
    assert merge(maria, {"duplicate_id": elsewhere}).status_code == 404
    assert merge(maria, {"duplicate": joao}).status_code == 400
    session = client.post(
        "/api/v1/auth/login", json={"email": "ana@clinica.com.br", "password": PASSWORD}
    ).json()
    secretary = {"Authorization": f"Bearer {session['access_token']}"}
    assert merge(maria, {"duplicate_id": joao}, secretary).status_code == 403
    assert merge(maria, {"duplicate_id": joao}).status_code == 200
    again = merge(maria, {"duplicate_id": joao})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    assert len(_names(client)) == len(PATIENTS) - 1
