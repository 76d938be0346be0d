"""Clinical red flags in patient messages, as Brazilians write them, and what each side reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porfin_core.domain.guardrails import check_reply
from porfin_core.domain.red_flags import (
    CALL_EMERGENCY_REPLY,
    LIFE_THREATENING,
    SELF_HARM_REPLY,
    URGENT_REPLY,
    RedFlag,
    RedFlagCategory,
    find_red_flag,
    safe_reply,
    staff_note,
)

DATA = Path(__file__).parents[1] / "data" / "assistant"


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


RED_FLAG_ROWS = _rows("red_flags.tsv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(text, expected, id=f"L{number}-{expected}-{text[:40]}")
        for number, (text, expected) in enumerate(RED_FLAG_ROWS, start=2)
    ],
)
def test_red_flag_file(text, expected):
    flag = find_red_flag(text)
    assert (flag.category.value if flag else "none") == expected, flag


def test_the_red_flag_file_is_large_and_covers_every_category():
    expected = [row[1] for row in RED_FLAG_ROWS]
    assert sum(value != "none" for value in expected) >= 90
    assert expected.count("none") >= 90
    assert set(expected) == {category.value for category in RedFlagCategory} | {"none"}
    assert len({row[0] for row in RED_FLAG_ROWS}) == len(RED_FLAG_ROWS), "duplicate lines"


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("To com uma DOOOR INSUPORTÁVEL 😭", "dor insuportavel"),
        ("o sangue não para de sair", "sangue nao para"),
        ("Não consigo engolir, socorro", "nao consigo engolir"),
        ("inchaço, descendo pro pescoço", "inchaco descendo pro pescoco"),
    ],
)
def test_the_matched_phrase_is_reported_folded(text, matched):
    flag = find_red_flag(text)
    assert flag is not None
    assert flag.matched == matched


def test_the_most_pressing_category_wins():
    flag = find_red_flag("dor insuportavel no dente e to com falta de ar")
    assert flag is not None
    assert flag.category is RedFlagCategory.BREATHING_OR_SWALLOWING


def test_a_later_sentence_can_raise_the_flag_after_a_negated_one():
    flag = find_red_flag("nao tenho febre. mas a dor ta insuportavel")
    assert flag == RedFlag(RedFlagCategory.SEVERE_PAIN, "dor ta insuportavel")


def test_a_comma_ends_the_reach_of_a_negation():
    assert find_red_flag("Não, tá sangrando muito") is not None
    assert find_red_flag("não tá sangrando muito") is None


def test_a_burst_of_messages_is_read_as_one_text():
    burst = "oi\nboa noite\ntirei o siso hoje cedo\ne o sangue nao para"
    flag = find_red_flag(burst)
    assert flag is not None
    assert flag.category is RedFlagCategory.UNCONTROLLED_BLEEDING


def test_self_harm_replies_point_to_cvv_188():
    reply = safe_reply(RedFlag(RedFlagCategory.SELF_HARM, "quero morrer"))
    assert reply == SELF_HARM_REPLY
    assert "188" in reply
    assert "CVV" in reply


@pytest.mark.parametrize("category", list(RedFlagCategory))
def test_every_reply_promises_a_person_and_names_samu(category):
    reply = safe_reply(RedFlag(category, "x"))
    assert "equipe" in reply
    assert "192" in reply
    if category in LIFE_THREATENING:
        assert reply == CALL_EMERGENCY_REPLY
    elif category is not RedFlagCategory.SELF_HARM:
        assert reply == URGENT_REPLY


@pytest.mark.parametrize(
    "reply",
    [URGENT_REPLY, CALL_EMERGENCY_REPLY, SELF_HARM_REPLY],
    ids=["urgent", "call-emergency", "self-harm"],
)
def test_the_safe_replies_pass_the_reply_guardrails(reply):
    assert check_reply(reply, known_prices_cents=frozenset()) == ()


@pytest.mark.parametrize("category", list(RedFlagCategory))
def test_the_staff_note_names_the_alert_and_quotes_the_patient(category):
    note = staff_note(RedFlag(category, "nao consigo engolir"))
    assert note.startswith("URGENTE")
    assert '"nao consigo engolir"' in note


@given(st.text())
def test_find_red_flag_never_raises(text):
    flag = find_red_flag(text)
    assert flag is None or isinstance(flag.category, RedFlagCategory)


# Words that trigger, negate and joke, with the punctuation that splits clauses.
VOCABULARY = (
    "nao", "sem", "dor", "forte", "sangue", "sangrando", "muito", ",", "?", "!", ".", "febre",
    "depois", "tirei", "siso", "rosto", "inchado", "ate", "o", "olho", "quero", "morrer", "de",
    "rir", "kkk", "falta", "ar", "cai", "bati", "dente", "😭", "engolir", "passou", "se",
)  # fmt: skip


@given(st.lists(st.sampled_from(VOCABULARY), max_size=30))
def test_find_red_flag_never_raises_on_red_flag_vocabulary(tokens):
    find_red_flag(" ".join(tokens))
