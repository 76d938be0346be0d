"""The agenda screen against a running API: the day per professional, moving between days,
booking from the dialog, rescheduling, cancelling, confirming, the waitlist, live updates and
switching screens with F2/F3/F4."""

from __future__ import annotations

from textual.widgets import Input

from porfin_tui.screens.agenda import AgendaScreen, CancelDialog, DateDialog, ProfessionalColumn
from porfin_tui.screens.booking import BookingDialog, RescheduleDialog
from porfin_tui.screens.dashboard import DashboardScreen
from porfin_tui.screens.help import HelpScreen
from porfin_tui.screens.inbox import InboxScreen
from porfin_tui.screens.waitlist import WaitlistDialog, WaitlistScreen
from tests.tui.agenda_seed import book, logged_in_app, seed_agenda, stop_realtime, text_of, until

THURSDAY_9 = "2026-11-26T09:00:00-03:00"


async def open_agenda(app, pilot) -> AgendaScreen:
    await until(pilot, lambda: isinstance(app.screen, InboxScreen))
    await pilot.press("f3")
    await until(pilot, lambda: isinstance(app.screen, AgendaScreen) and app.screen.loaded)
    await pilot.pause()
    return app.screen


def appointments(app, live_api, day: str) -> list[dict]:
    return live_api.admin("GET", "/api/v1/appointments", **{"from": day})


async def test_f2_f3_f4_switch_between_inbox_agenda_and_dashboard(live_api):
    seed_agenda(live_api)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agenda(app, pilot)
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = text_of(app)
        assert "Agenda" in shown and "Dia seguinte" in shown and "Remarcar" in shown


async def test_the_day_shows_each_professional_and_moves_between_days(live_api):
    seeded = seed_agenda(live_api, second_professional=True)
    book(live_api, seeded, "maria", THURSDAY_9)
    app = logged_in_app(live_api)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_agenda(app, pilot)
        shown = text_of(app)
        assert "quarta-feira, 25/11/2026 · hoje" in shown
        assert "Dra. Ana Souza · 0 consultas" in shown and "Dr. Bruno Lima" in shown
        await pilot.press("right")
        await until(pilot, lambda: "quinta-feira, 26/11/2026" in text_of(app))
        assert "Maria Silva | Limpeza | a confirmar" in text_of(app)
        assert "09:00" in text_of(app)
        await pilot.press("h")
        await until(pilot, lambda: "25/11/2026 · hoje" in text_of(app))
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, DateDialog))
        await pilot.press(*"26/11", "enter")
        await until(pilot, lambda: screen.day is not None and screen.day.day == 26)
        await until(pilot, lambda: "Maria Silva" in text_of(app))


async def test_a_narrow_terminal_shows_one_professional_at_a_time(live_api):
    seed_agenda(live_api, second_professional=True)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_agenda(app, pilot)
        columns = list(screen.query(ProfessionalColumn))
        assert [c.display for c in columns] == [True, False]
        await pilot.press("p")
        await pilot.pause()
        assert [c.display for c in columns] == [False, True]


