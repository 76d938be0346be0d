"""Intent recognition: what patients write on WhatsApp, read into what they want."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porfin_core.domain.intents import Intent, IntentReading, recognize
from porfin_core.domain.procedures import PROCEDURES, find_procedure
from porfin_core.domain.pt_text import fold

DATA = Path(__file__).parents[1] / "data" / "assistant" / "intents.tsv"


def _rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip("\t"):
            continue
        text, intent, procedure, option = line.split("\t")
        rows.append((text.replace("\\n", "\n"), intent, procedure, option))
    return rows


ROWS = _rows()


def test_the_data_file_covers_every_intent() -> None:
    counts = Counter(intent for _, intent, _, _ in ROWS)
    assert len(ROWS) >= 150
    assert {intent: counts[intent] for intent in Intent if counts[intent] < 8} == {}


@pytest.mark.parametrize(
    ("text", "intent", "procedure", "option"),
    [pytest.param(*row, id=f"{number}:{row[0]}") for number, row in enumerate(ROWS, start=2)],
)
def test_recognizes(text: str, intent: str, procedure: str, option: str) -> None:
    reading = recognize(text)

    assert (reading.intent, reading.procedure, reading.option) == (
        Intent(intent),
        procedure or None,
        int(option) if option else None,
    )
    assert 0.0 <= reading.confidence <= 1.0
    assert reading.intent not in reading.secondary


def test_a_greeting_with_a_request_is_the_request() -> None:
    reading = recognize("oi, bom dia! queria marcar uma limpeza")

    assert reading == IntentReading(
        Intent.BOOKING, reading.confidence, "limpeza", None, (Intent.GREETING,)
    )
    assert reading.confidence >= 0.9


def test_unknown_text_is_other_with_low_confidence() -> None:
    reading = recognize("meu cachorro comeu o controle remoto")

    assert reading.intent is Intent.OTHER
    assert reading.confidence < 0.5


def test_every_procedure_synonym_is_folded_and_found() -> None:
    for canonical, synonyms in PROCEDURES.items():
        assert canonical in synonyms
        for synonym in synonyms:
            assert fold(synonym) == synonym
            assert find_procedure(f"queria saber sobre {synonym}") == canonical, synonym


@pytest.mark.parametrize(
    ("text", "procedure"),
    [
        ("Extração do SISO", "siso"),
        ("avaliação para implantes", "implante"),
        ("quanto custa a consulta?", "avaliacao"),
        ("quero desmarcar minha consulta", None),
        ("lentes de contato dental", "lente de contato"),
        ("tratamento de canal", "canal"),
        ("nada a ver", None),
    ],
)
def test_find_procedure(text: str, procedure: str | None) -> None:
    assert find_procedure(text) == procedure


def test_is_fast() -> None:
    texts = [row[0] for row in ROWS]
    recognize("aquecimento")
    started = time.perf_counter()
    for text in texts:
        recognize(text)
    per_message = (time.perf_counter() - started) / len(texts)
    assert per_message < 0.001  # the target is 0.3 ms; leave room for slow CI machines


@pytest.mark.parametrize(
    "word", ["sim ", "ok ok ", "pode ser ", "obrigado ", "e ", "1 ", "tudo bem ", "kk ", "de 12 "]
)
def test_long_repetitive_messages_stay_fast(word: str) -> None:
    text = word * 150 + "xyz?"
    started = time.perf_counter()
    recognize(text)
    assert time.perf_counter() - started < 0.25


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_never_raises(text: str) -> None:
    reading = recognize(text)

    assert isinstance(reading.intent, Intent)
    assert 0.0 <= reading.confidence <= 1.0
