"""Holidays of a clinic's place: national, state and city days."""

from __future__ import annotations

from datetime import date

import pytest

from porfin_adapters.holidays_br import CITY_HOLIDAYS, BrazilianHolidays, easter
from porfin_adapters.memory.holidays import FixedHolidayCalendar


@pytest.fixture
def calendar() -> BrazilianHolidays:
    return BrazilianHolidays()


async def test_national_holidays_everywhere_named_in_portuguese(calendar):
    days = await calendar.holidays(None, None, 2026)
    assert days[date(2026, 9, 7)] == "Independência do Brasil"
    assert days[date(2026, 11, 20)] == "Dia Nacional de Zumbi e da Consciência Negra"
    assert date(2026, 4, 3) in days  # Sexta-feira Santa
    assert date(2026, 2, 17) not in days  # Carnaval is optional nationally


async def test_state_holidays_follow_the_uf(calendar):
    sp = await calendar.holidays("sp", None, 2026)
    assert sp[date(2026, 7, 9)] == "Revolução Constitucionalista"
    rj = await calendar.holidays("RJ", None, 2026)
    assert date(2026, 4, 23) in rj and date(2026, 7, 9) not in rj  # São Jorge


async def test_the_package_knows_sao_paulo_city(calendar):
    for spelling in ("São Paulo", "sao  paulo", "SAO PAULO"):
        days = await calendar.holidays("SP", spelling, 2026)
        assert days[date(2026, 1, 25)] == "Aniversário da Cidade de São Paulo"
        assert date(2026, 7, 9) in days  # the state's days too
    campinas = await calendar.holidays("SP", "Campinas", 2026)
    assert date(2026, 1, 25) not in campinas


async def test_other_capitals_come_from_the_table(calendar):
    rio = await calendar.holidays("RJ", "Rio de Janeiro", 2027)
    assert rio[date(2027, 1, 20)] == "Dia de São Sebastião"
    assert date(2027, 4, 23) in rio  # and the state's
    bh = await calendar.holidays("MG", "Belo Horizonte", 2026)
    assert bh[date(2026, 6, 4)] == "Corpus Christi"  # Easter (5 April) + 60 days
    assert bh[date(2026, 12, 8)] == "Imaculada Conceição"
    # A city name of another state is not that capital.
    assert date(2026, 1, 20) not in await calendar.holidays("SP", "Rio de Janeiro", 2026)


async def test_unknown_places_have_only_national_holidays(calendar):
    national = await calendar.holidays(None, None, 2026)
    assert await calendar.holidays("XX", "Lugar Nenhum", 2026) == national
    assert await calendar.holidays(None, "Rio de Janeiro", 2026) == national


def test_the_capitals_table_is_keyed_by_uf_and_folded_name():
    for (uf, city), days in CITY_HOLIDAYS.items():
        assert len(uf) == 2 and uf.isupper()
        assert city == city.lower() and city.isascii()
        for month, day, name in days:
            date(2024, month, day)  # a real date, leap year included
            assert name


def test_easter():
    assert [easter(y) for y in (2024, 2025, 2026, 2027, 2038)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2038, 4, 25),
    ]


async def test_the_fixed_calendar_gives_its_dates_by_place_and_year():
    fixed = FixedHolidayCalendar(
        {date(2026, 12, 25): "Natal", date(2027, 1, 1): "Ano-Novo"},
        local={
            ("SP", "São Paulo"): {date(2026, 1, 25): "Aniversário"},
            ("RJ", None): {date(2026, 4, 23): "São Jorge"},
        },
    )
    assert await fixed.holidays(None, None, 2026) == {date(2026, 12, 25): "Natal"}
    sp = await fixed.holidays("sp", "sao paulo", 2026)
    assert set(sp) == {date(2026, 12, 25), date(2026, 1, 25)}
    assert set(await fixed.holidays("RJ", "Niterói", 2026)) == {
        date(2026, 12, 25),
        date(2026, 4, 23),
    }
