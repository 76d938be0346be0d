"""Charges through the API: PIX settings on the clinic, issuing a charge (its code in the
patient's chat), a partial then a full payment confirmed by staff, cancelling, listing."""

from __future__ import annotations

import pytest

from porfin_core.domain.pix import parse_br_code
from tests.e2e.conftest import AUTH, login, ok, simulate

WAIT = 10.0  # seconds: a bound on waiting for a frame, never a pause


@pytest.fixture
def patient(http) -> str:
    [channel] = ok(http.get("/api/v1/channels", headers=AUTH))
    return ok(simulate(http, channel["id"], "Oi, quero pagar o sinal"))["customer_id"]


def test_a_charge_is_issued_delivered_paid_in_parts_and_listed(http, patient):
    secretary = login(http, "secretary")
    body = {"customer_id": patient, "amount_cents": 15000, "description": "Sinal da consulta"}
    refused = http.post("/api/v1/charges", json=body, headers=secretary)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert "pix_key" in refused.text
    bad_key = http.patch("/api/v1/clinic", json={"pix_key": "123.456.789-00"}, headers=AUTH)
    assert bad_key.status_code == 422
    clinic = ok(
        http.patch(
            "/api/v1/clinic",
            json={
                "pix_key": "123.456.789-09",
                "pix_merchant_name": "Clínica Sorriso",
                "pix_merchant_city": "São Paulo",
            },
            headers=AUTH,
        )
    )
    assert (clinic["pix_key"], clinic["pix_merchant_city"]) == ("12345678909", "Sao Paulo")

    charge = ok(http.post("/api/v1/charges", json=body, headers=secretary), 201)
    assert (charge["status"], charge["amount_cents"], charge["paid_cents"]) == ("pending", 15000, 0)
    assert parse_br_code(charge["br_code"]).amount_cents == 15000
    assert charge["chat_id"] is not None
    timeline = ok(http.get(f"/api/v1/chats/{charge['chat_id']}/messages", headers=AUTH))["items"]
    kinds = [m["kind"] for m in timeline]
    assert "image" in kinds and any(charge["br_code"] in (m.get("body") or "") for m in timeline)

    part = ok(
        http.post(
            f"/api/v1/charges/{charge['id']}/mark-paid",
            json={"amount_cents": 5000, "reference": "E0001"},
            headers=secretary,
        )
    )
    assert (part["status"], part["paid_cents"]) == ("pending", 5000)
    paid = ok(http.post(f"/api/v1/charges/{charge['id']}/mark-paid", headers=secretary))
    assert (paid["status"], paid["paid_cents"]) == ("paid", 15000)
    assert [t["amount_cents"] for t in paid["transactions"]] == [5000, 10000]
    again = http.post(f"/api/v1/charges/{charge['id']}/mark-paid", headers=secretary)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")

    other = ok(http.post("/api/v1/charges", json=body | {"deliver": False}, headers=AUTH), 201)
    cancelled = ok(
        http.post(f"/api/v1/charges/{other['id']}/cancel", json={"reason": "Erro"}, headers=AUTH)
    )
    assert cancelled["status"] == "cancelled"
    listed = ok(http.get("/api/v1/charges", headers=secretary))
    assert [c["id"] for c in listed] == [other["id"], charge["id"]]
    assert "transactions" not in listed[0]
    by_status = ok(http.get("/api/v1/charges", params={"status": "paid"}, headers=secretary))
    assert [c["id"] for c in by_status] == [charge["id"]]
    assert http.get("/api/v1/charges", params={"status": "nope"}, headers=AUTH).status_code == 422
    got = ok(http.get(f"/api/v1/charges/{charge['id']}", headers=secretary))
    assert got["transactions"][0]["reference"] == "E0001"
    assert http.get("/api/v1/charges/nope", headers=AUTH).status_code == 404


def test_inbox_subscribers_get_charge_frames(http, patient):
    ok(
        http.patch(
            "/api/v1/clinic", json={"pix_key": "123.456.789-09", "city": "Campinas"}, headers=AUTH
        )
    )
    secretary = login(http, "secretary")
    with http.websocket_connect("/api/v1/ws", headers=secretary) as ws:
        assert ws.receive_json(timeout=WAIT)["type"] == "ready"
        ws.send_json({"action": "subscribe", "topic": "inbox"})
        assert ws.receive_json(timeout=WAIT)["type"] == "subscribed"
        body = {
            "customer_id": patient,
            "amount_cents": 9000,
            "description": "Consulta",
            "deliver": False,
        }
        charge = ok(http.post("/api/v1/charges", json=body, headers=secretary), 201)
        frame = ws.receive_json(timeout=WAIT)
        assert (frame["type"], frame["charge_id"], frame["customer_id"]) == (
            "charge.created",
            charge["id"],
            patient,
        )
        assert frame["data"]["charge"]["amount_cents"] == 9000
        ok(http.post(f"/api/v1/charges/{charge['id']}/mark-paid", headers=secretary))
        paid = ws.receive_json(timeout=WAIT)
        assert (paid["type"], paid["data"]["charge"]["status"]) == ("charge.paid", "paid")
        # What follows a payment: the patient is thanked in their chat.
        thanks = ws.receive_json(timeout=WAIT)
        assert thanks["type"] == "message.created"
        assert "recebemos" in thanks["data"]["message"]["body"].lower()
