"""The agenda through the API: professionals, types, closures, free slots, appointments, the
waitlist and the ``appointment.*`` realtime frames."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import AUTH, login, ok, simulate

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
# The tests' clock: Wednesday 25/11/2026, 10:00 in São Paulo (13:00 UTC).
THURSDAY_9 = "2026-11-26T09:00:00-03:00"
WAIT = 10.0


@pytest.fixture
def agenda(http) -> dict[str, str]:
    """A dentist working weekdays 08-18 with lunch 12-13, a 30-minute cleaning with 10
    minutes of cleaning-up, and two patients who wrote in."""
    manager = login(http, "manager")
    professional = ok(
        http.post(
            "/api/v1/professionals",
            json={
                "name": "Dra. Ana Souza",
                "kind": "dentista",
                "hours": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in WEEKDAYS],
                "breaks": [{"weekday": d, "start": "12:00", "end": "13:00"} for d in WEEKDAYS],
            },
            headers=manager,
        ),
        201,
    )
    kind = ok(
        http.post(
            "/api/v1/appointment-types",
            json={
                "name": "Limpeza",
                "duration_minutes": 30,
                "price_cents": 15000,
                "buffer_after_minutes": 10,
            },
            headers=manager,
        ),
        201,
    )
    channel_id = ok(http.get("/api/v1/channels", headers=AUTH))[0]["id"]
    patients = {}
    for n, (name, phone) in enumerate(
        (("Maria", "+5511987654321"), ("João", "+5521998765432")), start=1
    ):
        received = simulate(
            http, channel_id, text="Oi", sender=phone, message_id=f"sim-{n}", name=name
        )
        patients[name] = ok(received)["customer_id"]
    return {
        "professional_id": professional["id"],
        "type_id": kind["id"],
        "maria": patients["Maria"],
        "joao": patients["João"],
    }


def book(http, agenda, customer="maria", start=THURSDAY_9, headers=None, **extra):
    body = {"customer_id": agenda[customer], "type_id": agenda["type_id"], "start": start}
    return http.post(
        "/api/v1/appointments", json={**body, **extra}, headers=headers or login(http, "secretary")
    )


def test_the_agenda_is_set_up_and_read_by_everyone(http, agenda):
    secretary = login(http, "secretary")
    [professional] = ok(http.get("/api/v1/professionals", headers=secretary))
    assert professional["hours"][0] == {"weekday": "monday", "start": "08:00", "end": "18:00"}
    assert professional["breaks"][0] == {"weekday": "monday", "start": "12:00", "end": "13:00"}
    one = ok(http.get(f"/api/v1/professionals/{agenda['professional_id']}", headers=secretary))
    assert one == professional
    changed = ok(
        http.patch(
            f"/api/v1/professionals/{agenda['professional_id']}",
            json={
                "name": "Dra. Ana Souza Lima",
                "exceptions": [{"date": "2026-11-27", "hours": [], "reason": "Congresso"}],
            },
            headers=login(http, "manager"),
        )
    )
    assert changed["name"] == "Dra. Ana Souza Lima"
    assert changed["exceptions"] == [{"date": "2026-11-27", "hours": [], "reason": "Congresso"}]
    assert changed["hours"] == professional["hours"]
    [kind] = ok(http.get("/api/v1/appointment-types", headers=secretary))
    assert (kind["name"], kind["price_cents"], kind["buffer_after_minutes"]) == (
        "Limpeza",
        15000,
        10,
    )
    cheaper = ok(
        http.patch(
            f"/api/v1/appointment-types/{kind['id']}",
            json={"price_cents": 12000},
            headers=login(http, "admin"),
        )
    )
    assert cheaper["price_cents"] == 12000
    # Setting the agenda up is for managers and administrators.
    refused = http.post("/api/v1/professionals", json={"name": "Dr. X"}, headers=secretary)
    assert refused.status_code == 403


def test_free_slots_follow_hours_breaks_buffers_and_periods(http, agenda):
    secretary = login(http, "secretary")
    query = {"type_id": agenda["type_id"], "from": "2026-11-26", "to": "2026-11-26"}
    slots = ok(http.get("/api/v1/slots", params={**query, "limit": 200}, headers=secretary))
    starts = [s["start"][11:16] for s in slots]
    assert starts[0] == "08:00" and "11:30" in starts and "12:00" not in starts
    assert slots[0]["start"] == "2026-11-26T08:00:00-03:00"
    assert slots[0]["professional_id"] == agenda["professional_id"]
    ok(book(http, agenda, start="2026-11-26T08:00:00-03:00"), 201)
    after = ok(http.get("/api/v1/slots", params={**query, "limit": 3}, headers=secretary))
    # 08:00-08:30 plus 10 minutes of cleaning-up: the next start on the 15-minute step.
    assert [s["start"][11:16] for s in after] == ["08:45", "09:00", "09:15"]
    evening = ok(
        http.get("/api/v1/slots", params={**query, "period": ["tarde"]}, headers=secretary)
    )
    assert evening[0]["start"][11:16] == "13:00"
    bad = http.get("/api/v1/slots", params={**query, "period": "madrugada"}, headers=secretary)
    assert bad.status_code == 400
    other = http.get("/api/v1/slots", params={"type_id": "nope"}, headers=secretary)
    assert other.status_code == 404


def test_a_booked_appointment_is_listed_read_and_shown_in_the_day_s_agenda(http, agenda):
    booked = ok(book(http, agenda, notes="Primeira consulta"), 201)
    assert booked["status"] == "requested" and booked["source"] == "staff"
    assert (booked["start"], booked["end"]) == ("2026-11-26T12:00:00Z", "2026-11-26T12:30:00Z")
    assert booked["professional_id"] == agenda["professional_id"]  # the one who performs it
    assert [h["action"] for h in booked["history"]] == ["booked"]
    secretary = login(http, "secretary")
    one = ok(http.get(f"/api/v1/appointments/{booked['id']}", headers=secretary))
    assert one == booked
    listed = ok(http.get("/api/v1/appointments", params={"from": "2026-11-26"}, headers=AUTH))
    assert [a["id"] for a in listed] == [booked["id"]]
    mine = ok(
        http.get("/api/v1/appointments", params={"customer_id": agenda["maria"]}, headers=AUTH)
    )
    assert [a["id"] for a in mine] == [booked["id"]]
    needs_dates = http.get("/api/v1/appointments", headers=AUTH)
    assert needs_dates.status_code == 422
    day = ok(http.get("/api/v1/agenda", params={"date": "2026-11-26"}, headers=secretary))
    assert (day["date"], day["timezone"]) == ("2026-11-26", "America/Sao_Paulo")
    [column] = day["professionals"]
    assert column["professional_name"] == "Dra. Ana Souza"
    [entry] = column["appointments"]
    assert (entry["start"], entry["customer_name"], entry["type_name"], entry["status"]) == (
        "2026-11-26T09:00:00-03:00",
        "Maria",
        "Limpeza",
        "requested",
    )
    today = ok(http.get("/api/v1/agenda", headers=secretary))
    assert today["date"] == "2026-11-25" and today["professionals"][0]["appointments"] == []


def test_the_same_time_twice_is_409_slot_taken_with_alternatives(http, agenda):
    ok(book(http, agenda, professional_id=agenda["professional_id"]), 201)
    taken = book(http, agenda, customer="joao", professional_id=agenda["professional_id"])
    assert taken.status_code == 409, taken.text
    problem = taken.json()
    assert problem["code"] == "slot_taken"
    assert problem["type"] == "urn:porfin:problem:slot_taken"
    assert [a["start"] for a in problem["alternatives"]] == [
        "2026-11-26T08:00:00-03:00",
        "2026-11-26T08:15:00-03:00",  # ends 08:45, cleaned up by 08:55
        "2026-11-26T09:45:00-03:00",  # 09:00-09:30 is cleaned up by 09:40
    ]
    assert {a["professional_id"] for a in problem["alternatives"]} == {agenda["professional_id"]}
    # Without a professional: nobody who performs the type is free then.
    anyone = book(http, agenda, customer="joao")
    assert anyone.status_code == 409 and len(anyone.json()["alternatives"]) == 3


def test_reschedule_confirm_attend_and_no_show(http, agenda, clock):
    secretary = login(http, "secretary")
    booked = ok(book(http, agenda), 201)
    url = f"/api/v1/appointments/{booked['id']}"
    moved = ok(
        http.post(
            f"{url}/reschedule", json={"start": "2026-11-26T14:00:00-03:00"}, headers=secretary
        )
    )
    assert moved["appointment"]["start"] == "2026-11-26T17:00:00Z"
    assert moved["appointment"]["history"][-1]["previous_start"] == "2026-11-26T12:00:00Z"
    assert moved["offered_to"] is None
    ok(book(http, agenda, customer="joao", start="2026-11-26T15:00:00-03:00"), 201)
    clash = http.post(
        f"{url}/reschedule", json={"start": "2026-11-26T15:15:00-03:00"}, headers=secretary
    )
    assert clash.status_code == 409 and clash.json()["code"] == "slot_taken"
    confirmed = ok(http.post(f"{url}/confirm", headers=secretary))
    assert confirmed["status"] == "confirmed"
    assert ok(http.post(f"{url}/confirm", headers=secretary))["status"] == "confirmed"
    early = http.post(f"{url}/no-show", headers=secretary)
    assert early.status_code == 409 and early.json()["code"] == "invalid_state"
    clock.advance(days=1, hours=4)  # Thursday 14:00 in São Paulo
    assert ok(http.post(f"{url}/attended", headers=AUTH))["status"] == "attended"
    final = http.post(f"{url}/cancel", json={"reason": "tarde demais"}, headers=AUTH)
    assert final.status_code == 409 and final.json()["code"] == "invalid_state"


def test_cancelling_offers_the_slot_to_the_first_waitlisted_patient(http, agenda):
    secretary = login(http, "secretary")
    booked = ok(book(http, agenda), 201)
    entry = ok(
        http.post(
            "/api/v1/waitlist",
            json={
                "customer_id": agenda["joao"],
                "type_id": agenda["type_id"],
                "periods": ["manha"],
                "weekdays": ["thursday"],
            },
            headers=secretary,
        ),
        201,
    )
    assert (entry["status"], entry["periods"], entry["weekdays"]) == (
        "waiting",
        ["manha"],
        ["thursday"],
    )
    [listed] = ok(http.get("/api/v1/waitlist", headers=secretary))
    assert listed["id"] == entry["id"]
    cancelled = ok(
        http.post(
            f"/api/v1/appointments/{booked['id']}/cancel",
            json={"reason": "Paciente viajou"},
            headers=secretary,
        )
    )
    assert cancelled["appointment"]["status"] == "cancelled"
    assert cancelled["appointment"]["cancel_reason"] == "Paciente viajou"
    offered = cancelled["offered_to"]
    assert (offered["id"], offered["status"]) == (entry["id"], "offered")
    assert offered["offered_slot"]["start"] == THURSDAY_9
    # The offered slot is booked from the waitlist entry.
    rebooked = book(http, agenda, customer="joao", waitlist_entry_id=entry["id"])
    assert rebooked.status_code == 201, rebooked.text
    assert ok(http.get("/api/v1/waitlist", headers=secretary)) == []
    closed = ok(http.get("/api/v1/waitlist", params={"closed": "true"}, headers=secretary))
    assert [e["status"] for e in closed] == ["booked"]


def test_closures_hide_slots_and_name_the_appointments_inside(http, agenda):
    manager = login(http, "manager")
    booked = ok(book(http, agenda), 201)
    added = ok(
        http.post(
            "/api/v1/closures",
            json={"reason": "Dedetização", "first_day": "2026-11-26"},
            headers=manager,
        ),
        201,
    )
    closure = added["closure"]
    assert (closure["all_day"], closure["start"]) == (True, "2026-11-26T03:00:00Z")
    assert [a["id"] for a in added["affected"]] == [booked["id"]]
    [listed] = ok(http.get("/api/v1/closures", headers=login(http, "secretary")))
    assert listed == closure
    slots = ok(
        http.get(
            "/api/v1/slots",
            params={"type_id": agenda["type_id"], "from": "2026-11-26", "limit": 1},
            headers=manager,
        )
    )
    assert slots[0]["start"].startswith("2026-11-27")
    both = http.post(
        "/api/v1/closures",
        json={"reason": "x", "first_day": "2026-11-27", "start": "2026-11-27T10:00:00Z"},
        headers=manager,
    )
    assert both.status_code == 422
    removed = http.delete(f"/api/v1/closures/{closure['id']}", headers=manager)
    assert removed.status_code == 204
    assert ok(http.get("/api/v1/closures", headers=manager)) == []


def test_agenda_subscribers_get_appointment_frames(http, agenda):
    secretary = login(http, "secretary")
    channel_id = ok(http.get("/api/v1/channels", headers=AUTH))[0]["id"]
    with http.websocket_connect("/api/v1/ws", headers=secretary) as ws:
        assert ws.receive_json(timeout=WAIT)["type"] == "ready"
        ws.send_json({"action": "subscribe", "topic": "agenda", "ref": "1"})
        assert ws.receive_json(timeout=WAIT) == {
            "type": "subscribed",
            "topic": "agenda",
            "ref": "1",
        }
        booked = ok(book(http, agenda, headers=AUTH), 201)
        frame = ws.receive_json(timeout=WAIT)
        assert frame["type"] == "appointment.booked"
        assert (frame["appointment_id"], frame["professional_id"], frame["customer_id"]) == (
            booked["id"],
            agenda["professional_id"],
            agenda["maria"],
        )
        assert frame["data"]["appointment"] == booked
        confirmed = ok(http.post(f"/api/v1/appointments/{booked['id']}/confirm", headers=AUTH))
        frame = ws.receive_json(timeout=WAIT)
        assert frame["type"] == "appointment.confirmed"
        assert frame["data"]["appointment"] == confirmed
        # The inbox alone gets no appointment frames: the next frame is the chat's.
        ws.send_json({"action": "unsubscribe", "topic": "agenda"})
        assert ws.receive_json(timeout=WAIT)["type"] == "unsubscribed"
        ws.send_json({"action": "subscribe", "topic": "inbox"})
        assert ws.receive_json(timeout=WAIT)["type"] == "subscribed"
        ok(http.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=AUTH))
        simulate(http, channel_id, text="Cancelei", message_id="sim-after")
        assert ws.receive_json(timeout=WAIT)["type"] == "message.created"
