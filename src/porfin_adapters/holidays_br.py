"""Brazilian public holidays: the ``holidays`` package, plus the capitals' own days.

National and state holidays come from ``holidays`` (``country_holidays("BR", subdiv=UF)``,
names in Portuguese). Municipal holidays come from the package where it has the city (today
only the city of São Paulo, subdivision "São Paulo Capital", whose days include the state's),
else from :data:`CITY_HOLIDAYS`: the fixed-date municipal holidays of state capitals (patron
saints, anniversaries) and Corpus Christi where the capital keeps it as a holiday. Cities not
in either have no municipal holidays here: a clinic adds its city's days as closures.

Only public holidays count; the package's "optional" days (Carnaval outside the states that
keep it, Quarta-feira de Cinzas, Corpus Christi elsewhere) are ordinary working days unless a
clinic closes on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import holidays as holidays_package

from porfin_adapters.text import fold

CORPUS_CHRISTI = "Corpus Christi"

CITY_HOLIDAYS: Mapping[tuple[str, str], tuple[tuple[int, int, str], ...]] = {
    ("RJ", "rio de janeiro"): ((1, 20, "Dia de São Sebastião"),),
    ("MG", "belo horizonte"): (
        (8, 15, "Assunção de Nossa Senhora"),
        (12, 8, "Imaculada Conceição"),
    ),
    ("BA", "salvador"): ((6, 24, "São João"), (12, 8, "Nossa Senhora da Conceição da Praia")),
    ("RS", "porto alegre"): ((2, 2, "Nossa Senhora dos Navegantes"),),
    ("PR", "curitiba"): ((9, 8, "Nossa Senhora da Luz dos Pinhais"),),
    ("PE", "recife"): (
        (6, 24, "São João"),
        (7, 16, "Nossa Senhora do Carmo"),
        (12, 8, "Nossa Senhora da Conceição"),
    ),
    ("CE", "fortaleza"): (
        (4, 13, "Aniversário de Fortaleza"),
        (8, 15, "Nossa Senhora da Assunção"),
    ),
    ("PA", "belem"): ((1, 12, "Aniversário de Belém"), (12, 8, "Nossa Senhora da Conceição")),
    ("AM", "manaus"): ((10, 24, "Aniversário de Manaus"), (12, 8, "Nossa Senhora da Conceição")),
    ("GO", "goiania"): ((5, 24, "Nossa Senhora Auxiliadora"), (10, 24, "Aniversário de Goiânia")),
    ("SC", "florianopolis"): ((3, 23, "Aniversário de Florianópolis"),),
    ("ES", "vitoria"): ((9, 8, "Nossa Senhora da Vitória"),),
    ("RN", "natal"): ((1, 6, "Santos Reis"), (11, 21, "Nossa Senhora da Apresentação")),
    ("PI", "teresina"): ((8, 16, "Aniversário de Teresina"),),
    ("MT", "cuiaba"): ((4, 8, "Aniversário de Cuiabá"),),
    ("MS", "campo grande"): ((8, 26, "Aniversário de Campo Grande"),),
    ("SE", "aracaju"): ((3, 17, "Aniversário de Aracaju"), (12, 8, "Nossa Senhora da Conceição")),
}
"""Municipal holidays of state capitals the package does not know, by (UF, folded city):
(month, day, name)."""

CORPUS_CHRISTI_CITIES = frozenset({("MG", "belo horizonte"), ("PR", "curitiba")})
"""Capitals (not covered by the package) where Corpus Christi is a municipal holiday."""

_STATES = frozenset(
    code for code in holidays_package.Brazil.subdivisions if len(code) == 2 and code.isupper()
)


def easter(year: int) -> date:
    """Easter Sunday of ``year`` (Gregorian calendar; the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * leap) // 433
    month = (h + leap - 7 * m + 90) // 25
    return date(year, month, (h + leap - 7 * m + 33 * month + 19) % 32)


def _package_city(state: str, city: str) -> str | None:
    """The package's subdivision for a capital whose name is its state's (``"São Paulo
    Capital"``), if ``city`` is one."""
    for subdivision in holidays_package.Brazil.subdivisions:
        if not subdivision.endswith(" Capital"):
            continue
        name = subdivision.removesuffix(" Capital")
        if holidays_package.Brazil.subdivisions_aliases.get(name) == state and fold(name) == city:
            return subdivision
    return None


class BrazilianHolidays:
    """The :class:`~porfin_core.ports.holidays.HolidayCalendar` for Brazil (pure
    computation, cached per place and year)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str | None, str | None, int], dict[date, str]] = {}

    async def holidays(self, state: str | None, city: str | None, year: int) -> dict[date, str]:
        """National holidays, the state's (a UF) and the city's (see the module)."""
        uf = state.strip().upper() if state else None
        if uf not in _STATES:
            uf = None
        place = fold(" ".join(city.split())) if city and uf else None
        key = (uf, place, year)
        if key not in self._cache:
            self._cache[key] = self._compute(uf, place, year)
        return dict(self._cache[key])

    @staticmethod
    def _compute(uf: str | None, city: str | None, year: int) -> dict[date, str]:
        package_city = _package_city(uf, city) if uf and city else None
        found = holidays_package.country_holidays(
            "BR", subdiv=package_city or uf, years=year, language="pt_BR"
        )
        days = {day: str(name) for day, name in found.items()}
        if uf and city and package_city is None:
            for month, day, name in CITY_HOLIDAYS.get((uf, city), ()):
                days.setdefault(date(year, month, day), name)
            if (uf, city) in CORPUS_CHRISTI_CITIES:
                days.setdefault(easter(year) + timedelta(days=60), CORPUS_CHRISTI)
        return days
