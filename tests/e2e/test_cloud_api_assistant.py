"""The AI receptionist over the Cloud API: a patient's message arrives as a signed webhook
(Meta's documented payload), the assistant books through the same tools, and its replies
reach Meta's Graph API (a local fake) with the booking in the agenda."""

from __future__ import annotations

import asyncio
import copy
import json

from tests.e2e.conftest import AUTH
from tests.e2e.test_cloud_api_send import CLOUD, api, container, graph, graph_server  # noqa: F401
from tests.e2e.test_cloud_webhook import fixture, sign

PATIENT = "+16505551234"  # the sender of Meta's documented text message


def _inbound(text: str, message_id: str) -> dict:
    payload = copy.deepcopy(fixture("inbound_text"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = CLOUD["cloud_api"]["phone_number_id"]
    message = value["messages"][0]
    message.update(id=message_id, timestamp="1795600000")
    message["text"]["body"] = text
    return payload


async def _deliver(client, channel_id: str, payload: dict) -> None:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(body, CLOUD["cloud_api"]["app_secret"]),
    }
    answer = await client.post(
        f"/webhooks/whatsapp/cloud/{channel_id}", content=body, headers=headers
    )
    assert answer.status_code == 200, answer.text


async def _sent(meta, count: int) -> list[dict]:
    """The messages Meta received, once there are ``count`` (bounded wait for the worker)."""
    for _ in range(400):
        if len(meta.sent()) >= count:
            return meta.sent()
        await asyncio.sleep(0.025)
    raise AssertionError(f"Meta received {len(meta.sent())} messages, not {count}")


async def test_the_ai_answers_and_books_over_the_cloud_api(api, container, graph):  # noqa: F811
    created = await api.post("/api/v1/channels", json=CLOUD, headers=AUTH)
    assert created.status_code == 201, created.text
    channel = created.json()

    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday")
    hours = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in weekdays]
    for path, body in (
        ("/api/v1/professionals", {"name": "Dra. Ana", "kind": "dentista", "hours": hours}),
        ("/api/v1/appointment-types", {"name": "Limpeza", "duration_minutes": 30}),
    ):
        answer = await api.post(path, json=body, headers=AUTH)
        assert answer.status_code == 201, answer.text
    assistant = await api.post(
        "/api/v1/assistants", json={"name": "Sofia", "debounce_seconds": 0}, headers=AUTH
    )
    assert assistant.status_code == 201, assistant.text

    await _deliver(api, channel["id"], _inbound("oi, quero marcar uma limpeza", "wamid.AI1"))
    [offer] = await _sent(graph, 1)
    assert offer["to"] == PATIENT
    assert "1)" in offer["text"]["body"] and "Dra. Ana" in offer["text"]["body"]

    await _deliver(api, channel["id"], _inbound("1", "wamid.AI2"))
    sent = await _sent(graph, 2)
    assert "marcada" in sent[1]["text"]["body"]

    listed = await api.get(
        "/api/v1/appointments", params={"from": "2026-11-20", "to": "2026-12-31"}, headers=AUTH
    )
    [appointment] = listed.json()
    assert appointment["source"] == "ai"
