"""Portuguese date/time understanding: the phrases patients write, read into time windows."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porfin_core.domain.when import TimeWindow, format_window_pt, parse_when
from porfin_core.errors import ValidationError

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DATA = Path(__file__).parents[1] / "data" / "assistant" / "when.tsv"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SAO_PAULO)  # a Wednesday


def _cases() -> list[pytest.param]:
    cases = []
    for number, line in enumerate(DATA.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        now, text, *expected = line.split("\t")
        cases.append(pytest.param(now, text, expected, id=f"{number}:{text}"))
    return cases


CASES = _cases()


def test_the_data_file_is_big_enough() -> None:
    assert len(CASES) >= 70


@pytest.mark.parametrize("zone", [None, SAO_PAULO], ids=["offset", "sao_paulo"])
@pytest.mark.parametrize(("now", "text", "expected"), CASES)
def test_reads_the_phrase(now: str, text: str, expected: list[str], zone: ZoneInfo | None) -> None:
    moment = datetime.fromisoformat(now)
    if zone is not None:
        moment = moment.astimezone(zone)

    window = parse_when(text, moment)

    if expected == ["none"]:
        assert window is None
        return
    start, end, exact = expected
    assert window is not None
    assert (window.start, window.end, window.exact_time) == (
        datetime.fromisoformat(start),
        datetime.fromisoformat(end),
        exact == "yes",
    )
    assert window.start.tzinfo is moment.tzinfo
    assert window.text


def test_window_carries_the_phrase_and_the_hours_of_each_day() -> None:
    window = parse_when("Oi! Semana que vem de manhã, pode ser?", NOW)

    assert window is not None
    assert window.text == "semana que vem de manha"
    assert window.hours == (8 * 60, 12 * 60)
    assert window.days == 6


def test_exact_time_is_one_minute() -> None:
    window = parse_when("segunda às 15h", NOW)

    assert window is not None
    assert window.exact_time
    assert window.end - window.start == timedelta(minutes=1)
    assert window.hours == (15 * 60, 15 * 60 + 1)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_when("amanhã", datetime(2026, 11, 25, 10, 0))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("amanhã à tarde", "amanhã (qui, 26/11) à tarde"),
        ("sexta às 15h30", "sex, 27/11 às 15h30"),
        ("hoje", "hoje (qua, 25/11)"),
        ("semana que vem de manhã", "de seg, 30/11 a sáb, 05/12 de manhã"),
        ("amanhã entre 14h e 16h", "amanhã (qui, 26/11) das 14h às 16h"),
    ],
)
def test_format_window_pt(text: str, said: str) -> None:
    window = parse_when(text, NOW)

    assert window is not None
    assert format_window_pt(window, NOW) == said


def test_format_without_now_gives_dates_only() -> None:
    window = parse_when("amanhã à tarde", NOW)

    assert window is not None
    assert format_window_pt(window) == "qui, 26/11 à tarde"


_VOCABULARY = (
    "hoje amanhã depois de segunda terça sexta sábado dia 12 31 0 99 12/12 31/02 1/1/2020 de"
    " dezembro fevereiro semana que vem essa próxima às as 3 15h 15:30 9h99 25h entre e das"
    " até antes depois após manhã tarde noite cedo meio-dia meia daqui a 2 dias horas minutos"
    " mês fim 1º 2ª feira não ou qualquer"
)
_WORDS = st.sampled_from(_VOCABULARY.split())
_NOWS = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31),
    timezones=st.sampled_from([SAO_PAULO, timezone(timedelta(hours=-3)), ZoneInfo("UTC")]),
)


def _check(window: TimeWindow | None, now: datetime) -> None:
    if window is None:
        return
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert window.start >= day_start
    assert window.start < window.end


@pytest.mark.parametrize("word", ["dia ", "as 3 ", "de 12 ", "entre 1 e ", "amanhã ", "15h "])
def test_long_repetitive_messages_stay_fast(word: str) -> None:
    started = time.perf_counter()
    parse_when(word * 150 + "xyz?", NOW)
    assert time.perf_counter() - started < 0.25


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80), now=_NOWS)
def test_never_raises_on_any_text(text: str, now: datetime) -> None:
    _check(parse_when(text, now), now)


@settings(max_examples=500, deadline=None)
@given(words=st.lists(_WORDS, max_size=8), now=_NOWS)
def test_windows_start_today_or_later_and_end_after_start(words: list[str], now: datetime) -> None:
    _check(parse_when(" ".join(words), now), now)
