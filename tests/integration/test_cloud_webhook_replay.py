"""10,000 Cloud API webhooks replayed in random order, 30% of them twice, statuses out of
order, several at a time, through the signature check, the parser and the use cases on SQLite:
nothing lost, nothing duplicated, every status final and correct."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import sqlite3
from typing import Any

import pytest

import porfin_adapters.container as composition
from porfin_adapters.container import create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_adapters.whatsapp_cloud.webhook import sign, signature_valid
from porfin_core.domain.channel import Provider
from porfin_core.domain.customer import Identity, IdentityKind
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("whatsapp_cloud")
SECRET = "replay-app-secret-0123456789abcdef"
NUMBER_ID = "106540352242922"
WEBHOOKS = 10_000
DUPLICATE_SHARE = 0.30
OUTBOUND = 1_000
PATIENTS = 400
WORKERS = 8

# Final status of an outbound message after each status sequence (shuffled in the replay).
SEQUENCES = [
    (("sent", "delivered", "read"), "read"),
    (("sent", "delivered"), "delivered"),
    (("delivered", "read", "played"), "played"),
    (("read",), "read"),
    (("sent", "failed"), "failed"),
]
KINDS = {
    "inbound_text": "text",
    "inbound_image": "image",
    "inbound_document": "document",
    "inbound_audio_voice_note": "audio",
    "inbound_video": "video",
    "inbound_location": "location",
    "inbound_contacts": "contacts",
    "inbound_interactive_button_reply": "interactive",
    "inbound_interactive_list_reply": "interactive",
    "inbound_button_template_quick_reply": "interactive",
    "inbound_reaction": "reaction",
    "inbound_text_reply_context": "text",
}


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


SEEN: set[int] = set()


def patient_wa_id(rng: random.Random, patient: int) -> str:
    # Brazilian mobiles, half the time in WhatsApp's legacy 12-digit form: one customer each.
    SEEN.add(patient)
    full = f"551199{patient:07d}"
    return full if rng.random() < 0.5 else full[:4] + full[5:]


def inbound(template: dict[str, Any], wamid: str, wa_id: str, at: int) -> dict[str, Any]:
    payload = copy.deepcopy(template)
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = NUMBER_ID
    value["contacts"] = [{"profile": {"name": f"Paciente {wa_id[-4:]}"}, "wa_id": wa_id}]
    message = value["messages"][0]
    message.update(id=wamid, timestamp=str(at))
    message["from"] = wa_id
    return payload


def status(template: dict[str, Any], wamid: str, name: str, at: int, wa_id: str) -> dict[str, Any]:
    payload = copy.deepcopy(template)
    value = payload["entry"][0]["changes"][0]["value"]
    entry = value["statuses"][0]
    entry.update(id=wamid, status=name, timestamp=str(at), recipient_id=wa_id)
    if name != "failed":
        entry.pop("errors", None)
    return payload


@pytest.mark.slow
async def test_replaying_ten_thousand_webhooks_converges(tmp_path):
    rng = random.Random(20260401)
    SEEN.clear()
    container = create_container(
        Settings(
            storage=StorageKind.SQLITE,
            data_dir=tmp_path,
            admin_token="replay-token",
            inbound_media_downloads=0,  # the webhooks only: no channel reaches a Graph API
        )
    )
    await composition.start(container)
    try:
        clinic_id = (await container.set_up_installation()()).clinic.id
        channel = await container.create_channel()(
            NewChannel(
                clinic_id=clinic_id,
                name="Recepção",
                provider="cloud_api",
                phone="+5511987654321",
                settings={
                    "phone_number_id": NUMBER_ID,
                    "waba_id": "102290129340398",
                    "access_token": "EAAG-replay-" + "x" * 20,
                    "app_secret": SECRET,
                },
            )
        )
        templates = {name: load(name) for name in KINDS}
        failed_template = load("status_failed_131049")
        status_template = load("status_sent_with_pricing")

        # The outbound messages the statuses are about, and what each must end as.
        outbound: dict[str, tuple[str, str]] = {}
        unique: list[bytes] = []
        for n in range(OUTBOUND):
            wamid = f"wamid.out.{n:05d}"
            sequence, final = rng.choice(SEQUENCES)
            wa_id = patient_wa_id(rng, rng.randrange(PATIENTS))
            outbound[wamid] = (final, wa_id)
            for offset, name in enumerate(sequence):
                template = failed_template if name == "failed" else status_template
                unique.append(
                    json.dumps(
                        status(template, wamid, name, 1_750_000_000 + offset, wa_id)
                    ).encode()
                )
        expected: dict[str, str] = {}
        uniques = round(WEBHOOKS * (1 - DUPLICATE_SHARE))
        while len(unique) < uniques:
            name = rng.choice(sorted(templates))
            wamid = f"wamid.in.{len(expected):05d}"
            wa_id = patient_wa_id(rng, rng.randrange(PATIENTS))
            payload = inbound(templates[name], wamid, wa_id, 1_750_000_000 + len(expected))
            expected[wamid] = KINDS[name]
            unique.append(json.dumps(payload).encode())
        bodies = unique + [rng.choice(unique) for _ in range(WEBHOOKS - len(unique))]
        rng.shuffle(bodies)
        assert len(bodies) == WEBHOOKS

        async def clinic_phone(wamid: str) -> None:
            await container.receive_inbound_message()(
                ReceiveMessage(
                    channel_id=channel.id,
                    provider=Provider.CLOUD_API,
                    provider_message_id=wamid,
                    sender=[Identity(IdentityKind.WA_ID, outbound[wamid][1])],
                    body="Confirmado",
                    from_clinic_phone=True,
                )
            )

        # Half the outbound messages exist before their statuses arrive, half after.
        wamids = sorted(outbound)
        for wamid in wamids[: OUTBOUND // 2]:
            await clinic_phone(wamid)

        handle = container.cloud_api_inbound()
        queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait((body, sign(body, SECRET)))
        outcomes: list[str] = []

        async def worker() -> None:
            while not queue.empty():
                body, signature = queue.get_nowait()
                assert signature_valid(body, signature, SECRET)
                for outcome in await handle(channel, json.loads(body)):
                    outcomes.append(outcome.outcome)

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
        for wamid in wamids[OUTBOUND // 2 :]:
            await clinic_phone(wamid)

        assert "ignored" not in outcomes
        assert outcomes.count("stored") == len(expected)
        async with container.uow_factory()(read_only=True) as uow:
            for wamid, kind in expected.items():
                message = await uow.messages.find_by_provider_id(clinic_id, channel.id, wamid)
                assert message is not None, wamid
                assert (message.kind, message.direction) == (kind, "inbound"), wamid
            for wamid, (final, _) in outbound.items():
                message = await uow.messages.find_by_provider_id(clinic_id, channel.id, wamid)
                assert message is not None, wamid
                assert message.status == final, (wamid, [h.status for h in message.history])
                if final == "failed":
                    assert message.failure.error_code == "131049"
    finally:
        await composition.stop(container)

    with sqlite3.connect(tmp_path / "porfin.db") as db:
        rows = db.execute(
            "SELECT count(*), count(DISTINCT provider_message_id) FROM messages "
            "WHERE channel_id = ?",
            (channel.id,),
        ).fetchone()
        assert rows == (len(expected) + OUTBOUND, len(expected) + OUTBOUND)
        customers = db.execute("SELECT count(*) FROM customers").fetchone()[0]
        assert customers == len(SEEN)  # the 12- and 13-digit forms are one customer
        pending = db.execute("SELECT count(*) FROM pending_statuses").fetchone()[0]
        assert pending == 0
