"""When a patient wants to come, read from Brazilian Portuguese as written on WhatsApp.

:func:`parse_when` turns ``"amanhã à tarde"``, ``"segunda às 15h"``, ``"dia 12"`` or ``"semana
que vem de manhã"`` into a :class:`TimeWindow` in the time zone of the ``now`` it is given
(the clinic's zone). The reading is pure and deterministic; the rules:

* **Days.** ``hoje``, ``amanhã``, ``depois de amanhã``, ``daqui a N dias/semanas/meses``;
  weekday names (``segunda``, ``terça-feira``, ``sab``, ``2ª feira``; ``próxima terça`` and
  ``terça que vem`` alike) mean the *next* such day, never today; ``semana que vem`` is next
  week Monday to Saturday, or that weekday of next week when one is named; ``essa semana``
  runs to Saturday; ``dia 12`` is the next 12th (today included); ``12/12``, ``12 de
  dezembro`` the next such date; ``12/12/2026`` exactly that date; ``mês que vem``, ``em
  janeiro``, ``fim do mês``, ``primeira semana de dezembro`` those spans; ``o quanto antes`` the
  coming week and ``agora``/``pra já`` today. An explicit date that is impossible or already
  past makes the whole reading None. The most specific kind of day said wins (``sexta, dia 4``
  is the 4th); several of one kind make one span (``segunda ou terça``); a day negated (``hoje
  não``, ``não posso segunda``) is dropped.
* **Times of day.** Periods (``de manhã`` 08-12, ``à tarde`` 12-18, ``à noite`` 18-21,
  ``cedo``/``primeiro horário`` 08-10, ``fim da tarde`` 16-18, ``hora do almoço`` 12-14 and a
  few more), ranges (``entre 14h e 16h``, ``depois das 17h``, ``antes das 10``) and clock
  times (``15h``, ``15:30``, ``às 9``, ``3 da tarde``, ``meio-dia``, ``10 e meia``, ``sexta 15``;
  not durations such as ``esperei 1h``); ``daqui a 2 horas`` is that minute. A bare hour from
  1 to 7 is afternoon (``às 3`` is 15:00) unless the morning is said or the hour is written
  with a leading zero (``07:30``): clinics do not open at 3 am.
* **Future.** Without a day, a time means today if it is still ahead, else tomorrow. A window
  that has begun is clipped to start at ``now``. A day said explicitly is kept even when its
  time is over (``hoje de manhã`` said at 14:00 ends before ``now``): the caller can tell
  the patient that time has passed instead of silently moving it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Final

import attrs

from porfin_core.domain.pt_text import fold
from porfin_core.errors import ValidationError

__all__ = ["TimeWindow", "format_window_pt", "parse_when"]

MORNING: Final = (8 * 60, 12 * 60)
"""``de manhã``: 08:00-12:00 (minutes after local midnight)."""
AFTERNOON: Final = (12 * 60, 18 * 60)
"""``à tarde``: 12:00-18:00."""
EVENING: Final = (18 * 60, 21 * 60)
"""``à noite``: 18:00-21:00."""
DAY_OPENS: Final = 8 * 60
"""Where ``antes das 10`` starts: 08:00."""
DAY_CLOSES: Final = 21 * 60
"""Where ``depois das 17h`` ends: 21:00 (or an hour after, for later hours)."""

_MINUTES_PER_DAY: Final = 24 * 60
_MAX_CHARS: Final = 2_000
_MAX_DAYS_AHEAD: Final = 400


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


@attrs.frozen
class TimeWindow:
    """When the patient wants to come: from ``start`` (included) to ``end`` (excluded).

    Attributes:
        start: First instant meant, aware, in the zone of the ``now`` given to
            :func:`parse_when`.
        end: Instant after the last one meant; always after ``start``.
        exact_time: A clock time was said (``15h``); the window is then that minute,
            ``[t, t + 1 min)``.
        text: The phrase understood, folded (``"amanha a tarde"``), for traces and replies.
        hours: Local times of day asked for, as minutes after midnight ``(from, to)``, or None
            when no time of day was said. On a window spanning several days (``semana que vem
            de manhã``) only these hours of each day are meant.
    """

    start: datetime
    end: datetime
    exact_time: bool
    text: str
    hours: tuple[int, int] | None = None

    @property
    def days(self) -> int:
        """How many local dates the window touches."""
        last = self.end - timedelta(microseconds=1)
        return (last.date() - self.start.date()).days + 1


# --- reading ---------------------------------------------------------------------------------

_NUMBER_WORDS: Final = {
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "tres": 3,
    "quatro": 4,
    "cinco": 5,
    "seis": 6,
    "sete": 7,
    "oito": 8,
    "nove": 9,
    "dez": 10,
    "onze": 11,
    "doze": 12,
    "quinze": 15,
    "vinte": 20,
    "trinta": 30,
}
_HOUR_WORDS: Final = "uma|duas|tres|quatro|cinco|seis|sete|oito|nove|dez|onze|doze"
_COUNT_WORDS: Final = "|".join(_NUMBER_WORDS)

_MONTHS: Final = {
    "janeiro": 1,
    "fevereiro": 2,
    "marco": 3,
    "abril": 4,
    "maio": 5,
    "junho": 6,
    "julho": 7,
    "agosto": 8,
    "setembro": 9,
    "outubro": 10,
    "novembro": 11,
    "dezembro": 12,
}
_MONTH_ABBREVIATIONS: Final = {name[:3]: number for name, number in _MONTHS.items()}
_MONTH_NAMES: Final = "|".join([*_MONTHS, *_MONTH_ABBREVIATIONS])
_FULL_MONTH_NAMES: Final = "|".join(_MONTHS)

_WEEKDAYS: Final = {
    "segunda": 0,
    "seg": 0,
    "2a": 0,
    "2": 0,
    "terca": 1,
    "tersa": 1,
    "ter": 1,
    "3a": 1,
    "3": 1,
    "quarta": 2,
    "qua": 2,
    "4a": 2,
    "4": 2,
    "quinta": 3,
    "qui": 3,
    "5a": 3,
    "5": 3,
    "sexta": 4,
    "sex": 4,
    "6a": 4,
    "6": 4,
    "sabado": 5,
    "sabados": 5,
    "sab": 5,
    "domingo": 6,
    "domingos": 6,
    "dom": 6,
}
_WEEKDAY_NAMES_PT: Final = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")

# Punctuation carries meaning in "15:30" and "12/12"; fold() drops it, so say it in words first.
_RAW_CLOCK: Final = re.compile(r"(?<![\d/])(\d{1,2})\s*:\s*([0-5]\d)(?![\d/])")
_RAW_DATE: Final = re.compile(
    r"(?<![\d/])(\d{1,2})\s*/\s*(\d{1,2})(?:\s*/\s*(\d{4}|\d{2}))?(?![\d/])"
)


def _spell_punctuation(text: str) -> str:
    def date_words(match: re.Match[str]) -> str:
        day, month, year = match.groups()
        return f" {day} de {month}" + (f" de {year} " if year else " ")

    text = _RAW_DATE.sub(date_words, text)
    return _RAW_CLOCK.sub(r"\1h\2", text)


@attrs.define
class _Scan:
    """Folded text, with the spans claimed so far blanked so no phrase is read twice."""

    text: str
    rest: str
    spans: list[tuple[int, int]] = attrs.field(factory=list)

    def find(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        return list(pattern.finditer(self.rest))

    def claim(self, start: int, end: int) -> None:
        self.rest = self.rest[:start] + " " * (end - start) + self.rest[end:]
        self.spans.append((start, end))

    def word_before(self, index: int) -> str:
        head = self.text[:index].rstrip()
        return head.rsplit(" ", 1)[-1] if head else ""

    def word_after(self, index: int) -> str:
        tail = self.text[index:].split(None, 1)
        return tail[0] if tail else ""


# --- days ------------------------------------------------------------------------------------


@attrs.frozen
class _Days:
    first: date
    last: date
    rank: int  # 0 explicit date, 1 relative day, 2 weekday, 3 week/month/soon, 4 "agora"
    span: tuple[int, int]


class _Impossible(Exception):
    """An explicit date that cannot be meant (31/02, a past 12/12/2020)."""


_EXPLICIT_DATE: Final = re.compile(
    rf"\b(?:(?:no\s+)?dia\s+)?(?P<day>\d{{1,2}}|primeiro)o?\s+(?:de\s+(?P<month>\d{{1,2}}|"
    rf"{_MONTH_NAMES})|(?P<full>{_MONTH_NAMES}))"
    r"(?:\s+de\s+(?P<year>\d{4}|\d{2})|\s+(?P<long_year>\d{4}))?\b"
)
_DAY_OF_MONTH: Final = re.compile(
    r"\b(?:no\s+|pro\s+|para\s+o\s+|pra\s+)?dia\s+(?P<day>\d{1,2}|primeiro)o?\b"
)
_RELATIVE_DAY: Final = re.compile(
    r"\b(?:(?P<after>(?:depois|dps|dpois)\s+(?:de\s+|d\s+)?(?:amanha|amanhan|amnh|amanh))"
    r"|(?P<tomorrow>amanha|amanhan|amnh|amanh|amnha)|(?P<today>hoje|hj|hje|hoj))\b"
)
_DAYS_FROM_NOW: Final = re.compile(
    rf"\b(?:daqui|dqui|em)\s+(?:a\s+|ha\s+)?(?:uns\s+|umas\s+)?(?P<count>\d{{1,3}}|{_COUNT_WORDS})"
    r"\s+(?P<unit>dias?|semanas?|mes|meses)\b"
)
_WEEKDAY: Final = re.compile(
    r"\b(?:(?:proxima|proximo|prox|nessa|nesta|essa|esta|na|no)\s+)?"
    r"(?P<day>segunda(?!\s+(?:opcao|opcoes|op|vez|via|consulta|sessao|etapa|parte|parcela|dose"
    r"|alternativa|chamada|mao|vaga|horario|semana))|terca|tersa|quarta|quinta|sexta|sabados?|domingos?"
    r"|seg|qua|qui|sex|sab|dom|(?:ter|[2-6]a?)(?=\s*feira))(?:\s*feira)?(?:\s+q(?:ue)?\s+vem)?\b"
)
_NEXT_WEEK: Final = re.compile(
    r"\b(?:(?:na|da|pra|para\s+a)\s+)?(?:semana\s+q(?:ue)?\s+vem|(?:proxima|prox)\s+semana"
    r"|semana\s+seguinte"
    r"|outra\s+semana|semana\s+proxima)\b"
)
_THIS_WEEK: Final = re.compile(r"\b(?:ainda\s+)?(?:nessa|nesta|essa|esta)\s+semana(?:\s+ainda)?\b")
_WEEKEND: Final = re.compile(
    r"\b(?:(?:nesse|neste|esse|este|no|pro|proximo)\s+)?(?:fim|final)\s+de\s+semana\b|\bfds\b"
)
_NEXT_MONTH: Final = re.compile(r"\b(?:mes\s+q(?:ue)?\s+vem|(?:proximo|prox)\s+mes)\b")
_THIS_MONTH: Final = re.compile(r"\b(?:ainda\s+)?(?:nesse|neste|esse|este)\s+mes\b")
_MONTH_ONLY: Final = re.compile(
    rf"\b(?:em|no\s+mes\s+de|mes\s+de|pra|para|inicio\s+de|comeco\s+de)\s+(?P<month>"
    rf"{_FULL_MONTH_NAMES})\b"
)
_PART_OF_MONTH: Final = re.compile(
    r"\b(?:(?:no|na)\s+)?(?P<part>inicio|comeco|comecinho|meio|metade|fim|final|finalzinho"
    r"|primeira\s+semana|segunda\s+semana|terceira\s+semana|ultima\s+semana)\s+"
    rf"(?:d[eo]\s+)?(?:(?P<month>{_FULL_MONTH_NAMES})|(?P<next>mes\s+q(?:ue)?\s+vem|proximo\s+mes)"
    r"|(?:do\s+)?mes)\b"
)
_PARTS_OF_MONTH: Final = {
    "inicio": (1, 10),
    "comeco": (1, 10),
    "comecinho": (1, 10),
    "meio": (11, 20),
    "metade": (11, 20),
    "fim": (21, 31),
    "final": (21, 31),
    "finalzinho": (24, 31),
    "primeira semana": (1, 7),
    "segunda semana": (8, 14),
    "terceira semana": (15, 21),
    "ultima semana": (25, 31),
}
_SOON: Final = re.compile(
    r"\b(?:o\s+quanto\s+antes|(?:o\s+)?mais\s+(?:rapido|cedo|breve)\s+possivel|assim\s+que\s+"
    r"(?:der|possivel|tiver)|primeira\s+vaga|primeiro\s+horario\s+(?:livre|disponivel|que\s+tiver))\b"
)
_NOW: Final = re.compile(r"\b(?:agora|agorinha|pra\s+ja|ainda\s+hoje)\b")
_SOON_DAYS: Final = 7
"""How far ``o quanto antes`` looks: a week from today."""
_NEGATED_AFTER: Final = re.compile(r"\s+(?:nao|n|nem)\b")
_NEGATED_BEFORE: Final = re.compile(
    r"(?:\bmenos|\bexceto|\bsem\s+ser|\bnao\s+(?:pode\s+ser|posso|consigo|da|vai\s+dar|rola"
    r"|tenho\s+como|vou\s+poder|vou\s+conseguir|vai\s+ser\s+possivel)(?:\s+(?:ir|vir|comparecer))?)"
    r"(?:\s+(?:na|no|nessa|nesse|de|pra))?\s+$"
)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word, 1 if word == "primeiro" else 0)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _next_day_of_month(number: int, today: date) -> date:
    if not 1 <= number <= 31:
        raise _Impossible
    first = today.replace(day=1)
    for ahead in range(13):
        month = _add_months(first, ahead)
        if number <= calendar.monthrange(month.year, month.month)[1]:
            candidate = month.replace(day=number)
            if candidate >= today:
                return candidate
    raise _Impossible  # pragma: no cover - some month within a year has any day 1-31


def _explicit_date(match: re.Match[str], today: date) -> tuple[date, date] | None:
    day = _number(match["day"])
    month_word = match["month"] or match["full"]
    month = (
        int(month_word)
        if month_word.isdigit()
        else _MONTHS.get(month_word) or _MONTH_ABBREVIATIONS[month_word]
    )
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None  # "5 de 30" is no date at all
    year_text = match["year"] or match["long_year"]
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        years = [year]
    else:  # the next such date; 29/02 may be a few years ahead
        years = list(range(today.year, today.year + 5))
    for year in years:
        try:
            found = date(year, month, day)
        except ValueError:  # 31/02, 29/02 outside a leap year
            continue
        if found >= today:
            return found, found
    raise _Impossible


def _weekday_ahead(weekday: int, today: date) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _read_days(scan: _Scan, today: date) -> _Days | None:
    hits: list[_Days] = []

    def take(
        pattern: re.Pattern[str],
        rank: int,
        read: Callable[[re.Match[str]], tuple[date, date] | None],
    ) -> None:
        for match in scan.find(pattern):
            days = read(match)
            if days is not None:
                hits.append(_Days(days[0], days[1], rank, match.span()))
                scan.claim(*match.span())

    def one_day(found: date) -> tuple[date, date]:
        return found, found

    take(_EXPLICIT_DATE, 0, lambda m: _explicit_date(m, today))
    take(_DAY_OF_MONTH, 0, lambda m: one_day(_next_day_of_month(_number(m["day"]), today)))
    relative = {"after": 2, "tomorrow": 1, "today": 0}
    take(
        _RELATIVE_DAY,
        1,
        lambda m: one_day(today + timedelta(days=relative[m.lastgroup or "today"])),
    )
    take(_DAYS_FROM_NOW, 1, lambda m: one_day(_days_from_now(m, today)))
    take(_PART_OF_MONTH, 3, lambda m: _part_of_month(m, today))

    next_week = scan.find(_NEXT_WEEK)
    for match in next_week:
        scan.claim(*match.span())
    for match in scan.find(_WEEKDAY):
        weekday = _WEEKDAYS[match["day"]]
        found = (
            _next_monday(today) + timedelta(days=weekday)
            if next_week
            else _weekday_ahead(weekday, today)
        )
        hits.append(_Days(found, found, 2, match.span()))
        scan.claim(*match.span())
    monday = _next_monday(today)
    for match in next_week:
        hits.append(_Days(monday, monday + timedelta(days=5), 3, match.span()))
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    take(_THIS_WEEK, 3, lambda m: (today, max(saturday, today)))
    take(_WEEKEND, 3, lambda m: _weekend(today))
    take(
        _NEXT_MONTH,
        3,
        lambda m: (_add_months(today.replace(day=1), 1), _month_end(_add_months(today, 1))),
    )
    take(_THIS_MONTH, 3, lambda m: (today, _month_end(today)))
    take(_MONTH_ONLY, 3, lambda m: _whole_month(_MONTHS[m["month"]], today))
    take(_SOON, 3, lambda m: (today, today + timedelta(days=_SOON_DAYS - 1)))
    take(_NOW, 4, lambda m: (today, today))

    kept = [hit for hit in hits if not _negated(scan.text, hit.span)]
    if not kept:
        return None
    best_rank = min(hit.rank for hit in kept)
    chosen = [hit for hit in kept if hit.rank == best_rank]
    return _Days(
        min(hit.first for hit in chosen),
        max(hit.last for hit in chosen),
        best_rank,
        (min(hit.span[0] for hit in chosen), max(hit.span[1] for hit in chosen)),
    )


def _negated(text: str, span: tuple[int, int]) -> bool:
    return bool(_NEGATED_AFTER.match(text, span[1]) or _NEGATED_BEFORE.search(text, 0, span[0]))


def _days_from_now(match: re.Match[str], today: date) -> date:
    count, unit = _number(match["count"]), match["unit"]
    if unit.startswith("mes"):
        return _add_months(today, min(count, 24))
    days = count * (7 if unit.startswith("semana") else 1)
    if days > _MAX_DAYS_AHEAD:
        raise _Impossible
    return today + timedelta(days=days)


def _weekend(today: date) -> tuple[date, date]:
    if today.weekday() == 6:
        return today, today
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    return max(saturday, today), saturday + timedelta(days=1)


def _part_of_month(match: re.Match[str], today: date) -> tuple[date, date] | None:
    if match["month"]:
        first, _ = _whole_month(_MONTHS[match["month"]], today)
        first = first.replace(day=1)
    elif match["next"]:
        first = _add_months(today.replace(day=1), 1)
    else:
        first = today.replace(day=1)
    low, high = _PARTS_OF_MONTH[" ".join(match["part"].split())]
    start = first.replace(day=low)
    end = first.replace(day=min(high, _month_end(first).day))
    if end < today:  # "fim do mês" said after the 20th of a month: what is left of it
        return None
    return max(start, today), end


def _whole_month(month: int, today: date) -> tuple[date, date]:
    if month == today.month:
        return today, _month_end(today)
    year = today.year if month > today.month else today.year + 1
    first = date(year, month, 1)
    return first, _month_end(first)


# --- times of day ----------------------------------------------------------------------------

_ATOM: Final = (
    r"(?:meio\s+dia(?:\s+e\s+meia)?|meia\s+noite"
    r"|\d{1,2}(?:\s*(?:h|hs|hrs|hr|horas?)(?:\s*[0-5]\d(?!\s*h))?)?(?:\s+e\s+meia)?"
    rf"|(?:{_HOUR_WORDS})(?:\s+horas?)?(?:\s+e\s+meia)?)"
    r"(?:\s+(?:da|de)\s+(?:manha|tarde|noite|madrugada))?"
)
_ATOM_PARTS: Final = re.compile(
    rf"(?:(?P<noon>meio\s+dia)|(?P<midnight>meia\s+noite)|(?P<digits>\d{{1,2}})"
    rf"|(?P<word>{_HOUR_WORDS}))(?P<unit>\s*(?:h|hs|hrs|hr|horas?))?(?:\s*(?P<minute>[0-5]\d))?"
    r"(?P<half>\s+e\s+meia)?(?:\s+(?:da|de)\s+(?P<part>manha|tarde|noite|madrugada))?"
)
_RANGE: Final = re.compile(
    rf"\b(?P<lead>entre|das|dos|de)\s+(?P<a>{_ATOM})\s+(?:e|as|a|ate)\s+(?P<b>{_ATOM})\b"
)
_AFTER: Final = re.compile(
    r"\b(?:depois|dps|apos|a\s+partir|partir|so\s+depois|mais\s+tarde\s+que|passado)\s+"
    rf"(?:d[aeo]s?\s+|as\s+|a\s+)?(?P<a>{_ATOM})\b"
)
_BEFORE: Final = re.compile(
    rf"\b(?:antes|ate|no\s+maximo|no\s+max)\s+(?:d[aeo]s?\s+|as\s+|a\s+)?(?P<a>{_ATOM})\b"
)
_AT: Final = re.compile(
    r"\b(?P<lead>as|a|pelas|pelos|umas|la\s+pelas|la\s+pras?|por\s+volta\s+d[ae]s?"
    rf"|perto\s+d[ae]s?|lah?\s+pras?)\s+(?P<a>{_ATOM})\b"
)
_LONE: Final = re.compile(rf"\b(?P<a>{_ATOM})\b")
_FROM_NOW: Final = re.compile(
    rf"\b(?:daqui|dqui|em)\s+(?:a\s+)?(?:uns\s+|umas\s+)?(?P<count>\d{{1,3}}|meia|{_COUNT_WORDS})"
    r"\s*(?P<unit>horas?|h|minutos?|min)\b"
)
# Words after a bare number that make it a quantity, not an hour ("até 3 dias", "às 2 pessoas").
_QUANTITY_AFTER: Final = _word_set(
    "dia dias semana semanas mes meses ano anos vez vezes x pessoa pessoas real reais mil "
    "minuto minutos min dente dentes sessao sessoes consulta consultas parcela parcelas "
    "filho filhos km metro metros kg quilos anos porcento opcao opcoes"
)
# Words that may follow a spelled hour ("às duas", "lá pelas três, pode ser?").
_CLOSERS: Final = _word_set(
    "hoje amanha pode ou e ta esta fica seria serve entao mesmo certo ok blz beleza pfv "
    "por pra para na no da de horas hora h"
) | {""}
_DAY_WORDS: Final = _word_set(
    "hoje hj amanha segunda terca quarta quinta sexta sabado domingo feira seg ter qua qui sex sab"
)
# Words before a lone time that make it a duration ("esperei 1h", "faz 2 horas").
_DURATION_BEFORE: Final = _word_set(
    "esperei esperando espera esperar esperamos ha faz fazem durante por mais menos quase "
    "demora demorou leva levou dura durou de em uns cerca"
)


@attrs.frozen
class _Clock:
    hour: int
    minute: int
    part: str | None  # "manha", "tarde", "noite", "madrugada" when said with the hour
    strong: bool  # written as a time ("15h", "15:30", "3 da tarde"), not a bare number
    leading_zero: bool
    spelled: bool = False  # "duas", "uma e meia"


@attrs.frozen
class _Hours:
    low: int
    high: int
    exact: bool


def _read_atom(text: str) -> _Clock | None:
    match = _ATOM_PARTS.fullmatch(text.strip())
    if match is None:
        return None
    minute = int(match["minute"] or 0) + (30 if match["half"] else 0)
    if match["noon"]:
        return _Clock(12, minute, None, True, False)
    if match["midnight"]:
        return _Clock(0, minute, None, True, False)
    digits = match["digits"]
    hour = int(digits) if digits else _NUMBER_WORDS[match["word"]]
    if hour > 23 or minute > 59:
        return None
    spelled = digits is None
    strong = bool(match["part"] or match["half"] or (match["unit"] and not spelled))
    return _Clock(hour, minute, match["part"], strong, bool(digits and digits[0] == "0"), spelled)


def _resolve(clock: _Clock, period: tuple[int, int] | None) -> int:
    """Minutes after midnight of what the patient meant by ``clock``."""
    hour = clock.hour
    if clock.part in ("tarde", "noite"):
        hour += 12 if hour < 12 else 0
    elif clock.part is not None or clock.leading_zero or hour >= 12:
        pass
    elif period is not None and period[0] >= 12 * 60:
        hour += 12
    elif period is not None and period[1] <= 12 * 60:
        pass
    elif 1 <= hour <= 7:
        hour += 12
    return hour * 60 + clock.minute


_PREPOSITIONS: Final = _word_set("a de pela na da nessa nesta essa esta parte periodo turno")
# Only these words before "tarde"/"noite" make a period: not "boa tarde", "mais tarde".
_PERIOD_PREPS: Final = _PREPOSITIONS | _word_set(
    "hoje hj amanha segunda terca quarta quinta sexta sabado domingo feira so"
)

_PERIODS: Final[tuple[tuple[re.Pattern[str], tuple[int, int], bool], ...]] = tuple(
    (re.compile(pattern), hours, needs_preposition)
    for pattern, hours, needs_preposition in (
        (r"\b(?:no\s+)?(?:fim|final|finalzinho)\s+da\s+tarde(?:zinha)?\b", (960, 1080), False),
        (r"\b(?:no\s+)?(?:inicio|comeco|comecinho)\s+da\s+tarde\b", (780, 900), False),
        (r"\b(?:no\s+)?meio\s+da\s+tarde\b", (840, 960), False),
        (r"\b(?:no\s+)?(?:fim|final|finalzinho)\s+da\s+manha\b", (600, 720), False),
        (r"\b(?:no\s+)?(?:fim|final)\s+do\s+dia\b|\bultimo\s+horario\b", (960, 1080), False),
        (r"\bdepois\s+do\s+almoco\b", (840, 1080), False),
        (r"\bantes\s+do\s+almoco\b", MORNING, False),
        (
            r"\b(?:na\s+)?(?:hora|horario)\s+do\s+almoco\b|\b(?:no|na\s+hora\s+do)\s+almoco\b",
            (720, 840),
            False,
        ),
        (
            r"(?<!\bmais\s)\b(?:bem\s+|logo\s+|de\s+)?(?:cedo|cedinho)\b"
            r"|\b(?:de\s+)?manhazinha\b|\b(?:o\s+|no\s+)?(?:primeiro|1o)\s+horario\b"
            r"|\bprimeira\s+hora\b",
            (480, 600),
            False,
        ),
        (
            r"\b(?:(?:de|pela|na|da|a|nessa|nesta|essa|esta|parte\s+da|periodo\s+da|turno\s+da)"
            r"\s+)?manha\b",
            MORNING,
            False,
        ),
        (r"\btarde(?:zinha)?\b", AFTERNOON, True),
        (r"\b(?:noite|noitinha)\b", EVENING, True),
    )
)


def _read_period(scan: _Scan) -> tuple[int, int] | None:
    for pattern, hours, needs_preposition in _PERIODS:
        for match in scan.find(pattern):
            start = match.start()
            if needs_preposition:
                before = scan.word_before(start)
                if before not in _PERIOD_PREPS:
                    continue
                if before in _PREPOSITIONS:
                    start -= len(before) + 1
            scan.claim(start, match.end())
            return hours
    return None


def _bare_is_quantity(scan: _Scan, clock: _Clock, end: int) -> bool:
    return not clock.strong and scan.word_after(end) in _QUANTITY_AFTER


_Said = tuple[str, _Clock, _Clock | None]


def _read_said(scan: _Scan) -> list[_Said]:
    said: list[_Said] = []
    for match in scan.find(_RANGE):
        low, high = _read_atom(match["a"]), _read_atom(match["b"])
        if low is None or high is None or _bare_is_quantity(scan, high, match.end()):
            continue
        if match["lead"] in ("de", "dos") and not (low.strong or high.strong):
            continue
        if low.part is None and high.part is not None:
            low = attrs.evolve(low, part=high.part)
        said.append(("range", low, high))
        scan.claim(*match.span())
    for kind, pattern in (("after", _AFTER), ("before", _BEFORE)):
        for match in scan.find(pattern):
            clock = _read_atom(match["a"])
            if clock is None or _bare_is_quantity(scan, clock, match.end()):
                continue
            said.append((kind, clock, None))
            scan.claim(*match.span())
    for match in scan.find(_AT):
        clock = _read_atom(match["a"])
        if clock is None or _bare_is_quantity(scan, clock, match.end()):
            continue
        if match["lead"] == "a" and not (clock.strong or match["a"].startswith("uma")):
            continue  # "a 2" is option two, not 14:00
        if clock.spelled and not clock.strong and scan.word_after(match.end()) not in _CLOSERS:
            continue  # "a uma consulta", "as duas clínicas"
        said.append(("at", clock, None))
        scan.claim(*match.span())
    for match in scan.find(_LONE):
        clock = _read_atom(match["a"])
        if clock is None:
            continue
        if not clock.strong and not _after_day_word(scan, clock, match):
            continue
        if scan.word_before(match.start()) in _DURATION_BEFORE:
            continue
        said.append(("at", clock, None))
        scan.claim(*match.span())
    return said


def _after_day_word(scan: _Scan, clock: _Clock, match: re.Match[str]) -> bool:
    """``"sexta 15"``, ``"amanhã 10?"``: a bare hour right after the day it belongs to."""
    return (
        not clock.spelled
        and 7 <= clock.hour <= 20
        and scan.word_before(match.start()) in _DAY_WORDS
        and scan.word_after(match.end()) in _CLOSERS
    )


def _read_hours(scan: _Scan) -> _Hours | None:
    """The time of day said: a clock time, a range or a period, combined."""
    said = _read_said(scan)
    period = _read_period(scan)
    hours: dict[str, _Hours] = {}
    for kind, clock, other in said:
        if kind in hours:
            continue
        minute = _resolve(clock, period)
        if kind == "at":
            hours[kind] = _Hours(minute, minute + 1, True)
        elif kind == "after":
            high = max(DAY_CLOSES, min(minute + 60, _MINUTES_PER_DAY))
            hours[kind] = _Hours(minute, high, False)
        elif kind == "before" and minute > 0:
            hours[kind] = _Hours(min(DAY_OPENS, max(minute - 60, 0)), minute, False)
        elif kind == "range" and other is not None:
            end = _resolve(other, period)
            if end <= minute < end + 12 * 60 and end < 12 * 60:
                end += 12 * 60
            if minute < end:
                hours[kind] = _Hours(minute, end, False)
    if "at" in hours:
        return hours["at"]
    found = hours.get("range")
    if found is None and "after" in hours:
        found = hours["after"]
        if "before" in hours and found.low < hours["before"].high:
            found = _Hours(found.low, hours["before"].high, False)
    found = found or hours.get("before")
    if found is None:
        return None if period is None else _Hours(period[0], period[1], False)
    if period is not None:
        low, high = max(found.low, period[0]), min(found.high, period[1])
        if low < high:
            return _Hours(low, high, False)
    return found


# --- windows ---------------------------------------------------------------------------------


def _at(day: date, minute: int, now: datetime) -> datetime:
    if minute >= _MINUTES_PER_DAY:
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=now.tzinfo)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=now.tzinfo)


def _window(
    first: date, last: date, hours: _Hours | None, now: datetime, implicit: bool
) -> tuple[datetime, datetime]:
    if hours is None:
        start, end = _at(first, 0, now), _at(last, _MINUTES_PER_DAY, now)
        return (now if start < now < end else start), end
    # The last instant of a day that still serves: the minute itself for a clock time.
    closes = hours.low if hours.exact else hours.high
    if implicit and _at(first, closes, now) <= now:
        first = last = first + timedelta(days=1)
    day = first
    while day < last and _at(day, closes, now) <= now:
        day += timedelta(days=1)
    start, end = _at(day, hours.low, now), _at(last, hours.high, now)
    if not hours.exact and start < now < _at(day, hours.high, now):
        start = now
    return start, end


def parse_when(text: str, now: datetime) -> TimeWindow | None:
    """Read when the patient wants to come, from a message as written.

    See the module documentation for the rules (``"amanhã à tarde"``, ``"segunda às 15h"``,
    ``"dia 12"``, ``"semana que vem de manhã"``, ``"sexta depois das 16"``...).

    Args:
        text: A patient message, as written (accents, capitals, emojis allowed).
        now: The current instant, aware, in the clinic's time zone; the window is given in
            this zone.

    Returns:
        The window meant, or None when the message says no day and no time of day (or names
        an impossible or past date).

    Raises:
        ValidationError: ``now`` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now must be timezone-aware", field="now")
    folded = fold(_spell_punctuation(text[:_MAX_CHARS]))
    scan = _Scan(folded, folded)
    today = now.date()
    from_now = _read_from_now(scan, now)
    if from_now is not None:
        return from_now
    try:
        days = _read_days(scan, today)
    except _Impossible:
        return None
    hours = _read_hours(scan)
    if days is None and hours is None:
        return None
    if days is None:
        first = last = today
    else:
        first, last = days.first, days.last
    start, end = _window(first, last, hours, now, implicit=days is None)
    return TimeWindow(
        start=start,
        end=end,
        exact_time=hours is not None and hours.exact,
        text=_phrase(scan),
        hours=None if hours is None else (hours.low, hours.high),
    )


