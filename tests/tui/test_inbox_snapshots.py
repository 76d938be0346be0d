"""What the inbox looks like at 80x24 and 160x48 (SVG snapshots in __snapshots__/).

The server's clock is fixed and nothing on screen shows an id or the random port, so the
pictures only change when the screen does. Update them with
``pytest tests/tui/test_inbox_snapshots.py --snapshot-update`` and look at the result.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from porfin_tui.app import InboxApp
from porfin_tui.screens.inbox import InboxScreen
from tests.tui.conftest import PASSWORD, SECRETARY

ANA = "+5511911112222"
CARLOS = "+5521933334444"
DORA = "+5531955556666"
EDU = "+5541977778888"


def _webhook(live_api: Any, body: dict[str, Any]) -> Any:
    return live_api.admin("POST", f"/webhooks/simulator/{live_api.channel_id}", body)


def _chat(live_api: Any, phone: str) -> dict[str, Any]:
    chats = live_api.admin("GET", "/api/v1/chats")["items"]
    return next(c for c in chats if c["customer_phone"] == phone)


def secretary_token(live_api: Any) -> str:
    answer = httpx.post(
        f"{live_api.url}/api/v1/auth/login", json={"email": SECRETARY, "password": PASSWORD}
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def seed(live_api: Any) -> None:
    """A morning at the front desk: Ana talked with the secretary, Carlos waits for a person,
    Dora and Edu are with the AI."""
    clock = live_api.clock
    bia = httpx.Client(
        base_url=live_api.url, headers={"Authorization": f"Bearer {secretary_token(live_api)}"}
    )

    def reply(chat_id: str, text: str) -> dict[str, Any]:
        answer = bia.post(f"/api/v1/chats/{chat_id}/messages", json={"text": text})
        answer.raise_for_status()
        return dict(answer.json())

    live_api.patient_says("Bom dia! Vocês atendem convênio?", DORA, "Dora Mendes")
    clock.advance(minutes=3)
    live_api.patient_says("Quero remarcar minha consulta", CARLOS, "Carlos Souza")
    live_api.admin("PATCH", f"/api/v1/chats/{_chat(live_api, CARLOS)['id']}", {"mode": "human"})
    clock.advance(minutes=4)
    live_api.patient_says("Oi, gostaria de marcar uma limpeza", ANA, "Ana Lima")
    ana = _chat(live_api, ANA)
    clock.advance(minutes=1)
    offer = reply(ana["id"], "Olá, Ana! Temos quinta às 9h ou às 10h30. Qual prefere?")
    _webhook(live_api, {"status": {"id": offer["provider_message_id"], "status": "read"}})
    clock.advance(minutes=2)
    live_api.patient_says("Pode ser quinta às 9h", ANA)
    clock.advance(minutes=1)
    confirm = reply(ana["id"], "Agendado! Até quinta.")
    bia.close()
    _webhook(
        live_api,
        {
            "status": {
                "id": confirm["provider_message_id"],
                "status": "failed",
                "error_code": "131026",
                "error_detail": "Mensagem não entregue",
            }
        },
    )
    live_api.admin(
        "PATCH",
        f"/api/v1/customers/{ana['customer_id']}",
        {"tags": ["limpeza"], "stage": "scheduled", "consents": {"reminders": True}},
    )
    live_api.admin(
        "PATCH",
        "/api/v1/clinic",
        {"pix_key": "12345678909", "pix_merchant_name": "Clinica", "pix_merchant_city": "Recife"},
    )
    live_api.admin(
        "POST",
        "/api/v1/charges",
        {
            "customer_id": ana["customer_id"],
            "amount_cents": 15000,
            "description": "Sinal da limpeza",
            "due_date": "2026-12-01",
            "deliver": False,
        },
    )
    clock.advance(minutes=2)
    live_api.patient_says("Qual o endereço?", EDU, "Eduardo Prado")
    clock.advance(minutes=5)


def logged_in_app(live_api: Any) -> InboxApp:
    """The secretary's inbox, logged in with a token got beforehand (no login screen)."""
    app = live_api.app(live=False)
    app.api.use_token(secretary_token(live_api))
    return app


async def _settle(pilot: Pilot[Any], condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the inbox did not settle")


async def open_ana(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await _settle(pilot, lambda: isinstance(app.screen, InboxScreen) and app.screen.loaded)
    screen = app.screen
    assert isinstance(screen, InboxScreen)
    options = screen.query_one("#chats", OptionList)
    names = [c["customer_name"] for c in screen.chat_list.chats]
    options.highlighted = names.index("Ana Lima")
    await pilot.press("enter")
    await _settle(pilot, lambda: screen.timeline.count == 4 and screen.card[0] is not None)
    await _settle(pilot, lambda: (screen.open_chat or {}).get("unread_count") == 0)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_the_inbox_with_a_chat_open(live_api, snap_compare, size):
    seed(live_api)
    assert snap_compare(logged_in_app(live_api), terminal_size=size, run_before=open_ana)


def test_the_waiting_filter_at_80x24(live_api, snap_compare):
    seed(live_api)

    async def waiting(pilot: Pilot[Any]) -> None:
        await open_ana(pilot)
        await pilot.press("2")
        screen = pilot.app.screen
        await _settle(pilot, lambda: len(screen.chat_list.chats) == 1)

    assert snap_compare(logged_in_app(live_api), terminal_size=(80, 24), run_before=waiting)