async def test_booking_from_the_dialog_shows_in_the_agenda(live_api):
    seed_agenda(live_api)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_agenda(app, pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BookingDialog))
        await pilot.press(*"maria")
        await until(pilot, lambda: "Maria Silva" in text_of(app) and "+55" in text_of(app))
        await pilot.press("enter")  # the only patient found
        dialog = app.screen
        await until(pilot, lambda: dialog.customer_id is not None)
        await until(pilot, lambda: "Horários livres a partir de hoje" in text_of(app))
        assert "qua 25/11 10:00–10:30 · Dra. Ana Souza" in text_of(app)
        await pilot.press("ctrl+s")  # the first free slot, under the cursor
        await until(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await until(pilot, lambda: "Maria Silva | Limpeza | a confirmar" in text_of(app))
        assert "Dra. Ana Souza · 1 consulta" in text_of(app)
        [booked] = appointments(app, live_api, "2026-11-25")
        assert booked["start"] == "2026-11-25T13:00:00Z" and booked["source"] == "staff"
        assert screen.loaded


async def test_a_taken_slot_offers_the_nearest_free_ones(live_api):
    seeded = seed_agenda(live_api)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agenda(app, pilot)
        [chat] = [
            c
            for c in live_api.admin("GET", "/api/v1/chats")["items"]
            if c["customer_id"] == seeded["joao"]
        ]
        dialog = BookingDialog(
            customer_id=seeded["joao"], chat_id=chat["id"], customer_name="João Pereira"
        )
        app.push_screen(dialog)
        await until(pilot, lambda: "qua 25/11 10:00–10:30" in text_of(app))
        book(live_api, seeded, "maria", "2026-11-25T10:00:00-03:00")  # someone else, meanwhile
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "acabou de ser ocupado" in text_of(app))
        assert "qua 25/11 10:30–11:00" in text_of(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await until(pilot, lambda: "João Pereira" in text_of(app))
        booked = sorted(appointments(app, live_api, "2026-11-25"), key=lambda a: a["start"])
        assert [a["start"] for a in booked] == ["2026-11-25T13:00:00Z", "2026-11-25T13:30:00Z"]
        assert booked[1]["chat_id"] == chat["id"]  # booked from João's conversation


async def test_reschedule_confirm_and_cancel_an_appointment(live_api):
    seeded = seed_agenda(live_api)
    booked = book(live_api, seeded, "maria", "2026-11-25T15:00:00-03:00")
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agenda(app, pilot)
        assert "15:00 | Maria Silva | Limpeza | a confirmar" in text_of(app)
        await pilot.press("c")
        await until(pilot, lambda: "15:00 | Maria Silva | Limpeza | confirmada" in text_of(app))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RescheduleDialog))
        await until(pilot, lambda: "qua 25/11 10:00–10:30" in text_of(app))
        assert "Remarcar Maria Silva · Limpeza" in text_of(app)
        await pilot.press("down", "down", "enter")  # 10:30
        await until(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await until(pilot, lambda: "10:30 | Maria Silva | Limpeza | a confirmar" in text_of(app))
        moved = live_api.admin("GET", f"/api/v1/appointments/{booked['id']}")
        assert moved["start"] == "2026-11-25T13:30:00Z"
        assert moved["history"][-1]["action"] == "rescheduled"
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, CancelDialog))
        await pilot.press(*"Paciente viajou", "enter")
        await until(pilot, lambda: "10:30 | Maria Silva | Limpeza | cancelada" in text_of(app))
        assert "Dra. Ana Souza · 0 consultas" in text_of(app)
        cancelled = live_api.admin("GET", f"/api/v1/appointments/{booked['id']}")
        assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "Paciente viajou")


async def test_the_waitlist_lists_and_adds_patients(live_api):
    seed_agenda(live_api)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agenda(app, pilot)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, WaitlistScreen))
        await until(pilot, lambda: "Ninguém na lista de espera" in text_of(app))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, WaitlistDialog))
        await pilot.press(*"joao")
        await until(pilot, lambda: "João Pereira" in text_of(app))
        await pilot.press("enter")
        await until(pilot, lambda: "Paciente: João Pereira" in text_of(app))
        app.screen.query_one("#period-manha").value = True
        app.screen.query_one("#wl-days", Input).value = "seg qua"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, WaitlistScreen))
        await until(pilot, lambda: "João Pereira | Limpeza | qualquer" in text_of(app))
        assert "manhã, seg, qua | aguardando" in text_of(app)
        [entry] = live_api.admin("GET", "/api/v1/waitlist")
        assert entry["periods"] == ["manha"] and entry["weekdays"] == ["monday", "wednesday"]


async def test_appointments_booked_elsewhere_appear_live(live_api):
    seeded = seed_agenda(live_api)
    app = logged_in_app(live_api, live=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agenda(app, pilot)
        await until(pilot, lambda: app.connected)
        book(live_api, seeded, "joao", "2026-11-25T16:00:00-03:00")
        await until(pilot, lambda: "16:00 | João Pereira | Limpeza" in text_of(app))
        await stop_realtime(app, pilot)


async def test_a_patient_on_the_waitlist_is_booked_from_it(live_api):
    seeded = seed_agenda(live_api)
    entry = live_api.admin(
        "POST", "/api/v1/waitlist", {"customer_id": seeded["joao"], "type_id": seeded["type_id"]}
    )
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_agenda(app, pilot)
        await pilot.press("l")
        await until(pilot, lambda: "João Pereira | Limpeza | qualquer" in text_of(app))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BookingDialog))
        await until(pilot, lambda: "qua 25/11 10:00–10:30" in text_of(app))
        assert "João Pereira" in text_of(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, WaitlistScreen))
        await until(pilot, lambda: "Ninguém na lista de espera" in text_of(app))
        await pilot.press("escape")
        await until(pilot, lambda: "10:00 | João Pereira | Limpeza | a confirmar" in text_of(app))
        [closed] = live_api.admin("GET", "/api/v1/waitlist", closed="true")
        assert (closed["id"], closed["status"]) == (entry["id"], "booked")