def _read_from_now(scan: _Scan, now: datetime) -> TimeWindow | None:
    match = _FROM_NOW.search(scan.rest)
    if match is None:
        return None
    count = 30 if match["count"] == "meia" else _number(match["count"])
    minutes = count if match["unit"].startswith("min") else count * 60
    if minutes <= 0 or minutes > 48 * 60:
        return None
    start = (now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    local = start.hour * 60 + start.minute
    return TimeWindow(start, start + timedelta(minutes=1), True, match[0], (local, local + 1))


def _phrase(scan: _Scan) -> str:
    if not scan.spans:
        return ""
    return scan.text[min(s for s, _ in scan.spans) : max(e for _, e in scan.spans)].strip()


# --- writing ---------------------------------------------------------------------------------

_PERIOD_NAMES_PT: Final = {
    MORNING: "de manhã",
    AFTERNOON: "à tarde",
    EVENING: "à noite",
    (8 * 60, 10 * 60): "cedo",
    (16 * 60, 18 * 60): "no fim da tarde",
    (12 * 60, 14 * 60): "na hora do almoço",
}


def _clock_pt(minute: int) -> str:
    hour, rest = divmod(minute, 60)
    if hour == 24:
        hour = 0
    return f"{hour}h{rest:02d}" if rest else f"{hour}h"


def _day_pt(day: date, now: datetime | None) -> str:
    label = f"{_WEEKDAY_NAMES_PT[day.weekday()]}, {day:%d/%m}"
    if now is not None:
        ahead = (day - now.date()).days
        if ahead == 0:
            return f"hoje ({label})"
        if ahead == 1:
            return f"amanhã ({label})"
    return label


def format_window_pt(window: TimeWindow, now: datetime | None = None) -> str:
    """Say a window back to the patient: ``"amanhã (sex, 27/11) à tarde"``.

    Args:
        window: A window from :func:`parse_when`.
        now: The current instant, to say ``hoje``/``amanhã``; dates only when omitted.

    Returns:
        Brazilian Portuguese, lowercase, ready to go inside a sentence.
    """
    first = window.start.date()
    last = (window.end - timedelta(microseconds=1)).date()
    days = (
        _day_pt(first, now)
        if first == last
        else f"de {_day_pt(first, now)} a {_day_pt(last, None)}"
    )
    if window.hours is None:
        return days
    low, high = window.hours
    if window.exact_time:
        return f"{days} às {_clock_pt(low)}"
    named = _PERIOD_NAMES_PT.get((low, high))
    if named:
        return f"{days} {named}"
    return f"{days} das {_clock_pt(low)} às {_clock_pt(high)}"
