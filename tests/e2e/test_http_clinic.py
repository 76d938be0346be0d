"""The clinic's settings through the API."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import AUTH

PROBLEM = "application/problem+json"


def test_the_clinic_as_created_at_first_start(client):
    clinic = client.get("/api/v1/clinic", headers=AUTH).json()
    assert {k: v for k, v in clinic.items() if k not in ("id", "business_hours")} == {
        "reminders": ["1d@10:00", "2h"],
        "name": "Minha Clínica",
        "timezone": "America/Sao_Paulo",
        "locale": "pt-BR",
        "phone": None,
        "address": None,
        "city": None,
        "state": None,
        "pix_key": None,
        "pix_merchant_name": None,
        "pix_merchant_city": None,
        "ai_resume_after_hours": None,
    }
    assert clinic["business_hours"][0] == {"weekday": "monday", "opens": "08:00", "closes": "18:00"}
    assert clinic["business_hours"][-1] == {
        "weekday": "saturday",
        "opens": "08:00",
        "closes": "12:00",
    }


def test_an_administrator_changes_the_settings(client):
    hours = [
        {"weekday": "saturday", "opens": "08:00", "closes": "12:00"},
        {"weekday": "monday", "opens": "13:30", "closes": "19:00"},
        {"weekday": "monday", "opens": "07:30", "closes": "12:00"},
    ]
    answer = client.patch(
        "/api/v1/clinic",
        json={
            "name": "Clínica Sorriso",
            "timezone": "America/Recife",
            "phone": "(81) 3333-4444",
            "address": "Rua da Aurora, 100",
            "city": "Recife",
            "state": "pe",
            "business_hours": hours,
        },
        headers={**AUTH, "X-Request-ID": "settings-1"},
    )
    assert answer.status_code == 200, answer.text
    clinic = answer.json()
    assert (clinic["name"], clinic["timezone"], clinic["phone"], clinic["state"]) == (
        "Clínica Sorriso",
        "America/Recife",
        "+558133334444",
        "PE",
    )
    assert clinic["business_hours"] == [hours[2], hours[1], hours[0]]
    assert client.get("/api/v1/clinic", headers=AUTH).json() == clinic
    record = client.get("/api/v1/audit?action=clinic.update", headers=AUTH).json()["items"][0]
    assert (record["resource_id"], record["request_id"]) == (clinic["id"], "settings-1")
    assert record["details"]["timezone"] == "America/Recife"

    # Left out: unchanged; null: removed.
    cleared = client.patch("/api/v1/clinic", json={"phone": None, "city": None}, headers=AUTH)
    assert cleared.status_code == 200
    assert (cleared.json()["phone"], cleared.json()["city"], cleared.json()["state"]) == (
        None,
        None,
        "PE",
    )
    assert cleared.json()["name"] == "Clínica Sorriso"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"timezone": "America/Atlantis"}, 422, "timezone"),
        ({"timezone": "../../etc/passwd"}, 422, "timezone"),
        ({"name": "  "}, 422, "name"),
        ({"state": "XX"}, 422, "state"),
        ({"phone": "3333-4444"}, 422, "phone"),
        (
            {"business_hours": [{"weekday": "monday", "opens": "12:00", "closes": "08:00"}]},
            422,
            "business_hours[0].closes",
        ),
        (
            {"business_hours": [{"weekday": "monday", "opens": "8h", "closes": "12:00"}]},
            422,
            "business_hours[0].opens",
        ),
        (
            {
                "business_hours": [
                    {"weekday": "friday", "opens": "08:00", "closes": "12:00"},
                    {"weekday": "friday", "opens": "11:00", "closes": "18:00"},
                ]
            },
            422,
            "business_hours[1]",
        ),
        (
            {"business_hours": [{"weekday": "funday", "opens": "08:00", "closes": "12:00"}]},
            400,
            "body",
        ),
        ({"timezone": "x" * 65}, 400, "body"),
        ({"locale": "en-US"}, 400, "body"),
    ],
)
def test_bad_settings_are_problems_naming_the_field_and_change_nothing(client, body, status, field):
    before = client.get("/api/v1/clinic", headers=AUTH).json()
    answer = client.patch("/api/v1/clinic", json={"city": "Olinda", **body}, headers=AUTH)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["errors"][0]["field"].startswith(field), answer.json()
    assert client.get("/api/v1/clinic", headers=AUTH).json() == before
    assert client.get("/api/v1/audit?action=clinic.update", headers=AUTH).json()["items"] == []
