"""Folding, words and language detection for Portuguese as patients type it on WhatsApp."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porfin_core.domain.pt_text import (
    LANGUAGES,
    detect_language,
    expand_abbreviations,
    fold,
    squeeze,
    words,
)

DATA = Path(__file__).parents[1] / "data" / "assistant"


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


LANGUAGE_ROWS = _rows("languages.tsv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(text, expected, id=f"L{number}-{expected}-{text[:40]}")
        for number, (text, expected) in enumerate(LANGUAGE_ROWS, start=2)
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_the_language_file_covers_every_answer():
    assert len(LANGUAGE_ROWS) >= 40
    assert {expected for _, expected in LANGUAGE_ROWS} == set(LANGUAGES)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("DOOOOR insuportável!!! 😭😭", "dor insuportavel"),
        ("Não, tá sangrando muito", "nao ta sangrando muito"),
        ("inchaço descendo pro pescoço", "inchaco descendo pro pescoco"),
        ("socorrrrro", "socorro"),
        ("issssso", "isso"),
        ("sssim", "sim"),
        ("siiiiim", "sim"),
        ("kkkkkkk", "k"),
        ("nãaaaao", "nao"),
        ("carro", "carro"),
        ("enjoo no voo", "enjoo no voo"),
        ("R$ 1.234,56", "r 1 234 56"),
        ("10000 reais", "10000 reais"),
        ("  muito\n\tbem  ", "muito bem"),
        ("dor-de-dente", "dor de dente"),
        ("Ç À É Í Ó Ú Ã Õ Ê Ô Ü Ñ", "c a e i o u a o e o u n"),
        ("ﬁm ²", "fim 2"),
        ("👍🙏", ""),
        ("", ""),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("folded", "squeezed"),
    [
        ("dooor", "dor"),
        ("muitoo", "muito"),
        ("carro isso", "carro isso"),
        ("enjoo", "enjo"),
        ("ok", "ok"),
    ],
)
def test_squeeze_collapses_doubled_letters_but_rr_and_ss(folded, squeezed):
    assert squeeze(folded) == squeezed


def test_words_are_the_folded_words():
    assert words("Oi, Dra.! Tô c/ DOR 😭") == ["oi", "dra", "to", "c", "dor"]


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_yields_lowercase_words_separated_by_single_spaces(text):
    folded = fold(text)
    assert folded == folded.strip()
    assert "  " not in folded
    assert all(word.isalnum() for word in folded.split())
    assert folded == folded.casefold()
    assert words(text) == folded.split()


@given(st.text())
def test_squeeze_is_idempotent(text):
    squeezed = squeeze(fold(text))
    assert squeeze(squeezed) == squeezed


@given(st.text())
def test_detect_language_always_answers_one_of_the_languages(text):
    assert detect_language(text) in LANGUAGES


@pytest.mark.parametrize(
    ("folded", "expanded"),
    [
        ("vc ta c dor dps q tirou", "voce ta com dor depois que tirou"),
        ("n consigo engolir nd", "nao consigo engolir nada"),
        ("qro marcar hj pfv", "quero marcar hoje por favor"),
        ("to pra ir mas tava chovendo", "to pra ir mas tava chovendo"),
        ("", ""),
    ],
)
def test_expand_abbreviations(folded, expanded):
    assert expand_abbreviations(folded) == expanded
