"""The PIX charge dialog against a running API: the charge is created and its code sent in the
patient's chat, shown for copying, and listed with the patient's other charges."""

from __future__ import annotations

from textual.widgets import Input, Select

from porfin_tui.ptbr import parse_reais, reais
from porfin_tui.screens.charge import ChargeDialog
from tests.tui.agenda_seed import (
    book,
    logged_in_app,
    seed_agenda,
    set_pix_key,
    text_of,
    until,
)


def chat_of(live_api, customer_id: str) -> dict:
    [chat] = [
        c
        for c in live_api.admin("GET", "/api/v1/chats")["items"]
        if c["customer_id"] == customer_id
    ]
    return chat


def test_amounts_are_read_in_reais():
    assert parse_reais("150,00") == 15000
    assert parse_reais("R$ 1.500,5") == 150050
    assert parse_reais("80") == 8000
    assert parse_reais("99.9") == 9990
    assert reais(150050) == "R$ 1.500,50"
    for bad in ("", "0", "abc", "1,234", "-5"):
        try:
            parse_reais(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


async def test_a_pix_charge_is_sent_in_the_chat(live_api):
    seeded = seed_agenda(live_api)
    set_pix_key(live_api)
    chat = chat_of(live_api, seeded["maria"])
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        dialog = ChargeDialog(
            customer_id=seeded["maria"], chat_id=chat["id"], customer_name="Maria Silva"
        )
        app.push_screen(dialog)
        await until(pilot, lambda: "Cobranças do paciente (0)" in text_of(app))
        assert "Cobrança PIX · Maria Silva" in text_of(app)
        await pilot.press(*"150,00", "enter", *"Sinal da limpeza")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "enviada no chat de Maria Silva" in text_of(app))
        await until(pilot, lambda: "Cobranças do paciente (1)" in text_of(app))
        shown = text_of(app)
        [charge] = live_api.admin("GET", "/api/v1/charges", customer_id=seeded["maria"])
        assert charge["amount_cents"] == 15000 and charge["description"] == "Sinal da limpeza"
        assert charge["br_code"] in shown.replace("\n", "")
        assert "Sinal da limpeza | R$ 150,00 | pendente" in shown
        assert "em aberto: R$ 150,00" in shown
        messages = live_api.admin("GET", f"/api/v1/chats/{chat['id']}/messages")["items"]
        assert any(charge["br_code"] in (m.get("body") or "") for m in messages)
        live_api.admin("POST", f"/api/v1/charges/{charge['id']}/mark-paid")
        await pilot.press("f5")
        await until(pilot, lambda: "Sinal da limpeza | R$ 150,00 | paga" in text_of(app))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ChargeDialog))


async def test_a_deposit_for_an_appointment_prefills_amount_and_description(live_api):
    seeded = seed_agenda(live_api)
    set_pix_key(live_api)
    booked = book(live_api, seeded, "maria", "2026-11-26T09:00:00-03:00")
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(ChargeDialog(customer_id=seeded["maria"], customer_name="Maria Silva"))
        await until(pilot, lambda: len(app.screen.appointments) == 1)
        app.screen.query_one("#appointment", Select).value = booked["id"]
        await pilot.pause()
        assert app.screen.query_one("#amount", Input).value == "150,00"
        assert app.screen.query_one("#description", Input).value == "Sinal: Limpeza de qui 26/11"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Cobranças do paciente (1)" in text_of(app))
        [charge] = live_api.admin("GET", "/api/v1/charges", customer_id=seeded["maria"])
        assert charge["appointment_id"] == booked["id"]


async def test_without_a_pix_key_the_dialog_says_so(live_api):
    seeded = seed_agenda(live_api)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(ChargeDialog())
        await until(pilot, lambda: app.screen.focused is not None)
        await pilot.press(*"joao")
        await until(pilot, lambda: "João Pereira" in text_of(app))
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.customer_id == seeded["joao"])
        await until(pilot, lambda: "Cobranças do paciente (0)" in text_of(app))
        await pilot.press(*"abc", "enter", "ctrl+s")
        await until(pilot, lambda: "Valor inválido" in text_of(app))
        app.screen.query_one("#amount", Input).value = "80"
        app.screen.query_one("#description", Input).value = "Consulta"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "não tem chave PIX" in text_of(app))
