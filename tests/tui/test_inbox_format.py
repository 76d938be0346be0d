"""How the inbox writes things in Portuguese: waits, phones, money, ticks, files, rows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.text import Text

from porfin_tui.ptbr import reais
from porfin_tui.screens.template import parameter_names
from porfin_tui.widgets.chat_list import _spread, matches, sort_key
from porfin_tui.widgets.format import (
    attachment,
    clock_time,
    failure,
    phone,
    ticks,
    waited,
)
from porfin_tui.widgets.sidebar import next_appointment

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def test_waits_read_like_a_person_would_say_them():
    assert waited("2026-11-25T12:59:40Z", NOW) == "agora"
    assert waited("2026-11-25T12:48:00Z", NOW) == "há 12 min"
    assert waited("2026-11-25T10:00:00Z", NOW) == "há 3 h"
    assert waited("2026-11-22T13:00:00Z", NOW) == "há 3 d"
    assert waited(None, NOW) == ""


def test_times_are_the_clinics():
    assert clock_time("2026-11-25T12:30:00Z", SAO_PAULO, NOW) == "09:30"
    assert clock_time("2026-11-24T12:30:00Z", SAO_PAULO, NOW) == "24/11 09:30"


def test_phones_and_money():
    assert phone("+5511987654321") == "+55 11 98765-4321"
    assert phone("+351912345678") == "+351912345678"
    assert reais(15000) == "R$ 150,00"
    assert reais(123456789) == "R$ 1.234.567,89"


def test_ticks_say_how_far_a_message_got():
    assert ticks({"status": "sent"}).plain == "✓"
    assert ticks({"status": "delivered"}).plain == "✓✓"
    assert ticks({"status": "read"}).plain == "✓✓ lida"
    assert ticks({"status": "failed"}).plain == "✗ falhou"
    refused = {"status": "failed", "error": {"error_code": "131047", "error_detail": "fora"}}
    assert failure(refused) == "fora (código 131047)"
    assert failure({"status": "failed", "error": None}) == "o WhatsApp recusou a mensagem"


def test_files_and_templates_are_named():
    photo = {"kind": "image", "media": {"filename": "raio-x.png", "mime_type": "image/png"}}
    assert attachment(photo) == "[imagem] raio-x.png"
    assert attachment({"kind": "audio", "media": {"mime_type": "audio/ogg"}}) == "[áudio] audio/ogg"
    assert attachment({"kind": "template", "extra": {"name": "retorno"}}) == "[modelo retorno]"
    assert attachment({"kind": "text"}) == ""


def test_filters_decide_which_live_changes_belong_and_where():
    waiting = {"id": "a", "waiting_since": "2026-11-25T12:00:00Z", "assignee_id": None}
    assert matches("waiting", waiting, "me")
    assert not matches("mine", waiting, "me")
    assert matches("unassigned", waiting, "me")
    assert not matches("unread", {"id": "b", "unread_count": 0}, "me")
    older = {"id": "c", "waiting_since": "2026-11-25T11:00:00Z"}
    assert sort_key("waiting")(older) < sort_key("waiting")(waiting)
    newer = {"id": "d", "last_message_at": "2026-11-25T12:59:00Z"}
    assert sort_key("all")(newer) < sort_key("all")(
        {"id": "e", "last_message_at": "2026-11-25T12:00:00Z"}
    )


def test_a_row_line_fits_its_width():
    line = _spread(Text("Maria Aparecida da Silva Santos"), Text(" 3 "), 20)
    assert line.cell_len == 20
    assert line.plain.endswith(" 3 ")
    assert "…" in line.plain


def test_template_parameters_in_order():
    assert parameter_names({"body": "Olá {{1}}, sobre {{2}} e {{1}}"}) == ["1", "2"]
    assert parameter_names({"body": "Sem nada", "parameters": 2}) == ["1", "2"]


def test_the_next_appointment_is_the_first_still_to_happen():
    appointments = [
        {"start": "2026-11-20T12:00:00Z", "status": "confirmed"},
        {"start": "2026-11-30T12:00:00Z", "status": "cancelled"},
        {"start": "2026-12-02T12:00:00Z", "status": "requested"},
        {"start": "2026-12-01T12:00:00Z", "status": "confirmed"},
    ]
    assert next_appointment(appointments, NOW) == appointments[3]
